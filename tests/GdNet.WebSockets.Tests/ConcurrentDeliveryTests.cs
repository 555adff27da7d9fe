using System.Buffers.Binary;
using System.Net.WebSockets;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// Many clients over real sockets sending to a server whose inbox is tiny: connections deliver concurrently (no lock
/// shared between them), the inbox never holds more than its bound, nothing is lost or duplicated, and each client's
/// connect event comes before its packets and its disconnect event after them.
/// </summary>
[Collection(LoadCollection.Name)]
public class ConcurrentDeliveryTests
{
    [Fact]
    public async Task ManyClientsSendingAtOnce_TinyInbox_EveryPacketOnceInOrderBetweenItsPeersConnectAndDisconnect()
    {
        const int clients = 8;
        const int perClient = 1500;
        const int maxPackets = 16;
        await using var server = StartServer(s =>
        {
            s.InboxMaxPackets = maxPackets;
            s.InboxMaxBytes = 600;
        });
        var log = new List<string>();
        var state = new Dictionary<int, int>(); // 1 connected, 2 disconnected
        var next = new Dictionary<int, int>();
        server.PeerConnected += id =>
        {
            if (state.ContainsKey(id))
            {
                log.Add($"connected {id} twice");
            }

            state[id] = 1;
            next[id] = 0;
        };
        server.PeerDisconnected += id =>
        {
            if (state.GetValueOrDefault(id) != 1 || next[id] != perClient)
            {
                log.Add($"disconnected {id} in state {state.GetValueOrDefault(id)} after {next.GetValueOrDefault(id)} packets");
            }

            state[id] = 2;
        };

        // Every client connects, sends at once, then closes; they overlap each other and the game thread below.
        var senders = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            var peer = await RawPeer.ConnectAsync(server.Url!);
            await using (peer)
            {
                for (var seq = 0; seq < perClient; seq++)
                {
                    await peer.SendAsync(1, Payload(peer.Id, seq));
                }

                await peer.Ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                await peer.WaitClosedAsync();
            }
        })).ToList();

        var worst = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (state.Count < clients || state.Values.Any(s => s != 2))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"not done in time: {state.Count} joined, {state.Values.Count(s => s == 2)} left; {string.Join("; ", log.Take(5))}");
            worst = Math.Max(worst, server.AvailablePacketCount);
            server.Poll();
            var took = 0;
            while (server.AvailablePacketCount > 0)
            {
                worst = Math.Max(worst, server.AvailablePacketCount);
                var from = server.GetPacketPeer();
                Assert.True(server.TryGetPacket(out var packet));
                var seq = BinaryPrimitives.ReadInt32LittleEndian(packet);
                if (state.GetValueOrDefault(from) != 1 || seq != next[from] || !packet.SequenceEqual(Payload(from, seq)))
                {
                    log.Add($"packet {seq} of {from} in state {state.GetValueOrDefault(from)} where {next.GetValueOrDefault(from)} was due, or its bytes differ");
                }

                next[from] = seq + 1;
                took++;
            }

            server.Poll();
            if (took > 0)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(1);
            }
        }

        await Task.WhenAll(senders).WaitAsync(Net.Timeout);

        Assert.Empty(log.Take(5));
        Assert.Equal(clients, state.Count);
        Assert.All(next.Values, n => Assert.Equal(perClient, n));
        Assert.InRange(worst, 1, maxPackets);
        Assert.Equal(0, server.AvailablePacketCount);
    }

    // 4 bytes of sequence number, then 0 to 60 bytes that depend on the sender and the number.
    private static byte[] Payload(int peer, int seq)
    {
        var payload = new byte[4 + ((seq * 13 + peer) % 61)];
        BinaryPrimitives.WriteInt32LittleEndian(payload, seq);
        for (var i = 4; i < payload.Length; i++)
        {
            payload[i] = (byte)(peer * 31 + seq * 7 + i);
        }

        return payload;
    }
}
