using System.Collections;
using GdNet.Cli.Serve;

namespace GdNet.Server.Tests.Serve;

/// <summary>gdnet serve's settings: defaults, then the JSON file, then GDNET_ variables, then the command line.</summary>
public sealed class ServeSettingsTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"gdnet-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_file);

    private static Dictionary<string, string?> Cli(params (string Key, string Value)[] values) =>
        values.ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void Defaults_without_any_source()
    {
        var s = ServeSettings.Load(null, new Hashtable(), Cli());
        Assert.Equal(new ServeSettings(), s);
        Assert.Null(s.Validate());
        Assert.Equal("ws", s.Transport);
        Assert.Equal(9080, s.Port);
        Assert.Null(s.AdminPort); // no admin endpoint unless asked for
        Assert.Equal("127.0.0.1", s.AdminBind);
        Assert.Equal("none", s.Lobby); // a pure relay unless a lobby is asked for
        Assert.False(s.HostsConversationLobby);
    }

    [Theory]
    [InlineData("conversation-v1", null, null)]
    [InlineData("none", null, null)]
    [InlineData("chess", null, "--lobby must be none (a pure relay, the default) or conversation-v1 (not 'chess')")]
    [InlineData("False", null, "--lobby must be none (a pure relay, the default) or conversation-v1 (not 'False')")]
    [InlineData(null, "2", "--lobby-min-players only applies with --lobby conversation-v1")]
    [InlineData("conversation-v1", "2", null)]
    public void The_lobby_is_opt_in_and_its_settings_need_it(string? lobby, string? minPlayers, string? error)
    {
        var env = new Hashtable();
        if (lobby is not null)
        {
            env["GDNET_LOBBY"] = lobby;
        }

        var s = ServeSettings.Load(null, env, minPlayers is null ? Cli() : Cli(("LobbyMinPlayers", minPlayers)));

        Assert.Equal(error, s.Validate());
    }

    [Fact]
    public void The_command_line_beats_the_environment_which_beats_the_file()
    {
        File.WriteAllText(_file, """{ "Port": 1000, "MaxPeersPerRoom": 10, "maxRooms": 7, "EnetRoom": "fromfile", "Lobby": "conversation-v1" }""");
        var env = new Hashtable { ["GDNET_MAX_PEERS_PER_ROOM"] = "20", ["GDNET_PORT"] = "2000", ["OTHER_PORT"] = "1" };

        var s = ServeSettings.Load(_file, env, Cli(("Port", "3000")));

        Assert.Equal(3000, s.Port);            // flag over env over file
        Assert.Equal(20, s.MaxPeersPerRoom);   // env (upper snake case) over file
        Assert.Equal(7, s.MaxRooms);           // file, keys case-insensitive
        Assert.Equal("fromfile", s.EnetRoom);
        Assert.True(s.HostsConversationLobby);
        Assert.Equal(4096, s.MaxClients);      // default
    }

    [Fact]
    public void Environment_names_may_also_be_written_as_the_key()
    {
        var s = ServeSettings.Load(null, new Hashtable { ["GDNET_MaxClients"] = "12", ["GDNET_TRANSPORT"] = "ws,enet" }, Cli());
        Assert.Equal(12, s.MaxClients);
        Assert.Equal([GdNet.Cli.TransportKind.Ws, GdNet.Cli.TransportKind.Enet], s.Transports);
    }

    [Fact]
    public void The_cluster_settings_come_from_the_file_the_environment_or_the_command_line()
    {
        File.WriteAllText(_file, """{ "Cluster": "nats://10.0.0.5:4222", "ClusterName": "game-eu", "NodeName": "from-file" }""");
        var s = ServeSettings.Load(_file, new Hashtable { ["GDNET_NODE_NAME"] = "eu-1.example" }, Cli());
        Assert.Equal("nats://10.0.0.5:4222", s.Cluster);
        Assert.Equal("game-eu", s.ClusterName);
        Assert.Equal("eu-1.example", s.NodeName);
        Assert.Null(s.Validate());

        s = ServeSettings.Load(null, new Hashtable { ["GDNET_CLUSTER"] = "nats://127.0.0.1:4222" }, Cli(("ClusterName", "other")));
        Assert.Equal("nats://127.0.0.1:4222", s.Cluster);
        Assert.Equal("other", s.ClusterName);
        Assert.Null(s.NodeName); // the machine name and process id, chosen at start
    }

    [Theory]
    [InlineData("http://127.0.0.1:4222", null, null, "--cluster")]
    [InlineData("nats://127.0.0.1:4222", "a.b", null, "--cluster-name")]
    [InlineData("nats://127.0.0.1:4222", null, "has space", "--node-name")]
    [InlineData(null, "lonely", null, "only apply with --cluster")]
    public void Bad_cluster_settings_are_refused_with_the_option_named(string? cluster, string? name, string? node, string expected)
    {
        var s = new ServeSettings { Cluster = cluster, ClusterName = name ?? "gdnet", NodeName = node };
        Assert.Contains(expected, s.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_value_names_the_setting_in_every_form_and_its_value()
    {
        var ex = Assert.Throws<FormatException>(() => ServeSettings.Load(null, new Hashtable { ["GDNET_MAX_PEERS_PER_ROOM"] = "lots" }, Cli()));
        Assert.Contains("--max-peers-per-room", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GDNET_MAX_PEERS_PER_ROOM", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'lots'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_broken_config_file_is_reported()
    {
        Assert.Contains("does not exist", Assert.Throws<FormatException>(() => ServeSettings.Load("/nonexistent/gdnet.json", new Hashtable(), Cli())).Message, StringComparison.Ordinal);
        File.WriteAllText(_file, "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<FormatException>(() => ServeSettings.Load(_file, new Hashtable(), Cli())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Transport", "udp", "transport must be")]
    [InlineData("Port", "70000", "port must be")]
    [InlineData("EnetRoom", "bad room", "enet-room")]
    [InlineData("EnetAllow", "10.0.0.0/8", "only applies with --jwt-secret-file")]
    [InlineData("MaxPacketsPerSecond", "-1", "max-packets-per-second")]
    [InlineData("Bind", "no where", "bind must be an IP address of this machine, a host name")]
    [InlineData("AdminPort", "9080", "never served on the players' port")] // the default --port
    [InlineData("AdminPort", "-1", "admin-port must be between")]
    [InlineData("AdminToken", "short", "at least 16 characters")]
    [InlineData("LogLevel", "loud", "--log-level must be")]
    [InlineData("LogFormat", "xml", "--log-format must be text or json")]
    [InlineData("MetricsRoomLabels", "5000", "--metrics-room-labels must be between")]
    [InlineData("AdminToken", "0123456789abcdef", "only applies with --admin-port")]
    public void Invalid_settings_say_what_to_do(string key, string value, string message)
    {
        var s = ServeSettings.Load(null, new Hashtable(), Cli((key, value)));
        Assert.Contains(message, s.Validate(), StringComparison.Ordinal);
    }

    [Theory] // issue 13 §5.7 and §5.9: settings that cannot work together are usage errors that say what to do
    [InlineData("enet", "5000", null, null, null, "--max-clients 5000: ENet has at most 4095 peer slots; use --max-clients 4095 or less")]
    [InlineData("ws", "5000", null, null, null, null)] // WebSocket has no slot limit
    [InlineData("ws,enet", "5000", null, null, null, null)] // the server's limit over both; ENet takes at most 4095 of them
    [InlineData("ws", null, "100000000", null, null, "--max-bytes-per-second 8388608 lets a player send at most 16777216 bytes at once")]
    [InlineData("ws", null, "100000000", "0", null, null)]
    [InlineData("ws", null, "200000000", "0", null, "--max-packet-size 200000000 needs --max-queued-bytes-total of at least 400000018")]
    [InlineData("ws", null, "200000000", "0", "400000018", null)]
    [InlineData("ws", null, "65527", null, "100000", "--max-packet-size 65527 needs --max-queued-bytes-total of at least 131072")]
    public void Inconsistent_limits_are_refused_with_what_to_do(string transport, string? maxClients, string? maxPacket, string? bytesPerSecond, string? queuedTotal, string? message)
    {
        var given = new List<(string, string)> { ("Transport", transport) };
        void Add(string key, string? value)
        {
            if (value is not null)
            {
                given.Add((key, value));
            }
        }

        Add("MaxClients", maxClients);
        Add("MaxPacketSize", maxPacket);
        Add("MaxBytesPerSecond", bytesPerSecond);
        Add("MaxQueuedBytesTotal", queuedTotal);
        var error = ServeSettings.Load(null, new Hashtable(), Cli([.. given])).Validate();
        if (message is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.StartsWith(message, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void With_ENet_alone_the_default_client_limit_is_its_slot_count_and_large_packets_get_queue_room_and_time()
    {
        Assert.Equal(4095, ServeSettings.Load(null, new Hashtable(), Cli(("Transport", "enet"))).MaxClients);
        Assert.Equal(4096, ServeSettings.Load(null, new Hashtable(), Cli(("Transport", "ws,enet"))).MaxClients);

        var d = new ServeSettings();
        Assert.Equal(16L << 20, d.PerClientQueueBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), d.ToRelayOptions().SlowReaderTimeout);
        var big = d with { MaxPacketSize = 100_000_000 };
        Assert.Equal(200_000_018, big.PerClientQueueBytes); // a 20 MB packet no longer looks like a slow reader
        Assert.True(big.ToRelayOptions().SlowReaderTimeout > TimeSpan.FromSeconds(190));
    }

    [Fact]
    public void Bind_resolves_host_names_and_refuses_addresses_of_other_machines_with_a_reason()
    {
        Assert.Equal("127.0.0.1", new ServeSettings { Bind = "localhost", Transport = "ws,enet" }.ResolveBind());
        Assert.Equal("127.0.0.1", new ServeSettings { Bind = "127.0.0.1" }.ResolveBind());
        Assert.Equal("*", new ServeSettings { Bind = "*" }.ResolveBind());
        Assert.Null(new ServeSettings { Bind = "localhost", Transport = "enet", MaxClients = 4095 }.Validate());

        var other = Assert.Throws<InvalidOperationException>(() => new ServeSettings { Bind = "192.0.2.123" }.ResolveBind()); // TEST-NET-1
        Assert.Contains("192.0.2.123 is not an address of this machine", other.Message, StringComparison.Ordinal);
        Assert.Contains("or * for every interface", other.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<InvalidOperationException>(() => new ServeSettings { Bind = "no-such-host.invalid" }.ResolveBind());
        Assert.Contains("does not resolve", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relay_options_follow_the_settings()
    {
        var s = ServeSettings.Load(null, new Hashtable(), Cli(("MaxClients", "5"), ("MaxPeersPerRoom", "3"), ("MaxConnectionsPerIp", "2"), ("MaxQueuedBytesTotal", "4096")));
        var o = s.ToRelayOptions();
        Assert.Equal(5, o.MaxPeers);
        Assert.Equal(3, o.MaxPeersPerRoom);
        Assert.Equal(2, o.MaxConnectionsPerAddress);
        Assert.Equal(4096, o.MaxQueuedBytesTotal);
    }
}
