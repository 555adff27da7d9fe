using System.Buffers;
using System.Text;
using GdNet.Peers;
using GdNet.Variants;
using Microsoft.Extensions.Logging;

namespace GdNet.Multiplayer;

public sealed partial class MultiplayerAPI
{
    private const int StackNameChars = 256;
    private readonly StringInternCache _strings = new();

    /// <summary>Godot's <c>_process_packet</c>: one received packet; every failure becomes a rejection (spec §3.5).</summary>
    private void ProcessPacket(NetworkedMultiplayerPeer peer, int sender, ReadOnlySpan<byte> packet)
    {
        CountIn(sender, packet.Length);
        if (packet.IsEmpty)
        {
            Reject(new RpcRejection(RpcRejectReason.TooSmall, sender, 0) { Limit = 1 }, null);
            return;
        }

        if (!IsConnectedPeer(sender))
        {
            Reject(new RpcRejection(RpcRejectReason.UnknownPeer, sender, packet.Length) { Command = packet[0] }, null);
            return;
        }

        switch ((NetworkCommand)packet[0])
        {
            case NetworkCommand.RemoteCall:
                ProcessCall(peer, sender, packet, isSet: false);
                break;
            case NetworkCommand.RemoteSet:
                ProcessCall(peer, sender, packet, isSet: true);
                break;
            case NetworkCommand.SimplifyPath:
                ProcessSimplifyPath(peer, sender, packet);
                break;
            case NetworkCommand.ConfirmPath:
                ProcessConfirmPath(sender, packet);
                break;
            case NetworkCommand.Raw:
                ProcessRaw(sender, packet);
                break;
            default:
                Reject(new RpcRejection(RpcRejectReason.UnknownCommand, sender, packet.Length) { Command = packet[0], Value = packet[0] }, null);
                break;
        }
    }

    private void ProcessCall(NetworkedMultiplayerPeer peer, int sender, ReadOnlySpan<byte> packet, bool isSet)
    {
        int command = packet[0];
        if (packet.Length < RpcPacket.MinCallSize)
        {
            Reject(new RpcRejection(RpcRejectReason.TooSmall, sender, packet.Length) { Command = command, Limit = RpcPacket.MinCallSize }, null);
            return;
        }

        // 1. The node: by full path inside the packet, or by the sender's cache id.
        var target = RpcPacket.ReadTarget(packet);
        Node? node;
        string? cachedPath = null;
        if ((target & RpcPacket.FullPathFlag) != 0)
        {
            var offset = (int)(target & ~RpcPacket.FullPathFlag);
            if (offset >= packet.Length)
            {
                Reject(new RpcRejection(RpcRejectReason.InvalidPathOffset, sender, packet.Length) { Command = command, Value = offset }, null);
                return;
            }

            var pathUtf8 = RpcPacket.ReadPath(packet, offset);
            node = ResolveReceivedPath(pathUtf8);
            if (node is null)
            {
                Reject(new RpcRejection(RpcRejectReason.NodeNotFound, sender, packet.Length) { Command = command, NodePath = Encoding.UTF8.GetString(pathUtf8) }, null);
                return;
            }
        }
        else
        {
            if (!_pathGetCache.TryGetValue(sender, out var cache) || !cache.Entries.TryGetValue((int)target, out var entry))
            {
                Reject(new RpcRejection(RpcRejectReason.UnknownCachedPath, sender, packet.Length) { Command = command, Value = target }, null);
                return;
            }

            cachedPath = entry.Path;
            node = entry.Resolve(_root, ref ReceivePathLookups);
            if (node is null)
            {
                Reject(new RpcRejection(RpcRejectReason.NodeNotFound, sender, packet.Length) { Command = command, NodePath = entry.Path }, null);
                return;
            }
        }

        var counters = NodeCounters(node);
        counters.In(packet.Length);

        // 2. The member name, then what follows it.
        if (!RpcPacket.TryReadCString(packet, RpcPacket.HeaderSize, out var nameUtf8, out var next) || next >= packet.Length)
        {
            Reject(
                new RpcRejection(RpcRejectReason.TooSmall, sender, packet.Length)
                {
                    Command = command,
                    NodePath = cachedPath ?? node.GetRelativePathFrom(_root),
                    Member = next < packet.Length ? Encoding.UTF8.GetString(nameUtf8) : null,
                },
                node);
            return;
        }

        char[]? rented = null;
        var chars = nameUtf8.Length <= StackNameChars
            ? stackalloc char[StackNameChars]
            : (rented = ArrayPool<char>.Shared.Rent(nameUtf8.Length));
        try
        {
            var name = chars[..RpcPacket.DecodeName(nameUtf8, chars)];
            DispatchCall(peer, sender, packet, isSet, node, counters, name, next);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private void DispatchCall(NetworkedMultiplayerPeer peer, int sender, ReadOnlySpan<byte> packet, bool isSet, Node node, TrafficCounters counters, ReadOnlySpan<char> name, int offset)
    {
        int command = packet[0];

        // 3. Exposed, and allowed for this sender?
        var member = isSet ? node.TypeInfo.FindPropertyByWireName(name) : node.TypeInfo.FindMethodByWireName(name);
        var mode = node.TryGetOverride(isSet, name, out var overrideMode) ? overrideMode : member?.Mode ?? RpcMode.Disabled;
        if (member is null || mode == RpcMode.Disabled)
        {
            Reject(new RpcRejection(RpcRejectReason.NotExposed, sender, packet.Length) { Command = command, NodePath = node.GetRelativePathFrom(_root), Member = name.ToString(), Mode = mode, NodeTypeInfo = node.TypeInfo }, node);
            return;
        }

        var localId = peer.GetUniqueId();
        if (!RpcModeRules.CanReceive(mode, localId, sender, node.GetNetworkMaster()))
        {
            Reject(
                new RpcRejection(RpcRejectReason.ForbiddenByMode, sender, packet.Length)
                {
                    Command = command,
                    NodePath = node.GetRelativePathFrom(_root),
                    Member = member.WireName,
                    Mode = mode,
                    NetworkMaster = node.GetNetworkMaster(),
                },
                node);
            return;
        }

        // 4. Arguments.
        var options = new VariantReadOptions { AllowObjects = AllowObjectDecoding || peer.AllowObjectDecoding };
        if (isSet)
        {
            if (!TryDecode(packet, ref offset, options, sender, node, member, 0, out var value))
            {
                return;
            }

            bool applied;
            try
            {
                applied = member.Set!(node, value);
            }
#pragma warning disable CA1031 // a throwing rset target is reported, not propagated into the game loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Reject(HandlerThrew(sender, packet.Length, command, node, member, ex), node);
                return;
            }

            if (!applied)
            {
                Reject(BadArgument(sender, packet.Length, command, node, member, 0, value.Type, 1), node);
                return;
            }

            CountIn(isSet: true, sender, counters);
            return;
        }

        int argc = packet[offset++];
        var args = ArrayPool<Variant>.Shared.Rent(Math.Max(argc, 1));
        try
        {
            for (var i = 0; i < argc; i++)
            {
                if (!TryDecode(packet, ref offset, options, sender, node, member, i, out args[i]))
                {
                    return;
                }
            }

            if (argc < member.RequiredCount || argc > member.ParameterCount)
            {
                Reject(BadArgument(sender, packet.Length, command, node, member, -1, default, argc), node);
                return;
            }

            int bad;
            try
            {
                bad = member.Invoke!(node, args, argc);
            }
#pragma warning disable CA1031 // a throwing handler is reported, not propagated into the game loop
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Reject(HandlerThrew(sender, packet.Length, command, node, member, ex), node);
                return;
            }

            if (bad >= 0)
            {
                Reject(BadArgument(sender, packet.Length, command, node, member, bad, args[bad].Type, argc), node);
                return;
            }

            CountIn(isSet: false, sender, counters);
        }
        finally
        {
            Array.Clear(args, 0, argc);
            ArrayPool<Variant>.Shared.Return(args);
        }
    }

