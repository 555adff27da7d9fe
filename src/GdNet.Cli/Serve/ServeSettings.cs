using System.Collections;
using System.Globalization;
using System.Net;
using GdNet.Enet;
using GdNet.Server;
using Microsoft.Extensions.Configuration;

namespace GdNet.Cli.Serve;

/// <summary>
/// Every setting of <c>gdnet serve</c>, with its default. Each comes, in rising precedence, from the default, the JSON
/// config file (<c>--config</c>), an environment variable <c>GDNET_NAME</c> (the key in upper snake case, e.g.
/// <c>GDNET_MAX_PEERS_PER_ROOM</c>, or as written, <c>GDNET_MaxPeersPerRoom</c>), and the command line
/// (<c>--max-peers-per-room</c>) — layered with <c>Microsoft.Extensions.Configuration</c>.
/// </summary>
internal sealed record ServeSettings
{
    public string Transport { get; init; } = "ws";

    public int Port { get; init; } = 9080;

    public string Bind { get; init; } = "127.0.0.1";

    public int MaxClients { get; init; } = 4096;

    public int MaxPeersPerRoom { get; init; } = 4096;

    public int MaxRooms { get; init; } = 1024;

    public int MaxPacketSize { get; init; } = 65527;

    public int MaxConnectionsPerIp { get; init; } = 64;

    public double MaxConnectionsPerSecond { get; init; } = 10;

    public double MaxPacketsPerSecond { get; init; } = 20_000;

    public double MaxBytesPerSecond { get; init; } = 8 << 20;

    public long MaxQueuedBytesTotal { get; init; } = 256L << 20;

    public string? JwtSecretFile { get; init; }

    public string? EnetAllow { get; init; }

    public string EnetRoom { get; init; } = Room.DefaultName;

    public double DrainSeconds { get; init; } = 5;

    /// <summary>
    /// The hosted logic each room runs as peer 1: <see cref="NoLobby"/> (a pure relay, the default) or
    /// <see cref="ConversationLobby"/> (<c>Main/Lobby</c> playing the server side of the shared fixtures' conversation v1).
    /// </summary>
    public string Lobby { get; init; } = NoLobby;

    /// <summary><see cref="Lobby"/>: rooms host nothing; packets for peer 1 are dropped (paths confirmed).</summary>
    public const string NoLobby = "none";

    /// <summary><see cref="Lobby"/>: each room hosts <c>Main/Lobby</c> playing the server side of conversation v1.</summary>
    public const string ConversationLobby = "conversation-v1";

    /// <summary>Whether rooms host the conversation-v1 lobby (<c>--lobby conversation-v1</c>).</summary>
    public bool HostsConversationLobby => string.Equals(Lobby, ConversationLobby, StringComparison.OrdinalIgnoreCase);

    public int LobbyMinPlayers { get; init; } = 1;

    public double StatsInterval { get; init; } = 5;

    /// <summary>The admin endpoint's TCP port (0 picks a free one); null: no admin endpoint.</summary>
    public int? AdminPort { get; init; }

    public string AdminBind { get; init; } = "127.0.0.1";

    /// <summary>How many of the fullest rooms get their own <c>gdnet.room.peers</c> series (0: none).</summary>
    public int MetricsRoomLabels { get; init; }

    /// <summary>The least level logged to stderr: trace, debug, information, warning, error, critical or none.</summary>
    public string LogLevel { get; init; } = "warning";

    /// <summary>How log entries are written to stderr: text (one line each) or json (one JSON object each).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>The NATS server of the cluster this node joins (<c>nats://HOST:PORT</c>); null: the server is alone.</summary>
    public string? Cluster { get; init; }

    /// <summary>The cluster's name: nodes with the same NATS server and name form one server.</summary>
    public string ClusterName { get; init; } = "gdnet";

    /// <summary>This node's name in the cluster; null: the machine name and process id.</summary>
    public string? NodeName { get; init; }

    /// <summary>The Bearer token the admin endpoint's actions (kick, close a room) require; null: actions are off.</summary>
    public string? AdminToken { get; init; }

