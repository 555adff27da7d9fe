using System.Globalization;
using System.Text;
using GdNet.Multiplayer;
using GdNet.Variants;

namespace GdNet.Tests.Multiplayer;

/// <summary>Base of the C# copies of the capture project's scripts (shared/godot3/tools/capture): logs what ran.</summary>
public abstract class CaptureNode : Node
{
    public List<string> Log { get; } = [];

    protected void Record(string member, params Variant[] args) =>
        Log.Add($"{Multiplayer?.RootNode.GetPathTo(this)} {member} {Multiplayer?.GetRpcSenderId()} {CaptureScene.Format(args)}");
}

/// <summary>Lobby.gd: untyped GDScript functions and vars, so Variant parameters; GDScript's lower-case wire names.</summary>
public sealed class CaptureLobby : CaptureNode
{
    private Variant _score = 0;
    private Variant _motd = string.Empty;

    [Remote(Name = "score")]
    public Variant Score
    {
        get => _score;
        set
        {
            _score = value;
            Record("rset:score", value);
        }
    }

    [Puppet(Name = "motd")]
    public Variant Motd
    {
        get => _motd;
        set
        {
            _motd = value;
            Record("rset:motd", value);
        }
    }

    [Remote(Name = "ping")]
    public void Ping() => Record("ping");

    [Remote(Name = "ping1")]
    public void Ping1(Variant a) => Record("ping1", a);

    [Remote(Name = "ping3")]
    public void Ping3(Variant a, Variant b, Variant c) => Record("ping3", a, b, c);

    [Remote(Name = "pingv")]
    public void PingV(Variant a, Variant b, Variant c) => Record("pingv", a, b, c);

    [RemoteSync(Name = "sync_call")]
    public void SyncCall(Variant a) => Record("sync_call", a);

    [Puppet(Name = "pong")]
    public void Pong(Variant a) => Record("pong", a);
}

/// <summary>Deep.gd (used by Main/Lobby/Deep and Main/Other).</summary>
public sealed class CaptureDeep : CaptureNode
{
    [Remote(Name = "ping1")]
    public void Ping1(Variant a) => Record("ping1", a);
}

/// <summary>Main.tscn: Main, Main/Lobby, Main/Lobby/Deep, Main/Other.</summary>
public static class CaptureScene
{
    public static Node CreateLobby() => new CaptureLobby();

    /// <summary>Adds Deep and Other to a machine whose Main/Lobby is a <see cref="CaptureLobby"/>.</summary>
    public static Machine Complete(Machine m)
    {
        m.Lobby.AddChild(new CaptureDeep { Name = "Deep" });
        m.Main.AddChild(new CaptureDeep { Name = "Other" });
        return m;
    }

    public static IEnumerable<string> AllLogs(Machine m) =>
        [.. ((CaptureNode)m.Lobby).Log, .. m.Main.GetNode<CaptureDeep>("Lobby/Deep").Log, .. m.Main.GetNode<CaptureDeep>("Other").Log];

    public static readonly int[] ClientSteps = [.. Enumerable.Range(0, 20)];
    public static readonly int[] GapSteps = [20, 21];
    public static readonly int[] ServerSteps = [32, 33, 34, 35, 36, 37];