    private bool TryDecode(ReadOnlySpan<byte> packet, ref int offset, in VariantReadOptions options, int sender, Node node, RpcMember member, int index, out Variant value)
    {
        if (_strings.TryRead(packet[offset..], out value, out var consumed)
            || VariantCodec.TryRead(packet[offset..], options, out value, out consumed, out var error))
        {
            offset += consumed;
            return true;
        }

        var reason = error.Reason == VariantErrorReason.ObjectsNotAllowed ? RpcRejectReason.ObjectsNotAllowed : RpcRejectReason.UndecodableArgument;
        Reject(
            new RpcRejection(reason, sender, packet.Length)
            {
                Command = packet[0],
                NodePath = node.GetRelativePathFrom(_root),
                Member = member.WireName,
                ArgumentIndex = index,
                DecodeError = error,
                Value = offset,
            },
            node);
        return false;
    }

    private RpcRejection BadArgument(int sender, int size, int command, Node node, RpcMember member, int index, VariantType type, int count) =>
        new(RpcRejectReason.BadArguments, sender, size)
        {
            Command = command,
            NodePath = node.GetRelativePathFrom(_root),
            Member = member.WireName,
            ArgumentIndex = index,
            ArgumentType = index >= 0 ? type : null,
            ExpectedType = index >= 0 ? member.ParameterTypes[index] : null,
            Value = count,
            Limit = member.ParameterCount,
        };

    private RpcRejection HandlerThrew(int sender, int size, int command, Node node, RpcMember member, Exception ex) =>
        new(RpcRejectReason.HandlerThrew, sender, size)
        {
            Command = command,
            NodePath = node.GetRelativePathFrom(_root),
            Member = member.WireName,
            Exception = ex,
        };

