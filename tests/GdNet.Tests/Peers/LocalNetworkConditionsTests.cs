using System.Buffers.Binary;
using GdNet.Peers;
using GdNet.Peers.Local;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>
/// Simulated link conditions on the test-driven clock, with fixed seeds: each statistical bound is wide enough for the
/// seed to be incidental (±2 % around the expectation over 10,000 packets is about 6 standard deviations).
/// </summary>
public class LocalNetworkConditionsTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void Latency_50ms_DeliversAfterExactly50ms()
    {
        var (net, server, client) = Joined(new LinkConditions { Latency = 50 * Ms });
        using var _ = net;

        Send(client, 1, 0, TransferModeEnum.Unreliable);
        net.Advance(49 * Ms);
        var before = server.AvailablePacketCount;
        net.Advance(Ms);

        Assert.Equal((0, 1), (before, server.AvailablePacketCount));
    }

    [Fact]
    public void Latency_ClientToClient_AddsBothHopsThroughTheServer()
    {
        using var net = new LocalNetwork(seed: 1);
        net.CreateServer();
        var a = net.CreateClient(new LinkConditions { Latency = 10 * Ms });
        var b = net.CreateClient(new LinkConditions { Latency = 20 * Ms });
        net.RunUntilIdle(TimeSpan.FromSeconds(1));

        Send(a, b.GetUniqueId(), 0, TransferModeEnum.Reliable);
        net.Advance(29 * Ms);
        var before = b.AvailablePacketCount;
        net.Advance(Ms);

        Assert.Equal((0, 1), (before, b.AvailablePacketCount));
    }

    [Fact]
    public void Jitter_20ms_SpreadsArrivalsOverLatencyToLatencyPlusJitter()
    {
        var (net, server, client) = Joined(new LinkConditions { Latency = 10 * Ms, Jitter = 20 * Ms, Seed = 11 });
        using var _ = net;
        for (var i = 0; i < 1000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable);
        }

        var perMs = new List<int>();
        var seen = 0;
        for (var t = 0; t <= 31; t++)
        {
            net.Advance(t == 0 ? TimeSpan.Zero : Ms);
            perMs.Add(server.AvailablePacketCount - seen);
            seen = server.AvailablePacketCount;
        }

        Assert.Equal(0, perMs.Take(10).Sum());
        Assert.Equal(1000, perMs.Skip(10).Take(21).Sum());
        Assert.All(perMs.Skip(11).Take(19), n => Assert.InRange(n, 20, 80));
    }

    [Fact]
    public void Loss_10PercentOver10000UnreliablePackets_LosesBetween8And12Percent()
    {
        var (net, server, client) = Joined(new LinkConditions { Loss = 0.1, Seed = 1 });
        using var _ = net;

        for (var i = 0; i < 10_000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable);
        }

        net.Step();

        Assert.InRange(10_000 - server.AvailablePacketCount, 800, 1200);
        Assert.Equal(10_000 - server.AvailablePacketCount, net.GetLinkStatistics(client, LinkDirection.Up).PacketsLost);
    }

    [Fact]
    public void Loss_30PercentOnReliable_DeliversEveryPacketOnceInOrderAfterRetransmissions()
    {
        var (net, server, client) = Joined(new LinkConditions { Loss = 0.3, Latency = 5 * Ms, Jitter = 5 * Ms, Seed = 2 });
        using var _ = net;

        for (var i = 0; i < 1000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Reliable);
        }

        net.RunUntilIdle(TimeSpan.FromMinutes(1));

        Assert.Equal(Enumerable.Range(0, 1000), ReadSequence(server));
        Assert.InRange(net.GetLinkStatistics(client, LinkDirection.Up).Retransmissions, 300, 600);
    }

    [Fact]
    public void Loss_Reliable_DelaysThePacketByTheRetransmitTimeout()
    {
        var conditions = new LinkConditions { Loss = 1, Latency = 10 * Ms };
        var (net, server, client) = Joined(LinkConditions.Perfect);
        using var _ = net;
        net.SetLinkConditions(client, conditions);

        Send(client, 1, 0, TransferModeEnum.Reliable);
        var expected = 10 * Ms + (LocalNetwork.MaxRetransmissions * conditions.RetransmitTimeout);
        net.Advance(expected - Ms);
        var before = server.AvailablePacketCount;
        net.Advance(Ms);

        Assert.Equal((0, 1), (before, server.AvailablePacketCount));
    }

    [Fact]
    public void Duplication_10PercentOver10000UnreliablePackets_AddsBetween8And12PercentCopies()
    {
        var (net, server, client) = Joined(new LinkConditions { Duplication = 0.1, Seed = 3 });
        using var _ = net;

        for (var i = 0; i < 10_000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable);
        }

        net.Step();

        Assert.InRange(server.AvailablePacketCount - 10_000, 800, 1200);
    }

    [Fact]
    public void Duplication_OnReliable_NeverDuplicates()
    {
        var (net, server, client) = Joined(new LinkConditions { Duplication = 1, Seed = 3 });
        using var _ = net;

        for (var i = 0; i < 100; i++)
        {
            Send(client, 1, i, TransferModeEnum.Reliable);
        }

        net.Step();

        Assert.Equal(Enumerable.Range(0, 100), ReadSequence(server));
    }

    [Fact]
    public void Reorder_10PercentOnUnreliable_LetsLaterPacketsOvertakeAbout10Percent()
    {
        var (net, server, client) = Joined(new LinkConditions { Reorder = 0.1, ReorderDelay = 5 * Ms, Seed = 4 });
        using var _ = net;

        SendOnePerMs(net, client, 10_000, TransferModeEnum.Unreliable);
        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        var received = ReadSequence(server);

        Assert.Equal(10_000, received.Count);
        Assert.Equal(Enumerable.Range(0, 10_000), received.Order());
        var held = received.Where((seq, i) => i > 0 && seq < received[i - 1]).Count();
        Assert.InRange(held, 800, 1200);
    }

    [Fact]
    public void Reorder_WithJitterOnReliable_KeepsOrder()
    {
        var (net, server, client) = Joined(new LinkConditions { Reorder = 0.5, Jitter = 20 * Ms, Seed = 4 });
        using var _ = net;

        SendOnePerMs(net, client, 1000, TransferModeEnum.Reliable);
        net.RunUntilIdle(TimeSpan.FromSeconds(1));

        Assert.Equal(Enumerable.Range(0, 1000), ReadSequence(server));
    }

    [Fact]
    public void UnreliableOrdered_WithJitterReorderAndDuplication_DropsLatePacketsAndNeverReordersOrRepeats()
    {
        var (net, server, client) = Joined(new LinkConditions { Jitter = 5 * Ms, Reorder = 0.1, Duplication = 0.1, Seed = 5 });
        using var _ = net;

        SendOnePerMs(net, client, 2000, TransferModeEnum.UnreliableOrdered);
        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        var received = ReadSequence(server);

        Assert.True(received.Zip(received.Skip(1)).All(p => p.First < p.Second), "UnreliableOrdered must arrive strictly increasing");
        var late = net.GetLinkStatistics(client, LinkDirection.Up).PacketsDroppedLate;
        Assert.True(late > 0);
        Assert.Equal(2000, received.Count + late - net.GetLinkStatistics(client, LinkDirection.Up).PacketsDuplicated);
    }

    [Fact]
    public void Unreliable_WithJitter_CanArriveOutOfOrder()
    {
        var (net, server, client) = Joined(new LinkConditions { Jitter = 5 * Ms, Seed = 5 });
        using var _ = net;

        SendOnePerMs(net, client, 1000, TransferModeEnum.Unreliable);
        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        var received = ReadSequence(server);

        Assert.Equal(1000, received.Count);
        Assert.Contains(received.Zip(received.Skip(1)), p => p.First > p.Second);
    }

    [Fact]
    public void Unreliable_SentAfterAReliableOne_NeverOvertakesIt()
    {
        var (net, server, client) = Joined(new LinkConditions { Loss = 0.5, Latency = 10 * Ms, Seed = 6 });
        using var _ = net;

        for (var i = 0; i < 200; i++)
        {
            Send(client, 1, i, i % 10 == 0 ? TransferModeEnum.Reliable : TransferModeEnum.Unreliable);
        }

        net.RunUntilIdle(TimeSpan.FromMinutes(1));
        var received = ReadSequence(server);

        for (var r = 0; r < 200; r += 10)
        {
            var at = received.IndexOf(r);
            Assert.True(at >= 0, $"reliable {r} missing");
            Assert.DoesNotContain(received.Take(at), s => s > r);
        }
    }

    [Fact]
    public void Bandwidth_10000BytesPerSecond_Carries10KilobytesInOneSecond()
    {
        var (net, server, client) = Joined(new LinkConditions { BandwidthBytesPerSecond = 10_000 });
        using var _ = net;

        for (var i = 0; i < 10; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable, size: 1000);
        }

        net.Advance(100 * Ms);
        var afterFirstTenth = server.AvailablePacketCount;
        net.Advance(899 * Ms);
        var justBeforeOneSecond = server.AvailablePacketCount;
        net.Advance(Ms);

        Assert.Equal((1, 9, 10), (afterFirstTenth, justBeforeOneSecond, server.AvailablePacketCount));
    }

    [Fact]
    public void Mtu_100WithLoss10Percent_Loses400BytePacketsAsOftenAsAnyOfFourFragments()
    {
        var (net, server, client) = Joined(new LinkConditions { Mtu = 100, Loss = 0.1, Seed = 8 });
        using var _ = net;

        for (var i = 0; i < 10_000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable, size: 400);
        }

        net.Step();

        // 1 − 0.9⁴ = 34.39 %.
        Assert.InRange(10_000 - server.AvailablePacketCount, 3239, 3639);
    }

    [Fact]
    public void Mtu_PacketWithinOneFragment_LosesAtTheBaseRate()
    {
        var (net, server, client) = Joined(new LinkConditions { Mtu = 100, Loss = 0.1, Seed = 8 });
        using var _ = net;

        for (var i = 0; i < 10_000; i++)
        {
            Send(client, 1, i, TransferModeEnum.Unreliable, size: 100);
        }

        net.Step();

        Assert.InRange(10_000 - server.AvailablePacketCount, 800, 1200);
    }

    [Fact]
    public void Seed_SameConditionsAndSeed_ReplaysTheSameArrivals()
    {
        var conditions = new LinkConditions { Loss = 0.2, Jitter = 10 * Ms, Duplication = 0.1, Reorder = 0.1, Seed = 9 };

        Assert.Equal(Run(conditions), Run(conditions));
        Assert.NotEqual(Run(conditions), Run(conditions with { Seed = 10 }));

        static List<int> Run(LinkConditions conditions)
        {
            var (net, server, client) = Joined(conditions);
            using var _ = net;
            SendOnePerMs(net, client, 500, TransferModeEnum.Unreliable);
            net.RunUntilIdle(TimeSpan.FromSeconds(1));
            return ReadSequence(server);
        }
    }

    [Fact]
    public void Conditions_OnTheDownLink_ApplyToServerPackets()
    {
        using var net = new LocalNetwork(seed: 1);
        var server = net.CreateServer();
        var client = net.CreateClient();
        net.Step();
        net.SetLinkConditions(client, LinkConditions.Perfect, new LinkConditions { Latency = 15 * Ms });

        Send(server, client.GetUniqueId(), 0, TransferModeEnum.Reliable);
        net.Advance(14 * Ms);
        var before = client.AvailablePacketCount;
        net.Advance(Ms);

        Assert.Equal((0, 1), (before, client.AvailablePacketCount));
    }

    [Fact]
    public void Reliable_ThreeClientsBroadcastingOverLossyJitteryLinks_EveryoneGetsEveryMessageOnceInOrder()
    {
        using var net = new LocalNetwork(seed: 12) { DefaultConditions = new LinkConditions { Latency = 20 * Ms, Jitter = 10 * Ms, Loss = 0.2, Duplication = 0.2, Reorder = 0.2 } };
        var server = net.CreateServer();
        var clients = new[] { net.CreateClient(), net.CreateClient(), net.CreateClient() };
        Assert.True(net.RunUntilIdle(TimeSpan.FromMinutes(1)));
        var received = new[] { server }.Concat(clients).ToDictionary(p => p, _ => new List<(int From, int Seq)>());

        for (var round = 0; round < 50; round++)
        {
            foreach (var c in clients)
            {
                Send(c, 0, round, TransferModeEnum.Reliable);
            }

            net.Advance(5 * Ms);
            Drain();
        }

        Assert.True(net.RunUntilIdle(TimeSpan.FromMinutes(1)));
        Drain();

        foreach (var (peer, got) in received)
        {
            foreach (var sender in clients.Where(c => c != peer))
            {
                Assert.Equal(Enumerable.Range(0, 50), got.Where(m => m.From == sender.GetUniqueId()).Select(m => m.Seq));
            }

            Assert.DoesNotContain(got, m => m.From == peer.GetUniqueId());
        }

        void Drain()
        {
            foreach (var (peer, got) in received)
            {
                peer.Poll();
                while (peer.AvailablePacketCount > 0)
                {
                    var from = peer.GetPacketPeer();
                    peer.TryGetPacket(out var packet);
                    got.Add((from, BinaryPrimitives.ReadInt32LittleEndian(packet)));
                }
            }
        }
    }

    [Theory]
    [InlineData("Loss")]
    [InlineData("Duplication")]
    [InlineData("Reorder")]
    [InlineData("Latency")]
    [InlineData("Bandwidth")]
    [InlineData("Mtu")]
    public void Validate_OutOfRangeValue_ThrowsArgumentOutOfRangeNamingIt(string property)
    {
        var conditions = property switch
        {
            "Loss" => new LinkConditions { Loss = 1.5 },
            "Duplication" => new LinkConditions { Duplication = -0.1 },
            "Reorder" => new LinkConditions { Reorder = double.NaN },
            "Latency" => new LinkConditions { Latency = -Ms },
            "Bandwidth" => new LinkConditions { BandwidthBytesPerSecond = -1 },
            _ => new LinkConditions { Mtu = -1 },
        };
        using var net = new LocalNetwork();
        net.CreateServer();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => net.CreateClient(conditions));

        Assert.StartsWith(property, e.ParamName);
    }

    private static (LocalNetwork Net, NetworkedMultiplayerCustom Server, NetworkedMultiplayerCustom Client) Joined(LinkConditions conditions)
    {
        var net = new LocalNetwork(seed: 1);
        var server = net.CreateServer();
        var client = net.CreateClient(conditions);
        Assert.True(net.RunUntilIdle(TimeSpan.FromMinutes(1)));
        Assert.Equal(ConnectionStatus.Connected, client.GetConnectionStatus());
        server.Poll();
        client.Poll();
        return (net, server, client);
    }

    private static void Send(NetworkedMultiplayerCustom peer, int target, int sequence, TransferModeEnum mode, int size = 4)
    {
        Span<byte> packet = stackalloc byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(packet, sequence);
        peer.SetTargetPeer(target);
        peer.TransferMode = mode;
        Assert.Equal(Error.Ok, peer.PutPacket(packet));
    }

    private static void SendOnePerMs(LocalNetwork net, NetworkedMultiplayerCustom client, int count, TransferModeEnum mode)
    {
        for (var i = 0; i < count; i++)
        {
            Send(client, 1, i, mode);
            net.Advance(Ms);
        }
    }

    private static List<int> ReadSequence(NetworkedMultiplayerCustom peer)
    {
        var seen = new List<int>();
        peer.Poll();
        while (peer.TryGetPacket(out var packet))
        {
            seen.Add(BinaryPrimitives.ReadInt32LittleEndian(packet));
        }

        return seen;
    }
}
