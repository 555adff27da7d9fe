using GdNet.Variants;

namespace GdNet.Multiplayer;

public partial class Node
{
    private int _networkMaster = 1;
    private Dictionary<string, RpcMode>? _rpcConfig;
    private Dictionary<string, RpcMode>? _rsetConfig;

    // Send-side path cache slot (MultiplayerAPI.Send.cs): valid while api, tree version and cache epoch match.
    internal MultiplayerAPI? SendSlotApi;
    internal long SendSlotVersion;
    internal int SendSlotEpoch;
    internal PathSendEntry? SendSlotEntry;

    // Statistics slot (MultiplayerAPI.Stats.cs).
    internal MultiplayerAPI? StatsSlotApi;
    internal TrafficCounters? StatsSlotCounters;
    internal int StatsSlotEpoch;

    /// <summary>
    /// Sets the node's network master (Godot's <c>set_network_master</c>); with <paramref name="recursive"/> also that of
    /// its current descendants. Children added later keep their own master (1 by default), as in Godot.
    /// </summary>
    public void SetNetworkMaster(int id, bool recursive = true)
    {
        _networkMaster = id;
        if (recursive && _children is not null)
        {
            foreach (var c in _children)
            {
                c.SetNetworkMaster(id, true);
            }
        }
    }

    /// <summary>The node's network master (Godot's <c>get_network_master</c>); 1 (the server) by default.</summary>
    public int GetNetworkMaster() => _networkMaster;

    /// <summary>
    /// True when this machine is the node's network master: its <see cref="Multiplayer"/> unique id equals
    /// <see cref="GetNetworkMaster"/>. False when the node has no <see cref="MultiplayerAPI"/>.
    /// </summary>
    public bool IsNetworkMaster() => Multiplayer is { } api && api.GetNetworkUniqueId() == _networkMaster;

    /// <summary>
    /// Overrides the RPC mode of <paramref name="method"/> on this node only (Godot's <c>rpc_config</c>);
    /// <see cref="RpcMode.Disabled"/> removes the override. The override wins over the attribute on the receiving side.
    /// A method without an attribute becomes callable this way (its wire name is its C# name).
    /// </summary>
    /// <exception cref="ArgumentException">The type has no such method, or several overloads of it.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not one of Godot's modes.</exception>
    public void RpcConfig(string method, RpcMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        CheckMode(mode);
        var member = TypeInfo.GetOrAddMethod(method);
        Configure(ref _rpcConfig, member.WireName, mode);
    }

    /// <summary>
    /// Overrides the rset mode of <paramref name="property"/> (a property or field) on this node only (Godot's
    /// <c>rset_config</c>); <see cref="RpcMode.Disabled"/> removes the override.
    /// </summary>
    /// <exception cref="ArgumentException">The type has no such property or field.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not one of Godot's modes.</exception>
    public void RsetConfig(string property, RpcMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(property);
        CheckMode(mode);
        var member = TypeInfo.GetOrAddProperty(property);
        Configure(ref _rsetConfig, member.WireName, mode);
    }

    /// <summary>The mode a remote call of <paramref name="method"/> is checked against here: this node's override, else
    /// the attribute's, else <see cref="RpcMode.Disabled"/>.</summary>
    public RpcMode GetRpcMode(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var member = TypeInfo.FindMethod(method);
        var wire = member?.WireName ?? method;
        return _rpcConfig is not null && _rpcConfig.TryGetValue(wire, out var m) ? m : member?.Mode ?? RpcMode.Disabled;
    }

    /// <summary>The mode a remote set of <paramref name="property"/> is checked against here (see <see cref="GetRpcMode"/>).</summary>
    public RpcMode GetRsetMode(string property)
    {
        ArgumentNullException.ThrowIfNull(property);
        var member = TypeInfo.FindProperty(property);
        var wire = member?.WireName ?? property;
        return _rsetConfig is not null && _rsetConfig.TryGetValue(wire, out var m) ? m : member?.Mode ?? RpcMode.Disabled;
    }

    /// <summary>The override for a wire name, if any.</summary>
    internal bool TryGetOverride(bool isSet, ReadOnlySpan<char> wireName, out RpcMode mode)
    {
        var table = isSet ? _rsetConfig : _rpcConfig;
        if (table is not null && table.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(wireName, out mode))
        {
            return true;
        }

        mode = RpcMode.Disabled;
        return false;
    }

