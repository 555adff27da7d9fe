using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using GdNet.Peers;
using GdNet.Server;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// <see cref="WebSocketRelayListener"/> plugged into a <see cref="RelayRouter"/>, with raw WebSocket clients that see
/// exact frames: rooms from the path, credentials, HTTP answers to refusals, the send budget, closes.
/// </summary>
public class RelayListenerTests
{
    private sealed class Relay : IAsyncDisposable
    {
        public required RelayRouter Router { get; init; }

        public required WebSocketRelayListener Listener { get; init; }

        public int Port => Listener.LocalPort;

        public string Url(string pathAndQuery = "") => Listener.Url + pathAndQuery;

        public ValueTask DisposeAsync() => Listener.DisposeAsync();
    }

    private static async Task<Relay> StartAsync(Action<RelayOptions>? options = null, Action<WebSocketRelayListener>? configure = null, Action<RelayRouter>? setup = null)
    {
        var o = new RelayOptions();
        options?.Invoke(o);
        var router = new RelayRouter(o);
        setup?.Invoke(router);
        var listener = new WebSocketRelayListener(router) { BindIp = "127.0.0.1" };
        configure?.Invoke(listener);
        Assert.Equal(Error.Ok, await listener.ListenAsync(0));
        return new Relay { Router = router, Listener = listener };
    }

    private static async Task ExpectAsync(RawPeer peer, params string[] messages)
    {
        foreach (var m in messages)
        {
            Assert.Equal(m, (await peer.NextAsync()).ToString());
        }
    }

    private static AdmissionHook Hook(Func<AdmissionRequest, AdmissionDecision> decide) =>
        (request, _) => ValueTask.FromResult(decide(request));

    /// <summary>A room's hosted logic that takes every packet and does nothing (so the test can send from peer 1).</summary>
    private sealed class SinkHost : IRoomHost
    {
        public void PeerJoined(int peerId)
        {
        }

        public void PeerLeft(int peerId)
        {
        }

        public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode) => HostDelivery.Accepted;

        public Task WhenRoomAsync(int length) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    // ------------------------------------------------------------------ rooms

    [Fact]
    public async Task RoomFromPath_TwoRooms_MembersSeeOnlyTheirRoomAndPacketsNeverCross()
    {
        await using var relay = await StartAsync();
        await using var a1 = await RawPeer.ConnectAsync(relay.Url("/alpha"));
        await using var a2 = await RawPeer.ConnectAsync(relay.Url("/alpha"));
        Assert.Equal($"SYS_ADD {a2.Id}", (await a1.NextAsync()).ToString());
        Assert.Equal($"SYS_ADD {a1.Id}", (await a2.NextAsync()).ToString());

        await using var b1 = await RawPeer.ConnectAsync(relay.Url("/beta"));
        var b2 = await RawPeer.ConnectAsync(relay.Url("/beta"));
        Assert.Equal($"SYS_ADD {b2.Id}", (await b1.NextAsync()).ToString());
        Assert.Equal($"SYS_ADD {b1.Id}", (await b2.NextAsync()).ToString());
        Assert.Equal(["alpha", "beta"], relay.Router.Rooms.Select(r => r.Name).Order());

        // Packets stay in their room: a broadcast and a packet addressed across rooms.
        await b1.SendAsync(0, 0x42);
        Assert.Equal($"DATA {b1.Id}->0 42", (await b2.NextAsync()).ToString());
        await b1.SendAsync(a1.Id, 0x43);
        await b1.SendAsync(b2.Id, 0x44);
        Assert.Equal($"DATA {b1.Id}->{b2.Id} 44", (await b2.NextAsync()).ToString());
        Assert.Equal(1, relay.Router.GetStatistics().Rejections[PacketRejectReason.UnknownTarget]);

        // A departure is announced in its room only.
        var b2Id = b2.Id;
        await b2.Ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await b2.Closed.WaitAsync(Net.Timeout);
        await b2.DisposeAsync();
        Assert.Equal($"SYS_DEL {b2Id}", (await b1.NextAsync()).ToString());

        // Marker: whatever beta did was queued to alpha before this, so alpha's next message is the marker.
        await a2.SendAsync(0, 0x99);
        Assert.Equal($"DATA {a2.Id}->0 99", (await a1.NextAsync()).ToString());
    }

