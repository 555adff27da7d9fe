namespace GdNet.Peers.Local;

/// <summary>
/// What one direction of a simulated link does to packets (<see cref="LocalNetwork"/>). The default is a perfect link:
/// no delay, no loss, no limit. Every random choice comes from the link's own generator, seeded by <see cref="Seed"/>
/// (or by the network's seed and the client), so a run is repeatable.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>Reliable</b> packets (and the network's own messages) are never lost, duplicated or reordered: a loss costs
/// a retransmission (<see cref="RetransmitTimeout"/>), and no packet overtakes a reliable one sent before it.</item>
/// <item><b>Unreliable</b> packets suffer <see cref="Loss"/>, <see cref="Duplication"/>, <see cref="Jitter"/> and
/// <see cref="Reorder"/>.</item>
/// <item><b>UnreliableOrdered</b> packets suffer the same, and the receiving end drops any that arrives after a later one
/// (late or duplicated), so they are lost but never reordered or repeated.</item>
/// </list>
/// </remarks>
public sealed record LinkConditions
{
    /// <summary>A perfect link.</summary>
    public static LinkConditions Perfect { get; } = new();

    /// <summary>One-way delay added to every packet.</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Extra delay drawn uniformly from [0, Jitter] for each packet.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Probability (0…1) that a packet — or, above the <see cref="Mtu"/>, each of its fragments — is lost.</summary>
    public double Loss { get; init; }

    /// <summary>Probability (0…1) that an unreliable packet arrives twice.</summary>
    public double Duplication { get; init; }

    /// <summary>Probability (0…1) that an unreliable packet is held back by <see cref="ReorderDelay"/>, letting later ones overtake it.</summary>
    public double Reorder { get; init; }

    /// <summary>How long a reordered packet is held back. Default 20 ms.</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Bytes per second the link carries (0 = unlimited): a packet of n bytes occupies it for n / bandwidth, and packets queue behind each other.</summary>
    public long BandwidthBytesPerSecond { get; init; }

    /// <summary>
    /// Largest fragment in bytes (0 = unlimited). A larger packet travels as ⌈size / MTU⌉ fragments: an unreliable one is
    /// lost when any fragment is, a reliable one retransmits until each fragment got through.
    /// </summary>
    public int Mtu { get; init; }

    /// <summary>The seed of this link's generator; null derives one from the network's seed and the client.</summary>
    public int? Seed { get; init; }

    /// <summary>The delay one lost reliable transmission costs: 2 × <see cref="Latency"/> + <see cref="Jitter"/>, at least 1 ms.</summary>
    public TimeSpan RetransmitTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (2 * Latency.Ticks) + Jitter.Ticks));

    /// <summary>Checks every value; a network does so when it is given conditions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative, a probability is outside 0…1, or a limit is negative.</exception>
    public void Validate()
    {
        CheckDelay(Latency, nameof(Latency));
        CheckDelay(Jitter, nameof(Jitter));
        CheckDelay(ReorderDelay, nameof(ReorderDelay));
        CheckProbability(Loss, nameof(Loss));
        CheckProbability(Duplication, nameof(Duplication));
        CheckProbability(Reorder, nameof(Reorder));
        if (BandwidthBytesPerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BandwidthBytesPerSecond), BandwidthBytesPerSecond, "Bandwidth must be 0 (unlimited) or positive.");
        }

        if (Mtu < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, "MTU must be 0 (unlimited) or positive.");
        }
    }

    private static void CheckDelay(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} cannot be negative.");
        }
    }

    private static void CheckProbability(double value, string name)
    {
        if (!(value is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is a probability between 0 and 1.");
        }
    }
}

/// <summary>A direction of the link between a client and the server.</summary>
public enum LinkDirection
{
    /// <summary>Client to server.</summary>
    Up = 0,

    /// <summary>Server to client.</summary>
    Down = 1,
}

/// <summary>What one direction of a simulated link did so far.</summary>
/// <param name="PacketsSent">Packets (data and the network's own messages) handed to the link.</param>
/// <param name="BytesSent">Data bytes handed to the link.</param>
/// <param name="PacketsDelivered">Packets that reached the far end (duplicates included).</param>
/// <param name="PacketsLost">Unreliable packets the link lost.</param>
/// <param name="PacketsDuplicated">Extra copies the link made.</param>
/// <param name="PacketsDroppedLate">UnreliableOrdered packets dropped for arriving after a later one.</param>
/// <param name="Retransmissions">Lost reliable transmissions that were repeated.</param>
/// <param name="PacketsDiscarded">Packets that reached an end that had left (or a stopped server).</param>
public readonly record struct LinkStatistics(
    long PacketsSent,
    long BytesSent,
    long PacketsDelivered,
    long PacketsLost,
    long PacketsDuplicated,
    long PacketsDroppedLate,
    long Retransmissions,
    long PacketsDiscarded);
