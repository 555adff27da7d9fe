using System.Globalization;

namespace GdNet.Peers;

public sealed partial class NetworkedMultiplayerCustom
{
    /// <summary>Godot's <c>get_available_packet_count()</c>: packets queued by <see cref="DeliverPacket(byte[], int)"/> and not yet read. Any thread.</summary>
    public override int AvailablePacketCount => _inbox.AvailablePacketCount;

    /// <summary>
    /// Godot's <c>put_packet(buffer)</c>: raises <see cref="PacketGenerated"/> with the current target
    /// (<see cref="SetTargetPeer"/>), the packet and the current <see cref="TransferMode"/>, synchronously. Game thread only.
    /// </summary>
    /// <returns>
    /// <see cref="Error.Ok"/>; <see cref="Error.ParameterRangeError"/> when the packet is larger than
    /// <see cref="GetMaxPacketSize"/> (counted as a <see cref="PacketRejectReason.TooLarge"/> rejection, no event);
    /// <see cref="Error.Unconfigured"/> when the peer is Disconnected or nothing handles <see cref="PacketGenerated"/>.
    /// </returns>
    public override Error PutPacket(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > _maxPacketSize)
        {
            Statistics.CountRejection(PacketRejectReason.TooLarge);
            return Fail(Error.ParameterRangeError, string.Create(CultureInfo.InvariantCulture,
                $"PutPacket: the packet has {packet.Length} bytes, over the maximum packet size of {_maxPacketSize}; send less, or raise SetMaxPacketSize on both ends."));
        }

        var handler = PacketGenerated;
        if (handler is null)
        {
            return Fail(Error.Unconfigured, "PutPacket: nothing handles PacketGenerated; subscribe to it and carry the packets over your transport.");
        }

        if (_status == ConnectionStatus.Disconnected)
        {
            return Fail(Error.Unconfigured, "PutPacket: the peer is Disconnected; call Initialize or SetConnectionStatus(Connected) first.");
        }