    private Node? ResolveReceivedPath(ReadOnlySpan<byte> pathUtf8)
    {
        char[]? rented = null;
        var chars = pathUtf8.Length <= StackNameChars
            ? stackalloc char[StackNameChars]
            : (rented = ArrayPool<char>.Shared.Rent(pathUtf8.Length));
        try
        {
            return _root.ResolvePath(chars[..RpcPacket.DecodeName(pathUtf8, chars)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>SIMPLIFY_PATH: remember the sender's id for a path and confirm it (spec §3.4).</summary>
    private void ProcessSimplifyPath(NetworkedMultiplayerPeer peer, int sender, ReadOnlySpan<byte> packet)
    {
        if (packet.Length < RpcPacket.MinSimplifySize)
        {
            Reject(new RpcRejection(RpcRejectReason.TooSmall, sender, packet.Length) { Command = packet[0], Limit = RpcPacket.MinSimplifySize }, null);
            return;
        }

        var id = (int)RpcPacket.ReadTarget(packet);
        var utf8 = RpcPacket.ReadPath(packet, RpcPacket.HeaderSize);
        if (!_pathGetCache.TryGetValue(sender, out var cache))
        {
            _pathGetCache[sender] = cache = new PeerPathCache();
        }

        // Bounded by entries and by bytes (per peer and in all), checked before the path is decoded: a refused path costs nothing.
        var cost = PathReceiveEntry.Overhead + 2L * utf8.Length;
        var replaced = cache.Entries.TryGetValue(id, out var old) ? old.Cost : 0;
        var (limit, bound) = replaced == 0 && cache.Entries.Count >= MaxPathCacheEntriesPerPeer ? (MaxPathCacheEntriesPerPeer, nameof(MaxPathCacheEntriesPerPeer))
            : cache.Bytes - replaced + cost > MaxPathCacheBytesPerPeer ? (MaxPathCacheBytesPerPeer, nameof(MaxPathCacheBytesPerPeer))
            : _pathGetCacheBytes - replaced + cost > MaxPathCacheBytesTotal ? (MaxPathCacheBytesTotal, nameof(MaxPathCacheBytesTotal))
            : (0L, null);
        if (bound is not null)
        {
            Reject(new RpcRejection(RpcRejectReason.PathCacheFull, sender, packet.Length) { Command = packet[0], Value = (uint)id, Limit = limit, Bound = bound }, null);
            return;
        }

        var path = new NodePath(Encoding.UTF8.GetString(utf8)).ToString();
        cache.Entries[id] = new PathReceiveEntry(path, cost);
        cache.Bytes += cost - replaced;
        _pathGetCacheBytes += cost - replaced;
        Put(peer, sender, TransferModeEnum.Reliable, RpcPacket.BuildConfirmPath(path), null);
    }

    /// <summary>CONFIRM_PATH: the sender now knows our id for that path.</summary>
    private void ProcessConfirmPath(int sender, ReadOnlySpan<byte> packet)
    {
        if (packet.Length < RpcPacket.MinConfirmSize)
        {
            Reject(new RpcRejection(RpcRejectReason.TooSmall, sender, packet.Length) { Command = packet[0], Limit = RpcPacket.MinConfirmSize }, null);
            return;
        }

        var path = Encoding.UTF8.GetString(RpcPacket.ReadPath(packet, 1));
        if (!_pathSendCache.TryGetValue(path, out var entry) || !entry.Confirmed.ContainsKey(sender))
        {
            Reject(new RpcRejection(RpcRejectReason.UnknownPathConfirmation, sender, packet.Length) { Command = packet[0], NodePath = path }, null);
            return;
        }

        entry.Confirmed[sender] = true;
    }

    /// <summary>RAW: hand the bytes after the command to <see cref="NetworkPeerPacket"/>.</summary>
    private void ProcessRaw(int sender, ReadOnlySpan<byte> packet)
    {
        if (packet.Length < RpcPacket.MinRawSize)
        {
            Reject(new RpcRejection(RpcRejectReason.TooSmall, sender, packet.Length) { Command = packet[0], Limit = RpcPacket.MinRawSize }, null);
            return;
        }

        var handler = NetworkPeerPacket;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(sender, packet[1..]);
        }
#pragma warning disable CA1031 // a throwing event handler is reported, not propagated into the game loop
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Reject(new RpcRejection(RpcRejectReason.HandlerThrew, sender, packet.Length) { Command = packet[0], Member = nameof(NetworkPeerPacket), Exception = ex }, null);
        }
    }

    /// <summary>Counts, logs and raises a rejection. A throwing <see cref="RpcRejected"/> handler is only logged.</summary>
    private void Reject(RpcRejection rejection, Node? node)
    {
        CountRejection(rejection, node);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            MultiplayerLog.Rejected(_logger, rejection.Reason, rejection.PeerId, rejection.Detail);
        }

        var handler = RpcRejected;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(rejection);
        }
#pragma warning disable CA1031 // the rejection event must not break the loop either
        catch (Exception ex)
#pragma warning restore CA1031
        {
            MultiplayerLog.RejectedHandlerThrew(_logger, ex);
        }
    }
}