    /// <summary>
    /// Calls <paramref name="method"/> on this node on every peer (Godot's <c>rpc</c>), reliably; it also runs here when
    /// the mode says so (sync modes; <c>master</c> on the master, <c>puppet</c> on a puppet). Arguments are Variants:
    /// <c>Rpc("Chat", 7, "hi")</c> converts implicitly without allocating.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>; <see cref="Error.Unconfigured"/> when the node has no API, the API no peer, or the
    /// peer is not connected (nothing happens); <see cref="Error.InvalidParameter"/> when a local call's arguments do not
    /// bind (the network send has happened).</returns>
    /// <exception cref="ArgumentException"><paramref name="method"/> is null or empty, or more than 255 arguments.</exception>
    /// <exception cref="InvalidOperationException">This node is the API's root node (Godot cannot address it).</exception>
    public Error Rpc(string method, params ReadOnlySpan<Variant> args) => CallCore(0, unreliable: false, method, args);

    /// <summary>
    /// Calls <paramref name="method"/> on peer <paramref name="peerId"/> only (Godot's <c>rpc_id</c>); a negative id means
    /// every peer except −id. <c>RpcId(own id)</c> never sends and runs locally if the mode allows it.
    /// </summary>
    /// <returns>As <see cref="Rpc"/>, plus <see cref="Error.DoesNotExist"/> when the target is not a connected peer
    /// (nothing is sent, but an allowed local call still runs) and <see cref="Error.InvalidParameter"/> for
    /// <c>RpcId(own id)</c> when the mode gives no local call.</returns>
    /// <exception cref="ArgumentException"><paramref name="method"/> is null or empty, or more than 255 arguments.</exception>
    /// <exception cref="InvalidOperationException">This node is the API's root node.</exception>
    public Error RpcId(int peerId, string method, params ReadOnlySpan<Variant> args) => CallCore(peerId, unreliable: false, method, args);

    /// <summary>Like <see cref="Rpc"/>, sent unreliably (Godot's <c>rpc_unreliable</c>).</summary>
    public Error RpcUnreliable(string method, params ReadOnlySpan<Variant> args) => CallCore(0, unreliable: true, method, args);

    /// <summary>Like <see cref="RpcId"/>, sent unreliably (Godot's <c>rpc_unreliable_id</c>).</summary>
    public Error RpcUnreliableId(int peerId, string method, params ReadOnlySpan<Variant> args) => CallCore(peerId, unreliable: true, method, args);

    /// <summary>Sets <paramref name="property"/> on every peer (Godot's <c>rset</c>), and here when the mode says so.</summary>
    /// <returns>As <see cref="Rpc"/>.</returns>
    public Error Rset(string property, Variant value) => SetCore(0, unreliable: false, property, value);

    /// <summary>Sets <paramref name="property"/> on one peer (or all but −id) (Godot's <c>rset_id</c>).</summary>
    /// <returns>As <see cref="RpcId"/>.</returns>
    public Error RsetId(int peerId, string property, Variant value) => SetCore(peerId, unreliable: false, property, value);

    /// <summary>Like <see cref="Rset"/>, sent unreliably.</summary>
    public Error RsetUnreliable(string property, Variant value) => SetCore(0, unreliable: true, property, value);

    /// <summary>Like <see cref="RsetId"/>, sent unreliably.</summary>
    public Error RsetUnreliableId(int peerId, string property, Variant value) => SetCore(peerId, unreliable: true, property, value);

    private Error CallCore(int peerId, bool unreliable, string method, ReadOnlySpan<Variant> args)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        if (args.Length > RpcPacket.MaxArguments)
        {
            throw new ArgumentException($"An RPC carries at most {RpcPacket.MaxArguments} arguments, not {args.Length}; pass a VariantArray instead.", nameof(args));
        }

        return Multiplayer is { } api ? api.SendCall(this, peerId, unreliable, isSet: false, method, args) : Error.Unconfigured;
    }

    private Error SetCore(int peerId, bool unreliable, string property, Variant value)
    {
        ArgumentException.ThrowIfNullOrEmpty(property);
        return Multiplayer is { } api ? api.SendCall(this, peerId, unreliable, isSet: true, property, new ReadOnlySpan<Variant>(in value)) : Error.Unconfigured;
    }

    private static void CheckMode(RpcMode mode)
    {
        if (!RpcModeRules.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use one of the RpcMode values 0 (Disabled) to 6 (PuppetSync).");
        }
    }

    private static void Configure(ref Dictionary<string, RpcMode>? table, string wireName, RpcMode mode)
    {
        if (mode == RpcMode.Disabled)
        {
            table?.Remove(wireName);
            return;
        }

        table ??= new Dictionary<string, RpcMode>(StringComparer.Ordinal);
        table[wireName] = mode;
    }
}
