using System.Buffers;
using System.Globalization;

namespace GdNet.Peers;

/// <summary>
/// The hot event of <see cref="NetworkedMultiplayerCustom"/>: a packet to send. The span is valid during the call only;
/// a handler that keeps the bytes copies them.
/// </summary>
/// <param name="peerId">The target: 0 every peer, a positive id that peer, −id every peer but that one.</param>
/// <param name="packet">The MultiplayerAPI packet, with no transport header.</param>
/// <param name="mode">How it should travel.</param>
public delegate void PacketGeneratedHandler(int peerId, ReadOnlySpan<byte> packet, TransferModeEnum mode);

/// <summary>
/// Godot's <c>NetworkedMultiplayerCustom</c>: a <see cref="NetworkedMultiplayerPeer"/> whose transport is user code.
/// "A NetworkedMultiplayerPeer implementation that can be used as a MultiplayerAPI.network_peer and controlled from a
/// script. Its purpose is to allow adding a new backend for the high-level multiplayer API without needing to use
/// GDNative." Outgoing packets leave through <see cref="PacketGenerated"/>; incoming ones come in through
/// <see cref="DeliverPacket(byte[], int)"/> and its zero-copy overloads.
/// </summary>
/// <remarks>
/// <para><b>Usage</b> (Godot's required order): <see cref="SetConnectionStatus"/>(<see cref="ConnectionStatus.Connecting"/>),
/// hand the peer to MultiplayerAPI, <see cref="Initialize"/>(id) — 1 makes it the server and connects it at once —, then
/// on clients <see cref="SetConnectionStatus"/>(<see cref="ConnectionStatus.Connected"/>). Announce every remote peer with
/// <see cref="AddPeer"/> (on clients too: the server 1 and the other clients) and <see cref="RemovePeer"/>.</para>
/// <para><b>Threads.</b> Members marked "any thread" may be called from transport threads while the game thread runs
/// the rest: <see cref="DeliverPacket(byte[], int)"/> and its overloads, <see cref="AddPeer"/>, <see cref="RemovePeer"/>,
/// <see cref="TryAddPeer"/>, <see cref="TryRemovePeer"/>, <see cref="HasPeer"/>, <see cref="GetPeers"/>,
/// <see cref="RejectPacket"/>, the getters (<see cref="GetConnectionStatus"/>, <see cref="GetUniqueId"/>,
/// <see cref="GetMaxPacketSize"/>, <see cref="PacketPeer.AvailablePacketCount"/>, <see cref="BufferPool"/>),
/// <see cref="SetMaxPacketSize"/>, <see cref="MaxQueuedPackets"/>, <see cref="MaxQueuedBytes"/> and
/// <see cref="NetworkedMultiplayerPeer.Statistics"/>. Everything else is for the game thread only, one thread at a time:
/// <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/>, <see cref="SetTargetPeer"/>, <see cref="TransferMode"/>,
/// <see cref="Poll"/>, <see cref="GetPacketPeer"/>, the packet reads, <see cref="Initialize"/>,
/// <see cref="SetConnectionStatus"/>, <see cref="Close"/>, <see cref="DisconnectPeer"/> and <see cref="Dispose"/>.</para>
/// <para><b>Events.</b> Incoming things are queued in one ordered queue and raised on the game thread from
/// <see cref="Poll"/> and the packet-reading members: a peer's <see cref="NetworkedMultiplayerPeer.PeerConnected"/> before
/// its packets, its <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/> after them, and
/// <see cref="NetworkedMultiplayerPeer.PacketRejected"/> notices in place. The status events
/// (<see cref="NetworkedMultiplayerPeer.ConnectionSucceeded"/>, <see cref="NetworkedMultiplayerPeer.ConnectionFailed"/>,
/// <see cref="NetworkedMultiplayerPeer.ServerDisconnected"/>) are raised synchronously by <see cref="Initialize"/> and
/// <see cref="SetConnectionStatus"/>, as in Godot, right after the peer events already due — so <c>AddPeer(1)</c> then
/// <c>SetConnectionStatus(Connected)</c> gives <c>PeerConnected(1)</c> then <c>ConnectionSucceeded</c>, Godot's order.
/// <see cref="PacketGenerated"/>, <see cref="PeerDisconnectRequested"/> and <see cref="Polling"/> are raised synchronously
/// on the game thread for the transport.</para>
/// <para><b>Differences from Godot</b> (it prints errors; GdNet throws on misuse and rejects bad input): ids are checked
/// (1…2147483647); <see cref="SetConnectionStatus"/>(Connected) needs an id; going to Connecting starts a new session
/// (clears the queue, the id and the peers); the maximum packet size is enforced both ways; incoming packets are accepted
/// only from peers announced with <see cref="AddPeer"/> — also while Connecting, where Godot attributes every packet to
/// peer 1 — and never while Disconnected; the incoming queue is bounded; <see cref="GetPacketPeer"/> returns 0 (not 1)
/// when no packet is queued; <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/> refuses while Disconnected or when no
/// transport listens.</para>
/// </remarks>
public sealed partial class NetworkedMultiplayerCustom : NetworkedMultiplayerPeer, IDisposable
{
    /// <summary>Godot's default <c>max_packet_size</c>: 16 MiB (1 &lt;&lt; 24).</summary>
    public const int DefaultMaxPacketSize = 1 << 24;

