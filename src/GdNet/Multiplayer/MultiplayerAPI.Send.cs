using System.Buffers;
using System.Diagnostics;
using System.Text;
using GdNet.Peers;
using GdNet.Variants;
using Microsoft.Extensions.Logging;

namespace GdNet.Multiplayer;

public sealed partial class MultiplayerAPI
{
    /// <summary>
    /// Sends a RAW packet (Godot's <c>send_bytes</c>): <c>0x04</c> followed by <paramref name="bytes"/>, to
    /// <paramref name="id"/> (0 everyone, −id everyone but id). Like Godot, the target is not checked.
    /// </summary>
    /// <returns><see cref="Error.InvalidData"/> for no bytes, <see cref="Error.Unconfigured"/> without a connected peer,
    /// else the peer's <c>PutPacket</c> result.</returns>
    public Error SendBytes(ReadOnlySpan<byte> bytes, int id = 0, TransferModeEnum mode = TransferModeEnum.Reliable)
    {
        LastErrorMessage = null;
        if (bytes.IsEmpty)
        {
            return SendFailed(Error.InvalidData, "send_bytes", "-", null, "there are no bytes to send; a RAW packet needs at least one");
        }

        var peer = _peer;
        if (peer is null || peer.GetConnectionStatus() != ConnectionStatus.Connected)
        {
            return SendFailed(Error.Unconfigured, "send_bytes", "-", null, peer is null ? NoPeer : NotConnected(peer));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(bytes.Length + 1);
        try
        {
            buffer[0] = (byte)NetworkCommand.Raw;
            bytes.CopyTo(buffer.AsSpan(1));
            return Put(peer, id, mode, buffer.AsSpan(0, bytes.Length + 1), null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc cref="SendBytes(ReadOnlySpan{byte}, int, TransferModeEnum)"/>
    public Error SendBytes(byte[] bytes, int id = 0, TransferModeEnum mode = TransferModeEnum.Reliable)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return SendBytes(bytes.AsSpan(), id, mode);
    }

    /// <summary>Godot's <c>rpcp</c>/<c>rsetp</c>: decides the local call and the network send (spec §3.6), then does both.</summary>
    internal Error SendCall(Node node, int target, bool unreliable, bool isSet, string name, ReadOnlySpan<Variant> args)
    {
        LastErrorMessage = null;
        var op = isSet ? "rset" : "rpc";
        var peer = _peer;
        if (peer is null)
        {
            return SendFailed(Error.Unconfigured, op, name, node, NoPeer);
        }

        if (peer.GetConnectionStatus() != ConnectionStatus.Connected)
        {
            return SendFailed(Error.Unconfigured, op, name, node, NotConnected(peer));
        }

        var member = isSet ? node.TypeInfo.FindProperty(name) : node.TypeInfo.FindMethod(name);
        if (member is null && !node.TryGetOverride(isSet, name, out _))
        {
            WarnNotAMember(node, isSet, name);
        }

        var ownId = peer.GetUniqueId();
        var callLocal = false;
        var skipNetwork = false;
        if (target == 0 || target == ownId || (target < 0 && target != -ownId))
        {
            var isMaster = node.GetNetworkMaster() == ownId;
            if (node.TryGetOverride(isSet, member?.WireName ?? name, out var overrideMode))
            {
                callLocal = RpcModeRules.ShouldCallLocal(overrideMode, isMaster, ref skipNetwork);
            }

            // As in Godot: when the override gives no local call, the declared mode is consulted too.
            if (!callLocal && member is not null)
            {
                callLocal = RpcModeRules.ShouldCallLocal(member.Mode, isMaster, ref skipNetwork);
            }
        }

        var result = Error.Ok;
        if (target == ownId)
        {
            if (!callLocal)
            {
                return SendFailed(Error.InvalidParameter, op, name, node, member is null
                    ? $"it is sent to yourself (peer {ownId}) and is not an RPC member of the node here{NameHint(node, isSet, name)}"
                    : $"it is sent to yourself (peer {ownId}) and its mode {member.Mode} does not run it locally; use a sync mode (RemoteSync, MasterSync, PuppetSync) or call the member directly");
            }
        }
        else if (!skipNetwork)
        {
            result = SendToNetwork(peer, node, target, unreliable, isSet, member, name, args);
        }

        if (callLocal)
        {
            var local = CallLocal(node, member!, isSet, ownId, args);
            if (local != Error.Ok)
            {
                result = local;
            }
        }

        return result;
    }

    /// <summary>Godot's <c>_send_rpc</c> (spec §3.4): offers the path where needed and puts the call on the peer.</summary>
    private Error SendToNetwork(NetworkedMultiplayerPeer peer, Node node, int target, bool unreliable, bool isSet, RpcMember? member, string name, ReadOnlySpan<Variant> args)
    {
        if (target != 0 && (target == int.MinValue || !IsConnectedPeer(Math.Abs(target))))
        {
            return SendFailed(Error.DoesNotExist, isSet ? "rset" : "rpc", name, node, $"peer {target} is not connected; target a connected peer (GetNetworkConnectedPeers), 0 for everyone or -id for everyone but id");
        }

        var entry = GetSendPath(node);
        var counters = NodeCounters(node);
        var fullObjects = AllowObjectDecoding || peer.AllowObjectDecoding;
        byte[]? nameBuffer = null;
        ReadOnlySpan<byte> nameUtf8;
        if (member is not null)
        {
            nameUtf8 = member.WireNameUtf8;
        }
        else
        {
            nameBuffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(name.Length));
            nameUtf8 = nameBuffer.AsSpan(0, Encoding.UTF8.GetBytes(name, nameBuffer));
        }

        var baseLength = RpcPacket.HeaderSize + nameUtf8.Length + 1 + (isSet ? 0 : 1);
        foreach (ref readonly var arg in args)
        {
            baseLength += VariantCodec.GetEncodedSize(arg, fullObjects);
        }

        var pathLength = entry.PathUtf8WithNul.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(baseLength + pathLength);
        try
        {
            var span = buffer.AsSpan();
            var pos = RpcPacket.WriteCallHeader(span, isSet ? NetworkCommand.RemoteSet : NetworkCommand.RemoteCall, (uint)entry.Id, nameUtf8);
            if (!isSet)
            {
                span[pos++] = (byte)args.Length;
            }

            foreach (ref readonly var arg in args)
            {
                if (!VariantCodec.TryWrite(arg, span[pos..], out var written, fullObjects))
                {
                    throw new UnreachableException("VariantCodec.TryWrite needed more bytes than GetEncodedSize reported.");
                }

                pos += written;
            }

            Debug.Assert(pos == baseLength, "encoded size mismatch");

            // Offer the path to every selected peer that has not seen it.
            // Index loops: a transport may change the peer set synchronously (a status event) while we put packets.
            var allConfirmed = true;
            for (var i = 0; i < _connectedPeers.Count; i++)
            {
                var p = _connectedPeers[i];
                if (!IsSelected(p, target))
                {
                    continue;
                }

                if (!entry.Confirmed.TryGetValue(p, out var confirmed))
                {
                    Put(peer, p, TransferModeEnum.Reliable, entry.SimplifyPacket, counters);
                    entry.Confirmed[p] = false;
                    allConfirmed = false;
                }
                else if (!confirmed)
                {
                    allConfirmed = false;
                }
            }

            var mode = unreliable ? TransferModeEnum.Unreliable : TransferModeEnum.Reliable;
            Error result;
            if (allConfirmed)
            {
                // One packet; the transport broadcasts or excludes.
                result = Put(peer, target, mode, span[..baseLength], counters);
            }
            else
            {
                // One packet per peer: the cached id where confirmed, the full path elsewhere.
                entry.PathUtf8WithNul.CopyTo(span[baseLength..]);
                result = Error.Ok;
                for (var i = 0; i < _connectedPeers.Count; i++)
                {
                    var p = _connectedPeers[i];
                    if (!IsSelected(p, target))
                    {
                        continue;
                    }

                    Error e;
                    if (entry.Confirmed.TryGetValue(p, out var confirmed) && confirmed)
                    {
                        RpcPacket.WriteTarget(span, (uint)entry.Id);
                        e = Put(peer, p, mode, span[..baseLength], counters);
                    }
                    else
                    {
                        RpcPacket.WriteTarget(span, RpcPacket.FullPathFlag | (uint)baseLength);
                        e = Put(peer, p, mode, span[..(baseLength + pathLength)], counters);
                    }

                    if (result == Error.Ok)
                    {
                        result = e;
                    }
                }
            }

            CountCallOut(isSet, target, counters);
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (nameBuffer is not null)
            {
                ArrayPool<byte>.Shared.Return(nameBuffer);
            }
        }
    }

    /// <summary>Runs a call or set here with this machine as the sender (Godot's local call in <c>rpcp</c>/<c>rsetp</c>).</summary>
    private Error CallLocal(Node node, RpcMember member, bool isSet, int ownId, ReadOnlySpan<Variant> args)
    {
        var saved = _rpcSenderId;
        _rpcSenderId = ownId;
        try
        {
            if (isSet)
            {
                if (!member.Set!(node, args[0]))
                {
                    return LocalBindFailed(node, member, isSet, 0, args[0].Type, args.Length);
                }

                return Error.Ok;
            }

            if (args.Length < member.RequiredCount || args.Length > member.ParameterCount)
            {
                return LocalBindFailed(node, member, isSet, -1, default, args.Length);
            }

            var array = ArrayPool<Variant>.Shared.Rent(Math.Max(1, args.Length));
            int bad;
            try
            {
                args.CopyTo(array);
                bad = member.Invoke!(node, array, args.Length);
            }
            finally
            {
                Array.Clear(array, 0, args.Length);
                ArrayPool<Variant>.Shared.Return(array);
            }

            return bad < 0 ? Error.Ok : LocalBindFailed(node, member, isSet, bad, args[bad].Type, args.Length);
        }
        finally
        {
            _rpcSenderId = saved;
        }
    }

    private Error LocalBindFailed(Node node, RpcMember member, bool isSet, int index, VariantType type, int count)
    {
        Reject(
            new RpcRejection(RpcRejectReason.BadArguments, GetNetworkUniqueId(), 0)
            {
                Command = isSet ? 1 : 0,
                NodePath = node.GetRelativePathFrom(_root),
                Member = member.WireName,
                ArgumentIndex = index,
                ArgumentType = index >= 0 ? type : null,
                ExpectedType = index >= 0 ? member.ParameterTypes[index] : null,
                Value = count,
                Limit = member.ParameterCount,
            },
            node);
        return Error.InvalidParameter;
    }

    /// <summary>The send-cache entry of <paramref name="node"/>'s path, created with the next id on first use. The node
    /// keeps it in its send slot while this API's cache epoch and the version of the node's own tree stay the same.</summary>
    private PathSendEntry GetSendPath(Node node)
    {
        var version = node.TreeVersion;
        if (ReferenceEquals(node.SendSlotApi, this) && node.SendSlotVersion == version && node.SendSlotEpoch == _cacheEpoch)
        {
            return node.SendSlotEntry!;
        }

        SendPathLookups++;
        var path = node.GetRelativePathFrom(_root);
        if (path.Length == 0)
        {
            throw new InvalidOperationException("RPCs and rsets on the MultiplayerAPI's root node cannot be sent: Godot addresses nodes by their path relative to the root, and the root's is empty. Call them on a child node.");
        }

        if (!_pathSendCache.TryGetValue(path, out var entry))
        {
            if (_nextSendCacheId == int.MaxValue)
            {
                throw new InvalidOperationException("All 2^31 path cache ids are used; call Clear() (or reconnect) to start over.");
            }

            entry = new PathSendEntry(_nextSendCacheId++, path);
            _pathSendCache.Add(path, entry);
        }

        node.SendSlotApi = this;
        node.SendSlotVersion = version;
        node.SendSlotEpoch = _cacheEpoch;
        node.SendSlotEntry = entry;
        return entry;
    }

    /// <summary>Sets target and mode, puts one packet, and counts it.</summary>
    private Error Put(NetworkedMultiplayerPeer peer, int target, TransferModeEnum mode, ReadOnlySpan<byte> packet, TrafficCounters? node)
    {
        peer.SetTargetPeer(target);
        peer.TransferMode = mode;
        var result = peer.PutPacket(packet);
        CountOut(target, packet.Length, node);
        if (result != Error.Ok)
        {
            LastErrorMessage = peer.LastErrorMessage ?? $"the network peer refused the packet with {result}";
        }

        return result;
    }

    private const string NoPeer = "no network peer is set; assign NetworkPeer first (a WebSocketClient, NetworkedMultiplayerENet or NetworkedMultiplayerCustom)";

    private static string NotConnected(NetworkedMultiplayerPeer peer) =>
        $"the network peer is {peer.GetConnectionStatus()}, not Connected; call after ConnectedToServer (client) or once the server listens";

    // ", did you mean 'X'? …" when the node has a member whose name nearly matches, else empty.
    private static string NameHint(Node node, bool isSet, string name) =>
        RpcNameHint.Suggest(node.TypeInfo, isSet, name) is { } near
            ? $"; did you mean '{near}'? Wire names are case-sensitive: to answer to '{name}' (a GDScript-style name) give the C# member [Remote(Name = \"{name}\")] or the mode attribute it needs"
            : string.Empty;

    private Error SendFailed(Error error, string operation, string member, Node? node, string why)
    {
        var text = $"{operation} '{member}' on {(node is null ? "-" : node.GetRelativePathFrom(_root))} failed with {error}: {why}";
        LastErrorMessage = text;
        if (_logger.IsEnabled(LogLevel.Warning) && _failureLog.TryTake(out var skipped))
        {
            MultiplayerLog.CallFailed(_logger, text, skipped);
        }

        return error;
    }

    // The call goes out although the node here has no such RPC member (the remote side decides, as in Godot): warn once
    // in a while, with the near match when there is one.
    private void WarnNotAMember(Node node, bool isSet, string name)
    {
        if (_logger.IsEnabled(LogLevel.Warning) && _failureLog.TryTake(out var skipped))
        {
            MultiplayerLog.NotAMember(_logger, isSet ? "an rset property" : "an RPC", name, node.GetRelativePathFrom(_root), NameHint(node, isSet, name), skipped);
        }
    }
}
