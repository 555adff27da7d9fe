namespace GdNet.Peers.Local;

public sealed partial class LocalNetwork
{
    /// <summary>A reliable fragment is delivered after at most this many lost transmissions, even with <see cref="LinkConditions.Loss"/> = 1.</summary>
    public const int MaxRetransmissions = 20;

    // Bandwidth used by one of the network's own messages (hello, id, add, remove, goodbye, kick, refusal).
    private const int MessageBytes = 8;

    private readonly PriorityQueue<Flight, (long Time, long Order)> _flights = new();
    private long _now;
    private long _nextOrder;
    private bool _running;

    /// <summary>
    /// Delivers everything due at <see cref="Now"/>, without moving the clock: with perfect links, every packet sent so
    /// far, its relays and the handshakes they trigger.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a handler the network is raising.</exception>
    public void Step() => Run(_now);

    /// <summary>Moves the clock forward by <paramref name="elapsed"/>, delivering in time order everything due by then.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elapsed"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">Called from a handler the network is raising.</exception>
    public void Advance(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(elapsed), elapsed, "The clock only moves forward; pass a non-negative duration.");
        }

        Run(Later(elapsed));
    }

    /// <summary>
    /// Moves the clock from delivery to delivery until nothing is in flight, or until <paramref name="limit"/> has
    /// passed (then the clock stops at that limit).
    /// </summary>
    /// <returns>True when nothing is left in flight.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is negative.</exception>
    public bool RunUntilIdle(TimeSpan limit)
    {
        if (limit < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Pass a non-negative limit.");
        }

        var deadline = Later(limit);
        while (_flights.TryPeek(out _, out var due) && due.Time <= deadline)
        {
            Run(due.Time);
        }

        if (_flights.Count == 0)
        {
            return true;
        }

        Run(deadline);
        return false;
    }

    private enum FlightKind
    {
        Data,
        Hello,
        Welcome,
        Add,
        Remove,
        Bye,
        Kick,
        Refuse,
    }

    private struct Flight
    {
        public FlightKind Kind;
        public Node Node;
        public LinkDirection Direction;
        public int From; // Data: the original sender. Welcome/Add/Remove: the id announced.
        public int To;
        public TransferModeEnum Mode;
        public byte[]? Buffer;
        public int Length;
        public long OrderedSequence;
    }

    private sealed class SimulatedLink
    {
        public SimulatedLink(LinkConditions conditions, int seed) => SetConditions(conditions, seed);

        public LinkConditions Conditions { get; private set; } = LinkConditions.Perfect;

        public Random Random { get; private set; } = null!;

        public long BusyUntil { get; set; }

        public long LastReliableArrival { get; set; }

        public long NextOrderedSequence { get; set; }

        public long LastOrderedDelivered { get; set; } = -1;

        public long Sent { get; set; }

        public long BytesSent { get; set; }

        public long Delivered { get; set; }

        public long Lost { get; set; }

        public long Duplicated { get; set; }

        public long DroppedLate { get; set; }

        public long Retransmissions { get; set; }

        public long Discarded { get; set; }

        public void SetConditions(LinkConditions conditions, int seed)
        {
            if (Random is null || conditions.Seed is not null)
            {
                Random = new Random(seed);
            }

            Conditions = conditions;
        }

        public LinkStatistics Snapshot() => new(Sent, BytesSent, Delivered, Lost, Duplicated, DroppedLate, Retransmissions, Discarded);
    }

    private void Send(Node node, LinkDirection direction, FlightKind kind, int from, int to) =>
        Transmit(new Flight { Kind = kind, Node = node, Direction = direction, From = from, To = to, Mode = TransferModeEnum.Reliable }, MessageBytes);

    private void SendData(Node node, LinkDirection direction, int from, int to, TransferModeEnum mode, ReadOnlySpan<byte> packet)
    {
        var buffer = _pool.Rent(Math.Max(packet.Length, 1));
        packet.CopyTo(buffer);
        var link = direction == LinkDirection.Up ? node.Up : node.Down;
        link.BytesSent += packet.Length;
        Transmit(new Flight { Kind = FlightKind.Data, Node = node, Direction = direction, From = from, To = to, Mode = mode, Buffer = buffer, Length = packet.Length }, packet.Length);
    }

    private void Transmit(Flight flight, int size)
    {
        var link = flight.Direction == LinkDirection.Up ? flight.Node.Up : flight.Node.Down;
        var c = link.Conditions;
        var random = link.Random;
        link.Sent++;

        var start = Math.Max(_now, link.BusyUntil);
        var end = start + (c.BandwidthBytesPerSecond > 0 ? CeilingDivide(Math.Max(size, 1) * TimeSpan.TicksPerSecond, c.BandwidthBytesPerSecond) : 0);
        link.BusyUntil = end;
        var fragments = c.Mtu > 0 ? Math.Max(1, (int)CeilingDivide(size, c.Mtu)) : 1;
        var arrival = end + c.Latency.Ticks + DrawJitter(c, random);

        if (flight.Mode == TransferModeEnum.Reliable)
        {
            var rounds = 0;
            if (c.Loss > 0)
            {
                for (var i = 0; i < fragments; i++)
                {
                    var attempts = 0;
                    while (attempts < MaxRetransmissions && random.NextDouble() < c.Loss)
                    {
                        attempts++;
                    }

                    link.Retransmissions += attempts;
                    rounds = Math.Max(rounds, attempts);
                }
            }

            arrival = Math.Max(arrival + (rounds * c.RetransmitTimeout.Ticks), link.LastReliableArrival);
            link.LastReliableArrival = arrival;
            Schedule(flight, arrival);
            return;
        }

        if (flight.Mode == TransferModeEnum.UnreliableOrdered)
        {
            flight.OrderedSequence = link.NextOrderedSequence++;
        }

        var lost = false;
        for (var i = 0; i < fragments && c.Loss > 0; i++)
        {
            lost |= random.NextDouble() < c.Loss;
        }

        if (lost)
        {
            link.Lost++;
            _pool.Return(flight.Buffer!);
            return;
        }

        if (c.Reorder > 0 && random.NextDouble() < c.Reorder)
        {
            arrival += c.ReorderDelay.Ticks;
        }

        Schedule(flight, Math.Max(arrival, link.LastReliableArrival));

        if (c.Duplication > 0 && random.NextDouble() < c.Duplication)
        {
            link.Duplicated++;
            var copy = flight;
            copy.Buffer = _pool.Rent(Math.Max(flight.Length, 1));
            flight.Buffer.AsSpan(0, flight.Length).CopyTo(copy.Buffer);
            var again = end + c.Latency.Ticks + DrawJitter(c, random);
            Schedule(copy, Math.Max(again, link.LastReliableArrival));
        }
    }

    private static long DrawJitter(LinkConditions c, Random random) =>
        c.Jitter > TimeSpan.Zero ? (long)(random.NextDouble() * (c.Jitter.Ticks + 1)) : 0;

    private static long CeilingDivide(long a, long b) => (a + b - 1) / b;

    // Now + duration, saturating instead of overflowing (TimeSpan.MaxValue means "for ever").
    private long Later(TimeSpan duration) => duration.Ticks > long.MaxValue - _now ? long.MaxValue : _now + duration.Ticks;

    private void Schedule(in Flight flight, long arrival) => _flights.Enqueue(flight, (arrival, _nextOrder++));

    private void Run(long until)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_running)
        {
            throw new InvalidOperationException("Step, Advance and RunUntilIdle cannot be called from a handler the LocalNetwork is raising; call them from the game loop.");
        }

        _running = true;
        try
        {
            while (_flights.TryPeek(out _, out var due) && due.Time <= until)
            {
                var flight = _flights.Dequeue();
                _now = Math.Max(_now, due.Time);
                Arrive(flight);
            }

            _now = Math.Max(_now, until);
        }
        finally
        {
            _running = false;
        }
    }

    private void Arrive(in Flight f)
    {
        var link = f.Direction == LinkDirection.Up ? f.Node.Up : f.Node.Down;
        if (f.Kind == FlightKind.Data && f.Mode == TransferModeEnum.UnreliableOrdered)
        {
            if (f.OrderedSequence <= link.LastOrderedDelivered)
            {
                link.DroppedLate++;
                _pool.Return(f.Buffer!);
                return;
            }

            link.LastOrderedDelivered = f.OrderedSequence;
        }

        link.Delivered++;
        if (f.Direction == LinkDirection.Up)
        {
            ArriveAtServer(f);
        }
        else
        {
            ArriveAtClient(f);
        }
    }
}