    private const string AllowedTransitions =
        "Allowed: Disconnected → Connecting, Connecting → Connected (after Initialize), any status → Disconnected; setting the current status does nothing.";

    private readonly PeerInbox _inbox;
    private readonly HashSet<int> _peers = [];
    private volatile ConnectionStatus _status = ConnectionStatus.Disconnected;
    private volatile int _uniqueId;
    private volatile int _maxPacketSize = DefaultMaxPacketSize;
    private int _targetPeer;
    private TransferModeEnum _transferMode = TransferModeEnum.Reliable;

    /// <summary>Creates a disconnected peer whose packet buffers come from <see cref="ArrayPool{T}.Shared"/>.</summary>
    public NetworkedMultiplayerCustom()
        : this(null)
    {
    }

    /// <summary>Creates a disconnected peer.</summary>
    /// <param name="bufferPool">Where incoming packet buffers are rented from and returned to;
    /// <see cref="ArrayPool{T}.Shared"/> when null. <see cref="DeliverPacketOwned"/> takes buffers from this pool.</param>
    public NetworkedMultiplayerCustom(ArrayPool<byte>? bufferPool)
    {
        _inbox = new PeerInbox(this, pool: bufferPool);
    }

    /// <summary>
    /// Godot's <c>packet_generated(peer_id, buffer, transfer_mode)</c>: "Emitted when the local MultiplayerAPI generates a
    /// packet. Your script should take this packet and send it to the requested peer over the network (which should call
    /// deliver_packet with the data when it's received)." Raised synchronously from <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/>
    /// with the current target and <see cref="TransferMode"/>; the span is valid during the call only.
    /// </summary>
    public event PacketGeneratedHandler? PacketGenerated;

    /// <summary>
    /// Raised by <see cref="DisconnectPeer"/>: the game asks the transport to drop a peer. The transport closes the
    /// connection and calls <see cref="RemovePeer"/> (a client asked to drop peer 1 leaves the server). Game thread.
    /// </summary>
    public event Action<int>? PeerDisconnectRequested;

    /// <summary>
    /// Raised at the start of <see cref="Poll"/>, on the game thread: a poll-driven transport reads its socket here
    /// (Godot 4's <c>_poll</c>). Handlers may call every member.
    /// </summary>
    public event Action? Polling;

    /// <summary>The pool incoming packet buffers come from. Any thread.</summary>
    public ArrayPool<byte> BufferPool => _inbox.Pool;

    /// <summary>
    /// Godot's <c>transfer_mode</c>: the mode <see cref="PacketGenerated"/> reports for the next packet. Default
    /// <see cref="TransferModeEnum.Reliable"/>. Game thread only.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a <see cref="TransferModeEnum"/> member.</exception>
    public override TransferModeEnum TransferMode
    {
        get => _transferMode;
        set
        {
            if ((uint)value > (uint)TransferModeEnum.Reliable)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "TransferMode must be Unreliable (0), UnreliableOrdered (1) or Reliable (2).");
            }

