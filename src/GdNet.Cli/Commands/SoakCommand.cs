using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.WebSockets;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet soak</c>: reliability under load and faults, over WebSocket on 127.0.0.1 (see <see cref="SoakRun"/>).
/// The default is the long form (200 clients, 60 s); the test suite runs the same code in a short form.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Concurrent clients (2–2000).", DefaultValueFactory = _ => 200 };
        var seconds = new Option<double>("--seconds") { Description = "How long the clients send.", DefaultValueFactory = _ => 60 };
        var rate = new Option<int>("--rate") { Description = "Reliable RPCs per client per second, to the server and as many to a neighbour client.", DefaultValueFactory = _ => 50 };
        var kill = new Option<int>("--kill") { Description = "Clients killed (connection dropped without a close) a third of the way in.", DefaultValueFactory = _ => 10 };
        var noGarbage = new Option<bool>("--no-garbage") { Description = "Skip the raw-socket client that sends garbage frames two thirds of the way in." };
        var json = CliOutput.JsonOption("command (\"soak\"), clients, seconds, rate, garbage, sentToServer, receivedByServer, sentToNeighbours, receivedByNeighbours, lost, reordered, "
            + "killed, killsSeenEverywhere, garbageClose, heapWarmBytes, heapEndBytes, serverRejections, problems (one sentence each), ok.");
        var command = new Command("soak", "Many clients sending reliable RPCs for a while, with clients killed and a garbage-sending socket: checks nothing is lost or reordered and memory stays flat.")
        {
            clients, seconds, rate, kill, noGarbage, json,
        };
        command.SetAction(async (result, ct) =>
        {
            var options = new SoakOptions
            {
                Clients = result.GetValue(clients),
                Seconds = result.GetValue(seconds),
                Rate = result.GetValue(rate),
                Kill = result.GetValue(kill),
                Garbage = !result.GetValue(noGarbage),
            };
            if (options.Validate() is { } problem)
            {
                return CliOutput.Fail(result, problem);
            }

            var output = result.GetValue(json) ? TextWriter.Null : CliOutput.Out(result);
            var console = CliOutput.CreateConsole(output);
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"soak: {options.Clients} clients, {options.Rate} RPC/s each to the server and {options.Rate} to a neighbour, {options.Seconds:0.#} s; killing {options.Kill} at 1/3{(options.Garbage ? ", garbage socket at 2/3" : "")}")));
            var outcome = await SoakRun.RunAsync(options, line =>
            {
                output.WriteLine(line);
                output.Flush();
            }, ct).ConfigureAwait(false);
            console.Write(outcome.ToTable());
            console.MarkupLine(outcome.Passed ? "[green]soak passed[/]" : "[red]soak failed: " + Markup.Escape(string.Join("; ", outcome.Problems)) + "[/]");
            if (result.GetValue(json))
            {
                CliOutput.WriteJson(result, SoakReport.From(options, outcome), ReportJson.Default.SoakReport);
            }

            return outcome.Passed ? 0 : 1;
        });
        return command;
    }
}

/// <summary>What a soak run does.</summary>
public sealed record SoakOptions
{
    public int Clients { get; init; } = 200;

    public double Seconds { get; init; } = 60;

    /// <summary>Reliable RPCs per client per second to the server (and as many to its neighbour client).</summary>
    public int Rate { get; init; } = 50;

    /// <summary>Clients whose connection is dropped without a close a third of the way in.</summary>
    public int Kill { get; init; } = 10;

    /// <summary>Whether a raw socket sends garbage frames two thirds of the way in.</summary>
    public bool Garbage { get; init; } = true;

    /// <summary>
    /// Largest growth of the managed heap (after a full collection) between warm-up and the end; null skips the check
    /// (in a process that does other work at the same time, such as a test run, the heap says nothing about the soak).
    /// </summary>
    public long? HeapTolerance { get; init; } = SoakRun.DefaultHeapTolerance;

    /// <summary>A reason the options cannot run, or null.</summary>
    public string? Validate() => this switch
    {
        { Clients: < 2 or > 2000 } => "--clients must be between 2 and 2000",
        { Seconds: <= 0 or > 86_400 } => "--seconds must be more than 0 and at most 86400",
        { Rate: < 1 or > 100_000 } => "--rate must be between 1 and 100000",
        _ when Kill < 0 || Kill > Clients - 2 => "--kill must be between 0 and clients − 2",
        _ => null,
    };
}

