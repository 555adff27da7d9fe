using System.Globalization;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>Why <see cref="MultiplayerAPI"/> refused a received packet, or a call it could not run.</summary>
public enum RpcRejectReason
{
    /// <summary>The first byte is not a MultiplayerAPI command (0–4). Godot ignores these silently.</summary>
    UnknownCommand = 0,

    /// <summary>Shorter than its layout needs: empty; a call/set under 6 bytes; no NUL after the name; nothing after the
    /// name; SIMPLIFY_PATH under 5 bytes; CONFIRM_PATH or RAW under 2 bytes.</summary>
    TooSmall,

    /// <summary>A full-path call whose path offset is at or beyond the end of the packet.</summary>
    InvalidPathOffset,

    /// <summary>A cached path id the sender never announced with SIMPLIFY_PATH.</summary>
    UnknownCachedPath,

    /// <summary>The path names no node under the API's root node.</summary>
    NodeNotFound,

    /// <summary>The node has no such method/property, or it has no RPC mode (no attribute, no <c>RpcConfig</c>).</summary>
    NotExposed,

    /// <summary>The member's mode does not allow this sender to call it here (spec §3.6).</summary>
    ForbiddenByMode,

    /// <summary>An argument or rset value is missing or not a valid Variant.</summary>
    UndecodableArgument,

    /// <summary>An argument is a full object while object decoding is off.</summary>
    ObjectsNotAllowed,

    /// <summary>Wrong argument count, or an argument/value whose type does not convert to the handler's parameter.</summary>
    BadArguments,

    /// <summary>The handler (or an event handler) threw; <see cref="RpcRejection.Exception"/> holds the exception.</summary>
    HandlerThrew,

    /// <summary>A packet from a peer that is not connected (no connect event yet, or already gone).</summary>
    UnknownPeer,

    /// <summary>CONFIRM_PATH for a path this machine never offered to that peer.</summary>
    UnknownPathConfirmation,

    /// <summary>
    /// SIMPLIFY_PATH past a bound of the received path cache: <see cref="MultiplayerAPI.MaxPathCacheEntriesPerPeer"/>,
    /// <see cref="MultiplayerAPI.MaxPathCacheBytesPerPeer"/> or <see cref="MultiplayerAPI.MaxPathCacheBytesTotal"/>
    /// (<see cref="RpcRejection.Bound"/> says which).
    /// </summary>
    PathCacheFull,
}

/// <summary>
/// One refused packet or call: the reason, the peer, and what is known about it (node path, member, mode, sizes).
/// <see cref="Detail"/> is formatted only when read.
/// </summary>
public sealed class RpcRejection
{
    internal RpcRejection(RpcRejectReason reason, int peerId, int packetSize)
    {
        Reason = reason;
        PeerId = peerId;
        PacketSize = packetSize;
    }

    public RpcRejectReason Reason { get; }

    /// <summary>The sender (for a local call, this machine's id).</summary>
    public int PeerId { get; }

    /// <summary>The packet's length in bytes (0 for a local call).</summary>
    public int PacketSize { get; }

    /// <summary>The command byte, or -1 for a local call.</summary>
    public int Command { get; init; } = -1;

    /// <summary>The node path as received (or the node's path), when known.</summary>
    public string? NodePath { get; init; }

    /// <summary>The method or property name, when known.</summary>
    public string? Member { get; init; }

    /// <summary>The effective mode (for <see cref="RpcRejectReason.ForbiddenByMode"/>).</summary>
    public RpcMode Mode { get; init; }

    /// <summary>The node's network master (for <see cref="RpcRejectReason.ForbiddenByMode"/>).</summary>
    public int NetworkMaster { get; init; }

    /// <summary>The index of the offending argument, or -1.</summary>
    public int ArgumentIndex { get; init; } = -1;

    /// <summary>A number behind the reason: the path offset, the cache id, the argument count, the cache limit…</summary>
    public long Value { get; init; }

    /// <summary>The limit or expected number, when there is one.</summary>
    public long Limit { get; init; }

    /// <summary>For <see cref="RpcRejectReason.PathCacheFull"/>: the name of the bound reached (a <see cref="MultiplayerAPI"/> property), else null.</summary>
    public string? Bound { get; init; }