    [Fact]
    public async Task RoomFromPath_RootOrNoPath_DefaultRoom()
    {
        await using var relay = await StartAsync();
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        await using var b = await RawPeer.ConnectAsync(relay.Url("/"));
        await using var c = await RawPeer.ConnectAsync(relay.Url("/" + Room.DefaultName));

        Assert.Equal($"SYS_ADD {b.Id}", (await a.NextAsync()).ToString());
        Assert.Equal($"SYS_ADD {c.Id}", (await a.NextAsync()).ToString());
        Assert.Equal([Room.DefaultName], relay.Router.Rooms.Select(r => r.Name));
        Assert.Equal(3, relay.Router.FindRoom(Room.DefaultName)!.PeerCount);
    }

    [Theory]
    [InlineData("/a/b")]
    [InlineData("/bad%20name")]
    [InlineData("/bad.name")]
    [InlineData("/a%2Fb")]
    [InlineData("/%C3%A9t%C3%A9")]
    [InlineData("/room/")]
    public async Task RoomFromPath_InvalidName_Http400BeforeUpgrade(string target)
    {
        await using var relay = await StartAsync();

        var answer = await RawHttp.UpgradeAsync(relay.Port, target);

        Assert.Equal(400, answer.Status);
        Assert.Equal("invalid room\n", answer.Body);
        Assert.Equal(1, relay.Router.GetStatistics().Refusals[nameof(AdmissionRefusal.InvalidRoom)]);
        Assert.Empty(relay.Router.Rooms);
    }

    [Fact]
    public async Task RoomFromPath_NameLength_64AcceptedAnd65Refused()
    {
        await using var relay = await StartAsync();

        var tooLong = await RawHttp.UpgradeAsync(relay.Port, "/" + new string('x', Room.MaxNameLength + 1));
        await using var ok = await RawPeer.ConnectAsync(relay.Url("/" + new string('x', Room.MaxNameLength)));

        Assert.Equal(400, tooLong.Status);
        Assert.Equal(new string('x', Room.MaxNameLength), relay.Router.FindPeer(ok.Id)!.Room!.Name);
    }

    [Fact]
    public async Task RoomsFromPathOff_AnyPath_DefaultRoomAsInGodot()
    {
        await using var relay = await StartAsync(configure: l => l.RoomsFromPath = false);
        await using var a = await RawPeer.ConnectAsync(relay.Url("/alpha"));
        await using var b = await RawPeer.ConnectAsync(relay.Url("/a/b?x=1"));

        Assert.Equal($"SYS_ADD {b.Id}", (await a.NextAsync()).ToString());
        Assert.Equal([Room.DefaultName], relay.Router.Rooms.Select(r => r.Name));
    }

    // ------------------------------------------------------------------ credentials and refusals

    [Fact]
    public async Task Credential_QueryToken_ReachesAdmissionHookWithHeadersAndIPv4Address()
    {
        AdmissionRequest? seen = null;
        await using var relay = await StartAsync(
            configure: l => l.BindIp = "*", // dual-stack: the client's address arrives IPv4-mapped and must be mapped back
            setup: r => r.AddAdmissionHook(Hook(req =>
            {
                seen = req;
                return AdmissionDecision.Accept("alice");
            })));

        await using var peer = await RawPeer.ConnectAsync(relay.Url("/lobby?token=abc.def-ghi"), configure: o => o.SetRequestHeader("X-Game", "demo"));

        Assert.NotNull(seen);
        Assert.Equal("abc.def-ghi", seen.Credential);
        Assert.Equal("lobby", seen.Room);
        Assert.Equal("ws", seen.Transport);
        Assert.Equal(IPAddress.Loopback, seen.RemoteEndPoint!.Address);
        Assert.Equal(AddressFamily.InterNetwork, seen.RemoteEndPoint.Address.AddressFamily);
        Assert.Equal("demo", seen.Headers!["x-game"]);
        Assert.Equal("websocket", seen.Headers["Upgrade"], ignoreCase: true);
        Assert.Equal("alice", relay.Router.FindPeer(peer.Id)!.Name);
    }