/// <summary>The outcome of a soak run; <see cref="Passed"/> when <see cref="Problems"/> is empty.</summary>
public sealed record SoakOutcome
{
    public int Clients { get; init; }

    public double Seconds { get; init; }

    public long SentToServer { get; init; }

    public long ReceivedByServer { get; init; }

    public long SentToNeighbours { get; init; }

    public long ReceivedByNeighbours { get; init; }

    /// <summary>RPCs between live peers that never arrived.</summary>
    public long Lost { get; init; }

    /// <summary>RPCs that arrived out of sequence.</summary>
    public long Reordered { get; init; }

    public int Killed { get; init; }

    /// <summary>Killed clients whose PeerDisconnected reached the server and every surviving client.</summary>
    public int KillsSeenEverywhere { get; init; }

    /// <summary>How the garbage socket was closed ("1002", "not run", …).</summary>
    public string GarbageClose { get; init; } = "not run";

    /// <summary>Managed heap after a full collection, once warmed up and at the end.</summary>
    public long HeapWarmBytes { get; init; }

    public long HeapEndBytes { get; init; }

    public long ServerRejections { get; init; }

    public IReadOnlyList<string> Problems { get; init; } = [];

    public bool Passed => Problems.Count == 0;

    public Table ToTable()
    {
        string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        var t = new Table().Border(TableBorder.Rounded).Title("gdnet soak").AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        t.AddRow("clients / seconds", string.Create(CultureInfo.InvariantCulture, $"{Clients} / {Seconds:0.#}"));
        t.AddRow("RPCs to the server: sent / received", $"{N(SentToServer)} / {N(ReceivedByServer)}");
        t.AddRow("RPCs relayed to neighbours: sent / received", $"{N(SentToNeighbours)} / {N(ReceivedByNeighbours)}");
        t.AddRow("lost / reordered", $"{N(Lost)} / {N(Reordered)}");
        t.AddRow("clients killed / PeerDisconnected seen everywhere", $"{Killed} / {KillsSeenEverywhere}");
        t.AddRow("garbage socket closed with", Markup.Escape(GarbageClose));
        t.AddRow("server rejections", N(ServerRejections));
        t.AddRow("managed heap warm / end", $"{ServeCommand.Size(HeapWarmBytes)} / {ServeCommand.Size(HeapEndBytes)}");
        return t;
    }
}

/// <summary>
/// The soak: a WebSocket server on 127.0.0.1 with a MultiplayerAPI, and clients that each send reliable RPCs with
/// sequence numbers to the server and to a neighbour client (relayed by the server) at a steady rate. A third of the way
/// in, some clients are killed (connection dropped without a close); two thirds in, a raw socket sends garbage frames.
/// Checks: every RPC between live peers arrives, in order; every kill is seen (PeerDisconnected) by the server and
/// every surviving client; the garbage socket is closed with a reason while the others carry on; the managed heap after
/// a full collection does not grow between warm-up and the end.
/// </summary>
public static class SoakRun
{
    /// <summary>Heap growth tolerated by default between warm-up and the end (queues and pools settle in that range).</summary>
    public const long DefaultHeapTolerance = 32L * 1024 * 1024;

    private sealed class SoakNode : Node
    {
        private readonly Dictionary<(int From, bool Relay), long> _expected = [];

        public SoakNode() => Name = "Soak";

        public long ReceivedDirect;

        public long ReceivedRelayed;

        public long Reordered;

        public Dictionary<int, long> ReceivedFrom { get; } = [];

        [Remote(Name = "s")]
        public void S(long seq) => Count(seq, relay: false);

        [Remote(Name = "n")]
        public void N(long seq) => Count(seq, relay: true);

        private void Count(long seq, bool relay)
        {
            var from = Multiplayer!.GetRpcSenderId();
            _expected.TryGetValue((from, relay), out var want);
            if (seq != want)
            {
                Reordered++;
            }

            _expected[(from, relay)] = seq + 1;
            ReceivedFrom[from] = ReceivedFrom.GetValueOrDefault(from) + 1;
            if (relay)
            {
                ReceivedRelayed++;
            }
            else
            {
                ReceivedDirect++;
            }
        }
    }

