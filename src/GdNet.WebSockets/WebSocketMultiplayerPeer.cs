using GdNet.Peers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet.WebSockets;

/// <summary>
/// Godot 3's <c>WebSocketMultiplayerPeer</c>: the base of <see cref="WebSocketServer"/> and <see cref="WebSocketClient"/>,
/// speaking the <c>gd_mp_api</c> protocol of Godot 3.2.3 (spec §5): one binary WebSocket message per packet, each with a
/// 9-byte header (type, from, to).
/// </summary>
/// <remarks>
/// <para>Socket I/O runs on its own tasks; packets and peer events reach the game thread through a bounded, ordered inbox
/// drained by <see cref="Poll"/> and the packet-reading members. Every member is for the game thread unless its
/// documentation says otherwise.</para>
/// <para>WebSocket is TCP: every packet is reliable and ordered whatever <see cref="TransferMode"/> says, as in Godot.</para>
/// <para>Limits (set them before listening or connecting): <see cref="MaxPacketSize"/> bounds a received or sent packet,
/// <see cref="MaxQueuedBytes"/> bounds what waits to be sent to one remote peer, and a remote peer whose messages were
/// refused <see cref="MaxViolations"/> times is disconnected with close code 1008 and the reason.</para>
/// </remarks>
public abstract class WebSocketMultiplayerPeer : NetworkedMultiplayerPeer, IDisposable, IAsyncDisposable
{
    /// <summary>Godot's default largest packet: a 64 KiB message minus the 9-byte header.</summary>
    public const int DefaultMaxPacketSize = 65536 - GdMpFrame.HeaderSize;

    /// <summary>Default bound on bytes waiting to be sent to one remote peer: 16 MiB.</summary>
    public const long DefaultMaxQueuedBytes = 16L * 1024 * 1024;

    /// <summary>Default number of refused messages after which a remote peer is disconnected.</summary>
    public const int DefaultMaxViolations = 16;

    private int _maxPacketSize = DefaultMaxPacketSize;
    private long _maxQueuedBytes = DefaultMaxQueuedBytes;
    private int _maxViolations = DefaultMaxViolations;
    private TimeSpan _closeTimeout = TimeSpan.FromSeconds(2);
    private int _targetPeer;
    private readonly Lock _roomGate = new();
    private TaskCompletionSource? _roomSignal;

    private protected WebSocketMultiplayerPeer()
    {
        Inbox = new PeerInbox(this);
    }

    /// <summary>The game thread's inbox: packets and events in arrival order.</summary>
    private protected PeerInbox Inbox { get; }

    /// <summary>True while listening (server) or connecting/connected (client): limits can no longer change.</summary>
    private protected abstract bool IsActive { get; }

