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
/// transport threads fill and the game thread drains. Packets live in pooled buffers from <see cref="Pool"/>
/// (<see cref="ArrayPool{T}.Shared"/> unless another pool was given): a copied packet of up to
/// <see cref="MaxChunkedPacketSize"/> bytes is appended to a shared 64 KiB chunk, recycled once every packet in it has
/// been read, so a steady flow allocates nothing however many packets wait between two polls; a larger one gets its own
/// buffer, and <see cref="TryEnqueueOwned"/> keeps the caller's.
/// </summary>
/// <remarks>
/// <para><b>Producers (any thread):</b> <see cref="TryEnqueue(int, ReadOnlySpan{byte})"/>,
/// <see cref="TryEnqueueOwned"/>, <see cref="EnqueueEvent"/>, <see cref="Reject(PacketRejection)"/>. They never call user code.</para>
/// <para><b>Consumer (game thread):</b> <see cref="RaiseDueEvents"/>, <see cref="TryPeekSender"/>,
/// <see cref="TryDequeue"/>, <see cref="Clear"/>. Events are raised through the owning peer when they reach the front of
/// the queue, so a peer's connect event comes before its packets and its disconnect event after them.</para>
/// <para><b>Bounds:</b> at most <see cref="MaxPackets"/> packets and <see cref="MaxBytes"/> bytes are queued; beyond that a
/// packet is refused with <see cref="PacketRejectReason.QueueFull"/> and the transport decides (TCP: wait and retry;
/// datagrams: drop, or disconnect the sender). Rejection notices are capped too (<see cref="MaxPendingRejections"/>);
/// past the cap they are only counted.</para>
/// </remarks>
public sealed class PeerInbox : IDisposable
{
    /// <summary>Default bound on queued packets.</summary>
    public const int DefaultMaxPackets = 65536;

    /// <summary>Default bound on queued bytes: 64 MiB.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    /// <summary>At most this many rejection notices wait to be raised; more are only counted.</summary>
    public const int MaxPendingRejections = 1024;

    /// <summary>Copied packets up to this size share chunks; larger ones get a buffer each.</summary>
    public const int MaxChunkedPacketSize = 4096;

    private const int ChunkSize = 64 * 1024;
    private const int MaxSpareChunks = 4;

    private struct Entry
    {
        public PeerEventKind Kind; // 0 = packet
        public int Peer;
        public byte[]? Buffer;     // an owned buffer, or null
        public Chunk? Chunk;       // or a slice of a chunk, or neither for an empty packet
        public int Offset;
        public int Length;
        public PacketRejection? Rejection;
    }

    // A pooled buffer shared by small packets. References: one per queued or lent packet, plus one while producers
    // still append to it; whoever drops the last one recycles it.
    private sealed class Chunk(byte[] buffer)
    {
        public readonly byte[] Buffer = buffer;
        public int References;
    }

    private readonly NetworkedMultiplayerPeer _owner;
    private readonly Lock _gate = new();
    private List<Entry> _incoming = new(64);
    private List<Entry> _local = new(64);
    private int _localIndex;
    private byte[]? _lent;
    private Chunk? _lentChunk;
    private Chunk? _writeChunk;
    private int _writeOffset;
    private readonly Stack<Chunk> _spareChunks = new();
    private int _queuedPackets;
    private long _queuedBytes;
    private int _pendingRejections;
    private int _maxPackets;
    private long _maxBytes;

    /// <summary>Creates an inbox that raises its events through <paramref name="owner"/>.</summary>
    /// <param name="owner">The peer whose events the inbox raises and whose statistics it updates.</param>
    /// <param name="maxPackets">The bound on queued packets, at least 1.</param>
    /// <param name="maxBytes">The bound on queued bytes, at least 1.</param>
    /// <param name="pool">Where packet buffers come from and go back to; <see cref="ArrayPool{T}.Shared"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A bound is below 1.</exception>
    public PeerInbox(NetworkedMultiplayerPeer owner, int maxPackets = DefaultMaxPackets, long maxBytes = DefaultMaxBytes, ArrayPool<byte>? pool = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPackets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _owner = owner;
        _maxPackets = maxPackets;
        _maxBytes = maxBytes;
        Pool = pool ?? ArrayPool<byte>.Shared;
    }

    /// <summary>The pool packet buffers are rented from and returned to. Buffers given to <see cref="TryEnqueueOwned"/> must come from it.</summary>
    public ArrayPool<byte> Pool { get; }