    /// <summary><see cref="LogLevel"/> parsed; null when it names no level.</summary>
    public Microsoft.Extensions.Logging.LogLevel? MinimumLogLevel => LogLevel.ToLowerInvariant() switch
    {
        "trace" => Microsoft.Extensions.Logging.LogLevel.Trace,
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "information" or "info" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warning" or "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        "critical" => Microsoft.Extensions.Logging.LogLevel.Critical,
        "none" => Microsoft.Extensions.Logging.LogLevel.None,
        _ => null,
    };

    /// <summary>The transports asked for, in order, without repeats (ws, enet).</summary>
    public IReadOnlyList<TransportKind> Transports => [.. Transport.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(Cli.Transports.Parse).Distinct()];

    /// <summary>
    /// The bound on bytes queued for sending to one WebSocket player: two of the largest messages
    /// (<see cref="MaxPacketSize"/> plus the 9-byte header), at least 16 MiB. Derived so that a large packet never makes a
    /// healthy receiver look like a slow reader.
    /// </summary>
    public long PerClientQueueBytes => Math.Max(16L << 20, 2L * (MaxPacketSize + 9L));

    /// <summary>
    /// <see cref="Bind"/> as an address to listen on: <c>*</c> as is, an IP address as is, a host name resolved (to an IPv4
    /// address when there is one: ENet is IPv4-only, and both transports listen on one address). Checks that the address
    /// belongs to this machine.
    /// </summary>
    /// <exception cref="InvalidOperationException">The name does not resolve, or the address is not this machine's; the message says what to do.</exception>
    public string ResolveBind()
    {
        if (Bind == "*")
        {
            return Bind;
        }

        if (!IPAddress.TryParse(Bind, out var address))
        {
            IPAddress[] found;
            try
            {
                found = Dns.GetHostAddresses(Bind);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new InvalidOperationException($"--bind {Bind}: the host name does not resolve ({ex.Message}); give an IP address of this machine, a host name that resolves to one, or *", ex);
            }

            var enet = Transports.Contains(TransportKind.Enet);
            address = found.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ?? (enet ? null : found.FirstOrDefault())
                ?? throw new InvalidOperationException(enet
                    ? $"--bind {Bind}: the host name has no IPv4 address, and ENet (Godot 3's ENet 1.3) is IPv4-only; bind an IPv4 address or *"
                    : $"--bind {Bind}: the host name resolves to no address");
        }

        if (!IsLocal(address))
        {
            throw new InvalidOperationException($"--bind {Bind}: {address} is not an address of this machine, so nothing can listen on it; use one of its addresses ({string.Join(", ", LocalAddresses().Take(8))}), or * for every interface");
        }

        return address.ToString();
    }

    private static bool IsLocal(IPAddress address) =>
        IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
        || LocalAddresses().Any(a => a.Equals(address) || (a.IsIPv4MappedToIPv6 && a.MapToIPv4().Equals(address)));

