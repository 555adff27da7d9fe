using System.Buffers.Binary;
using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>
/// The inbox with many producer threads at once and the test thread as the game thread: the bounds hold exactly, nothing
/// is lost or duplicated, and each producer's events and packets keep their order. Deterministic: no sleeps, producers
/// spin while the inbox is full and the consumer drains until every producer is done.
/// </summary>
[Collection(GdNet.Tests.LoadCollection.Name)]
public class PeerInboxConcurrencyTests
{
    private const int Producers = 8;

    [Theory]
    [InlineData(16, 2000L, 300, 3000)] // small packets: shared chunks; both bounds bite
    [InlineData(64, 40000L, 6000, 400)] // some larger than MaxChunkedPacketSize: own buffers
    public void TryEnqueueIfRoom_ManyProducersAgainstTightBounds_NeverExceedTheBoundsAndDeliverEveryPacketOnceInOrder(
        int maxPackets, long maxBytes, int maxSize, int perProducer)
    {
        var pool = new CountingArrayPool();
        var inbox = new PeerInbox(new NetworkedMultiplayerCustom(), maxPackets, maxBytes, pool);
        var accepted = new long[2]; // packets, bytes: counted by producers after their enqueue returned
        using var start = new Barrier(Producers + 1);
        var producers = Enumerable.Range(2, Producers).Select(peer => new Thread(() =>
        {
            var random = new Random(peer);
            start.SignalAndWait();
            for (var seq = 0; seq < perProducer; seq++)
            {
                var packet = MakePacket(peer, seq, random.Next(4, maxSize + 1));
                var spin = default(SpinWait);
                while (!inbox.TryEnqueueIfRoom(peer, packet))
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                Interlocked.Add(ref accepted[1], packet.Length);
                Interlocked.Increment(ref accepted[0]);
            }
        })).ToList();
        producers.ForEach(t => t.Start());
        start.SignalAndWait();

        var next = new int[Producers + 2];
        long readPackets = 0, readBytes = 0, worstPackets = 0, worstBytes = 0;
        var errors = new List<string>();
        while (readPackets < (long)Producers * perProducer)
        {
            // Packets whose enqueue returned and that were not read yet are all in the inbox, so these never exceed
            // what the inbox holds, which must stay within the bounds.
            worstPackets = Math.Max(worstPackets, Interlocked.Read(ref accepted[0]) - readPackets);
            worstBytes = Math.Max(worstBytes, Interlocked.Read(ref accepted[1]) - readBytes);
            if (inbox.AvailablePacketCount > maxPackets || inbox.QueuedBytes > maxBytes)
            {
                errors.Add($"inbox reports {inbox.AvailablePacketCount} packets, {inbox.QueuedBytes} bytes");
            }

            if (!inbox.TryDequeue(out var from, out var packet))
            {
                continue;
            }

            var seq = BinaryPrimitives.ReadInt32LittleEndian(packet);
            if (seq != next[from] || !packet.SequenceEqual(MakePacket(from, seq, packet.Length)))
            {
                errors.Add($"peer {from}: packet {seq} ({packet.Length} bytes) where {next[from]} was due, or its bytes differ");
            }

            next[from] = seq + 1;
            readPackets++;
            readBytes += packet.Length;
        }

        producers.ForEach(t => t.Join());
        var leftOver = inbox.TryDequeue(out _, out _);
        inbox.Clear();

        Assert.Empty(errors.Take(5));
        Assert.False(leftOver);
        Assert.All(next.Skip(2), n => Assert.Equal(perProducer, n));
        Assert.InRange(worstPackets, 1, maxPackets);
        Assert.InRange(worstBytes, 1, maxBytes);
        Assert.Equal((0, 0L), (inbox.AvailablePacketCount, inbox.QueuedBytes));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void TryEnqueue_ManyProducersOverfillingThePacketBound_AcceptExactlyTheBoundAndRefuseTheRest()
    {
        var owner = new NetworkedMultiplayerCustom();
        using var inbox = new PeerInbox(owner, maxPackets: 100);

        var accepted = Flood(inbox, perProducer: 50, size: 10);

        Assert.Equal(100, accepted);
        Assert.Equal((100, 1000L), (inbox.AvailablePacketCount, inbox.QueuedBytes));
        Assert.Equal(Producers * 50L - 100, owner.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void TryEnqueue_ManyProducersOverfillingTheByteBound_AcceptExactlyWhatFits()
    {
        var owner = new NetworkedMultiplayerCustom();
        using var inbox = new PeerInbox(owner, maxBytes: 1000);

        var accepted = Flood(inbox, perProducer: 50, size: 7);

        Assert.Equal(142, accepted); // 142 × 7 = 994; a 143rd would make 1001
        Assert.Equal((142, 994L), (inbox.AvailablePacketCount, inbox.QueuedBytes));
        Assert.Equal(Producers * 50L - 142, owner.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void EnqueueEvent_ManyPeersConnectingSendingAndLeavingAtOnce_EachConnectComesBeforeItsPacketsAndDisconnectAfter()
    {
        const int perProducer = 2000;
        var owner = new NetworkedMultiplayerCustom();
        using var inbox = new PeerInbox(owner, maxPackets: 32);
        var state = new int[Producers + 2]; // 0 not connected, 1 connected, 2 disconnected
        var next = new int[Producers + 2];
        var errors = new List<string>();
        var disconnected = 0;
        owner.PeerConnected += id =>
        {
            if (state[id] != 0)
            {
                errors.Add($"connected {id} twice");
            }

            state[id] = 1;
        };
        owner.PeerDisconnected += id =>
        {
            if (state[id] != 1 || next[id] != perProducer)
            {
                errors.Add($"disconnected {id} in state {state[id]} after {next[id]} packets");
            }

            state[id] = 2;
            disconnected++;
        };
        using var start = new Barrier(Producers);
        var producers = Enumerable.Range(2, Producers).Select(peer => new Thread(() =>
        {
            start.SignalAndWait();
            inbox.EnqueueEvent(PeerEventKind.PeerConnected, peer);
            for (var seq = 0; seq < perProducer; seq++)
            {
                var packet = MakePacket(peer, seq, 8);
                while (!inbox.TryEnqueueIfRoom(peer, packet))
                {
                    Thread.Yield();
                }
            }

            inbox.EnqueueEvent(PeerEventKind.PeerDisconnected, peer);
        })).ToList();
        producers.ForEach(t => t.Start());

        while (disconnected < Producers)
        {
            if (!inbox.TryDequeue(out var from, out var packet))
            {
                continue;
            }

            var seq = BinaryPrimitives.ReadInt32LittleEndian(packet);
            if (state[from] != 1 || seq != next[from])
            {
                errors.Add($"packet {seq} of {from} in state {state[from]} where {next[from]} was due");
            }

            next[from] = seq + 1;
        }

        producers.ForEach(t => t.Join());

        Assert.Empty(errors.Take(5));
        Assert.All(state.Skip(2), s => Assert.Equal(2, s));
    }

    [Fact]
    public void Clear_WhileProducersDeliver_LeavesCountersMatchingWhatIsQueuedAndReturnsEveryBuffer()
    {
        var pool = new CountingArrayPool();
        using var inbox = new PeerInbox(new NetworkedMultiplayerCustom(), maxPackets: 64, pool: pool);
        using var start = new Barrier(Producers + 1);
        var producers = Enumerable.Range(2, Producers).Select(peer => new Thread(() =>
        {
            start.SignalAndWait();
            for (var seq = 0; seq < 2000; seq++)
            {
                inbox.TryEnqueue(peer, MakePacket(peer, seq, 16 + (seq % 5000)));
            }
        })).ToList();
        producers.ForEach(t => t.Start());
        start.SignalAndWait();

        var clears = 0;
        while (producers.Exists(t => t.IsAlive))
        {
            inbox.TryDequeue(out _, out _);
            inbox.Clear();
            clears++;
        }

        producers.ForEach(t => t.Join());
        var (count, bytes) = (inbox.AvailablePacketCount, inbox.QueuedBytes);
        var counted = 0;
        long countedBytes = 0;
        while (inbox.TryDequeue(out _, out var packet))
        {
            counted++;
            countedBytes += packet.Length;
        }

        inbox.Clear();

        Assert.True(clears > 0);
        Assert.Equal((count, bytes), (counted, countedBytes));
        Assert.Equal((0, 0L), (inbox.AvailablePacketCount, inbox.QueuedBytes));
        Assert.Equal(0, pool.Outstanding);
    }

    // Runs every producer at once, each queueing `perProducer` packets of `size` bytes with TryEnqueue; returns how
    // many were accepted.
    private static int Flood(PeerInbox inbox, int perProducer, int size)
    {
        var accepted = 0;
        using var start = new Barrier(Producers);
        var producers = Enumerable.Range(2, Producers).Select(peer => new Thread(() =>
        {
            start.SignalAndWait();
            for (var seq = 0; seq < perProducer; seq++)
            {
                if (inbox.TryEnqueue(peer, MakePacket(peer, seq, size)).IsAccepted)
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        })).ToList();
        producers.ForEach(t => t.Start());
        producers.ForEach(t => t.Join());
        return accepted;
    }

    // A packet that names its sequence number and whose other bytes depend on the sender and the number, so a packet
    // copied into the wrong place, or overwritten, shows.
    private static byte[] MakePacket(int peer, int seq, int length)
    {
        var packet = new byte[length];
        BinaryPrimitives.WriteInt32LittleEndian(packet, seq);
        for (var i = 4; i < length; i++)
        {
            packet[i] = (byte)(peer * 31 + seq * 7 + i);
        }

        return packet;
    }
}
