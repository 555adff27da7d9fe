using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

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
/// <para><b>Producers (any thread, any number at once):</b> <see cref="TryEnqueue(int, ReadOnlySpan{byte})"/>,
/// <see cref="TryEnqueueIfRoom"/>, <see cref="TryEnqueueOwned"/>, <see cref="EnqueueEvent"/>,
/// <see cref="Reject(PacketRejection)"/>. They never call user code and take no lock shared with each other: the bounds
/// are reserved with compare-exchange on the counters, the entry goes into a lock-free multi-producer queue, and a small
/// packet is copied into the first chunk no other producer is appending to (one chunk per processor at most, up to 8;
/// when all are busy the packet gets a pooled buffer of its own rather than wait).</para>
/// <para><b>Order:</b> entries come out in the order their enqueue calls took effect. A producer's own calls keep their
/// order, so a transport that queues a peer's connect event, then its packets, then its disconnect event from one task
/// (or from calls ordered by a lock or an await) sees them raised in that order: the connect event before the packets,
/// the disconnect event after them. Calls from different threads at the same moment are ordered arbitrarily, as they
/// were by a lock.</para>
/// <para><b>Consumer (game thread):</b> <see cref="RaiseDueEvents"/>, <see cref="TryPeekSender"/>,
/// <see cref="TryDequeue"/>, <see cref="Clear"/>. Events are raised through the owning peer when they reach the front of
/// the queue, so a peer's connect event comes before its packets and its disconnect event after them.</para>
/// <para><b>Bounds:</b> at most <see cref="MaxPackets"/> packets and <see cref="MaxBytes"/> bytes are queued, exactly:
/// a packet is admitted only by reserving its place in both counters, so concurrent producers never overshoot (a bound
/// lowered while packets wait applies to the next packet). Beyond that a packet is refused with
/// <see cref="PacketRejectReason.QueueFull"/> and the transport decides (TCP: wait and retry, see
/// <see cref="TryEnqueueIfRoom"/>; datagrams: drop, or disconnect the sender). While another producer's packet is being
/// admitted and then refused for bytes, its packet place is briefly held, so a packet arriving at that instant with the
/// queue one short of <see cref="MaxPackets"/> may be refused too: the bounds err on the side of refusing. Rejection
/// notices are capped too (<see cref="MaxPendingRejections"/>); past the cap they are only counted.</para>
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
    private const int MaxWriters = 8;

    // One queued item. Data is the packet's owned buffer (byte[]), the chunk holding it (Chunk), a rejection notice
    // (a boxed PacketRejection: at most MaxPendingRejections wait, so a flood allocates no more), or null for an empty
    // packet or a peer event.
    private readonly struct Entry(PeerEventKind kind, int peer, object? data = null, int offset = 0, int length = 0)
    {
        public readonly PeerEventKind Kind = kind; // 0 = packet
        public readonly int Peer = peer;
        public readonly int Offset = offset;
        public readonly int Length = length;
        public readonly object? Data = data;
    }

    // A pooled buffer shared by small packets. References: one per queued or lent packet, plus WriterHold while a
    // writer still appends to it; whoever drops the last one recycles it. The writer counts the packets it copies in
    // plainly (Written) and converts its hold into those references in one step when it moves on (Retire), so a packet
    // costs the producer no atomic operation on the chunk: while the hold is in, the count cannot reach zero however
    // many packets the game thread has already read.
    private sealed class Chunk(byte[] buffer)
    {
        public const int WriterHold = 1 << 30;

        public readonly byte[] Buffer = buffer;
        public int References;
        public int Written;
    }

    // Where small packets are copied: one chunk being filled. Busy (0 or 1) is taken with compare-exchange by the one
    // producer appending; others move on to another writer rather than wait.
    private sealed class Writer
    {
        public int Busy;
        public Chunk? Chunk;
        public int Offset;
    }

    private readonly NetworkedMultiplayerPeer _owner;
    private readonly Lock _gate = new();
    private readonly ConcurrentQueue<Entry> _incoming = new();
    private readonly Writer[] _writers;
    private readonly Chunk?[] _spareChunks = new Chunk?[MaxSpareChunks];

    // Consumer only: the entry taken from the queue but not yet consumed (a packet waiting to be read).
    private Entry _front;
    private bool _hasFront;
    private byte[]? _lent;
    private Chunk? _lentChunk;

    // Bounds: packets and bytes admitted (reserved before their entry is queued, released when read or cleared).
    private int _reservedPackets;
    private long _queuedBytes;

    // Packets whose entry is in the queue (producers count them after the enqueue) and packets taken out (the game
    // thread alone): their difference is what AvailablePacketCount reports, so a count above zero always means a packet
    // can be read.
    private int _publishedPackets;
    private int _takenPackets;
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
        _writers = new Writer[Math.Clamp(Environment.ProcessorCount, 2, MaxWriters)];
        for (var i = 0; i < _writers.Length; i++)
        {
            _writers[i] = new Writer();
        }
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

    /// <summary>
    /// Packets queued (any thread). A packet being queued by another thread at this instant is counted once its enqueue
    /// completes, so when the game thread sees a count above zero, <see cref="TryDequeue"/> finds a packet.
    /// </summary>
    public int AvailablePacketCount => Math.Max(0, Volatile.Read(ref _publishedPackets) - Volatile.Read(ref _takenPackets));

    /// <summary>Bytes queued, counting packets being queued by other threads at this instant (any thread).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>
    /// A lock the inbox itself does not take. A peer in this assembly holds it around its own checks and the enqueue
    /// that follows (connected peers and their events), so those producers are ordered among themselves.
    /// </summary>
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

        return CompleteEnqueue(EnqueueCopyLocked(fromPeer, packet), fromPeer, null, packet.Length);
    }

    /// <summary>
    /// For a reliable transport: copies <paramref name="packet"/> into pooled memory and queues it when the bounds have
    /// room, in one atomic step; when they have not, returns false with nothing queued, counted or reported, so the
    /// caller waits (stops reading its socket) and tries again. Any thread, concurrently with other producers.
    /// </summary>
    public bool TryEnqueueIfRoom(int fromPeer, ReadOnlySpan<byte> packet)
    {
        QueueFullKind full;
        if (packet.Length > MaxChunkedPacketSize)
        {
            full = Reserve(packet.Length);
            if (full == QueueFullKind.None)
            {
                var buffer = Pool.Rent(packet.Length);
                packet.CopyTo(buffer);
                Publish(new Entry(0, fromPeer, buffer, 0, packet.Length), isPacket: true);
            }
        }
        else
        {
            full = EnqueueCopyLocked(fromPeer, packet);
        }

        if (full != QueueFullKind.None)
        {
            return false;
        }

        _owner.Statistics.CountIn(fromPeer, packet.Length);
        return true;
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
        return CompleteEnqueue(EnqueueOwnedLocked(fromPeer, rentedBuffer, length), fromPeer, rentedBuffer, length);
    }

    /// <summary>Queues a peer event, raised in order with the packets. Any thread.</summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is <see cref="PeerEventKind.PacketRejected"/> (use <see cref="Reject(PacketRejection)"/>) or not a member.</exception>
    public void EnqueueEvent(PeerEventKind kind, int peerId = 0)
    {
        if (kind == PeerEventKind.PacketRejected || !Enum.IsDefined(kind))
        {
            throw new ArgumentException($"EnqueueEvent takes a peer or connection event, not {kind}; report refused packets with Reject.", nameof(kind));
        }

        EnqueueEventLocked(kind, peerId);
    }

    /// <summary>Counts a refused packet and queues its <see cref="NetworkedMultiplayerPeer.PacketRejected"/> notice. Any thread.</summary>
    public void Reject(PacketRejection rejection)
    {
        _owner.Statistics.CountRejection(rejection.Reason);
        if (TryTakeRejectionPlace())
        {
            _incoming.Enqueue(new Entry(PeerEventKind.PacketRejected, rejection.PeerId, rejection));
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
            fromPeer = _front.Peer;
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
        var e = _front;
        _front = default;
        _hasFront = false;
        ReleasePlace(e.Length);
        fromPeer = e.Peer;
        switch (e.Data)
        {
            case Chunk chunk:
                _lentChunk = chunk;
                packet = chunk.Buffer.AsSpan(e.Offset, e.Length);
                break;
            case byte[] buffer:
                _lent = buffer;
                packet = buffer.AsSpan(0, e.Length);
                break;
            default:
                packet = default;
                break;
        }

        return true;
    }

    /// <summary>
    /// Drops every queued packet and event, returning every buffer to <see cref="Pool"/> (the lent one too). Game thread.
    /// A packet another thread is queueing at this instant may land just after and stays queued.
    /// </summary>
    public void Clear()
    {
        ReturnLent();
        if (_hasFront)
        {
            Drop(_front);
            _front = default;
            _hasFront = false;
        }

        while (_incoming.TryDequeue(out var e))
        {
            Drop(e);
        }

        foreach (var w in _writers)
        {
            var spin = default(SpinWait);
            while (Interlocked.CompareExchange(ref w.Busy, 1, 0) != 0)
            {
                spin.SpinOnce();
            }

            if (w.Chunk is not null)
            {
                Retire(w.Chunk);
                w.Chunk = null;
            }

            Volatile.Write(ref w.Busy, 0);
        }

        for (var i = 0; i < _spareChunks.Length; i++)
        {
            if (Interlocked.Exchange(ref _spareChunks[i], null) is { } spare)
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

    /// <summary>
    /// Queues a packet if the bounds allow; the caller then calls <see cref="CompleteEnqueue"/>. Needs no lock: a peer
    /// may hold <see cref="Gate"/> to make its own checks atomic with it.
    /// </summary>
    internal QueueFullKind EnqueueOwnedLocked(int fromPeer, byte[] rentedBuffer, int length)
    {
        var full = Reserve(length);
        if (full == QueueFullKind.None)
        {
            Publish(new Entry(0, fromPeer, rentedBuffer, 0, length), isPacket: true);
        }

        return full;
    }

    /// <summary>
    /// Copies a packet of at most <see cref="MaxChunkedPacketSize"/> bytes into pooled memory and queues it if the bounds
    /// allow. Needs no lock (see <see cref="EnqueueOwnedLocked"/>).
    /// </summary>
    internal QueueFullKind EnqueueCopyLocked(int fromPeer, ReadOnlySpan<byte> packet)
    {
        var full = Reserve(packet.Length);
        if (full != QueueFullKind.None)
        {
            return full;
        }

        if (packet.IsEmpty)
        {
            Publish(new Entry(0, fromPeer), isPacket: true);
        }
        else if (TryCopyToChunk(packet, out var chunk, out var offset))
        {
            Publish(new Entry(0, fromPeer, chunk, offset, packet.Length), isPacket: true);
        }
        else
        {
            // Every writer is busy with another producer's packet: this one gets a buffer of its own rather than wait.
            var buffer = Pool.Rent(packet.Length);
            packet.CopyTo(buffer);
            Publish(new Entry(0, fromPeer, buffer, 0, packet.Length), isPacket: true);
        }

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

    /// <summary>Queues a peer event. Needs no lock (see <see cref="EnqueueOwnedLocked"/>).</summary>
    internal void EnqueueEventLocked(PeerEventKind kind, int peerId) => _incoming.Enqueue(new Entry(kind, peerId));

    /// <summary>
    /// Like <see cref="Reject(PacketRejection)"/>, but allocates the notice only when it will be raised (a flood of refused
    /// packets costs no allocation past <see cref="MaxPendingRejections"/>). Any thread.
    /// </summary>
    public void Reject(int peerId, PacketRejectReason reason, long size, long limit, string? note = null)
    {
        _owner.Statistics.CountRejection(reason);
        if (TryTakeRejectionPlace())
        {
            _incoming.Enqueue(new Entry(PeerEventKind.PacketRejected, peerId, new PacketRejection(peerId, reason, size, limit, note)));
        }
    }

    /// <summary>Raises the due events without ending the current packet loan. Game thread.</summary>
    internal void RaiseDueEventsKeepingLoan() => Advance();

    // Admits one more packet of `length` bytes if both bounds allow it, reserving its place in both counters with
    // compare-exchange: concurrent producers never take the queue past a bound. A packet refused for bytes gives its
    // packet place back.
    private QueueFullKind Reserve(int length)
    {
        var maxPackets = Volatile.Read(ref _maxPackets);
        var packets = Volatile.Read(ref _reservedPackets);
        while (true)
        {
            if (packets >= maxPackets)
            {
                return QueueFullKind.Packets;
            }

            var seen = Interlocked.CompareExchange(ref _reservedPackets, packets + 1, packets);
            if (seen == packets)
            {
                break;
            }

            packets = seen;
        }

        var maxBytes = Volatile.Read(ref _maxBytes);
        var bytes = Interlocked.Read(ref _queuedBytes);
        while (true)
        {
            if (bytes + length > maxBytes)
            {
                Interlocked.Decrement(ref _reservedPackets);
                return QueueFullKind.Bytes;
            }

            if (length == 0)
            {
                return QueueFullKind.None;
            }

            var seen = Interlocked.CompareExchange(ref _queuedBytes, bytes + length, bytes);
            if (seen == bytes)
            {
                return QueueFullKind.None;
            }

            bytes = seen;
        }
    }

    // Queues an entry; a packet (already reserved) becomes visible to AvailablePacketCount once it is in the queue.
    private void Publish(in Entry entry, bool isPacket)
    {
        _incoming.Enqueue(entry);
        if (isPacket)
        {
            Interlocked.Increment(ref _publishedPackets);
        }
    }

    // A packet left the queue (read or cleared): its bound places first, then its visible count.
    private void ReleasePlace(int length)
    {
        if (length != 0)
        {
            Interlocked.Add(ref _queuedBytes, -length);
        }

        Interlocked.Decrement(ref _reservedPackets);
        Volatile.Write(ref _takenPackets, _takenPackets + 1);
    }

    private bool TryTakeRejectionPlace()
    {
        var n = Volatile.Read(ref _pendingRejections);
        while (true)
        {
            if (n >= MaxPendingRejections)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _pendingRejections, n + 1, n);
            if (seen == n)
            {
                return true;
            }

            n = seen;
        }
    }

    // Copies a small packet into the chunk of the first free writer and takes a reference on it; false when every
    // writer is busy. Always from the first, so a lone producer fills one chunk after another, as with a single writer.
    private bool TryCopyToChunk(ReadOnlySpan<byte> packet, [NotNullWhen(true)] out Chunk? chunk, out int offset)
    {
        foreach (var w in _writers)
        {
            if (Interlocked.CompareExchange(ref w.Busy, 1, 0) != 0)
            {
                continue;
            }

            try
            {
                if (w.Chunk is null || ChunkSize - w.Offset < packet.Length)
                {
                    if (w.Chunk is not null)
                    {
                        Retire(w.Chunk);
                    }

                    var fresh = TakeSpare() ?? new Chunk(Pool.Rent(ChunkSize));
                    fresh.References = Chunk.WriterHold;
                    fresh.Written = 0;
                    w.Chunk = fresh;
                    w.Offset = 0;
                }

                chunk = w.Chunk;
                offset = w.Offset;
                packet.CopyTo(chunk.Buffer.AsSpan(offset));
                chunk.Written++;
                w.Offset = offset + packet.Length;
                return true;
            }
            finally
            {
                Volatile.Write(ref w.Busy, 0);
            }
        }

        chunk = null;
        offset = 0;
        return false;
    }

    private Chunk? TakeSpare()
    {
        for (var i = 0; i < _spareChunks.Length; i++)
        {
            var spare = Volatile.Read(ref _spareChunks[i]);
            if (spare is not null && Interlocked.CompareExchange(ref _spareChunks[i], null, spare) == spare)
            {
                return spare;
            }
        }

        return null;
    }

    // Gives back what an entry holds (its buffer or chunk reference, its bound places, its rejection place). Game thread.
    private void Drop(in Entry e)
    {
        if (e.Kind == PeerEventKind.PacketRejected)
        {
            Interlocked.Decrement(ref _pendingRejections);
            return;
        }

        if (e.Kind != 0)
        {
            return;
        }

        ReleasePlace(e.Length);
        if (e.Data is byte[] buffer)
        {
            Pool.Return(buffer);
        }
        else if (e.Data is Chunk chunk)
        {
            Release(chunk);
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

    // The writer moves on from a chunk: its hold becomes one reference per packet it copied in. Writer only.
    private void Retire(Chunk chunk) => Release(chunk, Chunk.WriterHold - chunk.Written);

    // Drops references; the last one keeps the chunk as a spare or gives its buffer back. Any thread.
    private void Release(Chunk chunk, int count = 1)
    {
        if (Interlocked.Add(ref chunk.References, -count) != 0)
        {
            return;
        }

        for (var i = 0; i < _spareChunks.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _spareChunks[i], chunk, null) is null)
            {
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
            if (!_hasFront)
            {
                if (!_incoming.TryDequeue(out _front))
                {
                    return false;
                }

                _hasFront = true;
            }

            var e = _front;
            if (e.Kind == 0)
            {
                return true;
            }

            _front = default;
            _hasFront = false;
            if (e.Kind == PeerEventKind.PacketRejected)
            {
                Interlocked.Decrement(ref _pendingRejections);
            }

            _owner.RaiseQueued(e.Kind, e.Peer, e.Data is PacketRejection rejection ? rejection : null);
        }
    }
}
