using System.Buffers;
using System.Runtime.InteropServices;

namespace GdNet.Peers;

/// <summary>The outcome of handing a packet to a peer: accepted, or refused with a reason.</summary>
public readonly record struct DeliverResult(PacketRejectReason? RejectReason)
{
    public static DeliverResult Accepted => default;

    public bool IsAccepted => RejectReason is null;

    public static DeliverResult Rejected(PacketRejectReason reason) => new(reason);
}

/// <summary>
/// The incoming side of a network peer, for transport authors: a bounded, ordered queue of packets and peer events that
/// transport threads fill and the game thread drains. Packets live in pooled buffers from <see cref="ArrayPool{T}.Shared"/>.
/// </summary>
/// <remarks>
/// <para><b>Producers (any thread):</b> <see cref="TryEnqueue(int, ReadOnlySpan{byte})"/>,
/// <see cref="TryEnqueueOwned"/>, <see cref="EnqueueEvent"/>, <see cref="Reject"/>. They never call user code.</para>
/// <para><b>Consumer (game thread):</b> <see cref="RaiseDueEvents"/>, <see cref="TryPeekSender"/>,
/// <see cref="TryDequeue"/>. Events are raised through the owning peer when they reach the front of the queue, so a
/// peer's connect event comes before its packets and its disconnect event after them.</para>
/// <para><b>Bounds:</b> at most <see cref="MaxPackets"/> packets and <see cref="MaxBytes"/> bytes are queued; beyond that a
/// packet is refused with <see cref="PacketRejectReason.QueueFull"/> and the transport decides (TCP: wait and retry;
/// datagrams: drop, or disconnect the sender). Rejection notices are capped too; past the cap they are only counted.</para>
/// </remarks>
public sealed class PeerInbox : IDisposable
{
    /// <summary>Default bound on queued packets.</summary>
    public const int DefaultMaxPackets = 65536;

    /// <summary>Default bound on queued bytes: 64 MiB.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    /// <summary>At most this many rejection notices wait to be raised; more are only counted.</summary>
    public const int MaxPendingRejections = 1024;

    private struct Entry
    {
        public PeerEventKind Kind; // 0 = packet
        public int Peer;
        public byte[]? Buffer;
        public int Length;
        public PacketRejection? Rejection;
    }

    private readonly NetworkedMultiplayerPeer _owner;
    private readonly Lock _gate = new();
    private List<Entry> _incoming = new(64);
    private List<Entry> _local = new(64);
    private int _localIndex;
    private byte[]? _lent;
    private int _queuedPackets;
    private long _queuedBytes;
    private int _pendingRejections;

    /// <summary>Creates an inbox that raises its events through <paramref name="owner"/>.</summary>
    public PeerInbox(NetworkedMultiplayerPeer owner, int maxPackets = DefaultMaxPackets, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPackets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _owner = owner;
        MaxPackets = maxPackets;
        MaxBytes = maxBytes;
    }

    /// <summary>The bound on queued packets.</summary>
    public int MaxPackets { get; set; }

    /// <summary>The bound on queued bytes.</summary>
    public long MaxBytes { get; set; }

    /// <summary>Packets queued (any thread).</summary>
    public int AvailablePacketCount => Volatile.Read(ref _queuedPackets);