            _transferMode = value;
        }
    }

    /// <summary>The target set by <see cref="SetTargetPeer"/> (0 until then). Game thread only.</summary>
    public int TargetPeer => _targetPeer;

    /// <summary>The bound on queued incoming packets (default <see cref="PeerInbox.DefaultMaxPackets"/>). Any thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int MaxQueuedPackets
    {
        get => _inbox.MaxPackets;
        set => _inbox.MaxPackets = value;
    }

    /// <summary>The bound on queued incoming bytes (default <see cref="PeerInbox.DefaultMaxBytes"/>). Any thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public long MaxQueuedBytes
    {
        get => _inbox.MaxBytes;
        set => _inbox.MaxBytes = value;
    }

    /// <summary>Godot's <c>get_connection_status()</c>. Any thread.</summary>
    public override ConnectionStatus GetConnectionStatus() => _status;

    /// <summary>Godot's <c>get_unique_id()</c>: the id given to <see cref="Initialize"/>, 0 before. Any thread.</summary>
    public override int GetUniqueId() => _uniqueId;

    /// <summary>Godot's <c>get_max_packet_size()</c>: default 16 MiB. Any thread.</summary>
    public override int GetMaxPacketSize() => _maxPacketSize;

    /// <summary>
    /// Godot's <c>set_max_packet_size(max_packet_size)</c>: "Set the max packet size that this peer can handle." GdNet
    /// enforces it: larger packets are refused by <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/> and rejected by
    /// <see cref="DeliverPacket(byte[], int)"/>. Any thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxPacketSize"/> is below 1.</exception>
    public void SetMaxPacketSize(int maxPacketSize)
    {
        if (maxPacketSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPacketSize), maxPacketSize, "The maximum packet size must be at least 1 byte.");
        }

        _maxPacketSize = maxPacketSize;
    }

    /// <summary>
    /// Godot's <c>set_target_peer(id)</c>: the target of the next <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/> — 0
    /// every peer, a positive id that peer, −id every peer but that one. Game thread only.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is <see cref="int.MinValue"/>, which names no peer.</exception>
    public override void SetTargetPeer(int id)
    {
        if (id == int.MinValue)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "A target is 0, a peer id (1…2147483647) or its negation.");
        }

        _targetPeer = id;
    }

    /// <summary>
    /// Godot's <c>initialize(self_peer_id)</c>: "Initialize the peer with the given peer_id (must be between 1 and
    /// 2147483647). Can only be called if the connection status is CONNECTION_CONNECTING." With id 1 the peer becomes the
    /// server and is connected at once, raising <see cref="NetworkedMultiplayerPeer.ConnectionSucceeded"/>. Game thread only.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="selfPeerId"/> is not in 1…2147483647.</exception>
    /// <exception cref="InvalidOperationException">The status is not Connecting, or the id is a remote peer's.</exception>
    public void Initialize(int selfPeerId)
    {
        ThrowIfInvalidId(selfPeerId, nameof(selfPeerId));
        lock (_inbox.Gate)
        {
            if (_status != ConnectionStatus.Connecting)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Initialize can only be called while the connection status is Connecting (it is {_status}); call SetConnectionStatus(ConnectionStatus.Connecting) first."));
            }

            if (_peers.Contains(selfPeerId))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Peer {selfPeerId} was added as a remote peer; a peer cannot have its own id. RemovePeer({selfPeerId}) first or initialize with another id."));
            }

            _uniqueId = selfPeerId;
            if (selfPeerId != TargetPeerServer)
            {
                return;
            }

            _status = ConnectionStatus.Connected;
        }

        _inbox.RaiseDueEventsKeepingLoan();
        EmitConnectionSucceeded();
    }

    /// <summary>
    /// Godot's <c>set_connection_status(connection_status)</c>: "Set the state of the connection. This will emit the
    /// connection_succeeded, connection_failed or server_disconnected signals depending on the status and if the peer has
    /// the unique network id of 1. You can only change to CONNECTION_CONNECTING from CONNECTION_DISCONNECTED and to
    /// CONNECTION_CONNECTED from CONNECTION_CONNECTING." Game thread only.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The current status: nothing happens.</item>
    /// <item>→ Connecting (from Disconnected): a new session — the queue, the id and the peers are cleared.</item>
    /// <item>→ Connected (from Connecting, once <see cref="Initialize"/> gave an id): raises <see cref="NetworkedMultiplayerPeer.ConnectionSucceeded"/>.</item>
    /// <item>→ Disconnected (from any): forgets the remote peers (no <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/>,
    /// as Godot) and keeps the queue readable. A peer whose id is not 1 raises <see cref="NetworkedMultiplayerPeer.ConnectionFailed"/>
    /// when it was Connecting and <see cref="NetworkedMultiplayerPeer.ServerDisconnected"/> when it was Connected; the server
    /// raises nothing. <see cref="Close"/> does the same without events.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="connectionStatus"/> is not a <see cref="ConnectionStatus"/> member.</exception>
    /// <exception cref="InvalidOperationException">The transition is not allowed; the message lists those that are.</exception>
    public void SetConnectionStatus(ConnectionStatus connectionStatus)
    {
        if ((uint)connectionStatus > (uint)ConnectionStatus.Connected)
        {
            throw new ArgumentOutOfRangeException(nameof(connectionStatus), connectionStatus, "The status must be Disconnected (0), Connecting (1) or Connected (2).");
        }

        ConnectionStatus previous;
        int selfId;
        lock (_inbox.Gate)
        {
            previous = _status;
            selfId = _uniqueId;
            if (previous == connectionStatus)
            {
                return;
            }

            switch (connectionStatus)
            {
                case ConnectionStatus.Connecting:
                    if (previous != ConnectionStatus.Disconnected)
                    {
                        throw ForbiddenTransition(previous, connectionStatus, "Only a Disconnected peer can start connecting; call SetConnectionStatus(ConnectionStatus.Disconnected) first.");
                    }

                    _inbox.Clear();
                    _peers.Clear();
                    _uniqueId = 0;
                    _status = ConnectionStatus.Connecting;
                    return;

                case ConnectionStatus.Connected:
                    if (previous != ConnectionStatus.Connecting)
                    {
                        throw ForbiddenTransition(previous, connectionStatus, "Call SetConnectionStatus(ConnectionStatus.Connecting) and Initialize(id) first.");
                    }

                    if (selfId == 0)
                    {
                        throw new InvalidOperationException("Cannot change the connection status to Connected before Initialize(id) gave this peer its unique id; call Initialize first.");
                    }

                    _status = ConnectionStatus.Connected;
                    break;

                default:
                    _peers.Clear();
                    _status = ConnectionStatus.Disconnected;
                    break;
            }
        }

        _inbox.RaiseDueEventsKeepingLoan();
        if (connectionStatus == ConnectionStatus.Connected)
        {
            EmitConnectionSucceeded();
        }
        else if (selfId != TargetPeerServer)
        {
            if (previous == ConnectionStatus.Connecting)
            {
                EmitConnectionFailed();
            }
            else
            {
                EmitServerDisconnected();
            }
        }
    }

    /// <summary>
    /// Goes to <see cref="ConnectionStatus.Disconnected"/> without raising any event, like Godot's
    /// <c>close_connection()</c>: for a transport whose local user leaves. Forgets the remote peers; the queue stays
    /// readable. Game thread only.
    /// </summary>
    public void Close()
    {
        lock (_inbox.Gate)
        {
            _peers.Clear();
            _status = ConnectionStatus.Disconnected;
        }
    }

    /// <summary>
    /// Announces a remote peer: queues <see cref="NetworkedMultiplayerPeer.PeerConnected"/> (raised on the game thread in
    /// order with the packets) and accepts its packets from now on. Call it on every side: on a client for the server (1)
    /// and for each other client. Allowed while Connecting or Connected. Any thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in 1…2147483647.</exception>
    /// <exception cref="InvalidOperationException">The peer is Disconnected, <paramref name="id"/> is this peer's own id, or it was already added.</exception>
    public void AddPeer(int id)
    {
        ThrowIfInvalidId(id, nameof(id));
        var outcome = ChangePeer(id, add: true);
        if (outcome != PeerChange.Done)
        {
            throw PeerChangeException(id, outcome, add: true);
        }
    }

    /// <summary>Like <see cref="AddPeer"/>, but returns false instead of throwing (for transport threads racing a disconnect). Any thread.</summary>
    public bool TryAddPeer(int id) => id >= 1 && ChangePeer(id, add: true) == PeerChange.Done;

    /// <summary>
    /// Forgets a remote peer: queues <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/> after the packets it already
    /// delivered, and rejects its later packets as <see cref="PacketRejectReason.UnknownPeer"/>. Any thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in 1…2147483647.</exception>
    /// <exception cref="InvalidOperationException">The peer is not connected.</exception>
    public void RemovePeer(int id)
    {
        ThrowIfInvalidId(id, nameof(id));
        var outcome = ChangePeer(id, add: false);
        if (outcome != PeerChange.Done)
        {
            throw PeerChangeException(id, outcome, add: false);
        }
    }

    /// <summary>Like <see cref="RemovePeer"/>, but returns false instead of throwing. Any thread.</summary>
    public bool TryRemovePeer(int id) => id >= 1 && ChangePeer(id, add: false) == PeerChange.Done;

    /// <summary>Whether <paramref name="id"/> is a connected remote peer (as of the last <see cref="AddPeer"/>/<see cref="RemovePeer"/>, not of the last event raised). Any thread.</summary>
    public bool HasPeer(int id)
    {
        lock (_inbox.Gate)
        {
            return _peers.Contains(id);
        }
    }

    /// <summary>The connected remote peers, ascending. A new array each call. Any thread.</summary>
    public int[] GetPeers()
    {
        int[] ids;
        lock (_inbox.Gate)
        {
            ids = [.. _peers];
        }

        Array.Sort(ids);
        return ids;
    }

    /// <summary>
    /// Asks the transport to drop <paramref name="id"/> by raising <see cref="PeerDisconnectRequested"/>. The peer stays
    /// connected until the transport calls <see cref="RemovePeer"/>. Game thread only.
    /// </summary>
    /// <returns>False when <paramref name="id"/> is not a connected peer or no transport listens.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in 1…2147483647.</exception>
    public bool DisconnectPeer(int id)
    {
        ThrowIfInvalidId(id, nameof(id));
        var handler = PeerDisconnectRequested;
        if (handler is null || !HasPeer(id))
        {
            return false;
        }

        handler(id);
        return true;
    }

    /// <summary>
    /// Godot's <c>poll()</c>: raises <see cref="Polling"/> for a poll-driven transport, then the queued events that come
    /// before the next packet. Game thread only.
    /// </summary>
    public override void Poll()
    {
        Polling?.Invoke();
        _inbox.RaiseDueEvents();
    }

    /// <summary>Drops the queued packets (returning their buffers) and goes Disconnected without events. Game thread only.</summary>
    public void Dispose()
    {
        Close();
        _inbox.Clear();
    }

    private enum PeerChange
    {
        Done,
        NotConnected,
        Self,
        Duplicate,
        Unknown,
    }

    private PeerChange ChangePeer(int id, bool add)
    {
        lock (_inbox.Gate)
        {
            if (add)
            {
                if (_status == ConnectionStatus.Disconnected)
                {
                    return PeerChange.NotConnected;
                }

                if (id == _uniqueId)
                {
                    return PeerChange.Self;
                }

                if (!_peers.Add(id))
                {
                    return PeerChange.Duplicate;
                }

                _inbox.EnqueueEventLocked(PeerEventKind.PeerConnected, id);
                return PeerChange.Done;
            }

            if (!_peers.Remove(id))
            {
                return PeerChange.Unknown;
            }

            _inbox.EnqueueEventLocked(PeerEventKind.PeerDisconnected, id);
            return PeerChange.Done;
        }
    }

    private InvalidOperationException PeerChangeException(int id, PeerChange outcome, bool add) => new(outcome switch
    {
        PeerChange.NotConnected => string.Create(CultureInfo.InvariantCulture,
            $"Cannot add peer {id} while Disconnected; peers can be added while Connecting or Connected (call SetConnectionStatus(ConnectionStatus.Connecting) first)."),
        PeerChange.Self => string.Create(CultureInfo.InvariantCulture,
            $"Cannot add peer {id}: it is this peer's own id. Add only remote peers."),
        PeerChange.Duplicate => string.Create(CultureInfo.InvariantCulture,
            $"Peer {id} is already connected; RemovePeer({id}) first, or use TryAddPeer when a transport may race."),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"Cannot {(add ? "add" : "remove")} peer {id}: it is not connected (status {_status}). Check HasPeer({id}) or use TryRemovePeer when a transport may race."),
    });

    private static InvalidOperationException ForbiddenTransition(ConnectionStatus from, ConnectionStatus to, string hint) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Cannot change the connection status from {from} to {to}. {AllowedTransitions} {hint}"));

    private static void ThrowIfInvalidId(int id, string paramName)
    {
        if (id < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, id, "A peer id must be between 1 and 2147483647.");
        }
    }
}
