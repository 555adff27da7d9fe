namespace GdNet.Enet;

/// <summary>Godot's <c>NetworkedMultiplayerENet.CompressionMode</c>, with the same values.</summary>
public enum CompressionModeEnum
{
    /// <summary>No compression: Godot 3.2.3's default.</summary>
    None = 0,

    /// <summary>ENet's built-in range coder (stock ENet, wire-compatible with Godot).</summary>
    RangeCoder = 1,

    /// <summary>Godot-only compressor callback; not supported by GdNet.</summary>
    FastLz = 2,

    /// <summary>Godot-only compressor callback; not supported by GdNet.</summary>
    Zlib = 3,

    /// <summary>Godot-only compressor callback; not supported by GdNet.</summary>
    Zstd = 4,
}

/// <summary>Why a peer left, as reported by <see cref="NetworkedMultiplayerENet.PeerLeft"/>.</summary>
public enum EnetDisconnectReason
{
    /// <summary>The remote side disconnected (Godot's <c>close_connection</c>, or a kick by the server, seen by a client).</summary>
    Closed = 0,

    /// <summary>Nothing was heard from the peer for the peer timeout: it vanished without disconnecting.</summary>
    TimedOut,

    /// <summary>This side kicked it with <see cref="NetworkedMultiplayerENet.DisconnectPeer"/>.</summary>
    Kicked,

    /// <summary>This side dropped it for breaking a limit: an oversized reliable packet, or a reliable packet the full
    /// incoming queue could not take (a reliable stream cannot skip a packet).</summary>
    LimitExceeded,

    /// <summary>Client side: the server announced that a relayed peer left (REMOVE_PEER).</summary>
    LeftServer,
}
