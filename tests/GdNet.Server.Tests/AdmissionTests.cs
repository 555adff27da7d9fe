using System.Net;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>Admission: the router's own checks, hooks, reservations, and their refusals counted by reason.</summary>
public sealed class AdmissionTests
{
    private static AdmissionRequest Request(string room = Room.DefaultName, IPEndPoint? from = null, int id = 0, string? token = null) =>
        new("fake", from ?? RouterKit.Loopback, room) { RequestedPeerId = id, Credential = token };

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("bad name")]
    [InlineData("é")]
    [InlineData("x%20y")]
    public async Task Invalid_room_names_are_refused(string room)
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        using var t = await router.AdmitAsync(Request(room));
        Assert.False(t.IsAccepted);
        Assert.Equal(AdmissionRefusal.InvalidRoom, t.Refusal);
    }

    [Fact]
    public void Room_names_are_1_to_64_characters_of_letters_digits_underscore_and_dash()
    {
        Assert.True(Room.IsValidName("a"));
        Assert.True(Room.IsValidName("Room_1-B"));
        Assert.True(Room.IsValidName(new string('x', 64)));
        Assert.False(Room.IsValidName(new string('x', 65)));
        Assert.False(Room.IsValidName("a.b"));
    }

    [Fact]
    public async Task The_server_cap_counts_reservations_and_frees_on_dispose_and_leave()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPeers = 2;
        var router = new RelayRouter(options);
        var a = await router.JoinAsync();
        var reserved = await router.AdmitAsync(Request());
        Assert.True(reserved.IsAccepted);

        using (var full = await router.AdmitAsync(Request()))
        {
            Assert.Equal(AdmissionRefusal.ServerFull, full.Refusal);
        }

        reserved.Dispose();
        using (var again = await router.AdmitAsync(Request()))
        {
            Assert.True(again.IsAccepted);
        }

        router.Leave(a);
        Assert.Equal(0, router.PeerCount);
        Assert.Empty(router.Rooms);
        Assert.Equal(1, router.GetStatistics().Refusals["ServerFull"]);
    }

    [Fact]
    public async Task Room_and_room_count_limits()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPeersPerRoom = 1;
        options.MaxRooms = 2;
        var router = new RelayRouter(options);
        await router.JoinAsync("one");
        await router.JoinAsync("two");

        using var roomFull = await router.AdmitAsync(Request("one"));
        using var tooMany = await router.AdmitAsync(Request("three"));

        Assert.Equal(AdmissionRefusal.RoomFull, roomFull.Refusal);
        Assert.Equal(AdmissionRefusal.TooManyRooms, tooMany.Refusal);
    }

    [Fact]
    public async Task Chosen_ids_must_be_free_and_not_reserved()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var a = await router.JoinAsync(requestedId: 1234);
        Assert.Equal(1234, a.PeerId);

        using var clash = await router.AdmitAsync(Request(id: 1234));
        using var pending = await router.AdmitAsync(Request("other", id: 777));
        using var clash2 = await router.AdmitAsync(Request("third", id: 777));
        using var reserved = await router.AdmitAsync(Request(id: 1));

        Assert.Equal(AdmissionRefusal.IdTaken, clash.Refusal);
        Assert.True(pending.IsAccepted);
        Assert.Equal(AdmissionRefusal.IdTaken, clash2.Refusal);
        Assert.Equal(AdmissionRefusal.InvalidId, reserved.Refusal);
    }

    [Fact]
    public async Task A_ticket_joins_once()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        using var t = await router.AdmitAsync(Request());
        router.Join(t, new FakeConnection());
        Assert.Throws<ArgumentException>(() => router.Join(t, new FakeConnection()));

        using var refused = await router.AdmitAsync(Request("bad room"));
        Assert.Throws<ArgumentException>(() => router.Join(refused, new FakeConnection()));
    }

    [Fact]
    public async Task Connections_per_address_are_limited_other_addresses_are_not()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxConnectionsPerAddress = 2;
        var router = new RelayRouter(options);
        var ip1 = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 1);
        var first = await router.JoinAsync(endPoint: ip1);
        await router.JoinAsync(endPoint: ip1);

        using var third = await router.AdmitAsync(Request(from: ip1));
        using var other = await router.AdmitAsync(Request(from: new IPEndPoint(IPAddress.Parse("10.0.0.2"), 1)));
        Assert.Equal(AdmissionRefusal.TooManyFromAddress, third.Refusal);
        Assert.True(other.IsAccepted);

        router.Leave(first);
        using var afterLeave = await router.AdmitAsync(Request(from: ip1));
        Assert.True(afterLeave.IsAccepted);
    }

    [Fact]
    public async Task The_connection_rate_per_address_is_a_token_bucket()
    {
        var options = RouterKit.NoRateLimits();
        options.ConnectionsPerSecondPerAddress = 0.001; // refills far slower than the test runs
        options.ConnectionBurstPerAddress = 3;
        var router = new RelayRouter(options);
        var results = new List<AdmissionTicket>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await router.AdmitAsync(Request()));
        }

        Assert.Equal([true, true, true, false], results.Select(r => r.IsAccepted));
        Assert.Equal(AdmissionRefusal.ConnectionRateLimited, results[3].Refusal);
        results.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task Hooks_run_in_order_can_refuse_name_the_peer_and_see_the_request()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var seen = new List<string>();
        router.AddAdmissionHook(async (r, ct) =>
        {
            await Task.Yield();
            seen.Add("first " + r.Credential);
            return r.Credential == "good" ? AdmissionDecision.Accept("alice") : AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, "bad credential");
        });
        router.AddAdmissionHook((r, ct) =>
        {
            seen.Add("second");
            return ValueTask.FromResult(AdmissionDecision.Accept());
        });
        string? refusedDetail = null;
        router.ConnectionRefused += (_, _, d) => refusedDetail = d;

        using var bad = await router.AdmitAsync(Request(token: "bad"));
        using var good = await router.AdmitAsync(Request(token: "good"));
        var c = new FakeConnection();
        router.Join(good, c);

        Assert.Equal(AdmissionRefusal.Unauthorized, bad.Refusal);
        Assert.Equal("bad credential", refusedDetail);
        Assert.Equal(["first bad", "first good", "second"], seen);
        Assert.Equal("alice", c.Name);
    }

    [Fact]
    public async Task A_throwing_hook_refuses_instead_of_failing_the_transport()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        router.AddAdmissionHook((_, _) => throw new InvalidOperationException("boom"));
        using var t = await router.AdmitAsync(Request());
        Assert.Equal(AdmissionRefusal.Other, t.Refusal);
        Assert.Empty(router.Rooms);
    }

    [Fact]
    public async Task Drain_refuses_new_connections_closes_everyone_with_ServerShutdown_and_completes_when_all_left()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var a = await router.JoinAsync();
        var b = await router.JoinAsync("other");

        var drain = router.DrainAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(CloseReason.ServerShutdown, a.ClosedWith?.Reason);
        Assert.Equal(CloseReason.ServerShutdown, b.ClosedWith?.Reason);
        using (var late = await router.AdmitAsync(Request()))
        {
            Assert.Equal(AdmissionRefusal.NotAccepting, late.Refusal);
        }

        Assert.False(drain.IsCompleted);
        router.Leave(a);
        router.Leave(b);
        Assert.True(await drain);
    }

    [Fact]
    public async Task A_connection_admitted_before_the_drain_joins_and_is_told_goodbye_at_once()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        using var ticket = await router.AdmitAsync(Request());
        var drain = router.DrainAsync(TimeSpan.FromSeconds(30));
        var late = new FakeConnection();

        router.Join(ticket, late);

        Assert.Equal(CloseReason.ServerShutdown, late.ClosedWith?.Reason);
        router.Leave(late);
        Assert.True(await drain);
    }

    [Fact]
    public async Task Drain_gives_up_after_its_timeout()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        await router.JoinAsync();
        Assert.False(await router.DrainAsync(TimeSpan.FromMilliseconds(50)));
    }
}