    [Fact]
    public async Task Credential_AuthorizationBearer_ReachesAdmissionHook()
    {
        var seen = new ConcurrentQueue<string?>();
        await using var relay = await StartAsync(setup: r => r.AddAdmissionHook(Hook(req =>
        {
            seen.Enqueue(req.Credential);
            return AdmissionDecision.Accept();
        })));

        await using var bearer = await RawPeer.ConnectAsync(relay.Url("/room1"), configure: o => o.SetRequestHeader("Authorization", "Bearer eyJ.payload.sig"));
        await using var none = await RawPeer.ConnectAsync(relay.Url("/room1"));

        Assert.Equal(["eyJ.payload.sig", null], seen);
    }

    [Theory]
    [InlineData(AdmissionRefusal.Unauthorized, 401, "unauthorized")]
    [InlineData(AdmissionRefusal.Forbidden, 403, "forbidden")]
    [InlineData(AdmissionRefusal.Other, 403, "forbidden")]
    [InlineData(AdmissionRefusal.InvalidRoom, 400, "invalid room")]
    [InlineData(AdmissionRefusal.ServerFull, 503, "service unavailable")]
    [InlineData(AdmissionRefusal.RoomFull, 503, "service unavailable")]
    [InlineData(AdmissionRefusal.TooManyFromAddress, 503, "service unavailable")]
    [InlineData(AdmissionRefusal.NotAccepting, 503, "service unavailable")]
    public async Task Refusal_ByHook_HttpStatusAndGenericBodyWithoutDetail(AdmissionRefusal refusal, int status, string body)
    {
        await using var relay = await StartAsync(setup: r => r.AddAdmissionHook(Hook(_ => AdmissionDecision.Refuse(refusal, "SECRET-DETAIL-42 token expired at 12:00"))));

        var answer = await RawHttp.UpgradeAsync(relay.Port, "/room1?token=abc");

        Assert.Equal(status, answer.Status);
        Assert.Equal(body + "\n", answer.Body);
        Assert.DoesNotContain("SECRET", answer.Head + answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("expired", answer.Head + answer.Body, StringComparison.Ordinal);
        Assert.Equal(status == 401, answer.Head.Contains("WWW-Authenticate: Bearer", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1, relay.Router.GetStatistics().Refusals[refusal.ToString()]);
        Assert.Equal(1, relay.Listener.GetTransportStats().Refused);
    }

    [Fact]
    public async Task Refusal_RouterLimits_Http503()
    {
        await using var relay = await StartAsync(options: o => o.MaxPeers = 1);
        await using var first = await RawPeer.ConnectAsync(relay.Url());

        var full = await RawHttp.UpgradeAsync(relay.Port, "/");
        relay.Router.SetAccepting(false);
        var refusing = await RawHttp.UpgradeAsync(relay.Port, "/other");

        Assert.Equal((503, "service unavailable\n"), (full.Status, full.Body));
        Assert.Equal((503, "service unavailable\n"), (refusing.Status, refusing.Body));
        var refusals = relay.Router.GetStatistics().Refusals;
        Assert.Equal(1, refusals[nameof(AdmissionRefusal.ServerFull)]);
        Assert.Equal(1, refusals[nameof(AdmissionRefusal.NotAccepting)]);
    }

    [Fact]
    public async Task Refusal_RefusedClient_NeverGetsAnIdNorAnyMessage()
    {
        await using var relay = await StartAsync(setup: r => r.AddAdmissionHook(Hook(req =>
            req.Credential == "good" ? AdmissionDecision.Accept() : AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, "bad token"))));
        await using var member = await RawPeer.ConnectAsync(relay.Url("/?token=good"));

        // A GdNet client (Godot's behaviour): the connection fails, it never had an id nor saw the server or a peer.
        await using var client = new WebSocketClient();
        var probe = new Probe(client);
        Assert.Equal(Error.Ok, client.ConnectToUrl(relay.Url("/?token=bad")));
        await PumpUntilAsync(() => probe.Has("failed"), probe);
        Assert.Equal(["failed"], probe.Events);
        Assert.Equal(0, client.GetUniqueId());
        Assert.Empty(probe.Packets);

        // A raw WebSocket client gets the HTTP status and no upgrade.
        using var raw = new ClientWebSocket();
        raw.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => raw.ConnectAsync(new Uri(relay.Url("/")), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, raw.HttpStatusCode);

        // Nobody was announced to the member: the next thing it sees is a good client joining.
        await using var second = await RawPeer.ConnectAsync(relay.Url("/?token=good"));
        Assert.Equal($"SYS_ADD {second.Id}", (await member.NextAsync()).ToString());
        Assert.Equal(2, relay.Router.PeerCount);
        Assert.Equal(2, relay.Listener.GetTransportStats().Accepted);
    }

    [Fact]
    public async Task Request_NotWebSocket426_WrongSubprotocol400()
    {
        await using var relay = await StartAsync(configure: l => l.Protocols = ["godot"]);
        using var http = new HttpClient();

        var plain = await http.GetAsync(new Uri($"http://127.0.0.1:{relay.Port}/"));
        var wrong = await RawHttp.UpgradeAsync(relay.Port, "/", "Sec-WebSocket-Protocol: other");
        await using var right = await RawPeer.ConnectAsync(relay.Url(), configure: o => o.AddSubProtocol("godot"));

        Assert.Equal(426, (int)plain.StatusCode);
        Assert.Equal(400, wrong.Status);
        Assert.Equal("godot", right.Ws.SubProtocol);
        Assert.Equal(2, relay.Listener.GetTransportStats().Refused);
        Assert.Equal(0, relay.Router.GetStatistics().Refusals.Values.Sum());
    }

    // ------------------------------------------------------------------ framing, rejections, closes

    [Fact]
    public async Task Receive_FramingErrors_ReportedThroughRouterAndCountedTowardsClose1008()
    {
        var seen = new ConcurrentQueue<(int From, PacketRejectReason Reason)>();
        await using var relay = await StartAsync(
            configure: l => l.MaxViolations = 3,
            setup: r => r.PacketRejected += (c, rej) => seen.Enqueue((c?.PeerId ?? 0, rej.Reason)));
        await using var bad = await RawPeer.ConnectAsync(relay.Url());
        await using var good = await RawPeer.ConnectAsync(relay.Url());
        Assert.Equal($"SYS_ADD {good.Id}", (await bad.NextAsync()).ToString());
        Assert.Equal($"SYS_ADD {bad.Id}", (await good.NextAsync()).ToString());

        await bad.SendRawAsync([0, 1, 2]);
        await bad.SendRawAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text);
        await bad.SendRawAsync(RawPeer.Message(1, bad.Id, 0, 1, 0, 0, 0));
        var (status, reason) = await bad.WaitClosedAsync();

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("UnsupportedFrame", reason, StringComparison.Ordinal);
        Assert.Equal([(bad.Id, PacketRejectReason.TooSmall), (bad.Id, PacketRejectReason.UnsupportedFrame), (bad.Id, PacketRejectReason.UnsupportedFrame)], seen);
        var rejections = relay.Router.GetStatistics().Rejections;
        Assert.Equal(1, rejections[PacketRejectReason.TooSmall]);
        Assert.Equal(2, rejections[PacketRejectReason.UnsupportedFrame]);
        Assert.Equal($"SYS_DEL {bad.Id}", (await good.NextAsync()).ToString());
    }

