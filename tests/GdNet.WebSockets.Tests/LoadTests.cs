using System.Buffers.Binary;
using System.Diagnostics;
using GdNet.Peers;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>Many clients at once, for a couple of seconds: nothing lost, nothing reordered, relays included.</summary>
[Collection(LoadCollection.Name)]
public class LoadTests
{
    [Fact]
    public async Task ManyClients_SequencedPacketsToServerAndBroadcast_NoneLostNoneReordered()
    {
        const int clientCount = 30;
        var duration = TimeSpan.FromSeconds(2);
        await using var server = StartServer();
        var clients = new List<WebSocketClient>();
        try
        {
            for (var i = 0; i < clientCount; i++)
            {
                var c = new WebSocketClient();
                Assert.Equal(Error.Ok, c.ConnectToUrl(server.Url!));
                clients.Add(c);
            }

            // Every peer checks, per sender, that sequence numbers arrive as 0, 1, 2… (broadcasts are relayed to everyone).
            var expected = new Dictionary<(NetworkedMultiplayerPeer, int), int>();
            long delivered = 0;
            var errors = new List<string>();
            void Drain(NetworkedMultiplayerPeer p)
            {
                p.Poll();
                while (p.AvailablePacketCount > 0)
                {
                    var from = p.GetPacketPeer();
                    if (!p.TryGetPacket(out var packet))
                    {
                        break;
                    }

                    var stream = packet[0];
                    var seq = BinaryPrimitives.ReadInt32LittleEndian(packet[1..]);
                    var key = (p, from * 2 + stream);
                    expected.TryGetValue(key, out var want);
                    if (seq != want && errors.Count < 10)
                    {
                        errors.Add($"peer {p.GetUniqueId()} got seq {seq} from {from} stream {stream}, expected {want}");
                    }

                    expected[key] = seq + 1;
                    delivered++;
                }
            }

            var deadline = Stopwatch.StartNew();
            while (clients.Any(c => c.GetConnectionStatus() != ConnectionStatus.Connected) || server.PeerCount < clientCount)
            {
                Assert.True(deadline.Elapsed < Net.Timeout, "clients did not all connect");
                Drain(server);
                clients.ForEach(Drain);
                await Task.Delay(1);
            }

            var sentDirect = new int[clientCount];
            var sentBroadcast = new int[clientCount];
            var packet = new byte[40];
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                for (var i = 0; i < clientCount; i++)
                {
                    var c = clients[i];
                    for (var k = 0; k < 20; k++)
                    {
                        packet[0] = 0;
                        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(1), sentDirect[i]++);
                        c.SetTargetPeer(1);
                        Assert.Equal(Error.Ok, c.PutPacket(packet));
                    }

                    packet[0] = 1;
                    BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(1), sentBroadcast[i]++);
                    c.SetTargetPeer(0);
                    Assert.Equal(Error.Ok, c.PutPacket(packet));
                }

                Drain(server);
                clients.ForEach(Drain);
                await Task.Yield();
            }

            // Everything sent must arrive: at the server, every direct packet and broadcast; at each client, the others' broadcasts.
            var totalDirect = sentDirect.Sum();
            var totalBroadcast = sentBroadcast.Sum();
            long want = totalDirect + totalBroadcast + ((long)totalBroadcast * (clientCount - 1));
            var settle = Stopwatch.StartNew();
            while (delivered < want && settle.Elapsed < TimeSpan.FromSeconds(20))
            {
                Drain(server);
                clients.ForEach(Drain);
                await Task.Delay(1);
            }

            Assert.Empty(errors);
            Assert.Equal(want, delivered);
            Assert.Equal(0, server.Statistics.Snapshot().TotalRejections);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }
}
