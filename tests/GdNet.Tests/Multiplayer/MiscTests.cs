using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;
using Microsoft.Extensions.Logging;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class MiscTests
{
#pragma warning disable CS0618 // the deprecated aliases are what is tested
    public sealed class OldStyle : Node
    {
        public List<string> Calls { get; } = [];

        [Sync]
        public void Both() => Calls.Add("Both");

        [Slave]
        public void FromMaster() => Calls.Add("FromMaster");
    }
#pragma warning restore CS0618

    [Fact]
    public void DeprecatedAttributes_OnMethods_BehaveAsRemoteSyncAndPuppet()
    {
        using var s = new Session(lobbyFactory: () => new OldStyle());

        s.Server.Lobby.Rpc(nameof(OldStyle.Both));
        s.Server.Lobby.Rpc(nameof(OldStyle.FromMaster));
        s.Pump();

        Assert.Equal(["Both"], ((OldStyle)s.Server.Lobby).Calls);
        Assert.Equal(["Both", "FromMaster"], ((OldStyle)s.Client.Lobby).Calls);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId, formatter(state, exception)));
    }

    [Fact]
    public void Logger_Rejection_LoggedAtDebug()
    {
        var logger = new ListLogger();
        var api = new MultiplayerAPI(logger);
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        api.NetworkPeer = peer;
        peer.Initialize(1);
        peer.AddPeer(7);
        peer.DeliverPacket([9], 7);

        api.Poll();

        var (level, id, message) = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Debug, 4001), (level, id.Id));
        Assert.Contains("UnknownCommand from peer 7", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Poll_PeerRemovedByHandler_StopsReading()
    {
        using var s = new Session(lobbyFactory: () => new Dropper());
        s.Client.Lobby.RpcId(1, nameof(Dropper.Drop));
        s.Client.Lobby.RpcId(1, nameof(Dropper.Drop));
        s.Network.RunUntilIdle(TimeSpan.FromSeconds(1));

        s.Server.Api.Poll();

        Assert.Equal(1, ((Dropper)s.Server.Lobby).Count);
        Assert.Null(s.Server.Api.NetworkPeer);
    }

    public sealed class Dropper : Node
    {
        public int Count { get; private set; }

        [Remote]
        public void Drop()
        {
            Count++;
            Multiplayer!.NetworkPeer = null;
        }
    }

    [Fact]
    public void ConnectionFailed_RefusedClient_Raised()
    {
        using var network = new LocalNetwork();
        var server = new Machine(network.CreateServer());
        server.Api.RefuseNewNetworkConnections = true;
        var client = new Machine(network.CreateClient());

        network.RunUntilIdle(TimeSpan.FromSeconds(1));
        client.Api.Poll();

        Assert.Equal(["connection_failed"], client.Events);
    }

    [Fact]
    public void Receive_AbsolutePath_Accepted()
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var machine = new Machine(peer);
        peer.Initialize(1);
        peer.AddPeer(7);
        peer.DeliverPacket([0, 11, 0, 0, 0x80, .. "Ping\0\0"u8, .. "/root/Main/Lobby\0"u8], 7);

        machine.Api.Poll();

        Assert.Equal(["Ping from 7"], machine.TestLobby.Calls);
    }
}
