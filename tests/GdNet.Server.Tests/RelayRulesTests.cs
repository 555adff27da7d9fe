using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>Godot 3's relay rules, once, in the router: targets, sources, announcements, departures.</summary>
public sealed class RelayRulesTests
{
    private static RelayRouter NewRouter(out FakeHost host, RelayOptions? options = null)
    {
        var h = new FakeHost();
        host = h;
        return new RelayRouter(options ?? RouterKit.NoRateLimits()) { HostFactory = _ => h };
    }

    [Fact]
    public async Task Join_welcomes_first_then_announces_both_ways_and_tells_the_host()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        Assert.InRange(a.PeerId, 2, int.MaxValue);
        Assert.InRange(b.PeerId, 2, int.MaxValue);
        Assert.NotEqual(a.PeerId, b.PeerId);
        Assert.Equal([new Welcomed(a.PeerId), new Added(b.PeerId)], a.Items);
        Assert.Equal([new Welcomed(b.PeerId), new Added(a.PeerId)], b.Items);
        Assert.Equal([$"joined {a.PeerId}", $"joined {b.PeerId}"], host.Items);
        Assert.Equal(2, router.PeerCount);
        Assert.Same(router.FindPeer(a.PeerId), a);
    }

    [Fact]
    public async Task Target_1_reaches_only_the_host()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        Assert.Equal(RouteResult.Done, router.Send(a, 1, "hi"));

        Assert.Contains($"packet {a.PeerId} hi", host.Items);
        Assert.Empty(b.Packets);
        Assert.Empty(a.Packets);
    }

    [Fact]
    public async Task Target_N_reaches_only_N_with_the_sender_as_source_and_mode_and_channel_kept()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        var c = await router.JoinAsync();

        router.Send(a, b.PeerId, "x", TransferModeEnum.UnreliableOrdered, 3);

        Assert.Equal([new Got(a.PeerId, b.PeerId, "x", TransferModeEnum.UnreliableOrdered, 3)], b.Packets);
        Assert.Empty(c.Packets);
        Assert.DoesNotContain(host.Items, i => i.StartsWith("packet", StringComparison.Ordinal));
        Assert.Equal(1, router.GetStatistics().Relayed);
    }

    [Fact]
    public async Task Target_0_reaches_every_other_member_and_the_host()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        var c = await router.JoinAsync();

        router.Send(a, 0, "all");

        Assert.Empty(a.Packets);
        Assert.Equal([new Got(a.PeerId, 0, "all", TransferModeEnum.Reliable, 0)], b.Packets);
        Assert.Equal([new Got(a.PeerId, 0, "all", TransferModeEnum.Reliable, 0)], c.Packets);
        Assert.Contains($"packet {a.PeerId} all", host.Items);
    }

    [Fact]
    public async Task Target_minus_N_reaches_everyone_but_N_and_the_host()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        var c = await router.JoinAsync();

        router.Send(a, -b.PeerId, "not b");

        Assert.Empty(b.Packets);
        Assert.Single(c.Packets);
        Assert.Contains($"packet {a.PeerId} not b", host.Items);
    }

    [Fact]
    public async Task Target_minus_1_reaches_the_other_clients_but_not_the_host()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        router.Send(a, -1, "clients");

        Assert.Single(b.Packets);
        Assert.DoesNotContain(host.Items, i => i.StartsWith("packet", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_spoofed_source_is_refused_as_misbehaviour()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        router.Route(a, b.PeerId, 0, "x"u8, TransferModeEnum.Reliable);

        Assert.Empty(b.Packets);
        var (r, bad) = Assert.Single(a.Rejections);
        Assert.Equal(PacketRejectReason.SpoofedSource, r.Reason);
        Assert.True(bad);
    }

    [Fact]
    public async Task Targets_that_are_the_sender_unknown_or_in_another_room_are_refused()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync();
        var other = await router.JoinAsync("elsewhere");

        router.Send(a, a.PeerId, "self");
        router.Send(a, 123456, "nobody");
        router.Send(a, other.PeerId, "cross");

        Assert.Empty(other.Packets);
        Assert.Equal(3, a.Rejections.Count);
        Assert.All(a.Rejections, r => Assert.Equal(PacketRejectReason.UnknownTarget, r.Rejection.Reason));
        Assert.All(a.Rejections, r => Assert.True(r.Misbehaviour));
        Assert.Equal(3, router.GetStatistics().Rejections[PacketRejectReason.UnknownTarget]);
    }

    [Fact]
    public async Task A_target_that_just_left_is_a_race_not_misbehaviour()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        router.Leave(b);

        router.Send(a, b.PeerId, "late");

        // Counted under its own reason, and not held against the sender (no violation, no kick).
        var (r, bad) = Assert.Single(a.Rejections);
        Assert.Equal(PacketRejectReason.DepartedTarget, r.Reason);
        Assert.False(bad);
        Assert.Contains($"target {b.PeerId} has just left", r.Detail, StringComparison.Ordinal);
        Assert.Equal(1, router.GetStatistics().Rejections[PacketRejectReason.DepartedTarget]);
        Assert.False(router.GetStatistics().Rejections.ContainsKey(PacketRejectReason.UnknownTarget));
    }

    [Fact]
    public async Task Leave_announces_the_departure_tells_the_host_and_keeps_totals()
    {
        var router = NewRouter(out var host);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        router.Send(b, 1, "before");

        router.Leave(b);
        router.Leave(b); // idempotent

        Assert.Equal([b.PeerId], a.PeersRemoved);
        Assert.Equal($"left {b.PeerId}", host.Items[^1]);
        Assert.Null(b.Room);
        Assert.Equal(1, router.PeerCount);
        Assert.Equal(1, router.GetStatistics().PacketsIn);
        Assert.Equal(RouteResult.Done, router.Send(b, 0, "after")); // dropped: no longer in a room
        Assert.Empty(a.Packets);
    }

    [Fact]
    public async Task Rooms_are_isolated_and_each_has_its_own_host_created_on_first_join_and_disposed_when_empty()
    {
        var hosts = new Dictionary<string, FakeHost>();
        var router = new RelayRouter(RouterKit.NoRateLimits()) { HostFactory = room => hosts[room.Name] = new FakeHost() };
        var a1 = await router.JoinAsync("a");
        var b1 = await router.JoinAsync("b");
        var a2 = await router.JoinAsync("a");
        var b2 = await router.JoinAsync("b");

        router.Send(a1, 0, "to a");
        router.Send(b1, 0, "to b");

        Assert.Equal([a2.PeerId], a1.PeersAdded);
        Assert.Equal([b2.PeerId], b1.PeersAdded);
        Assert.Equal(["to a"], a2.Packets.Select(p => p.Payload));
        Assert.Equal(["to b"], b2.Packets.Select(p => p.Payload));
        Assert.Contains($"packet {a1.PeerId} to a", hosts["a"].Items);
        Assert.DoesNotContain($"packet {a1.PeerId} to a", hosts["b"].Items);
        Assert.Equal(2, router.Rooms.Count);

        router.Leave(a1);
        router.Leave(a2);

        Assert.True(hosts["a"].Disposed);
        Assert.False(hosts["b"].Disposed);
        Assert.Null(router.FindRoom("a"));
        Assert.Single(router.Rooms);
    }

    [Fact]
    public async Task With_relay_off_only_the_host_gets_packets_and_nobody_is_announced()
    {
        var options = RouterKit.NoRateLimits();
        options.RelayBetweenClients = false;
        var router = NewRouter(out var host, options);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        router.Send(a, b.PeerId, "direct");
        router.Send(a, 0, "all");
        router.Send(a, 1, "server");

        Assert.Empty(a.PeersAdded);
        Assert.Empty(b.PeersAdded);
        Assert.Empty(b.Packets);
        Assert.Equal([$"packet {a.PeerId} server"], host.Items.Where(i => i.StartsWith("packet", StringComparison.Ordinal)));
        Assert.Equal(2, a.Rejections.Count);
    }

    [Fact]
    public async Task Without_a_host_packets_to_1_are_dropped_quietly()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        Assert.Equal(RouteResult.Done, router.Send(a, 1, "x"));
        router.Send(a, 0, "y");

        Assert.Empty(a.Rejections);
        Assert.Equal(["y"], b.Packets.Select(p => p.Payload));
    }

    [Fact]
    public async Task Without_a_host_a_path_sent_to_1_is_confirmed_as_Godots_server_confirms_it()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        // The captured SIMPLIFY_PATH of spec §3.3 (cache id 1 = "Main") and its CONFIRM_PATH answer.
        Assert.Equal(RouteResult.Done, router.Route(a, a.PeerId, 1, Convert.FromHexString("02010000004d61696e00"), TransferModeEnum.Reliable, 0));
        Assert.Equal([new Got(1, a.PeerId, "\u0003Main\0", TransferModeEnum.Reliable, 0)], a.Packets);
        // Without a terminating NUL (Godot always sends one) the answer still has it; a packet with no path gets none.
        router.Route(a, a.PeerId, 1, Convert.FromHexString("0202000000414243"), TransferModeEnum.Reliable, 0);
        router.Route(a, a.PeerId, 1, Convert.FromHexString("020300000000"), TransferModeEnum.Reliable, 0);
        Assert.Equal(["\u0003Main\0", "\u0003ABC\0"], a.Packets.Select(p => p.Payload));
        Assert.Empty(b.Packets);
        Assert.Empty(a.Rejections);
    }

    [Fact]
    public async Task The_host_sends_to_one_member_to_all_and_to_all_but_one()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        var elsewhere = await router.JoinAsync("other");
        var room = a.Room!;

        Assert.Equal(Error.Ok, room.SendFromHost(a.PeerId, "one"u8, TransferModeEnum.Reliable));
        Assert.Equal(Error.Ok, room.SendFromHost(0, "all"u8, TransferModeEnum.Unreliable));
        Assert.Equal(Error.Ok, room.SendFromHost(-a.PeerId, "but a"u8, TransferModeEnum.Reliable));
        Assert.Equal(Error.InvalidParameter, room.SendFromHost(elsewhere.PeerId, "no"u8, TransferModeEnum.Reliable));
        Assert.Equal(Error.Ok, room.SendFromHost(1, "self"u8, TransferModeEnum.Reliable));

        Assert.Equal(["one", "all"], a.Packets.Select(p => p.Payload));
        Assert.Equal(["all", "but a"], b.Packets.Select(p => p.Payload));
        Assert.All(a.Packets.Concat(b.Packets), p => Assert.Equal(1, p.From));
        Assert.Empty(elsewhere.Packets);
    }

    [Fact]
    public async Task A_member_whose_queue_is_full_is_closed_as_a_slow_reader_and_the_others_still_get_the_packet()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync();
        var slow = await router.JoinAsync();
        var c = await router.JoinAsync();
        slow.NextResult = SendResult.Full;

        router.Send(a, 0, "x");

        Assert.Equal(CloseReason.SlowReader, slow.ClosedWith?.Reason);
        Assert.Single(c.Packets);
        Assert.Equal(1, router.GetStatistics().Rejections[PacketRejectReason.SlowReader]);
    }

    [Fact]
    public async Task Kick_and_CloseRoom_close_the_right_connections()
    {
        var router = NewRouter(out _);
        var a = await router.JoinAsync("r");
        var b = await router.JoinAsync("r");
        var c = await router.JoinAsync("s");

        Assert.True(router.Kick(a.PeerId, "bye"));
        Assert.False(router.Kick(99, "nobody"));
        Assert.True(router.CloseRoom("s", "closing"));
        Assert.False(router.CloseRoom("nope", "x"));

        Assert.Equal(new Closed(CloseReason.Kicked, "bye"), a.ClosedWith);
        Assert.Null(b.ClosedWith);
        Assert.Equal(CloseReason.RoomClosed, c.ClosedWith?.Reason);
        Assert.True(a.Room!.Kick(b.PeerId, "host kick"));
        Assert.Equal(new Closed(CloseReason.Kicked, "host kick"), b.ClosedWith);
    }

    [Fact]
    public async Task Per_sender_order_is_kept_under_concurrent_senders()
    {
        var router = NewRouter(out _);
        var senders = new List<FakeConnection>();
        for (var i = 0; i < 4; i++)
        {
            senders.Add(await router.JoinAsync());
        }

        var sink = await router.JoinAsync();
        await Task.WhenAll(senders.Select(s => Task.Run(() =>
        {
            for (var n = 0; n < 2000; n++)
            {
                router.Send(s, sink.PeerId, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        })));

        foreach (var s in senders)
        {
            var seq = sink.Packets.Where(p => p.From == s.PeerId).Select(p => int.Parse(p.Payload, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, 2000), seq);
        }
    }
}
