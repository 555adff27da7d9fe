using GdNet.Peers;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

public sealed class ConnectionTests
{
    [Fact]
    public void EnetVersion_InstalledLibrary_Is13()
    {
        var version = NetworkedMultiplayerENet.EnetVersion;
        Assert.Equal(1, version.Major);
        Assert.Equal(3, version.Minor);
    }

    [Fact]
    public void CreateServer_Active_IsServerWithIdOneAndConnected()
    {
        using var server = StartServer();
        Assert.True(server.Peer.IsServer());
        Assert.Equal(1, server.Peer.GetUniqueId());
        Assert.Equal(ConnectionStatus.Connected, server.Peer.GetConnectionStatus());
    }

    [Fact]
    public void CreateClient_Started_IsConnectingWithRandomIdAboveOne()
    {
        using var server = StartServer();
        using var client = Client(server.Peer.GetLocalPort());
        Assert.Equal(ConnectionStatus.Connecting, client.Peer.GetConnectionStatus());
        Assert.True(client.Peer.GetUniqueId() >= 2);
        Assert.False(client.Peer.IsServer());
    }

    [Fact]
    public void CreateClient_ServerListening_ServerSeesClientIdFromConnectData()
    {
        using var server = StartServer();
        using var client = Connected(server);
        Assert.Contains($"connected {client.Peer.GetUniqueId()}", server.Log);
    }

    [Fact]
    public void CreateClient_ServerListening_ClientRaisesPeerConnectedOneThenSucceeded()
    {
        using var server = StartServer();
        using var client = Connected(server);
        Assert.Equal(["connected 1", "succeeded"], client.Log);
        Assert.Equal(ConnectionStatus.Connected, client.Peer.GetConnectionStatus());
    }

    [Fact]
    public void CreateClient_NoServer_RaisesConnectionFailedAfterConnectTimeout()
    {
        var port = GdNet.TestSupport.GodotPeerProcess.FreePort();
        using var client = Client(port, p => p.ConnectTimeout = TimeSpan.FromMilliseconds(300));
        PumpUntil(() => client.Has("failed"), client);
        Assert.Equal(["failed"], client.Log);
        Assert.Equal(ConnectionStatus.Disconnected, client.Peer.GetConnectionStatus());
        Assert.Equal(0, client.Peer.GetUniqueId());
    }

    [Fact]
    public void CreateServer_PortInUse_ReturnsCantCreate()
    {
        using var first = StartServer();
        using var second = new NetworkedMultiplayerENet();
        second.SetBindIp("127.0.0.1");
        Assert.Equal(Error.CantCreate, second.CreateServer(first.Peer.GetLocalPort()));
        Assert.Equal(ConnectionStatus.Disconnected, second.GetConnectionStatus());
    }

    [Fact]
    public void CreateServer_AlreadyActive_Throws()
    {
        using var server = StartServer();
        Assert.Throws<InvalidOperationException>(() => server.Peer.CreateServer(0));
    }

    [Theory]
    [InlineData(-1, 32)]
    [InlineData(65536, 32)]
    [InlineData(0, 0)]
    [InlineData(0, 4096)]
    public void CreateServer_BadArguments_Throws(int port, int maxClients)
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Throws<ArgumentOutOfRangeException>(() => peer.CreateServer(port, maxClients));
    }

    [Fact]
    public void CreateClient_UnresolvableHost_ReturnsCantResolve()
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Equal(Error.CantResolve, peer.CreateClient("no-such-host.invalid", 9080));
    }

    [Fact]
    public void CreateServer_AfterDispose_ThrowsObjectDisposed()
    {
        var peer = new NetworkedMultiplayerENet();
        peer.Dispose();
        peer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => peer.CreateServer(0));
    }

    [Fact]
    public void CloseConnection_Server_CanCreateAgain()
    {
        using var server = StartServer();
        server.Peer.CloseConnection();
        Assert.Equal(ConnectionStatus.Disconnected, server.Peer.GetConnectionStatus());
        Assert.Equal(0, server.Peer.GetUniqueId());
        Assert.Equal(Error.Ok, server.Peer.CreateServer(0));
    }

    [Fact]
    public void CloseConnection_Client_ServerReportsClosed()
    {
        using var server = StartServer();
        using var client = Connected(server);
        var id = client.Peer.GetUniqueId();
        client.Peer.CloseConnection();
        PumpUntil(() => server.Has($"disconnected {id}"), server);
        Assert.Equal([(id, EnetDisconnectReason.Closed)], server.Left);
        Assert.Empty(client.Log.Skip(2)); // no events after the user's own close
    }

    [Fact]
    public void CloseConnection_Server_ClientRaisesServerDisconnected()
    {
        using var server = StartServer();
        using var client = Connected(server);
        server.Peer.CloseConnection();
        PumpUntil(() => client.Has("server_disconnected"), client);
        Assert.Equal(["connected 1", "succeeded", "server_disconnected"], client.Log);
        Assert.Equal([(1, EnetDisconnectReason.Closed)], client.Left);
        Assert.Equal(ConnectionStatus.Disconnected, client.Peer.GetConnectionStatus());
    }

    [Fact]
    public void CreateClient_AfterServerDisconnected_ConnectsAgain()
    {
        using var server = StartServer();
        using var client = Connected(server);
        server.Peer.CloseConnection();
        PumpUntil(() => client.Has("server_disconnected"), client);
        Assert.Equal(Error.Ok, server.Peer.CreateServer(0));
        Assert.Equal(Error.Ok, client.Peer.CreateClient("127.0.0.1", server.Peer.GetLocalPort()));
        PumpUntil(() => client.Log.Count(l => l == "succeeded") == 2, client, server);
    }

    [Fact]
    public void GetPeerAddress_ConnectedClient_IsLoopbackAndItsPort()
    {
        using var server = StartServer();
        using var client = Connected(server);
        var id = client.Peer.GetUniqueId();
        Assert.Equal("127.0.0.1", server.Peer.GetPeerAddress(id));
        Assert.Equal(client.Peer.GetLocalPort(), server.Peer.GetPeerPort(id));
        Assert.Equal(server.Peer.GetLocalPort(), client.Peer.GetPeerPort(1));
    }

    [Fact]
    public void CompressionMode_GodotOnlyCompressor_Throws()
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Throws<ArgumentOutOfRangeException>(() => peer.CompressionMode = CompressionModeEnum.Zstd);
    }

    [Fact]
    public void ChannelCount_WhileActive_Throws()
    {
        using var server = StartServer();
        Assert.Throws<InvalidOperationException>(() => server.Peer.ChannelCount = 4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(-2)]
    public void TransferChannel_OutOfRange_Throws(int channel)
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Throws<ArgumentOutOfRangeException>(() => peer.TransferChannel = channel);
    }

    [Fact]
    public void SetBindIp_Ipv6_Throws()
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Throws<ArgumentException>(() => peer.SetBindIp("::1"));
    }
}