    /// <summary>
    /// The largest packet (MultiplayerAPI bytes, without the 9-byte header) this peer sends or accepts. A larger incoming
    /// message is refused with <see cref="PacketRejectReason.TooLarge"/> and its connection closed with 1009.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1, or more than 1 GiB.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening or connected.</exception>
    public int MaxPacketSize
    {
        get => _maxPacketSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, (1 << 30) - GdMpFrame.HeaderSize);
            ThrowIfActive(nameof(MaxPacketSize));
            _maxPacketSize = value;
        }
    }

    /// <summary>
    /// Bound on bytes queued for sending to one remote peer. A server disconnects a client whose queue would exceed it
    /// (close 1008, "reads too slowly"); a client's <c>PutPacket</c> returns <see cref="Error.OutOfMemory"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than the largest message.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening or connected.</exception>
    public long MaxQueuedBytes
    {
        get => _maxQueuedBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, (long)MaxPacketSize + GdMpFrame.HeaderSize);
            ThrowIfActive(nameof(MaxQueuedBytes));
            _maxQueuedBytes = value;
        }
    }

    /// <summary>Refused messages after which a remote peer is disconnected (close 1008); 0 never disconnects.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening or connected.</exception>
    public int MaxViolations
    {
        get => _maxViolations;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ThrowIfActive(nameof(MaxViolations));
            _maxViolations = value;
        }
    }

    /// <summary>How long a close handshake may take before the socket is aborted. Default 2 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening or connected.</exception>
    public TimeSpan CloseTimeout
    {
        get => _closeTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(CloseTimeout));
            _closeTimeout = value;
        }
    }

    /// <summary>Bound on packets waiting for the game thread (default 65536). When full, sockets stop being read.</summary>
    public int InboxMaxPackets
    {
        get => Inbox.MaxPackets;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Inbox.MaxPackets = value;
        }
    }

    /// <summary>Bound on bytes waiting for the game thread (default 64 MiB). When full, sockets stop being read.</summary>
    public long InboxMaxBytes
    {
        get => Inbox.MaxBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Inbox.MaxBytes = value;
        }
    }

    /// <summary>Always <see cref="TransferModeEnum.Reliable"/>: WebSocket runs on TCP. Setting it is accepted and ignored, as in Godot.</summary>
    public override TransferModeEnum TransferMode
    {
        get => TransferModeEnum.Reliable;
        set { }
    }

    /// <summary>Godot's <c>get_available_packet_count()</c>. Any thread.</summary>
    public override int AvailablePacketCount => Inbox.AvailablePacketCount;

    /// <summary>The target of the next <c>PutPacket</c>.</summary>
    private protected int TargetPeer => _targetPeer;

    /// <inheritdoc/>
    public override void SetTargetPeer(int id) => _targetPeer = id;

    /// <inheritdoc/>
    public override int GetPacketPeer() => Inbox.TryPeekSender(out var id) ? id : 0;

    /// <inheritdoc/>
    public override void Poll() => Inbox.RaiseDueEvents();

    /// <inheritdoc/>
    public override int GetMaxPacketSize() => _maxPacketSize;

    /// <inheritdoc/>
    protected override bool TryGetPacketCore(out ReadOnlySpan<byte> packet)
    {
        var ok = Inbox.TryDequeue(out _, out packet);
        if (Volatile.Read(ref _roomSignal) is not null)
        {
            SignalInboxRoom();
        }

        return ok;
    }

    /// <summary>Wakes socket tasks waiting for room in the inbox (after the game thread took packets, or cleared it).</summary>
    private protected void SignalInboxRoom()
    {
        TaskCompletionSource? signal;
        lock (_roomGate)
        {
            signal = _roomSignal;
            _roomSignal = null;
        }

        signal?.TrySetResult();
    }

    /// <summary>
    /// Completes when the game thread took a packet or after a short while, whichever comes first; the caller then checks
    /// for room again. Any thread.
    /// </summary>
    private protected Task WhenInboxMayHaveRoomAsync(int length)
    {
        Task signal;
        lock (_roomGate)
        {
            if (InboxHasRoom(length))
            {
                return Task.CompletedTask;
            }

            _roomSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal = _roomSignal.Task;
        }

        return Task.WhenAny(signal, Task.Delay(50));
    }

    /// <summary>Closes every connection and waits (bounded by <see cref="CloseTimeout"/>) for the socket tasks to end. Idempotent.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc cref="Dispose"/>
    public abstract ValueTask DisposeAsync();

    private protected WsLimits CreateLimits() =>
        new(_maxPacketSize + GdMpFrame.HeaderSize, _maxQueuedBytes, _maxViolations, _closeTimeout, Logger);

    private protected void ThrowIfActive(string what)
    {
        if (IsActive)
        {
            throw new InvalidOperationException($"{what} cannot change while the peer is listening or connected; set it before Listen/ConnectToUrl.");
        }
    }

    /// <summary>
    /// Queues a received packet for the game thread when the inbox has room; false (and nothing queued) when it is full,
    /// so the socket task waits and retries: a reliable transport never drops. The room check and the enqueue are one
    /// atomic step inside the inbox (<see cref="PeerInbox.TryEnqueueIfRoom"/>), so connections deliver concurrently,
    /// without a lock shared between them, and never take the inbox past its bounds. Each connection delivers from its
    /// own task, after its connect event and before its disconnect event, so its events and packets keep their order.
    /// Any thread.
    /// </summary>
    private protected bool TryDeliver(int from, ReadOnlySpan<byte> payload) => Inbox.TryEnqueueIfRoom(from, payload);

    /// <summary>True when the inbox can take a packet of <paramref name="length"/> bytes now (any thread).</summary>
    private protected bool InboxHasRoom(int length) =>
        Inbox.AvailablePacketCount < Inbox.MaxPackets && Inbox.QueuedBytes + length <= Inbox.MaxBytes;

    /// <summary>Checks an outgoing packet against <see cref="MaxPacketSize"/>; counts a rejection when it is too large.</summary>
    private protected bool CheckOutgoingSize(int target, int length)
    {
        if (length <= _maxPacketSize)
        {
            return true;
        }

        Inbox.Reject(new PacketRejection(target, PacketRejectReason.TooLarge, length, _maxPacketSize, "outgoing packet not sent"));
        return false;
    }
}
