using System.Globalization;
using GdNet.TestSupport;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// Byte-level interop with real Godot 3.2.3 peers (no MultiplayerAPI needed): the handshake, ids, SYS messages and RAW
/// packets (<c>send_bytes</c>, command byte 4) in both directions.
/// </summary>
[Trait("Category", "Interop")]
public class GodotHandshakeInteropTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task GodotClient_JoinsGdNetServer_GetsAssignedIdAndServerPeer()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        await using var godot = GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(30), $"--port={server.LocalPort}", "--timeout=15");

        var pump = PumpWhileAsync(godot.WaitForLineAsync("EVENT connected_to_server", Wait), sp);
        var connected = await pump;

        var id = int.Parse(connected.Split(' ')[2], CultureInfo.InvariantCulture);
        Assert.Equal([id], server.GetPeers());
        Assert.Contains("EVENT peer_connected 1", godot.Lines);
        await PumpUntilAsync(() => sp.Has($"connected {id}"), sp);
    }

    [Fact]
    public async Task GodotClients_TwoJoinGdNetServer_EachSeesTheOther()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        await using var first = GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(30), $"--port={server.LocalPort}", "--timeout=15");
        var firstLine = await PumpWhileAsync(first.WaitForLineAsync("EVENT connected_to_server", Wait), sp);
        await using var second = GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(30), $"--port={server.LocalPort}", "--timeout=15");
        var secondLine = await PumpWhileAsync(second.WaitForLineAsync("EVENT connected_to_server", Wait), sp);
        var firstId = firstLine.Split(' ')[2];
        var secondId = secondLine.Split(' ')[2];

        await PumpWhileAsync(first.WaitForLineAsync("EVENT peer_connected " + secondId, Wait), sp);
        await PumpWhileAsync(second.WaitForLineAsync("EVENT peer_connected " + firstId, Wait), sp);
    }

    [Fact]
    public async Task GodotClient_RawPacketFromGdNetServer_Received()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        await using var godot = GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(30), $"--port={server.LocalPort}", "--timeout=15");
        var connected = await PumpWhileAsync(godot.WaitForLineAsync("EVENT connected_to_server", Wait), sp);
        var id = int.Parse(connected.Split(' ')[2], CultureInfo.InvariantCulture);

        Send(server, id, 4, 0xde, 0xad, 0xbe, 0xef);

        await PumpWhileAsync(godot.WaitForLineAsync("RAW_RECEIVED 1 deadbeef", Wait), sp);
    }

    [Fact]
    public async Task GodotServer_GdNetClientJoins_GetsIdAndRawRoundTrip()
    {
        var (godot, port) = await GodotServers.StartAsync("ws-server", TimeSpan.FromSeconds(30), Wait, "--clients=1", "--timeout=15");
        await using var _godot = godot;
        await using var client = new WebSocketClient();
        var cp = new Probe(client);

        Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{port}"));
        await PumpUntilAsync(() => cp.Has("succeeded"), Wait, cp);
        await PumpWhileAsync(godot.WaitForLineAsync($"EVENT peer_connected {client.GetUniqueId()}", Wait), cp);

        // The Godot lobby greets the new peer with RPCs: the first packet simplifies the path Main/Lobby (command 2, id 1).
        await PumpUntilAsync(() => cp.Packets.Count >= 1, Wait, cp);
        Assert.Equal(1, cp.Packets[0].From);
        Assert.Equal("02010000004d61696e2f4c6f62627900", Convert.ToHexStringLower(cp.Packets[0].Data));

        Send(client, 1, 4, 1, 2, 3, 0xfa);
        await PumpWhileAsync(godot.WaitForLineAsync($"RAW_RECEIVED {client.GetUniqueId()} 010203fa", Wait), cp);
        await PumpUntilAsync(() => cp.Packets.Any(p => p.Data[0] == 4), Wait, cp);
        Assert.Equal("04fa030201", Convert.ToHexStringLower(cp.Packets.First(p => p.Data[0] == 4).Data));
    }

    [Fact]
    public async Task GodotServer_ProcessKilled_ClientReportsServerDisconnected()
    {
        var (godot, port) = await GodotServers.StartAsync("ws-server", TimeSpan.FromSeconds(30), Wait, "--clients=1", "--timeout=15");
        await using var _godot = godot;
        await using var client = new WebSocketClient();
        var cp = new Probe(client);
        client.ConnectToUrl($"ws://127.0.0.1:{port}");
        await PumpUntilAsync(() => cp.Has("succeeded"), Wait, cp);

        // The Godot server process ends (stop() closes every client) once its only client is gone or it times out; here
        // it is simply killed and the connection lost, which must read as a server disconnect, not a failed connection.
        await godot.DisposeAsync();

        await PumpUntilAsync(() => cp.Has("server_disconnected"), Wait, cp);
        Assert.DoesNotContain("failed", cp.Events);
    }

    /// <summary>Keeps pumping the GdNet peers while waiting for a Godot line.</summary>
    private static async Task<string> PumpWhileAsync(Task<string> waiting, params Probe[] probes)
    {
        while (!waiting.IsCompleted)
        {
            foreach (var p in probes)
            {
                p.Pump();
            }

            await Task.WhenAny(waiting, Task.Delay(2));
        }

        return await waiting;
    }
}
