using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GdNet.Peers;
using GdNet.TestSupport;
using UdpCustomPeer;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>The UDP sample backend: a server and two clients on 127.0.0.1, polled until a condition holds or 5 s pass.</summary>
public sealed class UdpCustomPeerTests : IDisposable
{
    private readonly UdpTransport _server = UdpTransport.Listen();
    private readonly UdpTransport _alice;
    private readonly UdpTransport _bob;
    private readonly Dictionary<UdpTransport, PeerEventLog> _logs = [];

    public UdpCustomPeerTests()
    {
        _logs[_server] = new PeerEventLog(_server.Peer);
        _alice = Join();
        _bob = Join();
        PollUntil(() => _alice.Peer.GetPeers().Length == 2 && _bob.Peer.GetPeers().Length == 2 && _server.Peer.GetPeers().Length == 2);
    }

    private int Alice => _alice.Peer.GetUniqueId();

    private int Bob => _bob.Peer.GetUniqueId();

    public void Dispose()
    {
        _bob.Dispose();
        _alice.Dispose();
        _server.Dispose();
    }

    [Fact]
    public void Connect_TwoClients_EachIsConnectedAndKnowsTheServerAndTheOther()
    {
        Assert.Equal(ConnectionStatus.Connected, _alice.Peer.GetConnectionStatus());
        Assert.InRange(Alice, 2, int.MaxValue);
        Assert.Equal(new[] { 1, Bob }.Order(), _alice.Peer.GetPeers());
        Assert.Equal(new[] { 1, Alice }.Order(), _bob.Peer.GetPeers());
        Assert.Equal(new[] { Alice, Bob }.Order(), _server.Peer.GetPeers());
        Assert.Equal(["connected 1", "succeeded", $"connected {Bob}"], _logs[_alice].Entries);
    }

    [Fact]
    public void PutPacket_ClientToServer_ArrivesWithTheClientsId()
    {
        Put(_alice, 1, [1, 2, 3]);

        PollUntil(() => _logs[_server].Entries.Any(e => e.StartsWith("packet")));

        Assert.Contains($"packet {Alice} [1,2,3]", _logs[_server].Entries);
    }

    [Fact]
    public void PutPacket_ServerBroadcast_ReachesBothClients()
    {
        Put(_server, 0, [9]);

        PollUntil(() => _logs[_alice].Entries.Contains("packet 1 [9]") && _logs[_bob].Entries.Contains("packet 1 [9]"));
    }

    [Fact]
    public void PutPacket_ClientToClient_IsRelayedByTheServerWithTheOriginalSender()
    {
        Put(_alice, Bob, [4]);
        Put(_alice, 1, [5]); // a marker: once the server has it, it has relayed the first one

        PollUntil(() => _logs[_bob].Entries.Contains($"packet {Alice} [4]") && _logs[_server].Entries.Contains($"packet {Alice} [5]"));

        Assert.DoesNotContain($"packet {Alice} [4]", _logs[_server].Entries);
    }

    [Fact]
    public void PutPacket_ClientBroadcast_ReachesTheServerAndTheOtherClientButNotTheSender()
    {
        Put(_bob, 0, [6]);
        Put(_bob, Alice, [7]); // sent after the broadcast: once Alice has it, any echo to Bob would be there too

        PollUntil(() => _logs[_server].Entries.Contains($"packet {Bob} [6]") && _logs[_alice].Entries.Contains($"packet {Bob} [7]"));

        Assert.Contains($"packet {Bob} [6]", _logs[_alice].Entries);
        Assert.DoesNotContain(_logs[_bob].Entries, e => e.StartsWith("packet"));
    }

    [Fact]
    public void Dispose_Client_ServerAndOtherClientRaisePeerDisconnected()
    {
        var alice = Alice;

        _alice.Dispose();

        PollUntil(() => _logs[_server].Entries.Contains($"disconnected {alice}") && _logs[_bob].Entries.Contains($"disconnected {alice}"));
    }

    [Fact]
    public void DisconnectPeer_OnServer_KicksTheClientWithServerDisconnected()
    {
        Assert.True(_server.Peer.DisconnectPeer(Alice));

        PollUntil(() => _logs[_alice].Entries.Contains("server disconnected") && _logs[_bob].Entries.Contains($"disconnected {Alice}"));
    }

    [Fact]
    public void Receive_DatagramFromAStranger_IsRejectedAsUnknownPeer()
    {
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        stranger.SendTo(new byte[] { 5, 1, 0, 0, 0, 1, 0, 0, 0, 42 }, _server.LocalEndPoint);

        PollUntil(() => _logs[_server].Rejections.Any(r => r.Reason == PacketRejectReason.UnknownPeer));
    }

    [Fact]
    public void Connect_ServerRefusesNewConnections_ClientRaisesConnectionFailed()
    {
        _server.Peer.RefuseNewConnections = true;

        using var carol = Join();

        PollUntil(() => _logs[carol].Entries.Contains("failed"));
    }

    [Fact]
    public async Task TheSample_RpcsThroughMultiplayerApiOverUdp_EveryoneHearsWhatTheModeSays()
    {
        await using var sample = SampleProcess.Start("UdpCustomPeer");

        Assert.True(await sample.WaitForExitAsync(TimeSpan.FromSeconds(30)) == 0, sample.Describe());
        var heard = sample.Lines.Where(l => l.Contains(" got ", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(4, heard.Count);
        Assert.Matches("^alice got \"hello, everyone\" from peer \\d+$", heard[0]); // remotesync: also run locally
        Assert.Matches("^alice got \"hi alice\" from peer \\d+$", heard[1]);        // bob → alice, relayed by the server
        Assert.Matches("^bob got \"hello, everyone\" from peer \\d+$", heard[2]);   // alice → everyone, relayed
        Assert.Matches("^server got \"hello, everyone\" from peer \\d+$", heard[3]);
        Assert.Equal("done", sample.Lines[^1]);
    }

    private UdpTransport Join()
    {
        var client = UdpTransport.Connect(_server.LocalEndPoint);
        _logs[client] = new PeerEventLog(client.Peer);
        return client;
    }

    private static void Put(UdpTransport transport, int target, byte[] packet)
    {
        transport.Peer.SetTargetPeer(target);
        Assert.Equal(Error.Ok, transport.Peer.PutPacket(packet));
    }

    // Polls every transport and reads its packets into its log until the condition holds or 5 s pass.
    private void PollUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "condition not reached within 5 s; logs: " +
                string.Join(" | ", _logs.Values.Select(l => string.Join(", ", l.Entries))));
            foreach (var log in _logs.Values)
            {
                log.Drain();
            }

            Thread.Sleep(1);
        }
    }
}
