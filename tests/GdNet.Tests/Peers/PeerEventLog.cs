using GdNet.Peers;

namespace GdNet.Tests.Peers;

/// <summary>Records a peer's events, and the packets read through it, as strings in order ("connected 5", "packet 5 [1,2]").</summary>
public sealed class PeerEventLog
{
    private readonly NetworkedMultiplayerPeer _peer;

    public PeerEventLog(NetworkedMultiplayerPeer peer)
    {
        _peer = peer;
        peer.PeerConnected += id => Entries.Add($"connected {id}");
        peer.PeerDisconnected += id => Entries.Add($"disconnected {id}");
        peer.ConnectionSucceeded += () => Entries.Add("succeeded");
        peer.ConnectionFailed += () => Entries.Add("failed");
        peer.ServerDisconnected += () => Entries.Add("server disconnected");
        peer.PacketRejected += r =>
        {
            Entries.Add($"rejected {r.PeerId} {r.Reason}");
            Rejections.Add(r);
        };
    }

    public List<string> Entries { get; } = [];

    public List<PacketRejection> Rejections { get; } = [];

    /// <summary>Polls, then reads every packet (logging "packet FROM [bytes]"), then returns the log.</summary>
    public List<string> Drain()
    {
        _peer.Poll();
        while (_peer.AvailablePacketCount > 0)
        {
            var from = _peer.GetPacketPeer();
            _peer.TryGetPacket(out var packet);
            Entries.Add($"packet {from} [{string.Join(",", packet.ToArray())}]");
        }

        _peer.Poll();
        return Entries;
    }
}

/// <summary>Builders for custom peers in a given state.</summary>
public static class CustomPeers
{
    /// <summary>A Connecting peer (no id yet).</summary>
    public static NetworkedMultiplayerCustom Connecting(System.Buffers.ArrayPool<byte>? pool = null)
    {
        var peer = new NetworkedMultiplayerCustom(pool);
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        return peer;
    }

    /// <summary>A Connected peer with id <paramref name="id"/> that knows <paramref name="peers"/>, their events already raised.</summary>
    public static NetworkedMultiplayerCustom Connected(int id, params int[] peers) => Connected(null, id, peers);

    public static NetworkedMultiplayerCustom Connected(System.Buffers.ArrayPool<byte>? pool, int id, params int[] peers)
    {
        var peer = Connecting(pool);
        peer.Initialize(id);
        if (id != 1)
        {
            peer.SetConnectionStatus(ConnectionStatus.Connected);
        }

        foreach (var p in peers)
        {
            peer.AddPeer(p);
        }

        peer.Poll();
        return peer;
    }
}