        ClearLastError();
        var target = _targetPeer;
        Statistics.CountOut(target, packet.Length);
        handler(target, packet, _transferMode);
        return Error.Ok;
    }

    /// <summary>
    /// Godot's <c>deliver_packet(buffer, from_peer_id)</c>: "Deliver a packet to the local MultiplayerAPI. When your script
    /// receives a packet from other peers over the network (originating from the packet_generated signal on the sending
    /// peer), passing it to this method will deliver it locally." The bytes are copied once into a pooled buffer; the
    /// array stays the caller's. Any thread; never throws for what the remote side sent.
    /// </summary>
    /// <returns>Accepted, or the reason it was rejected: <see cref="PacketRejectReason.NotConnected"/> (Disconnected),
    /// <see cref="PacketRejectReason.TooLarge"/> (above <see cref="GetMaxPacketSize"/>), <see cref="PacketRejectReason.UnknownPeer"/>
    /// (<paramref name="fromPeerId"/> was not announced with <see cref="AddPeer"/>), <see cref="PacketRejectReason.QueueFull"/>
    /// (beyond <see cref="MaxQueuedPackets"/> or <see cref="MaxQueuedBytes"/>). A rejection is counted in
    /// <see cref="NetworkedMultiplayerPeer.Statistics"/> and raised as <see cref="NetworkedMultiplayerPeer.PacketRejected"/> on the game thread.</returns>
    public DeliverResult DeliverPacket(byte[] buffer, int fromPeerId)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return DeliverPacket(buffer.AsSpan(), fromPeerId);
    }

    /// <summary>
    /// <see cref="DeliverPacket(byte[], int)"/> from a span (e.g. a slice of the transport's receive buffer, past its
    /// header): copied once into pooled memory (small packets share recycled chunks, so a steady flow allocates
    /// nothing). Any thread.
    /// </summary>
    public DeliverResult DeliverPacket(ReadOnlySpan<byte> packet, int fromPeerId)
    {
        var max = _maxPacketSize;
        if (packet.Length > max)
        {
            _inbox.Reject(fromPeerId, PacketRejectReason.TooLarge, packet.Length, max);
            return DeliverResult.Rejected(PacketRejectReason.TooLarge);
        }

        if (packet.Length > PeerInbox.MaxChunkedPacketSize)
        {
            var buffer = _inbox.Pool.Rent(packet.Length);
            packet.CopyTo(buffer);
            return DeliverOwned(buffer, packet.Length, fromPeerId);
        }

        var full = PeerInbox.QueueFullKind.None;
        PacketRejectReason? refused;
        lock (_inbox.Gate)
        {
            refused = CheckSenderLocked(fromPeerId);
            if (refused is null)
            {
                full = _inbox.EnqueueCopyLocked(fromPeerId, packet);
            }
        }

        if (refused is { } reason)
        {
            _inbox.Reject(fromPeerId, reason, packet.Length, 0);
            return DeliverResult.Rejected(reason);
        }

        return _inbox.CompleteEnqueue(full, fromPeerId, null, packet.Length);
    }

    /// <summary>
    /// <see cref="DeliverPacket(byte[], int)"/> without a copy: the packet is the first <paramref name="length"/> bytes of
    /// <paramref name="rentedBuffer"/>, rented from <see cref="BufferPool"/>. Ownership passes to the peer in every case
    /// (accepted or rejected); do not touch the buffer afterwards. Any thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or beyond the buffer (the buffer is then not taken).</exception>
    public DeliverResult DeliverPacketOwned(byte[] rentedBuffer, int length, int fromPeerId)
    {
        ArgumentNullException.ThrowIfNull(rentedBuffer);
        if ((uint)length > (uint)rentedBuffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "The length must be between 0 and the buffer's length.");
        }

        var max = _maxPacketSize;
        if (length > max)
        {
            _inbox.Pool.Return(rentedBuffer);
            _inbox.Reject(fromPeerId, PacketRejectReason.TooLarge, length, max);
            return DeliverResult.Rejected(PacketRejectReason.TooLarge);
        }

        return DeliverOwned(rentedBuffer, length, fromPeerId);
    }

    /// <summary>
    /// Reports a packet the transport refused before delivering it (a header that does not parse, a spoofed source, a
    /// relay to an unknown target…): counted in <see cref="NetworkedMultiplayerPeer.Statistics"/> and raised as
    /// <see cref="NetworkedMultiplayerPeer.PacketRejected"/> on the game thread. Any thread.
    /// </summary>
    public void RejectPacket(int fromPeerId, PacketRejectReason reason, long size = 0, long limit = 0, string? note = null) =>
        _inbox.Reject(fromPeerId, reason, size, limit, note);

    /// <summary>
    /// Godot's <c>get_packet_peer()</c>: the sender of the next queued packet, after raising the events queued before it;
    /// 0 when no packet is queued (Godot returns 1 with an error). Game thread only.
    /// </summary>
    public override int GetPacketPeer() => _inbox.TryPeekSender(out var from) ? from : 0;

    /// <inheritdoc/>
    protected override bool TryGetPacketCore(out ReadOnlySpan<byte> packet) => _inbox.TryDequeue(out _, out packet);

    private DeliverResult DeliverOwned(byte[] buffer, int length, int fromPeerId)
    {
        var full = PeerInbox.QueueFullKind.None;
        PacketRejectReason? refused;
        lock (_inbox.Gate)
        {
            refused = CheckSenderLocked(fromPeerId);
            if (refused is null)
            {
                full = _inbox.EnqueueOwnedLocked(fromPeerId, buffer, length);
            }
        }

        if (refused is not { } reason)
        {
            return _inbox.CompleteEnqueue(full, fromPeerId, buffer, length);
        }

        _inbox.Pool.Return(buffer);
        _inbox.Reject(fromPeerId, reason, length, 0);
        return DeliverResult.Rejected(reason);
    }

    // Whether a packet from `fromPeerId` may be queued now; the caller holds the inbox gate, so the answer and the
    // enqueue are one step relative to AddPeer/RemovePeer/SetConnectionStatus.
    private PacketRejectReason? CheckSenderLocked(int fromPeerId) =>
        _status == ConnectionStatus.Disconnected ? PacketRejectReason.NotConnected
        : !_peers.Contains(fromPeerId) ? PacketRejectReason.UnknownPeer
        : null;
}
