using System.Buffers;

namespace GdNet.Peers;

/// <summary>
/// A pair of connected in-memory packet peers: a packet put on one is queued, copied, on the other. Meant for tests and
/// examples of the <see cref="PacketPeer"/> contract. Create with <see cref="CreatePair"/>.
/// </summary>
/// <remarks>
/// <para><see cref="PutPacket(ReadOnlySpan{byte})"/> may be called from any thread; reading (<c>TryGetPacket</c>,
/// <c>GetPacket</c>, <c>GetVar</c>) is for one thread at a time. Packet buffers are pooled: a packet returned by
/// <see cref="PacketPeer.TryGetPacket"/> is valid until the next read from the same peer.</para>
/// <para>Each peer queues at most the capacity given to <see cref="CreatePair"/>; beyond it
/// <see cref="PutPacket(ReadOnlySpan{byte})"/> returns <see cref="Error.OutOfMemory"/> and drops the packet.</para>
/// </remarks>
public sealed class InMemoryPacketPeer : PacketPeer
{
    /// <summary>The default number of packets a peer queues before refusing more.</summary>
    public const int DefaultMaxQueuedPackets = 4096;

    private readonly Lock _lock = new();
    private readonly Queue<(byte[] Buffer, int Length)> _incoming = new();
    private readonly int _maxQueuedPackets;
    private InMemoryPacketPeer _remote = null!;
    private byte[]? _lent;

    private InMemoryPacketPeer(int maxQueuedPackets) => _maxQueuedPackets = maxQueuedPackets;

    /// <summary>Creates two peers connected to each other.</summary>
    /// <param name="maxQueuedPackets">How many packets each peer queues before <see cref="PutPacket(ReadOnlySpan{byte})"/> on the other fails.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxQueuedPackets"/> is less than 1.</exception>
    public static (InMemoryPacketPeer First, InMemoryPacketPeer Second) CreatePair(int maxQueuedPackets = DefaultMaxQueuedPackets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueuedPackets, 1);
        var first = new InMemoryPacketPeer(maxQueuedPackets);
        var second = new InMemoryPacketPeer(maxQueuedPackets);
        first._remote = second;
        second._remote = first;
        return (first, second);
    }

    /// <inheritdoc/>
    public override int AvailablePacketCount
    {
        get
        {
            lock (_lock)
            {
                return _incoming.Count;
            }
        }
    }

    /// <inheritdoc/>
    protected override bool TryGetPacketCore(out ReadOnlySpan<byte> packet)
    {
        // The previous packet's lease ends with this read.
        if (_lent is not null)
        {
            ArrayPool<byte>.Shared.Return(_lent);
            _lent = null;
        }

        (byte[] Buffer, int Length) next;
        lock (_lock)
        {
            if (!_incoming.TryDequeue(out next))
            {
                packet = default;
                return false;
            }
        }

        _lent = next.Buffer;
        packet = next.Buffer.AsSpan(0, next.Length);
        return true;
    }

    /// <summary>Queues a copy of <paramref name="packet"/> on the other peer.</summary>
    /// <returns><see cref="Error.Ok"/>, or <see cref="Error.OutOfMemory"/> when the other peer's queue is full.</returns>
    public override Error PutPacket(ReadOnlySpan<byte> packet)
    {
        var remote = _remote;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(packet.Length, 1));
        packet.CopyTo(buffer);
        lock (remote._lock)
        {
            if (remote._incoming.Count < remote._maxQueuedPackets)
            {
                remote._incoming.Enqueue((buffer, packet.Length));
                return Error.Ok;
            }
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return Error.OutOfMemory;
    }
}
