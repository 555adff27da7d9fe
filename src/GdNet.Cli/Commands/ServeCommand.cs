using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GdNet.Cli.Serve;
using GdNet.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet serve</c>: a Godot-compatible relay server on the relay core (<see cref="RelayRouter"/>). Godot 3 clients join
/// over WebSocket (<c>ws://HOST:PORT/ROOM?token=…</c>) and/or ENet (same port, UDP), one room per URL path; members of a
/// room RPC each other through it, whatever their transport. It is a pure relay unless <c>--lobby conversation-v1</c>
/// makes each room host <c>Main/Lobby</c> playing the server side of conversation v1. Settings come from the command
/// line, <c>GDNET_…</c> environment variables and a JSON file (<c>--config</c>), in that order of precedence
/// (<see cref="ServeSettings"/>). SIGTERM or Ctrl+C drains: no new players, goodbye to every client, up to <c>--drain-seconds</c> for them to leave, exit 0.
/// </summary>
internal static class ServeCommand
{
    private sealed record Setting(Option Option, string Key, Func<ParseResult, string?> Read);

    public static Command Create()
    {
        var d = new ServeSettings();
        var settings = new List<Setting>();
        Option<T?> Add<T>(string name, string description, Func<T, string> text)
            where T : struct
        {
            var option = new Option<T?>(name) { Description = description };
            var key = string.Concat(name.TrimStart('-').Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            settings.Add(new Setting(option, key, r => r.GetValue(option) is { } v ? text(v) : null));
            return option;
        }

        Option<string?> AddText(string name, string description)
        {
            var option = new Option<string?>(name) { Description = description };
            var key = string.Concat(name.TrimStart('-').Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            settings.Add(new Setting(option, key, r => r.GetValue(option)));
            return option;
        }

        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        static string L(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        AddText("--transport", $"Transports, comma-separated: ws (Godot's WebSocketMultiplayerPeer, TCP), enet (NetworkedMultiplayerENet, UDP) or ws,enet — both on the same port number. Default {d.Transport}.");
        Add<int>("--port", $"Port to listen on (0 picks a free one). Default {d.Port}.", I);
        AddText("--bind", $"Address to listen on: an IP address of this machine, a host name that resolves to one (e.g. localhost; IPv4 with ENet), or * for every interface. Default {d.Bind}.");
        Add<int>("--max-clients", $"Most players in the whole server; more are refused (HTTP 503 / ENet not answered); ENet has at most 4095 slots. Default {d.MaxClients} (4095 with --transport enet alone).", I);
        Add<int>("--max-peers-per-room", $"Most players in one room. Default {d.MaxPeersPerRoom}.", I);
        Add<int>("--max-rooms", $"Most rooms at once. Default {d.MaxRooms}.", I);
        Add<int>("--max-packet-size", $"Largest packet in bytes (MultiplayerAPI bytes, without the transport header); larger ones are refused and their sender disconnected. Each player's send queue holds two of them (at least 16 MiB), so it must fit --max-queued-bytes-total, and twice --max-bytes-per-second must hold one. Default {d.MaxPacketSize}.", I);
        Add<int>("--max-connections-per-ip", $"Most connections from one IP address (0: no limit). Default {d.MaxConnectionsPerIp}.", I);
        Add<double>("--max-connections-per-second", $"New connections one IP address may open per second, with a burst of twice that (0: no limit). Default {d.MaxConnectionsPerSecond}.", R);
        Add<double>("--max-packets-per-second", $"Packets a player may send per second, with a burst of twice that; more are dropped (RateLimited), and a player over it for 5 s is disconnected (0: no limit). Default {d.MaxPacketsPerSecond}.", R);
        Add<double>("--max-bytes-per-second", $"Bytes a player may send per second, as above (0: no limit). Default {d.MaxBytesPerSecond}.", R);
        Add<int>("--admin-port", "Serve the admin endpoint (/metrics for Prometheus, /healthz, /readyz, /api/status) on this TCP port (0 picks a free one); never the players' port. Off by default.", I);
        Add<int>("--metrics-room-labels", $"Give the N fullest rooms their own gdnet.room.peers series (the rest summed as (other)); 0 names no room. Default {d.MetricsRoomLabels}.", I);
        AddText("--log-level", $"Least level of the log written to stderr: trace, debug, information (a line per connection joined, refused or closed, with its reason and name), warning, error, critical or none. Default {d.LogLevel}.");
        AddText("--log-format", $"Log entries as text (a line each) or json (an object each, with its event id). Default {d.LogFormat}.");
        AddText("--admin-token", "Bearer token (16+ characters) that the admin endpoint's actions require: POST /api/peers/{id}/kick and /api/rooms/{name}/close. Prefer GDNET_ADMIN_TOKEN: a command line is visible to every user. Without it the actions are off.");
        AddText("--admin-bind", $"Address of the admin endpoint. Default {d.AdminBind} (this machine only).");
        Add<long>("--max-queued-bytes-total", $"Server-wide budget of bytes queued for sending over all players; while it is used up, relaying waits (senders are read more slowly). Default {d.MaxQueuedBytesTotal}.", L);
        AddText("--jwt-secret-file", "Turns on authentication: WebSocket players must present an HS256 JSON Web Token signed with this file's bytes (no trailing newline; at least 32 bytes) as ?token=… or Authorization: Bearer. exp is required; a room claim must match the room.");
        AddText("--enet-allow", "With --jwt-secret-file: comma-separated CIDR networks whose ENet players are admitted without a token (Godot 3's ENet sends none); other ENet players are refused.");
        AddText("--cluster", "Join a cluster of gdnet serve nodes through this NATS server (JetStream on), e.g. nats://127.0.0.1:4222: players of one room may land on any node. Off by default.");
        AddText("--cluster-name", $"With --cluster: nodes with the same NATS server and cluster name form one server. Default {d.ClusterName}.");
        AddText("--node-name", "With --cluster: this node's name in logs and status. Default: the machine name and process id.");
        AddText("--enet-room", $"The room ENet players join (Godot 3's ENet client names no room). Default {d.EnetRoom}.");
        Add<double>("--drain-seconds", $"On SIGTERM/Ctrl+C, how long to wait for players to leave after saying goodbye. Default {d.DrainSeconds}.", R);
        Add<double>("--stats-interval", $"When stdout is not a terminal: every this many seconds the status line (peers, rooms, rates, refusals, rejections) is made, and printed when it differs from the last one printed (an idle server prints nothing). Default {d.StatsInterval}.", R);
        AddText("--lobby", $"The logic each room hosts as peer 1: {ServeSettings.NoLobby} (a pure relay: packets for peer 1 are dropped) or {ServeSettings.ConversationLobby} (Main/Lobby playing the server side of the shared Godot fixtures' conversation v1). Default {d.Lobby}.");
        Add<int>("--lobby-min-players", $"With --lobby {ServeSettings.ConversationLobby}: each room's lobby starts the conversation when this many players are in, and lets them go together. Default {d.LobbyMinPlayers}.", I);
        var config = new Option<string?>("--config") { Description = "A JSON file of settings (keys as in the option names, e.g. \"MaxPeersPerRoom\": 16). Environment variables GDNET_MAX_PEERS_PER_ROOM etc. override it; the command line overrides both." };

        var command = new Command("serve", "Run a Godot 3 compatible relay server: rooms, WebSocket and ENet players together, tokens, limits.");
        command.Options.Add(config);
        foreach (var s in settings)
        {
            command.Options.Add(s.Option);
        }

        command.SetAction((result, ct) =>
        {
            ServeSettings loaded;
            try
            {
                var given = settings.Select(s => (s.Key, Value: s.Read(result))).Where(p => p.Value is not null)
                    .ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);
                loaded = ServeSettings.Load(result.GetValue(config), Environment.GetEnvironmentVariables(), given);
            }
            catch (FormatException ex)
            {
                return Task.FromResult(CliOutput.Fail(result, ex.Message));
            }

            return RunAsync(result, loaded, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, ServeSettings settings, CancellationToken ct)
    {
        var output = CliOutput.Out(result);
        if (settings.Validate() is { } invalid)
        {
            return CliOutput.Fail(result, invalid);
        }

        var events = new ConcurrentQueue<string>();
        using var logs = CreateLoggerFactory(settings);
        RelayServer server;
        try
        {
            server = await RelayServer.StartAsync(settings, events, logs.CreateLogger("GdNet")).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            result.InvocationConfiguration.Error.WriteLine("gdnet: " + ex.Message);
            return 1;
        }

        await using (server.ConfigureAwait(false))
        {
            foreach (var url in server.Urls)
            {
                output.WriteLine("listening on " + url);
            }

            if (server.Admin is { } admin)
            {
                output.WriteLine("admin on " + admin.Url + " (dashboard at /, /metrics /healthz /readyz /api/status)");
            }

            output.Flush();
            try
            {
                if (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
                {
                    await LiveTableAsync(server, events, ct).ConfigureAwait(false);
                }
                else
                {
                    await PlainLinesAsync(output, server, events, TimeSpan.FromSeconds(settings.StatsInterval), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: drain below
            }

            var peers = server.Router.PeerCount;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"draining: {peers} peers, up to {settings.DrainSeconds:0.#} s"));
            output.Flush();
            var all = await server.DrainAsync(TimeSpan.FromSeconds(settings.DrainSeconds)).ConfigureAwait(false);
            while (events.TryDequeue(out var e))
            {
                output.WriteLine(e);
            }

            output.WriteLine(all ? "drained: every peer left" : string.Create(CultureInfo.InvariantCulture, $"drain time over: {server.Router.PeerCount} peers still connected were dropped"));
        }

        output.WriteLine("stopped");
        return 0;
    }

    // Structured logs on stderr (stdout carries the status lines): text or JSON, from --log-level up.
    private static ILoggerFactory CreateLoggerFactory(ServeSettings settings) => LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(settings.MinimumLogLevel ?? LogLevel.Warning);
        if (settings.LogFormat == "json")
        {
            b.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        b.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    private readonly record struct Rates(double PacketsIn, double BytesIn, double Relayed);

    private static Rates RatesBetween(TrafficSample a, TrafficSample b, double seconds) => new(
        (b.PacketsIn - a.PacketsIn) / seconds, (b.BytesIn - a.BytesIn) / seconds, (b.Relayed - a.Relayed) / seconds);

    private static string Counts<TKey>(IReadOnlyDictionary<TKey, long> counts)
        where TKey : notnull =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")));

    private static async Task PlainLinesAsync(TextWriter output, RelayServer server, ConcurrentQueue<string> events, TimeSpan interval, CancellationToken ct)
    {
        var last = server.Sample();
        var clock = Stopwatch.StartNew();
        var lastAt = TimeSpan.Zero;
        string? printed = null;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, interval.TotalMilliseconds)), ct).ConfigureAwait(false);
            while (events.TryDequeue(out var e))
            {
                output.WriteLine(e);
            }

            if (clock.Elapsed - lastAt >= interval)
            {
                var now = server.Sample();
                var at = clock.Elapsed;
                var r = RatesBetween(last, now, (at - lastAt).TotalSeconds);
                var stats = server.Router.GetStatistics();
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"stats peers={now.Peers} rooms={stats.Rooms} in={r.PacketsIn:F0} pkt/s {Size(r.BytesIn)}/s relayed={r.Relayed:F0}/s queued={Size(stats.QueuedBytes)} refused: {Counts(stats.Refusals)} rejections: {Counts(stats.Rejections)}");
                if (line != printed)
                {
                    output.WriteLine(line); // only on change: a log of an idle server does not grow
                    printed = line;
                }

                last = now;
                lastAt = at;
            }

            output.Flush();
        }
    }

    private static async Task LiveTableAsync(RelayServer server, ConcurrentQueue<string> events, CancellationToken ct)
    {
        var recent = new Queue<string>();
        var last = server.Sample();
        var clock = Stopwatch.StartNew();
        var lastAt = TimeSpan.Zero;
        await AnsiConsole.Live(new Text("starting…")).StartAsync(async ctx =>
        {
            while (!ct.IsCancellationRequested)
            {
                var now = server.Sample();
                var at = clock.Elapsed;
                var r = RatesBetween(last, now, Math.Max((at - lastAt).TotalSeconds, 0.001));
                last = now;
                lastAt = at;
                while (events.TryDequeue(out var e))
                {
                    recent.Enqueue(DateTime.Now.ToString("HH:mm:ss ", CultureInfo.InvariantCulture) + e);
                    if (recent.Count > 8)
                    {
                        recent.Dequeue();
                    }
                }

                var stats = server.Router.GetStatistics();
                var table = new Table().Border(TableBorder.Rounded).Title($"gdnet serve — {Markup.Escape(string.Join("  ", server.Urls))}")
                    .AddColumn("").AddColumn(new TableColumn("now").RightAligned()).AddColumn(new TableColumn("total").RightAligned());
                table.AddRow("peers", now.Peers.ToString(CultureInfo.InvariantCulture), "");
                table.AddRow("rooms", stats.Rooms.ToString(CultureInfo.InvariantCulture), "");
                table.AddRow("packets in", Rate(r.PacketsIn) + "/s", now.PacketsIn.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("bytes in", Size(r.BytesIn) + "/s", Size(now.BytesIn));
                table.AddRow("relayed", Rate(r.Relayed) + "/s", now.Relayed.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("queued to send", Size(stats.QueuedBytes), "");
                foreach (var (reason, n) in stats.Refusals.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    table.AddRow("[yellow]refused: " + reason + "[/]", "", n.ToString("N0", CultureInfo.InvariantCulture));
                }

                foreach (var (reason, n) in stats.Rejections.OrderBy(p => p.Key))
                {
                    table.AddRow("[yellow]rejected: " + reason + "[/]", "", n.ToString("N0", CultureInfo.InvariantCulture));
                }

                var log = recent.Count == 0 ? new Text("no events yet", new Style(Color.Grey)) : new Text(string.Join('\n', recent));
                ctx.UpdateTarget(new Rows(table, new Panel(log).Header("recent events").Border(BoxBorder.Rounded), new Text("Ctrl+C drains and stops the server.", new Style(Color.Grey))));
                ctx.Refresh();
                try
                {
                    await Task.Delay(1000, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }).ConfigureAwait(false);
    }

    private static string Rate(double v) => v.ToString(v >= 100 ? "N0" : "N1", CultureInfo.InvariantCulture);

    internal static string Size(double bytes) => bytes switch
    {
        >= 1024 * 1024 * 1024 => (bytes / (1024.0 * 1024 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " GiB",
        >= 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("F2", CultureInfo.InvariantCulture) + " MiB",
        >= 1024 => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString("F0", CultureInfo.InvariantCulture) + " B",
    };
}
