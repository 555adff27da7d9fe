namespace GdNet.Multiplayer;

/// <summary>
/// Base of the RPC mode attributes (<see cref="RemoteAttribute"/>, <see cref="MasterAttribute"/>, …), as in Godot 3's
/// C# API. Put one on a method of a <see cref="Node"/> subclass to make it callable with <c>Rpc*</c>, or on a field or
/// property to make it settable with <c>Rset*</c>.
/// </summary>
/// <remarks>
/// <para>The name on the wire is the member's C# name unless <see cref="Name"/> says otherwise, e.g.
/// <c>[Puppet(Name = "welcome")] void Welcome(int id, string server)</c> to talk to a Godot peer whose GDScript method
/// is <c>welcome</c>. Wire names are case-sensitive.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public abstract class RpcAttribute : Attribute
{
    private protected RpcAttribute()
    {
    }

    /// <summary>The mode this attribute declares.</summary>
    public abstract RpcMode Mode { get; }

    /// <summary>The method or property name used on the wire; null means the C# name.</summary>
    public string? Name { get; set; }
}

/// <summary>GDScript <c>remote</c>: runs on remote peers; any sender is accepted.</summary>
public sealed class RemoteAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.Remote;
}

/// <summary>GDScript <c>remotesync</c>: runs on remote peers and locally.</summary>
public sealed class RemoteSyncAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.RemoteSync;
}

/// <summary>GDScript <c>master</c>: runs only on the node's network master.</summary>
public sealed class MasterAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.Master;
}

/// <summary>GDScript <c>mastersync</c>: runs on the network master, and locally on the caller.</summary>
public sealed class MasterSyncAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.MasterSync;
}

/// <summary>GDScript <c>puppet</c>: runs on non-master machines, only when sent by the network master.</summary>
public sealed class PuppetAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.Puppet;
}

/// <summary>GDScript <c>puppetsync</c>: like <see cref="PuppetAttribute"/>, and also runs locally on the caller.</summary>
public sealed class PuppetSyncAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.PuppetSync;
}

/// <summary>Deprecated GDScript <c>sync</c>: the same as <see cref="RemoteSyncAttribute"/>.</summary>
[Obsolete("Use [RemoteSync]; [Sync] is Godot's deprecated alias of remotesync.")]
public sealed class SyncAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.RemoteSync;
}

/// <summary>Deprecated GDScript <c>slave</c>: the same as <see cref="PuppetAttribute"/>.</summary>
[Obsolete("Use [Puppet]; [Slave] is Godot's deprecated alias of puppet.")]
public sealed class SlaveAttribute : RpcAttribute
{
    public override RpcMode Mode => RpcMode.Puppet;
}