    [Fact]
    public async Task Close_KickAndRoomClosed_1000WithReason()
    {
        await using var relay = await StartAsync();
        await using var a = await RawPeer.ConnectAsync(relay.Url("/one"));
        await using var b = await RawPeer.ConnectAsync(relay.Url("/two"));

        Assert.True(relay.Router.Kick(a.Id, "kicked by the operator"));
        Assert.True(relay.Router.CloseRoom("two", "room over"));

        Assert.Equal((WebSocketCloseStatus.NormalClosure, "kicked by the operator"), await a.WaitClosedAsync());
        Assert.Equal((WebSocketCloseStatus.NormalClosure, "room over"), await b.WaitClosedAsync());
        await PumpUntilAsync(() => relay.Router.PeerCount == 0 && relay.Router.Rooms.Count == 0);
    }

    [Fact]
    public async Task Drain_ServerShutdown_ClientsClosedWith1001AndNewOnesRefused()
    {
        await using var relay = await StartAsync();
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        await using var b = await RawPeer.ConnectAsync(relay.Url("/elsewhere"));

        var drained = await relay.Router.DrainAsync(Net.Timeout);

        Assert.True(drained);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await a.WaitClosedAsync()).Status);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await b.WaitClosedAsync()).Status);
        Assert.Equal(0, relay.Router.PeerCount);
        Assert.Equal(503, (await RawHttp.UpgradeAsync(relay.Port, "/")).Status);
    }

    [Fact]
    public async Task Stop_ClientsConnected_Closed1001AndListenerIdle()
    {
        var relay = await StartAsync();
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        Assert.True(relay.Listener.IsListening);

        await Task.WhenAll(relay.Listener.StopAsync(), relay.Listener.StopAsync());

        Assert.Equal((WebSocketCloseStatus.EndpointUnavailable, "server stopping"), await a.WaitClosedAsync());
        Assert.False(relay.Listener.IsListening);
        Assert.Null(relay.Listener.Url);
        Assert.Equal(0, relay.Router.PeerCount);
        await relay.DisposeAsync();

        // Idle again: it may listen anew.
        Assert.Equal(Error.Ok, await relay.Listener.ListenAsync(0));
        await using var b = await RawPeer.ConnectAsync(relay.Url());
        await relay.DisposeAsync();
    }

    [Fact]
    public async Task Listen_Misuse_Throws()
    {
        await using var relay = await StartAsync();

        Assert.Throws<ArgumentException>(() => new WebSocketRelayListener(relay.Router).BindIp = "example.org");
        await Assert.ThrowsAsync<InvalidOperationException>(() => relay.Listener.ListenAsync(0));
        Assert.Throws<InvalidOperationException>(() => relay.Listener.RoomsFromPath = false);
        await using var second = new WebSocketRelayListener(relay.Router) { BindIp = "127.0.0.1" };
        Assert.Equal(Error.AlreadyInUse, await second.ListenAsync(relay.Port));
    }

    // ------------------------------------------------------------------ send budget

    [Fact]
    public async Task SendBudget_AfterTraffic_BackToZero()
    {
        await using var relay = await StartAsync();
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        await using var b = await RawPeer.ConnectAsync(relay.Url());
        await using var c = await RawPeer.ConnectAsync(relay.Url());

        // Spec §5.2: a newcomer learns the members in join order; the members learn the newcomer.
        await ExpectAsync(a, $"SYS_ADD {b.Id}", $"SYS_ADD {c.Id}");
        await ExpectAsync(b, $"SYS_ADD {a.Id}", $"SYS_ADD {c.Id}");
        await ExpectAsync(c, $"SYS_ADD {a.Id}", $"SYS_ADD {b.Id}");
        var payload = new byte[300];

        for (var i = 0; i < 500; i++)
        {
            payload[0] = (byte)i;
            await a.SendAsync(i % 2 == 0 ? 0 : b.Id, payload);
        }

        for (var i = 0; i < 500; i++)
        {
            Assert.Equal((byte)i, (await b.NextAsync()).Rest[0]);
        }

        for (var i = 0; i < 250; i++)
        {
            Assert.Equal((byte)(2 * i), (await c.NextAsync()).Rest[0]);
        }

        await PumpUntilAsync(() => relay.Router.SendBudget.QueuedBytes == 0);
        Assert.Equal(0, relay.Listener.GetTransportStats().QueuedBytes);
        Assert.Equal(750, relay.Router.GetStatistics().Relayed);
    }

    [Fact]
    public async Task SendBudget_ClientNeverReads_KickedAsSlowReaderAndBudgetBackToZero()
    {
        var rejected = new ConcurrentQueue<PacketRejection>();
        await using var relay = await StartAsync(
            configure: l =>
            {
                l.MaxQueuedBytes = 256 * 1024;
                l.CloseTimeout = TimeSpan.FromMilliseconds(200);
            },
            setup: r =>
            {
                r.HostFactory = _ => new SinkHost();
                r.PacketRejected += (_, rej) => rejected.Enqueue(rej);
            });
        await using var reader = await RawPeer.ConnectAsync(relay.Url());
        await using var deaf = await RawPeer.ConnectAsync(relay.Url(), read: false);
        var added = await reader.NextAsync();
        var deafId = added.SystemId;
        var room = relay.Router.FindRoom(Room.DefaultName)!;
        var chunk = new byte[60000];
        long peak = 0;

        // The deaf client's kernel buffers fill, then its queue, then it is closed as a slow reader.
        for (var i = 0; rejected.IsEmpty; i++)
        {
            Assert.True(i < 100_000, "never kicked");
            room.SendFromHost(deafId, chunk, TransferModeEnum.Reliable);
            peak = Math.Max(peak, relay.Router.SendBudget.QueuedBytes);
            if (i % 8 == 0)
            {
                await Task.Yield();
            }
        }

        Assert.Equal(PacketRejectReason.SlowReader, Assert.Single(rejected).Reason);
        Assert.True(peak > 0, "queued bytes were charged to the budget");
        Assert.Equal($"SYS_DEL {deafId}", (await reader.NextAsync()).ToString());
        await PumpUntilAsync(() => relay.Router.SendBudget.QueuedBytes == 0);
        Assert.Equal(0, relay.Router.GetStatistics().QueuedBytes);
    }

    [Fact]
    public async Task SendBudget_ClientDropsWithDataQueued_BudgetBackToZero()
    {
        await using var relay = await StartAsync(
            configure: l => l.MaxQueuedBytes = 256L << 20,
            setup: r => r.HostFactory = _ => new SinkHost());
        await using var reader = await RawPeer.ConnectAsync(relay.Url());
        var deaf = await RawPeer.ConnectAsync(relay.Url(), read: false);
        var deafId = (await reader.NextAsync()).SystemId;
        var room = relay.Router.FindRoom(Room.DefaultName)!;
        var chunk = new byte[60000];

        // Queue until several MiB wait in the server's own queue (the socket buffers are full), then drop the client.
        for (var i = 0; relay.Router.SendBudget.QueuedBytes < (4L << 20); i++)
        {
            Assert.True(i < 100_000, "nothing piled up");
            Assert.Equal(Error.Ok, room.SendFromHost(deafId, chunk, TransferModeEnum.Reliable));
            if (i % 8 == 0)
            {
                await Task.Yield();
            }
        }

        await deaf.DisposeAsync();

        Assert.Equal($"SYS_DEL {deafId}", (await reader.NextAsync()).ToString());
        await PumpUntilAsync(() => relay.Router.SendBudget.QueuedBytes == 0);
        Assert.Equal(0, relay.Listener.GetTransportStats().QueuedBytes);
    }

    [Fact]
    public async Task SendBudget_StalledByClientThatNeverReads_ItIsCutAfterStallTimeoutAndTheWaitingRelayGoesThrough()
    {
        var rejected = new ConcurrentQueue<PacketRejection>();
        await using var relay = await StartAsync(
            options: o =>
            {
                o.MaxQueuedBytesTotal = 1L << 20;
                o.SendStallTimeout = TimeSpan.FromMilliseconds(200);
            },
            configure: l =>
            {
                l.MaxQueuedBytes = 256L << 20; // its own queue limit is never reached: only the budget rule can cut it
                l.CloseTimeout = TimeSpan.FromMilliseconds(500);
            },
            setup: r =>
            {
                r.HostFactory = _ => new SinkHost();
                r.PacketRejected += (_, rej) => rejected.Enqueue(rej);
            });
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        await using var b = await RawPeer.ConnectAsync(relay.Url());
        await using var deaf = await RawPeer.ConnectAsync(relay.Url(), read: false);
        await ExpectAsync(a, $"SYS_ADD {b.Id}");
        var deafId = (await a.NextAsync()).SystemId;
        await ExpectAsync(b, $"SYS_ADD {a.Id}", $"SYS_ADD {deafId}");
        var room = relay.Router.FindRoom(Room.DefaultName)!;
        var chunk = new byte[60000];

        // Fill the socket buffers towards the deaf client, then the budget, well past its limit: 8 MiB waiting in the
        // server's queue, more than the socket buffers can still take (a few MiB on loopback), so whatever they take
        // the budget stays spent.
        for (var i = 0; relay.Router.SendBudget.QueuedBytes < (8L << 20); i++)
        {
            Assert.True(i < 100_000, "nothing piled up");
            Assert.Equal(Error.Ok, room.SendFromHost(deafId, chunk, TransferModeEnum.Reliable));
            if (i % 8 == 0)
            {
                await Task.Yield();
            }
        }

        Assert.True(relay.Router.SendBudget.IsExhausted);

        // a's relay to b waits on the exhausted budget; nothing is written while it waits, so the deaf client, which
        // holds the most of it, is cut, its queue dropped at once, and the relay goes through.
        // Both reach b; their order is not defined: the relay goes through once the deaf client's bytes are released, and
        // it leaves (SYS_DEL) once its connection is aborted, after CloseTimeout, which releases the last of them too.
        await a.SendAsync(b.Id, 0x2a);
        string[] seen = [(await b.NextAsync()).ToString(), (await b.NextAsync()).ToString()];
        Assert.Equal([$"DATA {a.Id}->{b.Id} 2a", $"SYS_DEL {deafId}"], seen.Order(StringComparer.Ordinal));
        var cut = Assert.Single(rejected);
        Assert.Equal(PacketRejectReason.SlowReader, cut.Reason);
        Assert.Equal(deafId, cut.PeerId);
        Assert.Contains("reads too slowly", cut.Detail, StringComparison.Ordinal);
        await PumpUntilAsync(() => relay.Router.SendBudget.QueuedBytes == 0 && relay.Router.PeerCount == 2);
    }

    [Fact]
    public async Task SendBudget_Exhausted_RelayWaitsThenDelivers()
    {
        // A budget smaller than one queued message: every relay waits until the previous one was written.
        await using var relay = await StartAsync(options: o => o.MaxQueuedBytesTotal = 1);
        await using var a = await RawPeer.ConnectAsync(relay.Url());
        await using var b = await RawPeer.ConnectAsync(relay.Url());
        await ExpectAsync(a, $"SYS_ADD {b.Id}");
        await ExpectAsync(b, $"SYS_ADD {a.Id}");

        for (var i = 0; i < 50; i++)
        {
            await a.SendAsync(b.Id, (byte)i);
        }

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal($"DATA {a.Id}->{b.Id} {i:x2}", (await b.NextAsync()).ToString());
        }

        await PumpUntilAsync(() => relay.Router.SendBudget.QueuedBytes == 0);
    }
}
