using System.Net;
using System.Net.Sockets;
using System.Text;
using GdNet.Cli.Conversation;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.TestSupport;
using Xunit.Abstractions;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// WebSocket under network faults, through <see cref="ChaosTcpProxy"/> on loopback, against public behaviour only
/// (events, close reasons, rejections, logs): a reset and a cut in the middle of a frame end the connection cleanly on both
/// sides with a reason; a client whose path stops reading is cut as a slow reader; connections that never finish their
/// HTTP request are dropped after the handshake timeout; reliable RPCs keep their order through latency, jitter and a
/// bandwidth cap. In every case the server keeps serving the others (a marker between two other clients).
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static async Task<(WebSocketClient Client, Probe Probe)> ConnectViaAsync(ChaosTcpProxy proxy, Probe serverProbe, params Probe[] others)
    {
        var client = new WebSocketClient();
        var probe = new Probe(client);
        Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{proxy.Port}"));
        await PumpUntilAsync(() => probe.Has("succeeded") && serverProbe.Has($"connected {client.GetUniqueId()}"), Wait, [serverProbe, probe, .. others]);
        return (client, probe);
    }

    /// <summary>A sends a marker to B; B gets it (the server still relays between the others).</summary>
    private static async Task MarkerAsync(WebSocketClient a, Probe bp, params Probe[] pump)
    {
        var marker = new byte[] { 0x4d, 0x4b, (byte)Random.Shared.Next(256) };
        Send(a, ((WebSocketClient)bp.Peer).GetUniqueId(), marker);
        await PumpUntilAsync(() => bp.From(a.GetUniqueId()).Any(p => p.SequenceEqual(marker)), Wait, pump);
    }

    private static string Disconnections(ListLogger log, int id) =>
        string.Join(" | ", log.Entries.Select(e => e.Message).Where(m => m.StartsWith($"peer {id} disconnected", StringComparison.Ordinal)));

    private static bool Ended(Probe p) => p.Has("server_disconnected") || p.Has("failed");

    // ------------------------------------------------------------------ reset, mid-frame cuts

    [Fact]
    public async Task Reset_BothSidesSeeACleanDisconnect_TheClientWithAReason_OthersStillServed()
    {
        var log = new ListLogger();
        await using var server = StartServer(s => s.Logger = log);
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var proxy = new ChaosTcpProxy(server.LocalPort);
        var (victim, vp) = await ConnectViaAsync(proxy, sp, ap, bp);
        await using var _a = a;
        await using var _b = b;
        await using var _v = victim;
        var id = victim.GetUniqueId();

        Assert.Equal(1, proxy.Reset());

        await PumpUntilAsync(
            () => Ended(vp) && sp.Has($"disconnected {id}") && ap.Has($"disconnected {id}") && bp.Has($"disconnected {id}")
                && Disconnections(log, id).Length > 0,
            Wait, sp, ap, bp, vp);
        output.WriteLine($"client: {victim.CloseCode} {victim.CloseReason}; server: {Disconnections(log, id)}");
        Assert.Equal(ConnectionStatus.Disconnected, victim.GetConnectionStatus());
        Assert.False(string.IsNullOrEmpty(victim.CloseReason), "the client says why it ended");
        Assert.Null(victim.CloseCode); // no close frame came: the connection was lost
        Assert.Equal(1, proxy.Resets);
        await MarkerAsync(a, bp, sp, ap, bp);
        await MarkerAsync(b, ap, sp, ap, bp);
        Assert.DoesNotContain(server.GetPeers(), p => p == id);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CutInTheMiddleOfAFrame_BothSidesSeeACleanDisconnect_TheHalfFrameIsNeverDelivered(bool toServer)
    {
        var log = new ListLogger();
        await using var server = StartServer(s => s.Logger = log);
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var proxy = new ChaosTcpProxy(server.LocalPort);
        var (victim, vp) = await ConnectViaAsync(proxy, sp, ap, bp);
        await using var _a = a;
        await using var _b = b;
        await using var _v = victim;
        var id = victim.GetUniqueId();
        var payload = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();

        // The connection is idle: what the proxy passed so far is all there is; 5 more bytes cut the next frame's header.
        if (toServer)
        {
            proxy.ToServer.CutAfterBytes = proxy.ToServerCounters.Bytes + 5;
            Send(victim, 1, payload);
        }
        else
        {
            proxy.ToClient.CutAfterBytes = proxy.ToClientCounters.Bytes + 5;
            Send(server, id, payload);
        }

        await PumpUntilAsync(
            () => Ended(vp) && sp.Has($"disconnected {id}") && ap.Has($"disconnected {id}") && Disconnections(log, id).Length > 0,
            Wait, sp, ap, bp, vp);
        output.WriteLine($"client: {victim.CloseCode} {victim.CloseReason}; server: {Disconnections(log, id)}; {proxy}");
        Assert.Equal(1, (toServer ? proxy.ToServerCounters : proxy.ToClientCounters).Cuts);
        Assert.Equal(ConnectionStatus.Disconnected, victim.GetConnectionStatus());
        Assert.False(string.IsNullOrEmpty(victim.CloseReason), "the client says why it ended");

        // After a marker through the server, nothing of the cut frame has shown up on either side.
        await MarkerAsync(a, bp, sp, ap, bp, vp);
        await MarkerAsync(b, ap, sp, ap, bp, vp);
        Assert.Empty(sp.From(id));
        Assert.Empty(vp.Packets);
        Assert.DoesNotContain(sp.Rejections, r => r.PeerId != id && r.PeerId != 0);
    }

    [Fact(Skip = "GdNet does not say why a WebSocket connection was lost: after a reset or a cut mid-frame the server only "
        + "logs 'peer N disconnected (local close: (null); remote close: (null))' and raises PeerDisconnected, with no "
        + "reason (connection reset, ended inside a frame) in the log, an event or a counter. Unskip once it does.")]
    public async Task LostConnection_ServerSaysWhy()
    {
        var log = new ListLogger();
        await using var server = StartServer(s => s.Logger = log);
        var sp = new Probe(server);
        await using var resetPath = new ChaosTcpProxy(server.LocalPort);
        await using var cutPath = new ChaosTcpProxy(server.LocalPort);
        var (reset, rp) = await ConnectViaAsync(resetPath, sp);
        var (cut, cp) = await ConnectViaAsync(cutPath, sp, rp);
        await using var _r = reset;
        await using var _c = cut;
        var ids = (int[])[reset.GetUniqueId(), cut.GetUniqueId()];

        Assert.Equal(1, resetPath.Reset());
        cutPath.ToServer.CutAfterBytes = cutPath.ToServerCounters.Bytes + 5;
        Send(cut, 1, new byte[100]);

        await PumpUntilAsync(() => ids.All(id => sp.Has($"disconnected {id}") && Disconnections(log, id).Length > 0), Wait, sp, rp, cp);
        foreach (var id in ids)
        {
            var line = Disconnections(log, id);
            Assert.True(
                new[] { "reset", "lost", "aborted", "ended", "inside" }.Any(w => line.Contains(w, StringComparison.OrdinalIgnoreCase)),
                $"the server's record of peer {id} leaving gives no reason: {line}");
        }
    }

    // ------------------------------------------------------------------ a client that stops reading

    [Fact]
    public async Task ClientPathStopsReading_CutAsSlowReaderOnceItsQueueIsFull_OthersStillServed()
    {
        var log = new ListLogger();
        const long Cap = 64 * 1024;
        await using var server = StartServer(s =>
        {
            s.Logger = log;
            s.MaxPacketSize = 4096;
            s.MaxQueuedBytes = Cap;
            s.CloseTimeout = TimeSpan.FromMilliseconds(500);
        });
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var proxy = new ChaosTcpProxy(server.LocalPort);
        var (victim, vp) = await ConnectViaAsync(proxy, sp, ap, bp);
        await using var _a = a;
        await using var _b = b;
        await using var _v = victim;
        var id = victim.GetUniqueId();

        // Half-open: the proxy stops reading what the server sends the victim. The socket buffers on the way fill, then
        // the server's queue for it, then the server cuts it. The victim's game loop runs on.
        proxy.ToClient.Paused = true;
        var payload = new byte[4000];
        var sent = 0;
        await PumpUntilAsync(
            () =>
            {
                for (var i = 0; i < 16 && !sp.Has($"disconnected {id}"); i++)
                {
                    server.SetTargetPeer(id);
                    if (server.PutPacket(payload) == Error.Ok)
                    {
                        sent++;
                    }
                }

                Assert.True(sent < 100_000, "never cut");
                return sp.Has($"disconnected {id}") && ap.Has($"disconnected {id}");
            },
            Wait, sp, ap, bp, vp);

        var rejection = Assert.Single(sp.Rejections, r => r.PeerId == id);
        Assert.Equal(PacketRejectReason.SlowReader, rejection.Reason);
        await MarkerAsync(a, bp, sp, ap, bp, vp);
        await MarkerAsync(b, ap, sp, ap, bp, vp);

        // The path reads again: the victim learns it was cut (the close, or the connection gone).
        proxy.ToClient.Paused = false;
        await PumpUntilAsync(() => Ended(vp), Wait, sp, ap, bp, vp);
        output.WriteLine($"client: {victim.CloseCode} {victim.CloseReason}; server: {Disconnections(log, id)}; {proxy}");
        Assert.Equal(ConnectionStatus.Disconnected, victim.GetConnectionStatus());
        Assert.False(string.IsNullOrEmpty(victim.CloseReason), "the client says why it ended");
        Assert.True(proxy.ToClientCounters.Bytes > Cap, proxy.ToString());
    }

    // ------------------------------------------------------------------ slowloris

    [Fact]
    public async Task Slowloris_RequestsNeverFinished_DroppedAfterTheHandshakeTimeout_RealClientsJoinMeanwhile()
    {
        var log = new ListLogger();
        await using var server = StartServer(s =>
        {
            s.Logger = log;
            s.HandshakeTimeout = TimeSpan.FromSeconds(1);
        });
        var sp = new Probe(server);
        using var stop = new CancellationTokenSource(Wait);

        // 40 connections: half send nothing, half trickle a request one byte every 50 ms and never end it.
        var request = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.LocalPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Padding: " + new string('x', 4000));
        var sockets = new List<Socket>();
        var ends = new List<Task<string>>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(s);
                await s.ConnectAsync(IPAddress.Loopback, server.LocalPort, stop.Token);
                ends.Add(i % 2 == 0 ? ReadUntilClosedAsync(s, stop.Token) : TrickleUntilClosedAsync(s, request, stop.Token));
            }

            // Meanwhile real clients join and talk.
            var (a, ap) = await ConnectAsync(server, sp);
            var (b, bp) = await ConnectAsync(server, sp, ap);
            await using var _a = a;
            await using var _b = b;
            await MarkerAsync(a, bp, sp, ap, bp);

            // Every slow connection is closed by the server (no answer, or an error status, never an upgrade).
            var how = await Task.WhenAll(ends).WaitAsync(Wait);
            output.WriteLine($"slow connections ended: {string.Join(", ", how.GroupBy(h => h).Select(g => $"{g.Count()}× {g.Key}"))}; stats {server.GetTransportStats()}");
            Assert.All(how, h => Assert.DoesNotContain("101", h, StringComparison.Ordinal));
            Assert.Equal(2, server.GetTransportStats().Accepted);
            await MarkerAsync(b, ap, sp, ap, bp);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact(Skip = "Handshake timeouts are not counted: Kestrel drops a connection whose request never ends (408, or no answer "
        + "to a silent one) before WebSocketRelayListener sees it, so neither GetTransportStats().Refused nor RequestRefused "
        + "(PacketRejected on a WebSocketServer) nor a log line records it. Unskip once they are counted.")]
    public async Task Slowloris_HandshakeTimeoutsAreCounted()
    {
        await using var server = StartServer(s => s.HandshakeTimeout = TimeSpan.FromSeconds(1));
        var sp = new Probe(server);
        using var stop = new CancellationTokenSource(Wait);
        var sockets = new List<Socket>();
        try
        {
            var ends = new List<Task<string>>();
            for (var i = 0; i < 4; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(s);
                await s.ConnectAsync(IPAddress.Loopback, server.LocalPort, stop.Token);
                if (i % 2 == 1)
                {
                    await s.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n"), stop.Token);
                }

                ends.Add(ReadUntilClosedAsync(s, stop.Token));
            }

            await Task.WhenAll(ends).WaitAsync(Wait);
            await PumpUntilAsync(() => server.GetTransportStats().Refused == 4 && sp.Rejections.Count(r => r.Reason == PacketRejectReason.Refused) == 4, Wait, sp);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Reads until the server closes; returns what it answered (HTTP status line, or "closed"/"reset").</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket s, CancellationToken token)
    {
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await s.ReceiveAsync(buffer, token)) > 0)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            return answer.Length > 0 ? answer.ToString().Split("\r\n")[0] : "closed";
        }
        catch (SocketException)
        {
            return "reset";
        }
    }

    /// <summary>Sends <paramref name="request"/> a byte every 50 ms until the server closes (or the request ends, which it
    /// must not: it has no final empty line).</summary>
    private static async Task<string> TrickleUntilClosedAsync(Socket s, byte[] request, CancellationToken token)
    {
        var closed = ReadUntilClosedAsync(s, token);
        try
        {
            for (var i = 0; i < request.Length && !closed.IsCompleted; i++)
            {
                await s.SendAsync(request.AsMemory(i, 1), token);
                await Task.WhenAny(closed, Task.Delay(50, token));
            }
        }
        catch (SocketException)
        {
            // the server closed while a byte was on its way
        }

        return await closed;
    }

    // ------------------------------------------------------------------ latency, jitter, bandwidth

    /// <summary>Main/Lobby: <c>r</c> runs on the server (order-checked) and answers <c>e</c> with the same payload.</summary>
    private sealed class SeqLobby : Node
    {
        public int Received { get; private set; }

        public int Echoed { get; private set; }

        public int OutOfOrder { get; private set; }

        [Remote(Name = "r")]
        public void R(int seq, byte[] payload)
        {
            if (seq != Received || payload.Length != 2000 || payload[0] != (byte)seq)
            {
                OutOfOrder++;
            }

            Received++;
            RpcId(Multiplayer!.GetRpcSenderId(), "e", seq, payload);
        }

        [Remote(Name = "e")]
        public void E(int seq, byte[] payload)
        {
            if (seq != Echoed || payload[0] != (byte)seq)
            {
                OutOfOrder++;
            }

            Echoed++;
        }
    }

    private static (MultiplayerAPI Api, SeqLobby Lobby) Machine(NetworkedMultiplayerPeer peer)
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);
        var lobby = new SeqLobby { Name = "Lobby" };
        main.AddChild(lobby);
        api.NetworkPeer = peer;
        return (api, lobby);
    }

    [Fact]
    public async Task ReliableRpcs_ThroughLatencyJitterAndABandwidthCap_AllArriveInOrder()
    {
        await using var server = StartServer();
        await using var proxy = new ChaosTcpProxy(server.LocalPort, seed: 5);
        proxy.Both(o =>
        {
            o.Delay(TimeSpan.FromMilliseconds(50), jitter: TimeSpan.FromMilliseconds(20));
            o.BytesPerSecond = 1_000_000;
        });
        await using var client = new WebSocketClient();
        Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{proxy.Port}"));
        var (serverApi, serverLobby) = Machine(server);
        var (clientApi, clientLobby) = Machine(client);
        var events = new List<string>();
        clientApi.ConnectedToServer += () => events.Add("connected_to_server");
        clientApi.ServerDisconnected += () => events.Add("server_disconnected");
        clientApi.ConnectionFailed += () => events.Add("connection_failed");
        const int Count = 300;
        var payload = new byte[2000];
        var sent = 0;

        var deadline = DateTime.UtcNow + Wait;
        while (clientLobby.Echoed < Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{clientLobby.Echoed} of {Count} echoed; events [{string.Join(", ", events)}]; proxy: {proxy}");
            if (events.Contains("connected_to_server"))
            {
                while (sent < Count && sent - clientLobby.Echoed < 64)
                {
                    payload[0] = (byte)sent;
                    Assert.Equal(Error.Ok, clientLobby.RpcId(1, "r", sent++, payload));
                }
            }

            serverApi.Poll();
            clientApi.Poll();
            await Task.Delay(1);
        }

        Assert.Equal((Count, Count, 0, 0), (serverLobby.Received, clientLobby.Echoed, serverLobby.OutOfOrder, clientLobby.OutOfOrder));
        Assert.Equal(["connected_to_server"], events);
        Assert.True(proxy.ToServerCounters.Delayed > 0 && proxy.ToClientCounters.Delayed > 0, proxy.ToString());
        Assert.True(proxy.ToServerCounters.Bytes > Count * payload.Length && proxy.ToClientCounters.Bytes > Count * payload.Length, proxy.ToString());
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task GodotClient_ThroughLatencyJitterAndABandwidthCap_ConversationDoneOk()
    {
        await using var server = StartServer();
        await using var proxy = new ChaosTcpProxy(server.LocalPort, seed: 9);
        proxy.Both(o =>
        {
            o.Delay(TimeSpan.FromMilliseconds(30), jitter: TimeSpan.FromMilliseconds(20));
            o.BytesPerSecond = 200_000;
        });
        var conversation = ConversationPeer.Server(server, id => server.DisconnectPeer(id, 1000, "quit"));
        var log = new List<string>();
        conversation.Lobby.Line += log.Add;

        var runs = await GodotInterop.RunClientsAsync(
            "ws-client", proxy.Port, 1, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(30), conversation.Poll,
            () => conversation.Lobby.ClientsOk + conversation.Lobby.ClientsFailed >= 1, "--timeout=25");

        var detail = GodotInterop.ClientDetail(0, runs[0], [.. log, "proxy: " + proxy]);
        Assert.True(runs[0].ExitCode == 0 && runs[0].DoneLine == "DONE ok", detail);
        Assert.Equal((1, 0), (conversation.Lobby.ClientsOk, conversation.Lobby.ClientsFailed));
        Assert.True(proxy.ToServerCounters.Delayed > 0 && proxy.ToClientCounters.Delayed > 0, detail);
    }
}
