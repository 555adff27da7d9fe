using System.Buffers.Binary;
using System.Diagnostics;
using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>
/// The threading model: transport threads call DeliverPacket/AddPeer/RemovePeer while the game thread polls, reads and
/// puts. Each test is bounded by a deadline and checks order and accounting, not timing.
/// </summary>
[Collection(GdNet.Tests.LoadCollection.Name)]
public class NetworkedMultiplayerCustomConcurrencyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly System.Collections.Concurrent.ConcurrentBag<Exception> Failures = [];

    [Fact]
    public void DeliverPacket_FromFourTransportThreads_KeepsEachSendersOrderAndLosesNothing()
    {
        const int Senders = 4, PerSender = 20_000;
        var peer = CustomPeers.Connected(1, 2, 3, 4, 5);
        peer.MaxQueuedPackets = int.MaxValue;
        var producers = StartThreads(Senders, s =>
        {
            Span<byte> packet = stackalloc byte[4];
            for (var i = 0; i < PerSender; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(packet, i);
                Assert.True(peer.DeliverPacket(packet, s + 2).IsAccepted);
            }
        });

        var next = new int[6];
        var received = 0;
        var outOfOrder = 0;
        var clock = Stopwatch.StartNew();
        while (received < Senders * PerSender && clock.Elapsed < Deadline)
        {
            peer.Poll();
            while (peer.AvailablePacketCount > 0)
            {
                var from = peer.GetPacketPeer();
                peer.TryGetPacket(out var packet);
                if (BinaryPrimitives.ReadInt32LittleEndian(packet) != next[from]++)
                {
                    outOfOrder++;
                }

                received++;
            }
        }

        JoinAll(producers);
        Assert.Equal((Senders * PerSender, 0), (received, outOfOrder));
        Assert.Equal(Senders * PerSender, peer.Statistics.Snapshot().PacketsIn);
    }

    [Fact]
    public void AddPeerDeliverRemovePeer_FromTransportThreads_RaisesConnectBeforePacketsBeforeDisconnect()
    {
        const int Threads = 4, Sessions = 300, PacketsPerSession = 10;
        var peer = CustomPeers.Connected(1);
        peer.MaxQueuedPackets = int.MaxValue;
        var producers = StartThreads(Threads, t =>
        {
            var id = 10 + t;
            for (var s = 0; s < Sessions; s++)
            {
                peer.AddPeer(id);
                for (var i = 0; i < PacketsPerSession; i++)
                {
                    peer.DeliverPacket([(byte)i], id);
                }

                peer.RemovePeer(id);
            }
        });

        var connected = new HashSet<int>();
        var violations = new List<string>();
        var (connects, disconnects, packets) = (0, 0, 0);
        peer.PeerConnected += id =>
        {
            connects++;
            if (!connected.Add(id))
            {
                violations.Add($"connected {id} twice");
            }
        };
        peer.PeerDisconnected += id =>
        {
            disconnects++;
            if (!connected.Remove(id))
            {
                violations.Add($"disconnected {id} while not connected");
            }
        };

        var clock = Stopwatch.StartNew();
        while (disconnects < Threads * Sessions && clock.Elapsed < Deadline)
        {
            peer.Poll();
            while (peer.AvailablePacketCount > 0)
            {
                var from = peer.GetPacketPeer();
                peer.TryGetPacket(out _);
                packets++;
                if (!connected.Contains(from))
                {
                    violations.Add($"packet from {from} outside its session");
                }
            }
        }

        JoinAll(producers);
        Assert.Empty(violations.Take(5));
        Assert.Equal((Threads * Sessions, Threads * Sessions, Threads * Sessions * PacketsPerSession), (connects, disconnects, packets));
    }

    [Fact]
    public void RemovePeer_RacingDeliverPacketOnAnotherThread_NoPacketFollowsPeerDisconnected()
    {
        var peer = CustomPeers.Connected(1);
        peer.MaxQueuedPackets = int.MaxValue;
        var violations = 0;
        for (var round = 0; round < 100; round++)
        {
            peer.AddPeer(5);
            var sender = StartThreads(1, _ =>
            {
                for (var i = 0; i < 5000 && peer.DeliverPacket([1], 5).IsAccepted; i++)
                {
                }
            });
            var remover = StartThreads(1, _ =>
            {
                Thread.SpinWait(1000);
                peer.RemovePeer(5);
            });
            JoinAll(remover);
            JoinAll(sender);

            var gone = false;
            peer.PeerDisconnected += OnGone;
            peer.Poll();
            while (peer.AvailablePacketCount > 0)
            {
                peer.GetPacketPeer();
                peer.TryGetPacket(out _);
                if (gone)
                {
                    violations++;
                }
            }

            peer.Poll();
            peer.PeerDisconnected -= OnGone;
            Assert.True(gone);

            void OnGone(int id) => gone = true;
        }

        Assert.Equal(0, violations);
    }

    [Fact]
    public void DeliverPacket_FloodBeyondTheBoundWhileGameThreadReads_AccountsForEveryPacket()
    {
        const int Senders = 4, PerSender = 10_000;
        var peer = CustomPeers.Connected(1, 2, 3, 4, 5);
        peer.MaxQueuedPackets = 64;
        var accepted = 0;
        var rejected = 0;
        var producers = StartThreads(Senders, s =>
        {
            for (var i = 0; i < PerSender; i++)
            {
                if (peer.DeliverPacket([1, 2, 3], s + 2).IsAccepted)
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    Interlocked.Increment(ref rejected);
                }
            }
        });

        var read = 0;
        var clock = Stopwatch.StartNew();
        while (producers.Any(p => p.IsAlive) && clock.Elapsed < Deadline)
        {
            while (peer.TryGetPacket(out _))
            {
                read++;
            }
        }

        JoinAll(producers);
        while (peer.TryGetPacket(out _))
        {
            read++;
        }

        Assert.Equal(Senders * PerSender, accepted + rejected);
        Assert.Equal(accepted, read);
        Assert.Equal(rejected, peer.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void PutPacket_OnGameThreadWhileTransportThreadsDeliver_BothDirectionsComplete()
    {
        const int Count = 20_000;
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2, 3);
        peer.MaxQueuedPackets = int.MaxValue;
        var generated = 0;
        peer.PacketGenerated += (_, _, _) => generated++;
        var producers = StartThreads(2, s =>
        {
            for (var i = 0; i < Count; i++)
            {
                peer.DeliverPacket([1, 2, 3, 4], s + 2);
            }
        });

        var read = 0;
        var clock = Stopwatch.StartNew();
        while (read < 2 * Count && clock.Elapsed < Deadline)
        {
            peer.SetTargetPeer(read % 2 == 0 ? 2 : 0);
            peer.PutPacket([9]);
            peer.Poll();
            while (peer.TryGetPacket(out _))
            {
                read++;
            }
        }

        JoinAll(producers);
        peer.Dispose();
        Assert.Equal(2 * Count, read);
        Assert.Equal(generated, peer.Statistics.Snapshot().PacketsOut);
        Assert.Equal(0, pool.Outstanding);
    }

    private Thread[] StartThreads(int count, Action<int> body)
    {
        var threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    body(index);
                }
                catch (Exception e)
                {
                    Failures.Add(e);
                }
            })
            { IsBackground = true, Name = $"transport {index}" };
            threads[i].Start();
        }

        return threads;
    }

    private void JoinAll(Thread[] threads)
    {
        foreach (var t in threads)
        {
            Assert.True(t.Join(Deadline), $"{t.Name} did not finish within {Deadline}");
        }

        if (!Failures.IsEmpty)
        {
            throw new AggregateException(Failures);
        }
    }
}
