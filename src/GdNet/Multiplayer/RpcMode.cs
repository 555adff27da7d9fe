namespace GdNet.Multiplayer;

/// <summary>
/// Godot 3's <c>MultiplayerAPI.RPCMode</c> (spec §3.6), with the same values. Which machine may run an RPC or accept an
/// rset depends on it and on the node's network master; <see cref="RpcModeRules"/> holds the whole table.
/// </summary>
/// <remarks>The deprecated aliases <see cref="Slave"/> (= <see cref="Puppet"/>) and <see cref="Sync"/>
/// (= <see cref="RemoteSync"/>) are kept because Godot 3 still has them.</remarks>
#pragma warning disable CA1069 // Godot's deprecated aliases share the values of their replacements on purpose.
public enum RpcMode
{
    /// <summary>Not callable remotely (the default for any member without an attribute or <c>RpcConfig</c>).</summary>
    Disabled = 0,

    /// <summary>Runs on the remote peers only; any sender is accepted.</summary>
    Remote = 1,

    /// <summary>Runs only on the node's network master; any sender is accepted.</summary>
    Master = 2,

    /// <summary>Runs only on machines that are not the network master, and only when the master sent it.</summary>
    Puppet = 3,

    /// <summary>Deprecated alias of <see cref="Puppet"/>.</summary>
    Slave = 3,

    /// <summary>Like <see cref="Remote"/>, and also runs locally on the caller.</summary>
    RemoteSync = 4,

    /// <summary>Deprecated alias of <see cref="RemoteSync"/>.</summary>
    Sync = 4,

    /// <summary>Like <see cref="Master"/>, and also runs locally on the caller.</summary>
    MasterSync = 5,

    /// <summary>Like <see cref="Puppet"/>, and also runs locally on the caller.</summary>
    PuppetSync = 6,
}
#pragma warning restore CA1069

/// <summary>
/// The mode table of spec §3.6, in one place: which remote calls a machine accepts (receiving side) and whether a call
/// also runs locally and/or goes to the network (sending side).
/// </summary>
public static class RpcModeRules
{
    /// <summary>
    /// Receiving side (Godot's <c>_can_call_mode</c>): may a call or rset from <paramref name="senderId"/> run here?
    /// </summary>
    /// <param name="mode">The member's effective mode (the node's override, else the attribute's).</param>
    /// <param name="localId">This machine's unique id.</param>
    /// <param name="senderId">The peer that sent the call.</param>
    /// <param name="networkMaster">The node's network master.</param>
    /// <remarks><see cref="RpcMode.Master"/> and <see cref="RpcMode.MasterSync"/> do not check the sender, as in Godot.</remarks>
    public static bool CanReceive(RpcMode mode, int localId, int senderId, int networkMaster) => mode switch
    {
        RpcMode.Remote or RpcMode.RemoteSync => true,
        RpcMode.Master or RpcMode.MasterSync => localId == networkMaster,
        RpcMode.Puppet or RpcMode.PuppetSync => localId != networkMaster && senderId == networkMaster,
        _ => false,
    };

    /// <summary>
    /// Sending side (Godot's <c>_should_call_local</c>): whether a call whose target includes the caller runs locally,
    /// and whether the network send is skipped.
    /// </summary>
    /// <param name="mode">The member's mode.</param>
    /// <param name="isMaster">Whether the caller is the node's network master.</param>
    /// <param name="skipNetwork">Set to true when the network send must be skipped (master modes on the master);
    /// left unchanged otherwise.</param>
    /// <returns>True when the call runs locally.</returns>
    public static bool ShouldCallLocal(RpcMode mode, bool isMaster, ref bool skipNetwork)
    {
        switch (mode)
        {
            case RpcMode.Master:
                if (isMaster)
                {
                    skipNetwork = true;
                }

                return isMaster;
            case RpcMode.MasterSync:
                if (isMaster)
                {
                    skipNetwork = true;
                }

                return true;
            case RpcMode.Puppet:
                return !isMaster;
            case RpcMode.RemoteSync:
            case RpcMode.PuppetSync:
                return true;
            default: // Disabled, Remote
                return false;
        }
    }

    /// <summary>True for the values Godot defines (0..6).</summary>
    public static bool IsDefined(RpcMode mode) => mode is >= RpcMode.Disabled and <= RpcMode.PuppetSync;
}