    /// <summary>Bytes queued (any thread).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Copies <paramref name="packet"/> into a pooled buffer and queues it. Any thread.</summary>
    public DeliverResult TryEnqueue(int fromPeer, ReadOnlySpan<byte> packet)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(packet.Length, 1));
        packet.CopyTo(buffer);
        return TryEnqueueOwned(fromPeer, buffer, packet.Length);
    }

    /// <summary>
    /// Queues a packet held in <paramref name="rentedBuffer"/>, a buffer rented from <see cref="ArrayPool{T}.Shared"/>.
    /// Ownership passes to the inbox in every case: on refusal the buffer is returned to the pool at once. Any thread.
    /// </summary>
    public DeliverResult TryEnqueueOwned(int fromPeer, byte[] rentedBuffer, int length)
    {
        ArgumentNullException.ThrowIfNull(rentedBuffer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, rentedBuffer.Length);
        lock (_gate)
        {
            if (_queuedPackets < MaxPackets && _queuedBytes + length <= MaxBytes)
            {
                _incoming.Add(new Entry { Peer = fromPeer, Buffer = rentedBuffer, Length = length });
                _queuedPackets++;
                _queuedBytes += length;
                _owner.Statistics.CountIn(fromPeer, length);
                return DeliverResult.Accepted;
            }
        }

        ArrayPool<byte>.Shared.Return(rentedBuffer);
        Reject(new PacketRejection(fromPeer, PacketRejectReason.QueueFull, length, MaxPackets));
        return DeliverResult.Rejected(PacketRejectReason.QueueFull);
    }

    /// <summary>Queues a peer event, raised in order with the packets. Any thread.</summary>
    public void EnqueueEvent(PeerEventKind kind, int peerId = 0)
    {
        lock (_gate)
        {
            _incoming.Add(new Entry { Kind = kind, Peer = peerId });
        }
    }

    /// <summary>Counts a refused packet and queues its <see cref="NetworkedMultiplayerPeer.PacketRejected"/> notice. Any thread.</summary>
    public void Reject(PacketRejection rejection)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        _owner.Statistics.CountRejection(rejection.Reason);
        lock (_gate)
        {
            if (_pendingRejections >= MaxPendingRejections)
            {
                return;
            }

            _pendingRejections++;
            _incoming.Add(new Entry { Kind = PeerEventKind.PacketRejected, Peer = rejection.PeerId, Rejection = rejection });
        }
    }

    /// <summary>Raises the events that are due: those queued before the next packet. Game thread.</summary>
    public void RaiseDueEvents()
    {
        ReturnLent();
        Advance();
    }

    /// <summary>The sender of the next packet, after raising the events queued before it. Game thread.</summary>
    public bool TryPeekSender(out int fromPeer)
    {
        if (Advance())
        {
            fromPeer = _local[_localIndex].Peer;
            return true;
        }

        fromPeer = 0;
        return false;
    }

    /// <summary>
    /// Takes the next packet, after raising the events queued before it. The span is lent until the next call on this
    /// inbox. When no packet remains, every queued event has been raised and it returns false. Game thread.
    /// </summary>
    public bool TryDequeue(out int fromPeer, out ReadOnlySpan<byte> packet)
    {
        ReturnLent();
        if (!Advance())
        {
            fromPeer = 0;
            packet = default;
            return false;
        }

        var e = _local[_localIndex];
        _local[_localIndex++] = default;
        lock (_gate)
        {
            _queuedPackets--;
            _queuedBytes -= e.Length;
        }

        _lent = e.Buffer;
        fromPeer = e.Peer;
        packet = e.Buffer.AsSpan(0, e.Length);
        return true;
    }

    /// <summary>Drops every queued packet and event, returning their buffers. Game thread.</summary>
    public void Clear()
    {
        ReturnLent();
        List<Entry> pending;
        lock (_gate)
        {
            pending = _incoming;
            _incoming = new List<Entry>(64);
            _queuedPackets = 0;
            _queuedBytes = 0;
            _pendingRejections = 0;
        }

        ReturnAll(_local, _localIndex);
        _local.Clear();
        _localIndex = 0;
        ReturnAll(pending, 0);
    }

    /// <inheritdoc cref="Clear"/>
    public void Dispose() => Clear();

    private static void ReturnAll(List<Entry> entries, int from)
    {
        foreach (var e in CollectionsMarshal.AsSpan(entries)[from..])
        {
            if (e.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(e.Buffer);
            }
        }
    }

    private void ReturnLent()
    {
        if (_lent is not null)
        {
            ArrayPool<byte>.Shared.Return(_lent);
            _lent = null;
        }
    }

    // Raises events at the front until a packet is at the front (true) or the queue is empty (false).
    private bool Advance()
    {
        while (true)
        {
            if (_localIndex >= _local.Count)
            {
                _local.Clear();
                _localIndex = 0;
                lock (_gate)
                {
                    if (_incoming.Count == 0)
                    {
                        return false;
                    }

                    (_local, _incoming) = (_incoming, _local);
                }
            }

            var e = _local[_localIndex];
            if (e.Kind == 0)
            {
                return true;
            }

            _local[_localIndex++] = default;
            if (e.Kind == PeerEventKind.PacketRejected)
            {
                lock (_gate)
                {
                    _pendingRejections--;
                }
            }

            _owner.RaiseQueued(e.Kind, e.Peer, e.Rejection);
        }
    }
}
