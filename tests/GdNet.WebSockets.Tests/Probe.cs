using System.Collections.Concurrent;
using System.Diagnostics;
using GdNet.Peers;
using GdNet.WebSockets;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// Plays the game thread for one peer in a test: records its events as short strings ("connected 5", "succeeded",
/// "rejected SpoofedSource") and drains its packets, each with the sender id.
/// </summary>
public sealed class Probe
{
    private readonly ConcurrentQueue<string> _events = new();

    public Probe(NetworkedMultiplayerPeer peer)
    {
        Peer = peer;
        peer.PeerConnected += id => _events.Enqueue($"connected {id}");
        peer.PeerDisconnected += id => _events.Enqueue($"disconnected {id}");
        peer.ConnectionSucceeded += () => _events.Enqueue("succeeded");
        peer.ConnectionFailed += () => _events.Enqueue("failed");
        peer.ServerDisconnected += () => _events.Enqueue("server_disconnected");
        peer.PacketRejected += r =>
        {
            Rejections.Enqueue(r);
            _events.Enqueue($"rejected {r.Reason}");
        };
    }

    public NetworkedMultiplayerPeer Peer { get; }

    public List<(int From, byte[] Data)> Packets { get; } = [];

    public ConcurrentQueue<PacketRejection> Rejections { get; } = new();

    public IReadOnlyList<string> Events => [.. _events];

    public bool Has(string evt) => _events.Contains(evt);

    /// <summary>Polls and drains packets once; returns how many packets it took.</summary>
    public int Pump()
    {
        var before = Packets.Count;
        Peer.Poll();
        while (Peer.AvailablePacketCount > 0)
        {
            var from = Peer.GetPacketPeer();
            if (!Peer.TryGetPacket(out var packet))
            {
                break;
            }

            Packets.Add((from, packet.ToArray()));
        }

        return Packets.Count - before;
    }

    public IEnumerable<byte[]> From(int id) => Packets.Where(p => p.From == id).Select(p => p.Data);

    public override string ToString() => $"events: [{string.Join(", ", _events)}], packets: {Packets.Count}";
}

public static class Net
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Pumps every probe until <paramref name="condition"/> holds; fails with their state after the deadline.</summary>
    public static Task PumpUntilAsync(Func<bool> condition, params Probe[] probes) => PumpUntilAsync(condition, Timeout, probes);

    /// <remarks>Awaits between rounds instead of blocking, so the test does not starve the thread pool the sockets run on.</remarks>
    public static async Task PumpUntilAsync(Func<bool> condition, TimeSpan timeout, params Probe[] probes)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var took = 0;
            foreach (var p in probes)
            {
                took += p.Pump();
            }

            if (condition())
            {
                return;
            }

            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException("Condition not met within " + timeout.TotalSeconds + " s. " + string.Join(" | ", probes.Select(p => p.ToString())));
            }

            // Busy: go round again at once; idle: wait a little.
            if (took > 0)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(1);
            }
        }
    }

    private static readonly byte[] Marker = "MARK"u8.ToArray();

    /// <summary>
    /// For "nothing else arrived" checks without waiting a fixed time: <paramref name="sender"/> sends a marker packet to
    /// each of <paramref name="targets"/>, and every probe is pumped until each target has its marker. A sender's packets
    /// reach a target in the order they were sent (TCP, and the relay keeps each sender's order), so whatever the sender
    /// sent before has arrived by then. The markers are taken out of the targets' packet lists again.
    /// </summary>
    public static async Task FlushAsync(NetworkedMultiplayerPeer sender, Probe[] targets, params Probe[] probes)
    {
        var from = sender.GetUniqueId();
        foreach (var t in targets)
        {
            Send(sender, t.Peer.GetUniqueId(), Marker);
        }

        await PumpUntilAsync(() => targets.All(t => t.Packets.Any(p => IsMarker(p, from))), probes);
        foreach (var t in targets)
        {
            t.Packets.RemoveAll(p => IsMarker(p, from));
        }
    }

    private static bool IsMarker((int From, byte[] Data) packet, int from) => packet.From == from && packet.Data.AsSpan().SequenceEqual(Marker);

    public static WebSocketServer StartServer(Action<WebSocketServer>? configure = null, string[]? protocols = null)
    {
        var server = new WebSocketServer { BindIp = "127.0.0.1" };
        configure?.Invoke(server);
        var err = server.Listen(0, protocols);
        Assert.Equal(Error.Ok, err);
        return server;
    }

    /// <summary>Connects a client and pumps both until the client is connected and the server saw it.</summary>
    public static async Task<(WebSocketClient Client, Probe Probe)> ConnectAsync(WebSocketServer server, Probe serverProbe, params Probe[] others)
    {
        var client = new WebSocketClient();
        var probe = new Probe(client);
        Assert.Equal(Error.Ok, client.ConnectToUrl(server.Url!));
        await PumpUntilAsync(() => probe.Has("succeeded") && serverProbe.Has($"connected {client.GetUniqueId()}"), [serverProbe, probe, .. others]);
        return (client, probe);
    }

    public static void Send(NetworkedMultiplayerPeer peer, int target, params byte[] data)
    {
        peer.SetTargetPeer(target);
        Assert.Equal(Error.Ok, peer.PutPacket(data));
    }
}