    private static IEnumerable<IPAddress> LocalAddresses()
    {
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var u in nic.GetIPProperties().UnicastAddresses)
            {
                yield return u.Address;
            }
        }
    }

    /// <summary>The relay options these settings give.</summary>
    public RelayOptions ToRelayOptions() => new()
    {
        MaxPeers = MaxClients,
        MaxPeersPerRoom = MaxPeersPerRoom,
        MaxRooms = MaxRooms,
        MaxConnectionsPerAddress = MaxConnectionsPerIp,
        ConnectionsPerSecondPerAddress = MaxConnectionsPerSecond,
        ConnectionBurstPerAddress = Math.Max(1, (int)Math.Ceiling(MaxConnectionsPerSecond * 2)),
        MaxPacketsPerSecond = MaxPacketsPerSecond,
        MaxBytesPerSecond = MaxBytesPerSecond,
        MaxQueuedBytesTotal = MaxQueuedBytesTotal,
        SlowReaderTimeout = SlowReaderTimeout,
    };

    /// <summary>
    /// How long a player may read none of what is queued for it: 10 s, or more with large packets — a transport reports
    /// progress a write at a time, so the timeout leaves two of the largest messages time to be written at 1 MiB/s.
    /// </summary>
    public TimeSpan SlowReaderTimeout => TimeSpan.FromSeconds(Math.Max(10, 2.0 * (MaxPacketSize + 9L) / (1 << 20)));

    /// <summary>What is wrong with these settings, in words, or null.</summary>
    public string? Validate()
    {
        string[] known = ["ws", "websocket", "enet"];
        foreach (var t in Transport.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!known.Contains(t.ToLowerInvariant()))
            {
                return $"--transport must be ws, enet or ws,enet (not '{t}')";
            }
        }

        return this switch
        {
            _ when Transports.Count == 0 => "--transport must name at least one of ws, enet",
            { Port: < 0 or > 65535 } => "--port must be between 0 and 65535",
            { MaxClients: < 1 } => "--max-clients must be at least 1",
            { MaxClients: > NetworkedMultiplayerENet.MaxClientsLimit } when Transports.All(t => t == TransportKind.Enet)
                => $"--max-clients {MaxClients}: ENet has at most {NetworkedMultiplayerENet.MaxClientsLimit} peer slots; use --max-clients {NetworkedMultiplayerENet.MaxClientsLimit} or less with --transport enet (or add ws: --transport ws,enet)",
            { MaxPeersPerRoom: < 1 } => "--max-peers-per-room must be at least 1",
            { MaxRooms: < 1 } => "--max-rooms must be at least 1",
            { MaxPacketSize: < 1 or > (1 << 30) - 9 } => "--max-packet-size must be between 1 and 1073741815",
            { MaxConnectionsPerIp: < 0 } => "--max-connections-per-ip must be 0 (no limit) or more",
            { MaxConnectionsPerSecond: < 0 } => "--max-connections-per-second must be 0 (no limit) or more",
            { MaxPacketsPerSecond: < 0 } => "--max-packets-per-second must be 0 (no limit) or more",
            { MaxBytesPerSecond: < 0 } => "--max-bytes-per-second must be 0 (no limit) or more",
            { MaxQueuedBytesTotal: < 1 } => "--max-queued-bytes-total must be at least 1",
            _ when !HostsConversationLobby && !string.Equals(Lobby, NoLobby, StringComparison.OrdinalIgnoreCase)
                => $"--lobby must be {NoLobby} (a pure relay, the default) or {ConversationLobby} (not '{Lobby}')",
            _ when 2L * (MaxPacketSize + 9L) > MaxQueuedBytesTotal
                => $"--max-packet-size {MaxPacketSize} needs --max-queued-bytes-total of at least {2L * (MaxPacketSize + 9L)} (the server's send budget must hold two of the largest messages), not {MaxQueuedBytesTotal}: raise --max-queued-bytes-total or lower --max-packet-size",
            _ when MaxBytesPerSecond > 0 && 2 * MaxBytesPerSecond < MaxPacketSize
                => $"--max-bytes-per-second {MaxBytesPerSecond:0.#} lets a player send at most {2 * MaxBytesPerSecond:0.#} bytes at once (its burst, twice the rate), less than --max-packet-size {MaxPacketSize}: such packets could never pass; raise --max-bytes-per-second to at least {(MaxPacketSize + 1) / 2} (or 0, no limit) or lower --max-packet-size",
            { LobbyMinPlayers: < 1 } => "--lobby-min-players must be at least 1",
            _ when LobbyMinPlayers != 1 && !HostsConversationLobby => $"--lobby-min-players only applies with --lobby {ConversationLobby}",
            { DrainSeconds: < 0 } => "--drain-seconds must be 0 or more",
            { StatsInterval: <= 0 } => "--stats-interval must be positive",
            _ when !Room.IsValidName(EnetRoom) => "--enet-room must be 1-64 characters of A-Z a-z 0-9 _ -",
            _ when Bind != "*" && !IPAddress.TryParse(Bind, out _) && Uri.CheckHostName(Bind) != UriHostNameType.Dns
                => $"--bind must be an IP address of this machine, a host name that resolves to one (e.g. localhost) or *, not '{Bind}'",
            _ when Transports.Contains(TransportKind.Enet) && IPAddress.TryParse(Bind, out var ip) && ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                => $"--bind {Bind}: ENet (Godot 3's ENet 1.3) is IPv4-only; bind an IPv4 address or *, or serve --transport ws alone on IPv6",
            { AdminPort: < 0 or > 65535 } => "--admin-port must be between 0 and 65535",
            { AdminPort: { } a } when a != 0 && a == Port
                => "--admin-port must differ from --port: the admin endpoint is never served on the players' port",
            _ when AdminPort is not null && !IPAddress.TryParse(AdminBind, out _) => "--admin-bind must be an IP address",
            _ when MinimumLogLevel is null => "--log-level must be trace, debug, information, warning, error, critical or none",
            { LogFormat: not ("text" or "json") } => "--log-format must be text or json",
            { MetricsRoomLabels: < 0 or > 1000 } => "--metrics-room-labels must be between 0 and 1000 (each room named is one more time series)",
            { AdminToken.Length: < 16 } => "--admin-token must be at least 16 characters (it guards kicking players and closing rooms)",
            _ when AdminToken is not null && AdminPort is null => "--admin-token only applies with --admin-port",
            _ when EnetAllow is not null && EnetAllowError() is { } e => "--enet-allow: " + e,
            _ when Cluster is not null && !(Uri.TryCreate(Cluster, UriKind.Absolute, out var u) && u.Scheme is "nats" or "tls" && u.Port > 0)
                => "--cluster must be a NATS URL with a port, e.g. nats://127.0.0.1:4222",
            _ when !IsClusterToken(ClusterName, 32, dot: false) => "--cluster-name must be 1-32 characters of A-Z a-z 0-9 _ -",
            _ when NodeName is not null && !IsClusterToken(NodeName, 64, dot: true) => "--node-name must be 1-64 characters of A-Z a-z 0-9 _ - .",
            _ when Cluster is null && (NodeName is not null || ClusterName != "gdnet") => "--cluster-name and --node-name only apply with --cluster",
            _ when EnetAllow is not null && JwtSecretFile is null => "--enet-allow only applies with --jwt-secret-file (without tokens every ENet client is admitted)",
            _ => null,
        };
    }

    private static bool IsClusterToken(string s, int max, bool dot) =>
        s.Length >= 1 && s.Length <= max && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || (dot && c == '.'));

    private string? EnetAllowError()
    {
        try
        {
            AddressAllowList.Parse(EnetAllow!);
            return null;
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Layers the defaults, the JSON file at <paramref name="configFile"/> (when given), the <c>GDNET_</c> environment
    /// variables of <paramref name="environment"/> and the command-line values in <paramref name="commandLine"/> (key →
    /// value, only those given). Throws <see cref="FormatException"/> naming the key and where its bad value came from.
    /// </summary>
    public static ServeSettings Load(string? configFile, IDictionary environment, IReadOnlyDictionary<string, string?> commandLine)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new FormatException($"config file {configFile} does not exist");
            }

            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        var env = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry e in environment)
        {
            if (e.Key is string k && k.StartsWith("GDNET_", StringComparison.OrdinalIgnoreCase) && k.Length > 6)
            {
                env[k[6..].Replace("_", string.Empty, StringComparison.Ordinal)] = e.Value as string;
            }
        }

        builder.AddInMemoryCollection(env);
        builder.AddInMemoryCollection(commandLine);
        IConfiguration config;
        try
        {
            config = builder.Build();
        }
        catch (InvalidDataException ex)
        {
            throw new FormatException($"config file {configFile} is not valid JSON: {ex.InnerException?.Message ?? ex.Message}", ex);
        }

        var d = new ServeSettings();
        return new ServeSettings
        {
            Transport = config[nameof(Transport)] ?? d.Transport,
            Port = Int(config, nameof(Port), d.Port),
            Bind = config[nameof(Bind)] ?? d.Bind,
            // ENet alone has at most 4095 slots: that is the default then (a larger --max-clients is refused by Validate).
            MaxClients = Int(config, nameof(MaxClients), EnetOnly(config[nameof(Transport)] ?? d.Transport) ? NetworkedMultiplayerENet.MaxClientsLimit : d.MaxClients),
            MaxPeersPerRoom = Int(config, nameof(MaxPeersPerRoom), d.MaxPeersPerRoom),
            MaxRooms = Int(config, nameof(MaxRooms), d.MaxRooms),
            MaxPacketSize = Int(config, nameof(MaxPacketSize), d.MaxPacketSize),
            MaxConnectionsPerIp = Int(config, nameof(MaxConnectionsPerIp), d.MaxConnectionsPerIp),
            MaxConnectionsPerSecond = Real(config, nameof(MaxConnectionsPerSecond), d.MaxConnectionsPerSecond),
            MaxPacketsPerSecond = Real(config, nameof(MaxPacketsPerSecond), d.MaxPacketsPerSecond),
            MaxBytesPerSecond = Real(config, nameof(MaxBytesPerSecond), d.MaxBytesPerSecond),
            MaxQueuedBytesTotal = Long(config, nameof(MaxQueuedBytesTotal), d.MaxQueuedBytesTotal),
            JwtSecretFile = config[nameof(JwtSecretFile)] ?? d.JwtSecretFile,
            EnetAllow = config[nameof(EnetAllow)] ?? d.EnetAllow,
            EnetRoom = config[nameof(EnetRoom)] ?? d.EnetRoom,
            DrainSeconds = Real(config, nameof(DrainSeconds), d.DrainSeconds),
            Lobby = config[nameof(Lobby)] ?? d.Lobby,
            LobbyMinPlayers = Int(config, nameof(LobbyMinPlayers), d.LobbyMinPlayers),
            StatsInterval = Real(config, nameof(StatsInterval), d.StatsInterval),
            AdminPort = config[nameof(AdminPort)] is null ? d.AdminPort : Int(config, nameof(AdminPort), 0),
            AdminBind = config[nameof(AdminBind)] ?? d.AdminBind,
            AdminToken = config[nameof(AdminToken)] ?? d.AdminToken,
            LogLevel = config[nameof(LogLevel)] ?? d.LogLevel,
            MetricsRoomLabels = Int(config, nameof(MetricsRoomLabels), d.MetricsRoomLabels),
            LogFormat = config[nameof(LogFormat)] ?? d.LogFormat,
            Cluster = config[nameof(Cluster)] ?? d.Cluster,
            ClusterName = config[nameof(ClusterName)] ?? d.ClusterName,
            NodeName = config[nameof(NodeName)] ?? d.NodeName,
        };
    }

    private static bool EnetOnly(string transport) =>
        transport.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } kinds
        && kinds.All(k => k.Equals("enet", StringComparison.OrdinalIgnoreCase));

    private static int Int(IConfiguration c, string key, int d) => c[key] is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(key, s, "a whole number")
        : d;

    private static long Long(IConfiguration c, string key, long d) => c[key] is { } s
        ? long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(key, s, "a whole number")
        : d;

    private static double Real(IConfiguration c, string key, double d) => c[key] is { } s
        ? double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw Bad(key, s, "a number")
        : d;

    private static FormatException Bad(string key, string value, string what) =>
        new($"{key} (--{Kebab(key)} / GDNET_{Snake(key)} / \"{key}\" in the config file) must be {what}, not '{value}'");

    /// <summary><c>MaxPeersPerRoom</c> → <c>max-peers-per-room</c>.</summary>
    public static string Kebab(string key) => string.Concat(key.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary><c>MaxPeersPerRoom</c> → <c>MAX_PEERS_PER_ROOM</c>.</summary>
    public static string Snake(string key) => Kebab(key).Replace('-', '_').ToUpperInvariant();
}
