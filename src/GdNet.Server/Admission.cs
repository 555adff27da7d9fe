using System.Net;

namespace GdNet.Server;

/// <summary>Why a connection was refused before it joined. Transports map it to their answer (see each value).</summary>
public enum AdmissionRefusal
{
    /// <summary>The room name is not 1–64 characters of <c>A–Z a–z 0–9 _ -</c> (WebSocket: HTTP 400).</summary>
    InvalidRoom = 0,

    /// <summary>No credential, or one that is invalid or expired (WebSocket: HTTP 401; ENet: not answered).</summary>
    Unauthorized,

    /// <summary>A valid credential that does not allow this room (WebSocket: HTTP 403).</summary>
    Forbidden,

    /// <summary>The server is at <see cref="RelayOptions.MaxPeers"/> (WebSocket: HTTP 503).</summary>
    ServerFull,

    /// <summary>The room is at <see cref="RelayOptions.MaxPeersPerRoom"/> (HTTP 503).</summary>
    RoomFull,

    /// <summary>A new room would exceed <see cref="RelayOptions.MaxRooms"/> (HTTP 503).</summary>
    TooManyRooms,

    /// <summary>The address already has <see cref="RelayOptions.MaxConnectionsPerAddress"/> connections (HTTP 503).</summary>
    TooManyFromAddress,

    /// <summary>The address opens connections faster than <see cref="RelayOptions.ConnectionsPerSecondPerAddress"/> (HTTP 503).</summary>
    ConnectionRateLimited,

    /// <summary>The server is draining or refusing new connections (HTTP 503).</summary>
    NotAccepting,

    /// <summary>An ENet client asked for a peer id that is already in use in the server (Godot refuses the clash too).</summary>
    IdTaken,

    /// <summary>An ENet client asked for a reserved id (below 2) or one that is not a 31-bit id.</summary>
    InvalidId,

    /// <summary>Refused by an admission hook for a reason of its own (HTTP 403 unless the hook says otherwise).</summary>
    Other,
}

/// <summary>
/// Everything admission knows about a connection before it joins: the transport, the address, the room asked for, the
/// credential (a WebSocket client's <c>?token=</c> or <c>Authorization: Bearer</c>), the HTTP headers (WebSocket) or
/// the connect data (ENet: the id the client chose).
/// </summary>
public sealed class AdmissionRequest
{
    /// <param name="transport">The transport's short name (<c>ws</c>, <c>enet</c>).</param>
    /// <param name="remoteEndPoint">The client's address, when known.</param>
    /// <param name="room">The room asked for; <see cref="Room.DefaultName"/> for the default room.</param>
    public AdmissionRequest(string transport, IPEndPoint? remoteEndPoint, string room)
    {
        ArgumentException.ThrowIfNullOrEmpty(transport);
        ArgumentNullException.ThrowIfNull(room);
        Transport = transport;
        RemoteEndPoint = remoteEndPoint;
        Room = room;
    }

    public string Transport { get; }

    public IPEndPoint? RemoteEndPoint { get; }

    public string Room { get; }

    /// <summary>The credential the client presented (a JSON Web Token), or null. ENet clients of Godot 3 have none.</summary>
    public string? Credential { get; init; }

    /// <summary>The HTTP request headers of a WebSocket upgrade (first value of each), or null for other transports.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>ENet: the 32-bit data of the CONNECT (Godot 3 sends the client's chosen peer id); null for other transports.</summary>
    public uint? ConnectData { get; init; }

    /// <summary>The peer id the client chose (ENet), or 0 to let the router draw one (WebSocket).</summary>
    public int RequestedPeerId { get; init; }
}

/// <summary>What an <see cref="AdmissionHook"/> decided: accept (with a name for logs and status) or refuse with a reason.</summary>
public readonly record struct AdmissionDecision
{
    private AdmissionDecision(bool accepted, string? name, AdmissionRefusal refusal, string? detail)
    {
        IsAccepted = accepted;
        Name = name;
        Refusal = refusal;
        Detail = detail;
    }

    public bool IsAccepted { get; }

    /// <summary>Accepted: the peer's name (e.g. a token's <c>sub</c>), or null.</summary>
    public string? Name { get; }

    /// <summary>Refused: why (transports answer by this).</summary>
    public AdmissionRefusal Refusal { get; }

    /// <summary>Refused: the reason in words, for the server's log and counters — never sent to the client.</summary>
    public string? Detail { get; }

    public static AdmissionDecision Accept(string? name = null) => new(true, name, default, null);

    public static AdmissionDecision Refuse(AdmissionRefusal refusal, string detail) => new(false, null, refusal, detail);
}

/// <summary>
/// An admission check, run before a connection gets a peer id or sees any peer (WebSocket: before the HTTP upgrade;
/// ENet: before the CONNECT is answered). Return <see cref="AdmissionDecision.Accept"/> or a refusal. May complete
/// asynchronously; ENet connections whose check is still running are answered when the client retransmits its CONNECT.
/// </summary>
public delegate ValueTask<AdmissionDecision> AdmissionHook(AdmissionRequest request, CancellationToken cancellationToken);

/// <summary>
/// The outcome of <see cref="RelayRouter.AdmitAsync"/>. An accepted ticket holds a reserved slot (server, room, address,
/// and the requested id) until it is passed to <see cref="RelayRouter.Join"/> or disposed: always do one of the two.
/// </summary>
public sealed class AdmissionTicket : IDisposable
{
    private readonly RelayRouter? _router;
    private int _state; // 0 open, 1 joined, 2 released

    internal AdmissionTicket(RelayRouter router, AdmissionRequest request, Room room, int peerId, string? name)
    {
        _router = router;
        Request = request;
        ReservedRoom = room;
        PeerId = peerId;
        Name = name;
        IsAccepted = true;
    }

    internal AdmissionTicket(AdmissionRequest request, AdmissionRefusal refusal, string detail)
    {
        Request = request;
        Refusal = refusal;
        Detail = detail;
    }

    public AdmissionRequest Request { get; }

    public bool IsAccepted { get; }

    /// <summary>Refused: why.</summary>
    public AdmissionRefusal Refusal { get; }

    /// <summary>Refused: the reason in words (for logs; do not send it to the client).</summary>
    public string? Detail { get; }

    /// <summary>Accepted: the peer id reserved for the connection.</summary>
    public int PeerId { get; }

    /// <summary>Accepted: the peer's name from admission, or null.</summary>
    public string? Name { get; }

    internal Room? ReservedRoom { get; }

    // Clustered: the id was claimed cluster-wide (given back when the ticket is released unused, or the peer leaves).
    internal bool ClaimedInCluster { get; set; }

    internal bool TryUse() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

    /// <summary>Releases the reservation when the ticket was not used to join (e.g. the upgrade failed). Idempotent.</summary>
    public void Dispose()
    {
        if (IsAccepted && Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            _router!.Release(this);
        }
    }
}
