using System.Diagnostics;
using GdNet.Peers;

namespace GdNet.Enet.Tests;

/// <summary>One received packet, as recorded by <see cref="Recorder"/>.</summary>
public sealed record Received(int From, int Channel, byte[] Data);

/// <summary>
/// Wraps a peer on the test thread: records its events in the order they are raised, with its packets interleaved
/// ("packet" entries), and pumps it (Poll, then read every packet).
/// </summary>
public sealed class Recorder : IDisposable
{
    private readonly List<string> _log = [];

    public Recorder(NetworkedMultiplayerENet peer)
    {
        Peer = peer;
        peer.PeerConnected += id => _log.Add($"connected {id}");
        peer.PeerDisconnected += id => _log.Add($"disconnected {id}");
        peer.ConnectionSucceeded += () => _log.Add("succeeded");
        peer.ConnectionFailed += () => _log.Add("failed");
        peer.ServerDisconnected += () => _log.Add("server_disconnected");
        peer.PeerLeft += (id, reason) => Left.Add((id, reason));
        peer.PacketRejected += r => Rejections.Add(r);
    }

    public NetworkedMultiplayerENet Peer { get; }

    public IReadOnlyList<string> Log => _log;

    public List<Received> Packets { get; } = [];

    public List<(int Id, EnetDisconnectReason Reason)> Left { get; } = [];

    public List<PacketRejection> Rejections { get; } = [];

    public void Pump()
    {
        Peer.Poll();
        // Check the count first: packets keep arriving from the service thread, and the sender read must be of the
        // packet read next.
        while (Peer.AvailablePacketCount > 0)
        {
            var from = Peer.GetPacketPeer();
            Assert.True(Peer.TryGetPacket(out var packet));

            Packets.Add(new Received(from, Peer.GetLastPacketChannel(), packet.ToArray()));
            _log.Add("packet");
        }
    }

    public bool Has(string entry) => _log.Contains(entry);

    public void Dispose() => Peer.Dispose();
}

public static class EnetTestKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>A server on 127.0.0.1 and a free port (port 0, read back).</summary>
    public static Recorder StartServer(int maxClients = 32, Action<NetworkedMultiplayerENet>? configure = null)
    {
        var peer = new NetworkedMultiplayerENet();
        peer.SetBindIp("127.0.0.1");
        configure?.Invoke(peer);
        Assert.Equal(Error.Ok, peer.CreateServer(0, maxClients));
        Assert.NotEqual(0, peer.GetLocalPort());
        return new Recorder(peer);
    }

    public static Recorder Client(int port, Action<NetworkedMultiplayerENet>? configure = null)
    {
        var peer = new NetworkedMultiplayerENet();
        configure?.Invoke(peer);
        Assert.Equal(Error.Ok, peer.CreateClient("127.0.0.1", port));
        return new Recorder(peer);
    }

    /// <summary>A client connected to <paramref name="server"/>, with both sides having seen the connection.</summary>
    public static Recorder Connected(Recorder server, Action<NetworkedMultiplayerENet>? configure = null)
    {
        var client = Client(server.Peer.GetLocalPort(), configure);
        var id = client.Peer.GetUniqueId();
        PumpUntil(() => client.Has("succeeded") && server.Has($"connected {id}"), server, client);
        return client;
    }

    /// <summary>Pumps every recorder until <paramref name="condition"/> holds; fails after <see cref="Deadline"/>.</summary>
    public static void PumpUntil(Func<bool> condition, params Recorder[] recorders) => PumpUntil(condition, Deadline, recorders);

    public static void PumpUntil(Func<bool> condition, TimeSpan timeout, params Recorder[] recorders)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            foreach (var r in recorders)
            {
                r.Pump();
            }

            if (condition())
            {
                return;
            }

            if (sw.Elapsed > timeout)
            {
                Assert.Fail($"Condition not met within {timeout.TotalSeconds:0.#} s. Logs:\n"
                    + string.Join("\n", recorders.Select(r => $"  id {r.Peer.GetUniqueId()}: {string.Join(", ", r.Log.TakeLast(30))}; rejections: {string.Join("; ", r.Rejections)}")));
            }

            Thread.Sleep(1);
        }
    }

    public static Error Send(Recorder from, int target, byte[] data, TransferModeEnum mode = TransferModeEnum.Reliable)
    {
        from.Peer.SetTargetPeer(target);
        from.Peer.TransferMode = mode;
        return from.Peer.PutPacket(data);
    }
}