    /// <summary>The bound on queued packets (at least 1). Any thread; applies to the next packet.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int MaxPackets
    {
        get => Volatile.Read(ref _maxPackets);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref _maxPackets, value);
        }
    }

    /// <summary>The bound on queued bytes (at least 1). Any thread; applies to the next packet.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public long MaxBytes
    {
        get => Volatile.Read(ref _maxBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref _maxBytes, value);
        }
    }

    /// <summary>Packets queued (any thread).</summary>
    public int AvailablePacketCount => Volatile.Read(ref _queuedPackets);

    /// <summary>Bytes queued (any thread).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The lock that orders producers. A peer in this assembly holds it to make its own checks atomic with the enqueue.</summary>
    internal Lock Gate => _gate;

    /// <summary>Copies <paramref name="packet"/> into pooled memory and queues it. Any thread.</summary>
    public DeliverResult TryEnqueue(int fromPeer, ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxChunkedPacketSize)
        {
            var buffer = Pool.Rent(packet.Length);
            packet.CopyTo(buffer);
            return TryEnqueueOwned(fromPeer, buffer, packet.Length);
        }

        QueueFullKind full;
        lock (_gate)
        {
            full = EnqueueCopyLocked(fromPeer, packet);
        }

        return CompleteEnqueue(full, fromPeer, null, packet.Length);
    }

    /// <summary>
    /// Queues a packet held in <paramref name="rentedBuffer"/>, a buffer rented from <see cref="Pool"/>.
    /// Ownership passes to the inbox in every case: on refusal the buffer is returned to the pool at once. Any thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or beyond the buffer.</exception>
    public DeliverResult TryEnqueueOwned(int fromPeer, byte[] rentedBuffer, int length)
    {
        ArgumentNullException.ThrowIfNull(rentedBuffer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, rentedBuffer.Length);
        QueueFullKind full;
        lock (_gate)
        {
            full = EnqueueOwnedLocked(fromPeer, rentedBuffer, length);
        }

        return CompleteEnqueue(full, fromPeer, rentedBuffer, length);
    }

    /// <summary>Queues a peer event, raised in order with the packets. Any thread.</summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is <see cref="PeerEventKind.PacketRejected"/> (use <see cref="Reject(PacketRejection)"/>) or not a member.</exception>
    public void EnqueueEvent(PeerEventKind kind, int peerId = 0)
    {
        if (kind == PeerEventKind.PacketRejected || !Enum.IsDefined(kind))
        {
            throw new ArgumentException($"EnqueueEvent takes a peer or connection event, not {kind}; report refused packets with Reject.", nameof(kind));
        }

        lock (_gate)
        {
            EnqueueEventLocked(kind, peerId);
        }
    }

    /// <summary>Counts a refused packet and queues its <see cref="NetworkedMultiplayerPeer.PacketRejected"/> notice. Any thread.</summary>
    public void Reject(PacketRejection rejection)
    {
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

        // An event handler run by Advance may itself have read a packet: give that one back before lending the next.
        ReturnLent();
        var e = _local[_localIndex];
        _local[_localIndex++] = default;
        Interlocked.Decrement(ref _queuedPackets);
        Interlocked.Add(ref _queuedBytes, -e.Length);
        fromPeer = e.Peer;
        if (e.Chunk is not null)
        {
            _lentChunk = e.Chunk;
            packet = e.Chunk.Buffer.AsSpan(e.Offset, e.Length);
        }
        else
        {
            _lent = e.Buffer;
            packet = e.Buffer is null ? default : e.Buffer.AsSpan(0, e.Length);
        }

        return true;
    }

    /// <summary>Drops every queued packet and event, returning every buffer to <see cref="Pool"/> (the lent one too). Game thread.</summary>
    public void Clear()
    {
        ReturnLent();
        List<Entry> pending;
        lock (_gate)
        {
            pending = _incoming;
            _incoming = new List<Entry>(64);
            Volatile.Write(ref _queuedPackets, 0);
            Interlocked.Exchange(ref _queuedBytes, 0);
            _pendingRejections = 0;
            if (_writeChunk is not null)
            {
                Release(_writeChunk);
                _writeChunk = null;
            }
        }

        ReturnAll(_local, _localIndex);
        _local.Clear();
        _localIndex = 0;
        ReturnAll(pending, 0);
        lock (_gate)
        {
            while (_spareChunks.TryPop(out var spare))
            {
                Pool.Return(spare.Buffer);
            }
        }
    }

    /// <inheritdoc cref="Clear"/>
    public void Dispose() => Clear();

    internal enum QueueFullKind
    {
        None = 0,
        Packets,
        Bytes,
    }

    /// <summary>Queues a packet; the caller holds <see cref="Gate"/> and then calls <see cref="CompleteEnqueue"/> outside it.</summary>
    internal QueueFullKind EnqueueOwnedLocked(int fromPeer, byte[] rentedBuffer, int length)
    {
        var full = CheckBoundsLocked(length);
        if (full == QueueFullKind.None)
        {
            _incoming.Add(new Entry { Peer = fromPeer, Buffer = rentedBuffer, Length = length });
        }

        return full;
    }

    /// <summary>Copies a packet of at most <see cref="MaxChunkedPacketSize"/> bytes into a chunk and queues it; the caller holds <see cref="Gate"/>.</summary>
    internal QueueFullKind EnqueueCopyLocked(int fromPeer, ReadOnlySpan<byte> packet)
    {
        var full = CheckBoundsLocked(packet.Length);
        if (full != QueueFullKind.None || packet.IsEmpty)
        {
            if (full == QueueFullKind.None)
            {
                _incoming.Add(new Entry { Peer = fromPeer });
            }

            return full;
        }

        if (_writeChunk is null || ChunkSize - _writeOffset < packet.Length)
        {
            if (_writeChunk is not null)
            {
                Release(_writeChunk);
            }

            _writeChunk = _spareChunks.TryPop(out var spare) ? spare : new Chunk(Pool.Rent(ChunkSize));
            _writeChunk.References = 1;
            _writeOffset = 0;
        }

        packet.CopyTo(_writeChunk.Buffer.AsSpan(_writeOffset));
        Interlocked.Increment(ref _writeChunk.References);
        _incoming.Add(new Entry { Peer = fromPeer, Chunk = _writeChunk, Offset = _writeOffset, Length = packet.Length });
        _writeOffset += packet.Length;
        return QueueFullKind.None;
    }

    // Counts one more packet of `length` bytes if the bounds allow it; the caller holds the gate.
    private QueueFullKind CheckBoundsLocked(int length)
    {
        if (_queuedPackets >= Volatile.Read(ref _maxPackets))
        {
            return QueueFullKind.Packets;
        }

        if (_queuedBytes + length > Volatile.Read(ref _maxBytes))
        {
            return QueueFullKind.Bytes;
        }

        Interlocked.Increment(ref _queuedPackets);
        Interlocked.Add(ref _queuedBytes, length);
        return QueueFullKind.None;
    }

    /// <summary>Counts an accepted packet, or returns the buffer of a refused one and queues the notice. Outside <see cref="Gate"/>.</summary>
    internal DeliverResult CompleteEnqueue(QueueFullKind full, int fromPeer, byte[]? rentedBuffer, int length)
    {
        if (full == QueueFullKind.None)
        {
            _owner.Statistics.CountIn(fromPeer, length);
            return DeliverResult.Accepted;
        }

        if (rentedBuffer is not null)
        {
            Pool.Return(rentedBuffer);
        }

        if (full == QueueFullKind.Packets)
        {
            Reject(fromPeer, PacketRejectReason.QueueFull, length, MaxPackets, "packet bound");
        }
        else
        {
            Reject(fromPeer, PacketRejectReason.QueueFull, length, MaxBytes, "byte bound");
        }

        return DeliverResult.Rejected(PacketRejectReason.QueueFull);
    }

    /// <summary>Queues a peer event; the caller holds <see cref="Gate"/>.</summary>
    internal void EnqueueEventLocked(PeerEventKind kind, int peerId) =>
        _incoming.Add(new Entry { Kind = kind, Peer = peerId });

    /// <summary>
    /// Like <see cref="Reject(PacketRejection)"/>, but allocates the notice only when it will be raised (a flood of refused
    /// packets costs no allocation past <see cref="MaxPendingRejections"/>). Any thread.
    /// </summary>
    public void Reject(int peerId, PacketRejectReason reason, long size, long limit, string? note = null)
    {
        _owner.Statistics.CountRejection(reason);
        lock (_gate)
        {
            if (_pendingRejections >= MaxPendingRejections)
            {
                return;
            }

            _pendingRejections++;
            _incoming.Add(new Entry { Kind = PeerEventKind.PacketRejected, Peer = peerId, Rejection = new PacketRejection(peerId, reason, size, limit, note) });
        }
    }

    /// <summary>Raises the due events without ending the current packet loan. Game thread.</summary>
    internal void RaiseDueEventsKeepingLoan() => Advance();

    private void ReturnAll(List<Entry> entries, int from)
    {
        foreach (var e in CollectionsMarshal.AsSpan(entries)[from..])
        {
            if (e.Buffer is not null)
            {
                Pool.Return(e.Buffer);
            }
            else if (e.Chunk is not null)
            {
                Release(e.Chunk);
            }
        }
    }

    private void ReturnLent()
    {
        if (_lent is not null)
        {
            Pool.Return(_lent);
            _lent = null;
        }

        if (_lentChunk is not null)
        {
            Release(_lentChunk);
            _lentChunk = null;
        }
    }

    // Drops one reference; the last one keeps the chunk as a spare or gives its buffer back. Any thread.
    private void Release(Chunk chunk)
    {
        if (Interlocked.Decrement(ref chunk.References) != 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_spareChunks.Count < MaxSpareChunks)
            {
                _spareChunks.Push(chunk);
                return;
            }
        }

        Pool.Return(chunk.Buffer);
    }

    // Raises events at the front until a packet is at the front (true) or the queue is empty (false). Re-entrant: an
    // event handler may read from the peer; each loop turn re-reads the state.
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
