using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GdNet.Cli.Conversation;
using GdNet.Peers;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet serve</c>: a Godot-compatible relay server. Godot 3 clients join it with
/// <c>WebSocketClient.connect_to_url("ws://HOST:PORT", [], true)</c> and RPC each other through it; the server relays
/// every client-to-client packet itself (spec §5.3). Its own game loop hosts <c>Main/Lobby</c> playing the server side
/// of conversation v1 (so the shared Godot interop client passes against a plain <c>gdnet serve</c>), unless
/// <c>--no-lobby</c>.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var transport = new Option<string>("--transport") { Description = "Transport: ws (Godot's WebSocketMultiplayerPeer) or enet.", DefaultValueFactory = _ => "ws" };
        transport.AcceptOnlyFromAmong(Transports.NetworkNames);
        var port = new Option<int>("--port") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => 9080 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on: an IP address, or * for every interface.", DefaultValueFactory = _ => "127.0.0.1" };
        var maxClients = new Option<int>("--max-clients") { Description = "Most clients at once; more are refused.", DefaultValueFactory = _ => 4096 };
        var maxPacket = new Option<int>("--max-packet-size") { Description = "Largest packet in bytes (MultiplayerAPI bytes, without the 9-byte header); larger messages are refused and their sender disconnected.", DefaultValueFactory = _ => 65527 };
        var interval = new Option<double>("--stats-interval") { Description = "Seconds between status lines when stdout is not a terminal.", DefaultValueFactory = _ => 5 };
        var noLobby = new Option<bool>("--no-lobby") { Description = "Relay only: do not host Main/Lobby (the conversation-v1 server side)." };
        var command = new Command("serve", "Run a Godot 3 compatible relay server (Godot clients join and RPC each other through it).")
        {
            transport, port, bind, maxClients, maxPacket, interval, noLobby,
        };
        command.SetAction((result, ct) => RunAsync(
            result,
            new Options(result.GetValue(transport)!, result.GetValue(port), result.GetValue(bind)!, result.GetValue(maxClients), result.GetValue(maxPacket), result.GetValue(interval), !result.GetValue(noLobby)),
            ct));
        return command;
    }

    private sealed record Options(string Transport, int Port, string Bind, int MaxClients, int MaxPacketSize, double StatsInterval, bool Lobby);

    private static async Task<int> RunAsync(ParseResult result, Options o, CancellationToken ct)
    {
        var output = CliOutput.Out(result);
        var invalid = o switch
        {
            { Port: < 0 or > 65535 } => "--port must be between 0 and 65535",
            { MaxClients: < 1 } => "--max-clients must be at least 1",
            { MaxPacketSize: < 1 or > (1 << 30) - 9 } => "--max-packet-size must be between 1 and 1073741815",
            { StatsInterval: <= 0 } => "--stats-interval must be positive",
            _ when o.Bind != "*" && !System.Net.IPAddress.TryParse(o.Bind, out _) => "--bind must be an IP address or *",
            _ => null,
        };
        if (invalid is not null)
        {
            return CliOutput.Fail(result, invalid);
        }

        ServerHandle handle;
        try
        {
            handle = await Transports.StartServerAsync(Transports.Parse(o.Transport), new ServerSettings(o.Bind, o.Port, o.MaxClients, o.MaxPacketSize)).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            result.InvocationConfiguration.Error.WriteLine("gdnet: " + ex.Message);
            return 1;
        }

        await using (handle.ConfigureAwait(false))
        {
            var events = new ConcurrentQueue<string>();
            using var game = new GameThread(handle.Peer, events, o.Lobby);
            output.WriteLine("listening on " + handle.Url);
            output.Flush();
            try
            {
                if (ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
                {
                    await LiveTableAsync(handle, events, ct).ConfigureAwait(false);
                }
                else
                {
                    await PlainLinesAsync(output, handle, events, TimeSpan.FromSeconds(o.StatsInterval), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM
            }
        }

        output.WriteLine("stopped");
        return 0;
    }

    /// <summary>
    /// The server's game thread: runs the MultiplayerAPI with <c>Main/Lobby</c> (or, relay only, reads and drops the
    /// packets addressed to the server), about once a millisecond.
    /// </summary>
    private sealed class GameThread : IDisposable
    {
        private readonly NetworkedMultiplayerPeer _peer;
        private readonly ConversationPeer? _conversation;
        private readonly Thread _thread;
        private volatile bool _stop;

        public GameThread(NetworkedMultiplayerPeer peer, ConcurrentQueue<string> events, bool lobby)
        {
            _peer = peer;
            peer.PeerConnected += id => events.Enqueue(string.Create(CultureInfo.InvariantCulture, $"peer {id} connected"));
            peer.PeerDisconnected += id => events.Enqueue(string.Create(CultureInfo.InvariantCulture, $"peer {id} disconnected"));
            peer.PacketRejected += r => events.Enqueue("rejected: " + r.Detail);
            if (lobby)
            {
                _conversation = ConversationPeer.Server(peer, id => Transports.Kick(peer, id, "quit"));
                _conversation.Lobby.ClientDone += (id, ok, detail) => events.Enqueue(string.Create(CultureInfo.InvariantCulture,
                    $"peer {id} finished conversation v1: {(ok ? "ok" : "fail " + detail)}"));
                _conversation.Api.RpcRejected += r => events.Enqueue("rpc rejected: " + r);
            }

            _thread = new Thread(Run) { IsBackground = true, Name = "gdnet serve game loop" };
            _thread.Start();
        }

        private void Run()
        {
            while (!_stop)
            {
                if (_conversation is not null)
                {
                    _conversation.Poll();
                }
                else
                {
                    _peer.Poll();
                    while (_peer.TryGetPacket(out _))
                    {
                        // Relay only: packets addressed to the server are read and dropped.
                    }
                }

                Thread.Sleep(1);
            }
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }

    private readonly record struct Rates(double PacketsIn, double BytesIn, double PacketsOut, double BytesOut, double Relayed);

    private static Rates RatesBetween(TrafficSample a, TrafficSample b, double seconds) => new(
        (b.PacketsIn - a.PacketsIn) / seconds, (b.BytesIn - a.BytesIn) / seconds,
        (b.PacketsOut - a.PacketsOut) / seconds, (b.BytesOut - a.BytesOut) / seconds, (b.Relayed - a.Relayed) / seconds);

    private static string Rejections(ServerHandle handle)
    {
        var r = handle.Peer.Statistics.Snapshot().Rejections;
        return r.Count == 0 ? "none" : string.Join(", ", r.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")));
    }

    private static async Task PlainLinesAsync(TextWriter output, ServerHandle handle, ConcurrentQueue<string> events, TimeSpan interval, CancellationToken ct)
    {
        var last = handle.Sample();
        var clock = Stopwatch.StartNew();
        var lastAt = TimeSpan.Zero;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
            while (events.TryDequeue(out var e))
            {
                output.WriteLine(e);
            }

            if (clock.Elapsed - lastAt >= interval)
            {
                var now = handle.Sample();
                var at = clock.Elapsed;
                var r = RatesBetween(last, now, (at - lastAt).TotalSeconds);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"stats peers={now.Peers} in={r.PacketsIn:F0} pkt/s {Size(r.BytesIn)}/s out={r.PacketsOut:F0} pkt/s {Size(r.BytesOut)}/s relayed={r.Relayed:F0}/s rejections: {Rejections(handle)}"));
                last = now;
                lastAt = at;
            }

            output.Flush();
        }
    }

    private static async Task LiveTableAsync(ServerHandle handle, ConcurrentQueue<string> events, CancellationToken ct)
    {
        var recent = new Queue<string>();
        var last = handle.Sample();
        var clock = Stopwatch.StartNew();
        var lastAt = TimeSpan.Zero;
        await AnsiConsole.Live(new Text("starting…")).StartAsync(async ctx =>
        {
            while (!ct.IsCancellationRequested)
            {
                var now = handle.Sample();
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

                var table = new Table().Border(TableBorder.Rounded).Title($"gdnet serve — {Markup.Escape(handle.Url)}")
                    .AddColumn("") .AddColumn(new TableColumn("now").RightAligned()).AddColumn(new TableColumn("total").RightAligned());
                table.AddRow("peers", now.Peers.ToString(CultureInfo.InvariantCulture), "");
                table.AddRow("packets in", Rate(r.PacketsIn) + "/s", now.PacketsIn.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("packets out", Rate(r.PacketsOut) + "/s", now.PacketsOut.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("bytes in", Size(r.BytesIn) + "/s", Size(now.BytesIn));
                table.AddRow("bytes out", Size(r.BytesOut) + "/s", Size(now.BytesOut));
                table.AddRow("relayed", Rate(r.Relayed) + "/s", now.Relayed.ToString("N0", CultureInfo.InvariantCulture));
                foreach (var (reason, n) in handle.Peer.Statistics.Snapshot().Rejections.OrderBy(p => p.Key))
                {
                    table.AddRow("[yellow]rejected: " + reason + "[/]", "", n.ToString("N0", CultureInfo.InvariantCulture));
                }

                var log = recent.Count == 0 ? new Text("no events yet", new Style(Color.Grey)) : new Text(string.Join('\n', recent));
                ctx.UpdateTarget(new Rows(table, new Panel(log).Header("recent events").Border(BoxBorder.Rounded), new Text("Ctrl+C stops the server.", new Style(Color.Grey))));
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
