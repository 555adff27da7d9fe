using GdNet.Peers;
using GdNet.Server;
using GdNet.TestSupport;
using Microsoft.Extensions.Logging;

namespace GdNet.Cluster.Tests;

/// <summary>
/// A node that cannot keep up with a room's cluster traffic: its subscription's buffer fills, and NATS.Net drops what does
/// not fit. The drops are counted by reason and logged, never silent; the room works again once the node catches up.
/// Two relay routers in this process, each with its own link to a real nats-server.
/// </summary>
public sealed class ClusterSlowConsumerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Messages_a_slow_node_cannot_take_are_counted_and_logged_as_slow_consumer_drops()
    {
        await using var nats = await NatsServer.StartAsync();
        var name = "slow" + Guid.NewGuid().ToString("N")[..8];
        var host = new StuckHost();
        // Both nodes host lobbies (nodes of a cluster share their settings); the slow one opens the room first, so it runs it.
        var sender = new RelayRouter(new RelayOptions()) { HostFactory = _ => new StuckHost() };
        var slow = new RelayRouter(new RelayOptions()) { HostFactory = _ => host };
        var log = new ListLogger();
        await using var senderLink = await NatsClusterLink.ConnectAsync(sender,
            new NatsClusterOptions { Url = nats.Url, ClusterName = name, NodeName = "sender", MaxBatchBytes = 1024 });
        await using var slowLink = await NatsClusterLink.ConnectAsync(slow,
            new NatsClusterOptions { Url = nats.Url, ClusterName = name, NodeName = "slow", SubscriptionCapacity = 16 }, log);

        var local = await JoinAsync(slow);
        var player = await JoinAsync(sender);
        await Poll.UntilAsync(() => sender.RemotePeerCount == 1 && slow.RemotePeerCount == 1, Wait, "the nodes see each other's member");

        // The slow node's hosted logic takes nothing: its reader waits on the first packet while 200 more messages come.
        var payload = new byte[2000];
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(RouteResult.Done, sender.Route(player, player.PeerId, 1, payload, TransferModeEnum.Reliable, 0));
        }

        await Poll.UntilAsync(() => slowLink.GetStatistics().Dropped.GetValueOrDefault("slow_consumer") > 0, Wait,
            "the slow node counts slow-consumer drops");
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("slow", StringComparison.OrdinalIgnoreCase));

        // Caught up: what was taken reaches the host; a marker after it too, and the gap left by the drops is counted.
        host.Release();
        Assert.Equal(RouteResult.Done, sender.Route(player, player.PeerId, 1, [7], TransferModeEnum.Reliable, 0));
        await Poll.UntilAsync(() => host.Last is [7], Wait, "the marker reaches the host after the drops");
        var stats = slowLink.GetStatistics();
        Assert.True(host.Count < 201, $"{host.Count} packets reached the host: some were dropped");
        Assert.True(stats.Dropped.GetValueOrDefault("gap") > 0, "the receiver sees the sequence gap: " + string.Join(", ", stats.Dropped));
        GC.KeepAlive(local);
    }

    private static async Task<Member> JoinAsync(RelayRouter router)
    {
        var c = new Member();
        using var ticket = await router.AdmitAsync(new AdmissionRequest("test", null, Room.DefaultName));
        Assert.True(ticket.IsAccepted, ticket.Detail);
        router.Join(ticket, c);
        return c;
    }

    /// <summary>A member that takes every packet.</summary>
    private sealed class Member() : RelayConnection("test", null)
    {
        protected override void Welcome()
        {
        }

        protected override SendResult Send(in RelayPacket packet) => SendResult.Sent;

        protected override void SendPeerAdded(int peerId)
        {
        }

        protected override void SendPeerRemoved(int peerId)
        {
        }

        protected override void Close(CloseReason reason, string detail)
        {
        }
    }

    /// <summary>A hosted logic that is full until released, then takes everything.</summary>
    private sealed class StuckHost : IRoomHost
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _open;

        public int Count;

        public byte[]? Last { get; private set; }

        public void Release()
        {
            _open = true;
            _released.TrySetResult();
        }

        public void PeerJoined(int peerId)
        {
        }

        public void PeerLeft(int peerId)
        {
        }

        public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
        {
            if (!_open)
            {
                return HostDelivery.Full;
            }

            Interlocked.Increment(ref Count);
            Last = payload.ToArray();
            return HostDelivery.Accepted;
        }

        public Task WhenRoomAsync(int length) => _released.Task;

        public void Dispose()
        {
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public List<(LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