    private sealed class SoakClient
    {
        public required WebSocketClient Peer { get; init; }

        public required MultiplayerAPI Api { get; init; }

        public required SoakNode Node { get; init; }

        public int Id;

        public int NeighbourId;

        public long SentDirect;

        public long SentRelay;

        public bool Killed;

        public bool NeighbourGone;

        public readonly HashSet<int> Gone = [];
    }

    /// <summary>Runs a soak; <paramref name="log"/> gets a progress line now and then.</summary>
    public static async Task<SoakOutcome> RunAsync(SoakOptions options, Action<string>? log = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(options), problem);
        }

        log ??= static _ => { };
        await using var server = new WebSocketServer { BindIp = "127.0.0.1", MaxClients = options.Clients + 8 };
        if (await server.ListenAsync(0).ConfigureAwait(false) != Error.Ok)
        {
            throw new InvalidOperationException("the soak server could not listen on 127.0.0.1");
        }

        var serverApi = new MultiplayerAPI();
        var serverMain = new Node { Name = "Main" };
        serverApi.RootNode.AddChild(serverMain);
        var serverNode = new SoakNode();
        serverMain.AddChild(serverNode);
        serverApi.NetworkPeer = server;
        var serverGone = new HashSet<int>();
        serverApi.NetworkPeerDisconnected += id => serverGone.Add(id);

        // The server's game loop on its own thread, as in a server process.
        using var stopServer = new CancellationTokenSource();
        var serverLock = new Lock();
        var serverThread = new Thread(() =>
        {
            while (!stopServer.IsCancellationRequested)
            {
                lock (serverLock)
                {
                    serverApi.Poll();
                }

                Thread.Sleep(1);
            }
        }) { IsBackground = true, Name = "soak server" };
        serverThread.Start();

        var clients = new List<SoakClient>();
        try
        {
            for (var i = 0; i < options.Clients; i++)
            {
                var peer = new WebSocketClient();
                if (peer.ConnectToUrl(server.Url!) != Error.Ok)
                {
                    throw new InvalidOperationException("a soak client could not start connecting");
                }

                var api = new MultiplayerAPI();
                var main = new Node { Name = "Main" };
                api.RootNode.AddChild(main);
                var node = new SoakNode();
                main.AddChild(node);
                api.NetworkPeer = peer;
                var client = new SoakClient { Peer = peer, Api = api, Node = node };
                api.NetworkPeerDisconnected += id => client.Gone.Add(id);
                clients.Add(client);
            }

            var clock = Stopwatch.StartNew();
            while (clients.Any(c => c.Peer.GetConnectionStatus() != ConnectionStatus.Connected))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60) || ct.IsCancellationRequested)
                {
                    throw new TimeoutException("the soak clients did not all connect within 60 s");
                }

                clients.ForEach(c => c.Api.Poll());
                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            for (var i = 0; i < clients.Count; i++)
            {
                clients[i].Id = clients[i].Peer.GetUniqueId();
            }

            for (var i = 0; i < clients.Count; i++)
            {
                clients[i].NeighbourId = clients[(i + 1) % clients.Count].Id;
            }

            // Wait until every client knows its neighbour (SYS_ADD reached it).
            while (clients.Any(c => !c.Api.GetNetworkConnectedPeers().Contains(c.NeighbourId)))
            {
                clients.ForEach(c => c.Api.Poll());
                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            log(string.Create(CultureInfo.InvariantCulture, $"{clients.Count} clients connected in {clock.Elapsed.TotalSeconds:0.0} s"));
            var duration = TimeSpan.FromSeconds(options.Seconds);
            var killAt = duration / 3;
            var garbageAt = duration * 2 / 3;
            var warmAt = duration / 6;
            var killed = false;
            Task<string>? garbage = null;
            long heapWarm = 0;
            var nextLog = TimeSpan.FromSeconds(10);
            clock.Restart();
            while (clock.Elapsed < duration && !ct.IsCancellationRequested)
            {
                var now = clock.Elapsed;
                var due = (long)(now.TotalSeconds * options.Rate);
                foreach (var c in clients)
                {
                    if (c.Killed)
                    {
                        continue;
                    }

                    while (c.SentDirect < due && c.Node.RpcId(1, nameof(SoakNode.S), c.SentDirect) == Error.Ok)
                    {
                        c.SentDirect++;
                    }

                    while (!c.NeighbourGone && c.SentRelay < due)
                    {
                        if (c.Gone.Contains(c.NeighbourId))
                        {
                            c.NeighbourGone = true;
                            break;
                        }

                        if (c.Node.RpcId(c.NeighbourId, nameof(SoakNode.N), c.SentRelay) != Error.Ok)
                        {
                            break;
                        }

                        c.SentRelay++;
                    }

                    c.Api.Poll();
                }

                if (!killed && now >= killAt)
                {
                    killed = true;
                    foreach (var c in clients.Take(options.Kill))
                    {
                        c.Killed = true;
                        c.Peer.Abort();
                    }

                    log(string.Create(CultureInfo.InvariantCulture, $"{now.TotalSeconds:0.0} s: killed {options.Kill} clients"));
                }

                if (garbage is null && options.Garbage && now >= garbageAt)
                {
                    garbage = SendGarbageAsync(server.LocalPort);
                    log(string.Create(CultureInfo.InvariantCulture, $"{now.TotalSeconds:0.0} s: a raw socket sends garbage frames"));
                }

                if (heapWarm == 0 && now >= warmAt)
                {
                    heapWarm = HeapAfterCollect();
                }

                if (now >= nextLog)
                {
                    nextLog += TimeSpan.FromSeconds(10);
                    long received;
                    lock (serverLock)
                    {
                        received = serverNode.ReceivedDirect;
                    }

                    log(string.Create(CultureInfo.InvariantCulture, $"{now.TotalSeconds:0} s: server received {received:N0} RPCs, heap {ServeCommand.Size(GC.GetTotalMemory(false))}"));
                }

                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            var elapsed = clock.Elapsed.TotalSeconds;
            var garbageClose = garbage is null ? "not run" : await garbage.ConfigureAwait(false);

            // Let everything in flight arrive, then compare.
            var live = clients.Where(c => !c.Killed).ToList();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                clients.ForEach(c => c.Api.Poll());
                bool serverDone;
                lock (serverLock)
                {
                    serverDone = live.All(c => serverNode.ReceivedFrom.GetValueOrDefault(c.Id) >= c.SentDirect);
                }

                if (serverDone && live.All(c => c.NeighbourGone || NeighbourOf(clients, c).Node.ReceivedFrom.GetValueOrDefault(c.Id) >= c.SentRelay))
                {
                    break;
                }

                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            var heapEnd = HeapAfterCollect();
            var problems = new List<string>();
            long lost = 0;
            long sentDirect = 0, receivedDirect = 0, sentRelay = 0, receivedRelay = 0, reordered;
            int killsSeen;
            long rejections;
            lock (serverLock)
            {
                foreach (var c in live)
                {
                    sentDirect += c.SentDirect;
                    var got = serverNode.ReceivedFrom.GetValueOrDefault(c.Id);
                    receivedDirect += got;
                    lost += Math.Max(0, c.SentDirect - got);
                    if (!c.NeighbourGone)
                    {
                        sentRelay += c.SentRelay;
                        var gotRelay = NeighbourOf(clients, c).Node.ReceivedFrom.GetValueOrDefault(c.Id);
                        receivedRelay += gotRelay;
                        lost += Math.Max(0, c.SentRelay - gotRelay);
                    }
                }

                reordered = serverNode.Reordered + live.Sum(c => c.Node.Reordered);
                var killedIds = clients.Where(c => c.Killed).Select(c => c.Id).ToList();
                killsSeen = killedIds.Count(id => serverGone.Contains(id) && live.All(c => c.Gone.Contains(id)));
                rejections = server.Statistics.Snapshot().TotalRejections;
            }

            if (lost > 0)
            {
                problems.Add($"{lost} RPCs lost");
            }

            if (reordered > 0)
            {
                problems.Add($"{reordered} RPCs out of order");
            }

            if (killsSeen != options.Kill)
            {
                problems.Add($"only {killsSeen} of {options.Kill} kills were seen by everyone");
            }

            if (options.Garbage && !garbageClose.StartsWith("closed", StringComparison.Ordinal))
            {
                problems.Add("the garbage socket was not closed: " + garbageClose);
            }

            if (live.Any(c => c.Peer.GetConnectionStatus() != ConnectionStatus.Connected))
            {
                problems.Add($"{live.Count(c => c.Peer.GetConnectionStatus() != ConnectionStatus.Connected)} surviving clients lost their connection");
            }

            if (options.HeapTolerance is { } tolerance && heapWarm > 0 && heapEnd - heapWarm > tolerance)
            {
                problems.Add($"the managed heap grew from {ServeCommand.Size(heapWarm)} to {ServeCommand.Size(heapEnd)}");
            }

            return new SoakOutcome
            {
                Clients = options.Clients,
                Seconds = elapsed,
                SentToServer = sentDirect,
                ReceivedByServer = receivedDirect,
                SentToNeighbours = sentRelay,
                ReceivedByNeighbours = receivedRelay,
                Lost = lost,
                Reordered = reordered,
                Killed = options.Kill,
                KillsSeenEverywhere = killsSeen,
                GarbageClose = garbageClose,
                HeapWarmBytes = heapWarm,
                HeapEndBytes = heapEnd,
                ServerRejections = rejections,
                Problems = problems,
            };
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.Peer.DisposeAsync().ConfigureAwait(false);
            }

            await stopServer.CancelAsync().ConfigureAwait(false);
            serverThread.Join();
        }
    }

    private static SoakClient NeighbourOf(List<SoakClient> clients, SoakClient c) => clients.First(x => x.Id == c.NeighbourId);

    private static long HeapAfterCollect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(false);
    }

    /// <summary>
    /// A raw TCP client: the HTTP upgrade, then a frame header with reserved bits and an unknown opcode. Returns how the server
    /// ended it: "closed 1002" (a close frame with that code) or what happened instead.
    /// </summary>
    private static async Task<string> SendGarbageAsync(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync("127.0.0.1", port, timeout.Token).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[64 * 1024];
            var total = 0;
            var headerEnd = -1;
            while (headerEnd < 0)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(total), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return "the upgrade was refused";
                }

                total += n;
                headerEnd = buffer.AsSpan(0, total).IndexOf("\r\n\r\n"u8);
            }

            // Reserved bits set, opcode 3 (undefined), masked, empty: a protocol error in one whole 6-byte header. Nothing
            // follows, so the server has nothing unread when it closes, and its close frame is not lost to a TCP reset.
            await stream.WriteAsync(new byte[] { 0xF3, 0x80, 1, 2, 3, 4 }, timeout.Token).ConfigureAwait(false);

            // Read server frames (SYS messages first) until a close frame, a reset, or the end of the stream.
            var offset = headerEnd + 4;
            try
            {
                while (true)
                {
                    while (total - offset >= 2)
                    {
                        var opcode = buffer[offset] & 0x0F;
                        var len = buffer[offset + 1] & 0x7F;
                        var headerLength = len == 126 ? 4 : len == 127 ? 10 : 2;
                        if (len >= 126)
                        {
                            if (total - offset < headerLength)
                            {
                                break;
                            }

                            len = len == 126 ? (buffer[offset + 2] << 8) | buffer[offset + 3] : int.MaxValue;
                        }

                        if (total - offset < headerLength + len)
                        {
                            break;
                        }

                        if (opcode == 8)
                        {
                            var code = len >= 2 ? (buffer[offset + headerLength] << 8) | buffer[offset + headerLength + 1] : 1005;
                            var reason = len > 2 ? Encoding.UTF8.GetString(buffer, offset + headerLength + 2, len - 2) : "";
                            return string.Create(CultureInfo.InvariantCulture, $"closed {code}{(reason.Length > 0 ? " " + reason : " (protocol error)")}");
                        }

                        offset += headerLength + len;
                    }

                    var n = await stream.ReadAsync(buffer.AsMemory(total), timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return "connection ended without a close frame";
                    }

                    total += n;
                }
            }
            catch (IOException)
            {
                return "connection reset without a close frame";
            }
        }
        catch (OperationCanceledException)
        {
            return "no answer within 10 s";
        }
        catch (SocketException ex)
        {
            return "socket error: " + ex.SocketErrorCode;
        }
    }
}
