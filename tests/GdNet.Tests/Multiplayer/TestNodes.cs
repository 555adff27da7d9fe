using GdNet.Multiplayer;
using GdNet.Variants;

namespace GdNet.Tests.Multiplayer;

/// <summary>A node with one member per mode, recording what ran and who sent it.</summary>
public class TestLobby : Node
{
    public List<string> Calls { get; } = [];

    public void Record(string what) => Calls.Add($"{what} from {Multiplayer?.GetRpcSenderId()}");

    [Remote]
    public void Ping() => Record("Ping");

    [Remote]
    public void Echo(int n, string s) => Record($"Echo({n},{s})");

    [Remote]
    public void Optional(int a, int b = 5) => Record($"Optional({a},{b})");

    [Remote]
    public void Any(Variant v) => Record($"Any({v.Type})");

    [Remote]
    public void Throws() => throw new InvalidOperationException("boom");

    public void DoDisabled() => Record("DoDisabled");

    [Remote]
    public void DoRemote() => Record("DoRemote");

    [RemoteSync]
    public void DoRemoteSync() => Record("DoRemoteSync");

    [Master]
    public void DoMaster() => Record("DoMaster");

    [MasterSync]
    public void DoMasterSync() => Record("DoMasterSync");

    [Puppet]
    public void DoPuppet() => Record("DoPuppet");

    [PuppetSync]
    public void DoPuppetSync() => Record("DoPuppetSync");

    [Remote(Name = "welcome")]
    public void Welcome(int id, string server) => Record($"welcome({id},{server})");

    public void NotAnRpc() => Record("NotAnRpc");

    [Remote]
    public int Score { get; set; }

    [Puppet(Name = "motd")]
    public string Motd { get; set; } = string.Empty;

    [RemoteSync]
    public Vector2 Position;

    public string Hidden { get; set; } = string.Empty;
}