    /// <summary>The decoder's error, for undecodable arguments.</summary>
    public VariantError? DecodeError { get; init; }

    /// <summary>The received Variant type of a mismatched argument.</summary>
    public VariantType? ArgumentType { get; init; }

    /// <summary>The parameter type it should have bound to.</summary>
    public Type? ExpectedType { get; init; }

    /// <summary>The exception of <see cref="RpcRejectReason.HandlerThrew"/>.</summary>
    public Exception? Exception { get; init; }

    /// <summary>The node's RPC table, for the "did you mean" hint of <see cref="RpcRejectReason.NotExposed"/> (worked out only when read).</summary>
    internal RpcTypeInfo? NodeTypeInfo { get; init; }

    /// <summary>For <see cref="RpcRejectReason.NotExposed"/>: the node's member whose name nearly matches <see cref="Member"/>, if any.</summary>
    public string? Suggestion => Reason == RpcRejectReason.NotExposed && NodeTypeInfo is { } info && Member is { } member
        ? RpcNameHint.Suggest(info, Command == 1, member)
        : null;

    /// <summary>A readable one-line explanation.</summary>
    public string Detail => Reason switch
    {
        RpcRejectReason.UnknownCommand => F($"unknown command byte {Value} in a packet of {PacketSize} bytes from peer {PeerId}"),
        RpcRejectReason.TooSmall => F($"packet of {PacketSize} bytes from peer {PeerId} is too small for command {Command}{(Limit != 0 ? F($" (needs {Limit})") : string.Empty)}{At}"),
        RpcRejectReason.InvalidPathOffset => F($"path offset {Value} is not inside the {PacketSize}-byte packet from peer {PeerId}"),
        RpcRejectReason.UnknownCachedPath => F($"peer {PeerId} used path cache id {Value}, which it never announced"),
        RpcRejectReason.NodeNotFound => F($"no node at path '{NodePath}' (from peer {PeerId})"),
        RpcRejectReason.NotExposed => F($"'{Member}' on {NodePath} is not {(Command == 1 ? "an rset property" : "an RPC method")} (no mode) (from peer {PeerId}){(Suggestion is { } near ? F($"; did you mean '{near}'? Wire names are case-sensitive: give the C# member [Remote(Name = \"{Member}\")] (or the mode it needs) to answer to '{Member}'") : string.Empty)}"),
        RpcRejectReason.ForbiddenByMode => F($"{(Command == 1 ? "RSET" : "RPC")} '{Member}' is not allowed on node {NodePath} from peer {PeerId}: mode is {Mode}, master is {NetworkMaster}"),
        RpcRejectReason.UndecodableArgument => F($"argument {ArgumentIndex} of '{Member}' on {NodePath} from peer {PeerId} does not decode: {DecodeError?.Message ?? "missing"}"),
        RpcRejectReason.ObjectsNotAllowed => F($"argument {ArgumentIndex} of '{Member}' on {NodePath} from peer {PeerId} is an object, and object decoding is off"),
        RpcRejectReason.BadArguments when ArgumentIndex < 0 => F($"'{Member}' on {NodePath} takes {Limit} argument(s); peer {PeerId} sent {Value}"),
        RpcRejectReason.BadArguments => F($"argument {ArgumentIndex} of '{Member}' on {NodePath} from peer {PeerId} is {ArgumentType}, which does not convert to {ExpectedType?.Name}"),
        RpcRejectReason.HandlerThrew => F($"handler of '{Member}' on {NodePath} threw for peer {PeerId}: {Exception?.GetType().Name}: {Exception?.Message}"),
        RpcRejectReason.UnknownPeer => F($"packet of {PacketSize} bytes from peer {PeerId}, which is not connected"),
        RpcRejectReason.UnknownPathConfirmation => F($"peer {PeerId} confirmed path '{NodePath}', which was not offered to it"),
        RpcRejectReason.PathCacheFull => F($"peer {PeerId} announced a path (cache id {Value}, {PacketSize} bytes) past the path cache bound {Bound ?? "MaxPathCacheEntriesPerPeer"} = {Limit}"),
        _ => F($"{Reason} from peer {PeerId}"),
    };

    private string At => Member is null ? string.Empty : F($" ('{Member}' on {NodePath})");

    public override string ToString() => $"{Reason}: {Detail}";

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
