using GdNet.Multiplayer;
using GdNet.Variants;

namespace GdNet.Fuzz;

/// <summary>
/// A node with RPCs and rsets of every mode (remote, master, puppet, remotesync, mastersync, puppetsync) and parameters
/// of every bindable kind, so that the receive path reaches mode checks, argument binding and handlers. Handlers only
/// count; <see cref="Throws"/> throws, which the API must report as a rejection, not propagate.
/// </summary>
internal class FuzzNode : Node
{
    public int Calls { get; private set; }

    private void Hit() => Calls++;

    [Remote] public void Ping() => Hit();
    [Remote] public void Echo(int n, string s) => Hit();
    [Remote] public void Optional(int a, int b = 5) => Hit();
    [Remote] public void Any(Variant v) => Hit();
    [Remote] public void Throws() => throw new InvalidOperationException($"handler failure after {Calls} calls (expected: the API reports it)");
    [Remote] public void Numbers(long l, float f, double d, bool b, byte u8, short s16, uint u32, ulong u64, sbyte i8) => Hit();
    [Remote] public void Maths(Vector2 a, Vector3 b, Rect2 c, Transform2D d, Plane e, Quat f, AABB g, Basis h, Transform i, Color j) => Hit();
    [Remote] public void Refs(NodePath p, VariantArray a, VariantDictionary d, RID r, ObjectData? o, EncodedObjectAsId? id) => Hit();
    [Remote] public void Pools(byte[] a, int[] b, float[] c, string[] d, Vector2[] e, Vector3[] f, Color[] g) => Hit();
    [Remote] public void Mixed(RpcMode mode, int? maybe, string? text = null) => Hit();

    public void DoDisabled() => Hit();

    [Remote] public void DoRemote() => Hit();
    [RemoteSync] public void DoRemoteSync() => Hit();
    [Master] public void DoMaster() => Hit();
    [MasterSync] public void DoMasterSync() => Hit();
    [Puppet] public void DoPuppet() => Hit();
    [PuppetSync] public void DoPuppetSync() => Hit();

    [Remote(Name = "welcome")] public void Welcome(int id, string server) => Hit();
    [Remote(Name = "ping1")] public void Ping1(Variant a) => Hit();
    [Remote(Name = "ping3")] public void Ping3(Variant a, Variant b, Variant c) => Hit();
    [RemoteSync(Name = "sync_call")] public void SyncCall(Variant a) => Hit();
    [Puppet(Name = "pong")] public void Pong(Variant a) => Hit();

    [Remote] public int Score { get; set; }
    [Remote(Name = "score")] public Variant LowerScore { get; set; }
    [Puppet(Name = "motd")] public string Motd { get; set; } = string.Empty;
    [RemoteSync] public Vector2 Position = new(1, 2);
    [Master] public float Speed { get; set; }
    [MasterSync] public VariantArray? Items { get; set; }
    [PuppetSync] public byte[]? Blob { get; set; }

    [Remote]
    public string Checked
    {
        get => field;
        set => field = value.Length <= 64 ? value : throw new ArgumentException("too long (expected: the API reports it)");
    } = string.Empty;

    public string Hidden { get; set; } = string.Empty;
}

/// <summary>A second node type (deep in the tree), with per-node overrides (rpc_config / rset_config).</summary>
internal sealed class FuzzDeep : FuzzNode
{
    public void Configured() => ConfiguredValue++;

    public int ConfiguredValue { get; set; }
}

/// <summary>The scene both multiplayer targets build: <c>Main</c>, <c>Main/Lobby</c> (master: the server),
/// <c>Main/Puppet</c> (master: peer <see cref="MultiplayerReceiveTarget.Client"/>), <c>Main/Lobby/Deep</c> (overrides)
/// and <c>Main/Other</c>.</summary>
internal static class FuzzScene
{
    public static void Build(MultiplayerAPI api, int puppetMaster)
    {
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);
        var lobby = new FuzzNode { Name = "Lobby" };
        main.AddChild(lobby);
        var puppet = new FuzzNode { Name = "Puppet" };
        main.AddChild(puppet);
        puppet.SetNetworkMaster(puppetMaster);
        var deep = new FuzzDeep { Name = "Deep" };
        lobby.AddChild(deep);
        deep.RpcConfig(nameof(FuzzDeep.Configured), RpcMode.Puppet);
        deep.RpcConfig(nameof(FuzzNode.DoRemote), RpcMode.Disabled);
        deep.RpcConfig(nameof(FuzzNode.DoMaster), RpcMode.Remote);
        deep.RsetConfig(nameof(FuzzDeep.ConfiguredValue), RpcMode.RemoteSync);
        main.AddChild(new Node { Name = "Other" });
    }
}