    /// <summary>The capture's steps (Main.gd's _client_step / GAP_STEPS / _server_step) on a GdNet machine.</summary>
    public static void Act(int step, Machine m, int otherId)
    {
        var lobby = m.Lobby;
        var api = m.Api;
        switch (step)
        {
            case 0:
            case 1: lobby.RpcId(1, "ping"); break;
            case 2: lobby.RpcId(1, "ping1", 42); break;
            case 3: lobby.RpcId(1, "ping3", 7, "hello", new Vector2(1.5f, -2)); break;
            case 4: lobby.RpcId(1, "pingv", new VariantDictionary { ["a"] = 1 }, new VariantArray { 1, "x" }, new NodePath("a:b")); break;
            case 5: lobby.RpcUnreliableId(1, "ping1", 43); break;
            case 6: lobby.Rpc("ping1", 44); break;
            case 7: lobby.RpcUnreliable("ping1", 45); break;
            case 8: lobby.Rpc("sync_call", 46); break;
            case 9: lobby.RsetId(1, "score", 100); break;
            case 10: lobby.Rset("score", 101); break;
            case 11: lobby.RsetUnreliableId(1, "score", 102); break;
            case 12: lobby.RsetUnreliable("score", 103); break;
            case 13: api.SendBytes([1, 2, 3]); break;
            case 14: api.SendBytes([4, 5, 6, 7, 8], 1, GdNet.Peers.TransferModeEnum.Unreliable); break;
            case 15: api.SendBytes([9], 1, GdNet.Peers.TransferModeEnum.UnreliableOrdered); break;
            case 16: lobby.GetNode("Deep").RpcId(1, "ping1", 1); break;
            case 17: lobby.GetNode("Deep").RpcId(1, "ping1", 2); break;
            case 18: lobby.RpcId(1, "ping1", new string('x', 300)); break;
            case 19:
                m.Main.GetNode("Other").RpcId(1, "ping1", 1);
                m.Main.GetNode("Other").RpcId(1, "ping1", 2);
                break;
            case 20: lobby.Rpc("ping1", 50); break;
            case 21: lobby.Rpc("ping1", 51); break;
            case 32: lobby.RpcId(otherId, "pong", 1); break;
            case 33: lobby.RpcId(otherId, "pong", 2); break;
            case 34: lobby.RsetId(otherId, "motd", "hi"); break;
            case 35: lobby.Rpc("pong", 3); break;
            case 36: lobby.RpcUnreliableId(otherId, "pong", 4); break;
            case 37: api.SendBytes([10, 11], otherId); break;
            default: throw new ArgumentOutOfRangeException(nameof(step));
        }
    }

    /// <summary>What the server's nodes log for the client's steps (sender = the client).</summary>
    public static string[] ExpectedServerLog(int client) =>
    [
        $"Main/Lobby ping {client} []",
        $"Main/Lobby ping {client} []",
        $"Main/Lobby ping1 {client} [42]",
        $"Main/Lobby ping3 {client} [7, \"hello\", (1.5, -2)]",
        $"Main/Lobby pingv {client} [{{\"a\": 1}}, [1, \"x\"], a:b]",
        $"Main/Lobby ping1 {client} [43]",
        $"Main/Lobby ping1 {client} [44]",
        $"Main/Lobby ping1 {client} [45]",
        $"Main/Lobby sync_call {client} [46]",
        $"Main/Lobby rset:score {client} [100]",
        $"Main/Lobby rset:score {client} [101]",
        $"Main/Lobby rset:score {client} [102]",
        $"Main/Lobby rset:score {client} [103]",
        $"Main/Lobby ping1 {client} [\"{new string('x', 300)}\"]",
        $"Main/Lobby ping1 {client} [50]",
        $"Main/Lobby ping1 {client} [51]",
        $"Main/Lobby/Deep ping1 {client} [1]",
        $"Main/Lobby/Deep ping1 {client} [2]",
        $"Main/Other ping1 {client} [1]",
        $"Main/Other ping1 {client} [2]",
    ];

    /// <summary>What the client's nodes log: its own local sync_call, then the server's steps.</summary>
    public static string[] ExpectedClientLog(int client) =>
    [
        $"Main/Lobby sync_call {client} [46]",
        "Main/Lobby pong 1 [1]",
        "Main/Lobby pong 1 [2]",
        "Main/Lobby rset:motd 1 [\"hi\"]",
        "Main/Lobby pong 1 [3]",
        "Main/Lobby pong 1 [4]",
    ];

    public static string Format(ReadOnlySpan<Variant> args)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < args.Length; i++)
        {
            sb.Append(i > 0 ? ", " : string.Empty).Append(Format(args[i]));
        }

        return sb.Append(']').ToString();
    }

    public static string Format(Variant v) => v.Type switch
    {
        VariantType.Int => v.AsInt64().ToString(CultureInfo.InvariantCulture),
        VariantType.Real => v.AsDouble().ToString("R", CultureInfo.InvariantCulture),
        VariantType.String => $"\"{v.AsString()}\"",
        VariantType.Vector2 => string.Create(CultureInfo.InvariantCulture, $"({v.AsVector2().X}, {v.AsVector2().Y})"),
        VariantType.NodePath => v.AsNodePath().ToString(),
        VariantType.Array => Format([.. v.AsArray()]),
        VariantType.Dictionary => "{" + string.Join(", ", v.AsDictionary().Select(e => $"{Format(e.Key)}: {Format(e.Value)}")) + "}",
        _ => v.ToString(),
    };
}
