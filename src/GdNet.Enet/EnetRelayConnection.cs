using System.Net;
using GdNet.Server;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>Where an ENet connection is in its life (written by the service thread, read by any).</summary>
internal enum EnetConnectionState
{
    /// <summary>Joined; sends go out.</summary>
    Open = 0,

    /// <summary><c>enet_peer_disconnect_later</c> was called: queued data leaves, nothing new is sent.</summary>
    Closing,

    /// <summary>To be disconnected at once at the end of the current event; its packets are ignored.</summary>
    Dropping,

    /// <summary>ENet has let it go, but reliable packets it sent are still held: they are routed before it leaves.</summary>
    Draining,

    /// <summary>Left the router.</summary>
    Left,
}

/// <summary>A reliable packet held for its sender while the router answers <see cref="RouteResult.RetryLater"/>: the received ENet packet itself (no copy).</summary>
internal readonly unsafe struct HeldPacket(EnetPacket* packet, byte channel)
{
    public EnetPacket* Packet { get; } = packet;

    public byte Channel { get; } = channel;

    /// <summary>What it counts against <c>MaxWaitingData</c>: its payload plus bookkeeping, so tiny packets are bounded too.</summary>
    public long Cost => (long)Packet->DataLength - EnetFraming.HeaderSize + 64;
}

/// <summary>
/// One ENet peer of an <see cref="EnetRelayListener"/>, as the <see cref="RelayRouter"/> sees it. The router's calls
/// (any thread) go to the listener's service thread: done at once when they come from it (a relay from another ENet
/// peer forwards the received packet itself, by reference count), queued as commands otherwise.
/// </summary>
internal sealed class EnetRelayConnection : RelayConnection
{
    private volatile EnetConnectionState _state;

    internal EnetRelayConnection(EnetServerSession session, nint peer, int slot, IPEndPoint endPoint)
        : base(EnetRelayListener.TransportName, endPoint)
    {
        Session = session;
        Peer = peer;
        Slot = slot;
    }

    internal EnetServerSession Session { get; }

    /// <summary>The <c>ENetPeer*</c> (service thread; valid while <see cref="Attached"/>).</summary>
    internal nint Peer { get; }

    /// <summary>The ENet peer slot (incoming peer id).</summary>
    internal int Slot { get; }

    internal EnetConnectionState State
    {
        get => _state;
        set => _state = value;
    }

    /// <summary>Whether it still holds its ENet peer slot (service thread).</summary>
    internal bool Attached { get; set; } = true;

    /// <summary>Reliable packets held in arrival order, and what they count against <c>MaxWaitingData</c> (service thread).</summary>
    internal Queue<HeldPacket>? Backlog { get; set; }

    internal long BacklogBytes { get; set; }

    internal bool HasBacklog => Backlog is { Count: > 0 };

    /// <summary>A retry of its backlog was refused this turn (service thread).</summary>
    internal bool Blocked { get; set; }

    /// <summary>Why it leaves, once known (service thread).</summary>
    internal EnetDisconnectReason LeaveReason { get; set; }

    /// <summary>The key of its admission in the listener's cache, removed when it goes.</summary>
    internal object? AdmissionKey { get; set; }

    /// <summary>The start sequence of the last oversized fragment reported, so a packet is reported once.</summary>
    internal int LastOversizedSequence { get; set; } = -1;

    /// <summary>Its index in the session's connection list (for O(1) removal).</summary>
    internal int ListIndex { get; set; }

    internal long PacketsOutCount;
    internal long BytesOutCount;

    /// <inheritdoc/>
    public override long PacketsOut => Volatile.Read(ref PacketsOutCount);

    /// <inheritdoc/>
    public override long BytesOut => Volatile.Read(ref BytesOutCount);

    /// <summary>ENet's round-trip time in ms, sampled by the service thread at each sweep (¼ s); -1 before the first sample.</summary>
    internal int RoundTripTimeMs = -1;

    /// <inheritdoc/>
    public override TimeSpan? RoundTripTime => Volatile.Read(ref RoundTripTimeMs) is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : null;

    /// <summary>ENet's packet loss over ENet's scale (65536), sampled with <see cref="RoundTripTimeMs"/>; -1 before the first sample.</summary>
    internal int PacketLossScaled = -1;

    /// <inheritdoc/>
    public override double? PacketLoss => Volatile.Read(ref PacketLossScaled) is var l and >= 0 ? (double)l / PacketLossScale : null;

    /// <summary>Nothing: a Godot 3 ENet client chose its id and sent it in its CONNECT.</summary>
    protected override void Welcome()
    {
    }

    /// <inheritdoc/>
    protected override SendResult Send(in RelayPacket packet) => Session.Send(this, in packet);

    /// <inheritdoc/>
    protected override void SendPeerAdded(int peerId) => Session.SendSystemMessage(this, EnetFraming.SysMsgAddPeer, peerId);

    /// <inheritdoc/>
    protected override void SendPeerRemoved(int peerId) => Session.SendSystemMessage(this, EnetFraming.SysMsgRemovePeer, peerId);

    /// <inheritdoc/>
    protected override void Close(CloseReason reason, string detail) => Session.Close(this, reason);
}
