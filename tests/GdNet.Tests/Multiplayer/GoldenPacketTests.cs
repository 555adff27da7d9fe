using System.Text.Json;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// shared/godot3/vectors/rpc-packets.json: each capture's scenario replayed three ways, every MultiplayerAPI payload
/// compared byte for byte (NodePath padding zeroed, as the vectors' README says a C# encoder should write it):
/// GdNet client and server over LocalNetwork; Godot's client bytes into a GdNet server; Godot's server bytes into a
/// GdNet client.
/// </summary>
public class GoldenPacketTests
{
    public sealed record Captured(string Dir, int? Step, string Hex, string RawHex, int From, int To, TransferModeEnum? Mode, string ProducedBy);

    public sealed record Capture(string Transport, int ClientId, int SecondClientId, IReadOnlyList<Captured> Packets)
    {
        public IEnumerable<Captured> At(int step, string dir) => Packets.Where(p => p.Step == step && p.Dir == dir);
    }

    private static readonly Lazy<Dictionary<string, Capture>> Captures = new(Load);

    public static TheoryData<string> Transports => ["websocket", "enet"];

    private static Dictionary<string, Capture> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Paths.SharedFile("godot3/vectors/rpc-packets.json")));
        var result = new Dictionary<string, Capture>();
        foreach (var c in doc.RootElement.GetProperty("captures").EnumerateArray())
        {
            var packets = new List<Captured>();
            foreach (var p in c.GetProperty("packets").EnumerateArray())
            {
                if (!p.TryGetProperty("payload_hex", out var raw))
                {
                    continue; // transport system messages
                }

                var th = p.GetProperty("transport_header");
                var header = th.TryGetProperty("gd_mp_api_header", out var ws) ? ws : th.GetProperty("godot_enet_header");
                TransferModeEnum? mode = th.TryGetProperty("enet_command", out var cmd)
                    ? cmd.GetString() switch
                    {
                        "SEND_RELIABLE" => TransferModeEnum.Reliable,
                        "SEND_UNSEQUENCED" => TransferModeEnum.Unreliable,
                        "SEND_UNRELIABLE" => TransferModeEnum.UnreliableOrdered,
                        _ => null,
                    }
                    : null;
                var hex = p.TryGetProperty("payload_hex_zero_padding", out var z) ? z.GetString()! : raw.GetString()!;
                packets.Add(new Captured(
                    p.GetProperty("dir").GetString()!,
                    p.GetProperty("after_step").ValueKind == JsonValueKind.Null ? null : p.GetProperty("after_step").GetInt32(),
                    hex,
                    raw.GetString()!,
                    header.GetProperty("from").GetInt32(),
                    header.GetProperty("to").GetInt32(),
                    mode,
                    p.GetProperty("produced_by").GetString()!));
            }

            var ids = c.GetProperty("ids");
            var transport = c.GetProperty("transport").GetString()!;
            result[transport] = new Capture(transport, ids.GetProperty("client").GetInt32(), ids.GetProperty("second_client").GetInt32(), packets);
        }

        return result;
    }

    private sealed record Produced(int Step, string Dir, string Hex, TransferModeEnum Mode);

    private static Machine CaptureMachine(NetworkedMultiplayerCustom peer) => CaptureScene.Complete(new Machine(peer, CaptureScene.CreateLobby));

    private static void AssertStep(Capture capture, int step, string dir, IEnumerable<(string Hex, TransferModeEnum Mode)> actual, Func<Captured, bool>? filter = null)
    {
        var expected = capture.At(step, dir).Where(filter ?? (_ => true)).ToList();
        var got = actual.ToList();
        Assert.True(
            expected.Select(e => e.Hex).SequenceEqual(got.Select(g => g.Hex)),
            $"{capture.Transport} step {step} {dir}:\nexpected {string.Join("\n         ", expected.Select(e => e.Hex))}\nactual   {string.Join("\n         ", got.Select(g => g.Hex))}");
        foreach (var (e, g) in expected.Zip(got))
        {
            if (e.Mode is { } mode)
            {
                Assert.True(mode == g.Mode, $"{capture.Transport} step {step} {dir} {e.Hex}: mode {g.Mode}, Godot used {mode} ({e.ProducedBy})");
            }
        }
    }

    // ---- 1. GdNet client and GdNet server over LocalNetwork --------------------------------------------------------

    [Theory]
    [MemberData(nameof(Transports))]
    public void LocalNetwork_Scenario_EveryPayloadMatchesCapture(string transport)
    {
        var capture = Captures.Value[transport];
        using var network = new LocalNetwork(seed: 3);
        var log = new List<(Machine From, SentPacket Packet)>();
        var server = CaptureMachine(network.CreateServer());
        var client = CaptureMachine(network.CreateClient());
        Machine? second = null;
        var step = -1;
        var produced = new List<Produced>();

        void Pump()
        {
            for (var i = 0; i < 50; i++)
            {
                network.RunUntilIdle(TimeSpan.FromSeconds(1));
                foreach (var m in new[] { server, client, second })
                {
                    m?.Api.Poll();
                }

                if (network.PacketsInFlight == 0)
                {
                    break;
                }
            }
        }

        void Track(Machine m, bool isClient)
        {
            m.Peer.PacketGenerated += (target, packet, mode) =>
            {
                var toClient = target == 0 || target == client.Id || (target < 0 && target != -client.Id);
                if (isClient)
                {
                    produced.Add(new Produced(step, "c2s", Convert.ToHexStringLower(packet), mode));
                }
                else if (toClient)
                {
                    produced.Add(new Produced(step, "s2c", Convert.ToHexStringLower(packet), mode));
                }
            };
        }

        Track(server, isClient: false);
        Track(client, isClient: true);
        Pump();
        foreach (var s in CaptureScene.ClientSteps)
        {
            step = s;
            CaptureScene.Act(s, client, 1);
            Pump();
        }

        second = CaptureMachine(network.CreateClient());
        Track(second, isClient: false);
        Pump();
        step = 20;
        CaptureScene.Act(20, client, 1);
        Pump();
        network.Disconnect(second.Peer);
        second = null;
        Pump();
        step = 21;
        CaptureScene.Act(21, client, 1);
        Pump();
        foreach (var s in CaptureScene.ServerSteps)
        {
            step = s;
            CaptureScene.Act(s, server, client.Id);
            Pump();
        }

        int[] allSteps = [.. CaptureScene.ClientSteps, .. CaptureScene.GapSteps, .. CaptureScene.ServerSteps];
        Assert.All(capture.Packets, p => Assert.Contains(p.Step ?? -1, allSteps)); // every captured payload is compared
        foreach (var s in allSteps)
        {
            foreach (var dir in new[] { "c2s", "s2c" })
            {
                AssertStep(capture, s, dir, produced.Where(p => p.Step == s && p.Dir == dir).Select(p => (p.Hex, p.Mode)));
            }
        }

        Assert.Equal(CaptureScene.ExpectedServerLog(client.Id).Order(), CaptureScene.AllLogs(server).Order());
        Assert.Equal(CaptureScene.ExpectedClientLog(client.Id), CaptureScene.AllLogs(client));
        Assert.Empty(server.Rejections.Concat(client.Rejections));
    }

    // ---- 2. Godot's client bytes into a GdNet server ----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Transports))]
    public void GodotClientBytes_IntoGdNetServer_RepliesMatchCapture(string transport)
    {
        var capture = Captures.Value[transport];
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var server = CaptureMachine(peer);
        peer.Initialize(1);
        peer.AddPeer(capture.ClientId);
        var raw = new List<string>();
        server.Api.NetworkPeerPacket += (_, bytes) => raw.Add(Convert.ToHexStringLower(bytes));

        foreach (var s in CaptureScene.ClientSteps.Concat(CaptureScene.GapSteps).Concat(CaptureScene.ServerSteps))
        {
            if (s == 20)
            {
                peer.AddPeer(capture.SecondClientId);
            }

            if (s == 21)
            {
                peer.RemovePeer(capture.SecondClientId);
            }

            server.Sent.Clear();
            if (s >= 32)
            {
                CaptureScene.Act(s, server, capture.ClientId);
            }

            // Godot's own bytes, padding garbage included, for the server (1) or everyone (0).
            foreach (var p in capture.At(s, "c2s").Where(p => p.To is 0 or 1))
            {
                peer.DeliverPacket(Convert.FromHexString(p.RawHex), capture.ClientId);
            }

            server.Api.Poll();
            AssertStep(capture, s, "s2c", server.Sent.Select(p => (p.Hex, p.Mode)), p => p.From == 1);
        }

        Assert.Equal(CaptureScene.ExpectedServerLog(capture.ClientId).Order(), CaptureScene.AllLogs(server).Order());
        Assert.Equal(["010203", "0405060708", "09"], raw);
        Assert.Empty(server.Rejections);
    }

    // ---- 3. Godot's server bytes into a GdNet client ----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Transports))]
    public void GodotServerBytes_IntoGdNetClient_RequestsMatchCapture(string transport)
    {
        var capture = Captures.Value[transport];
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var client = CaptureMachine(peer);
        peer.Initialize(capture.ClientId);
        peer.AddPeer(1);
        peer.SetConnectionStatus(ConnectionStatus.Connected);
        client.Api.Poll();

        foreach (var s in CaptureScene.ClientSteps.Concat(CaptureScene.GapSteps).Concat(CaptureScene.ServerSteps))
        {
            if (s == 20)
            {
                peer.AddPeer(capture.SecondClientId);
                client.Api.Poll();
            }

            if (s == 21)
            {
                peer.RemovePeer(capture.SecondClientId);
                client.Api.Poll();
            }

            client.Sent.Clear();
            if (s < 32)
            {
                CaptureScene.Act(s, client, 1);
            }

            foreach (var p in capture.At(s, "s2c"))
            {
                peer.DeliverPacket(Convert.FromHexString(p.RawHex), p.From);
            }

            client.Api.Poll();
            AssertStep(capture, s, "c2s", client.Sent.Select(p => (p.Hex, p.Mode)));
        }

        Assert.Equal(CaptureScene.ExpectedClientLog(capture.ClientId), CaptureScene.AllLogs(client));
        var (from, bytes) = Assert.Single(client.Raw);
        Assert.Equal((1, "0a0b"), (from, Convert.ToHexStringLower(bytes)));
        Assert.Empty(client.Rejections);
    }
}
