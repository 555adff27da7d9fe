namespace GdNet.Multiplayer;

/// <summary>
/// RPC traffic counters of one peer, one node, or the whole API. Bytes are those actually put on (or taken from) the
/// network peer: SIMPLIFY_PATH/CONFIRM_PATH handshakes and RAW packets included, as opposed to Godot's profiler
/// (godotengine/godot#91869, #63567).
/// </summary>
/// <param name="RpcIn">Calls received and run.</param>
/// <param name="RpcOut">Calls sent (per peer: calls that peer was sent; per node and total: <c>Rpc*</c> calls that went out).</param>
/// <param name="RsetIn">Property sets received and applied.</param>
/// <param name="RsetOut">Property sets sent (counted like <paramref name="RpcOut"/>).</param>
/// <param name="PacketsIn">Packets received (every command, rejected ones too).</param>
/// <param name="BytesIn">Bytes of <paramref name="PacketsIn"/>.</param>
/// <param name="PacketsOut">Packets put on the peer (per peer: packets addressed to it, a broadcast counting for each
/// peer it reaches; total: each <c>PutPacket</c> once).</param>
/// <param name="BytesOut">Bytes of <paramref name="PacketsOut"/>.</param>
/// <param name="Rejections">Rejections by reason (only reasons that occurred).</param>
public sealed record RpcTrafficStats(
    long RpcIn,
    long RpcOut,
    long RsetIn,
    long RsetOut,
    long PacketsIn,
    long BytesIn,
    long PacketsOut,
    long BytesOut,
    IReadOnlyDictionary<RpcRejectReason, long> Rejections)
{
    /// <summary>All rejections.</summary>
    public long TotalRejections => Rejections.Values.Sum();

    /// <summary>Rejections for one reason.</summary>
    public long GetRejections(RpcRejectReason reason) => Rejections.TryGetValue(reason, out var n) ? n : 0;
}

/// <summary>A snapshot of <see cref="MultiplayerAPI"/> statistics: in total, per remote peer, and per node path.</summary>
/// <param name="Total">Everything.</param>
/// <param name="Peers">By remote peer id (this machine's own id for rejected local calls).</param>
/// <param name="Nodes">By node path relative to the root node (as when the node was first counted).</param>
public sealed record MultiplayerStats(
    RpcTrafficStats Total,
    IReadOnlyDictionary<int, RpcTrafficStats> Peers,
    IReadOnlyDictionary<string, RpcTrafficStats> Nodes);

/// <summary>Mutable counters behind <see cref="RpcTrafficStats"/>. Game thread only.</summary>
internal sealed class TrafficCounters
{
    private static readonly int ReasonCount = Enum.GetValues<RpcRejectReason>().Length;

    public long RpcIn;
    public long RpcOut;
    public long RsetIn;
    public long RsetOut;
    public long PacketsIn;
    public long BytesIn;
    public long PacketsOut;
    public long BytesOut;
    public readonly long[] Rejections = new long[ReasonCount];

    public void In(int bytes)
    {
        PacketsIn++;
        BytesIn += bytes;
    }

    public void Out(int bytes)
    {
        PacketsOut++;
        BytesOut += bytes;
    }

    public RpcTrafficStats Snapshot()
    {
        var rejections = new Dictionary<RpcRejectReason, long>();
        for (var i = 0; i < Rejections.Length; i++)
        {
            if (Rejections[i] != 0)
            {
                rejections[(RpcRejectReason)i] = Rejections[i];
            }
        }

        return new RpcTrafficStats(RpcIn, RpcOut, RsetIn, RsetOut, PacketsIn, BytesIn, PacketsOut, BytesOut, rejections);
    }
}
