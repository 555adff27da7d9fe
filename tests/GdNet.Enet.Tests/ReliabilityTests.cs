using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using GdNet.Peers;
using Xunit.Abstractions;

namespace GdNet.Enet.Tests;

/// <summary>
/// Many clients exchanging reliable packets with a server: every packet carries a per-client sequence number; the
/// server checks the order and echoes it; the client checks the echoes. The short run is in CI; the long run
/// (<c>Category=Soak</c>, excluded by default, sized by GDNET_SOAK_CLIENTS / GDNET_SOAK_SECONDS) is run by hand.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class ReliabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void ReliableExchange_TwentyClientsThreeSeconds_NoLossNoReorder()
    {
        var result = ExchangeRun.Run(clients: 20, TimeSpan.FromSeconds(3), window: 32);
        output.WriteLine(result.ToString());
        Assert.True(result.Sent >= 20 * 32, result.ToString()); // every client sent at least its first window: traffic, not speed
        Assert.Equal((0L, 0L, 0L, 0L), (result.LostToServer, result.LostEchoes, result.Reordered, result.Rejections));
    }

    [Fact]
    [Trait("Category", "Soak")]
    public void ReliableExchange_Soak_NoLossNoReorder()
    {
        var clients = int.Parse(Environment.GetEnvironmentVariable("GDNET_SOAK_CLIENTS") ?? "100", CultureInfo.InvariantCulture);
        var seconds = int.Parse(Environment.GetEnvironmentVariable("GDNET_SOAK_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        var result = ExchangeRun.Run(clients, TimeSpan.FromSeconds(seconds), window: 32);
        output.WriteLine(result.ToString());
        Console.WriteLine("SOAK " + result);
        Assert.Equal((0L, 0L, 0L, 0L), (result.LostToServer, result.LostEchoes, result.Reordered, result.Rejections));
    }

    [Theory]
    [Trait("Category", "Soak")]
    [InlineData(TransferModeEnum.Reliable)]
    [InlineData(TransferModeEnum.Unreliable)]
    public void Burst_FiftyThousandPackets_ReportsRate(TransferModeEnum mode)
    {
        using var server = new NetworkedMultiplayerENet();
        server.SetBindIp("127.0.0.1");
        Assert.Equal(Error.Ok, server.CreateServer(0));
        using var client = new NetworkedMultiplayerENet();
        Assert.Equal(Error.Ok, client.CreateClient("127.0.0.1", server.GetLocalPort()));
        var deadline = Stopwatch.StartNew();
        while (client.GetConnectionStatus() != ConnectionStatus.Connected && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            client.Poll();
            server.Poll();
            Thread.Sleep(1);
        }

        // 48 bytes: what a Godot rpc with an int and a 16-byte PoolByteArray weighs (40) plus the path-cache id etc.
        const int Count = 50_000;
        var payload = new byte[40];
        client.SetTargetPeer(1);
        client.TransferMode = mode;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, i);
            Assert.Equal(Error.Ok, client.PutPacket(payload));
        }

        var received = 0;
        var last = sw.Elapsed;
        while (received < Count && sw.Elapsed - last < TimeSpan.FromSeconds(1))
        {
            server.Poll();
            while (server.TryGetPacket(out _))
            {
                received++;
                last = sw.Elapsed;
            }

            client.Poll();
            Thread.Yield();
        }

        var line = string.Create(CultureInfo.InvariantCulture,
            $"BURST mode={mode} sent={Count} received={received} lost={Count - received} seconds={last.TotalSeconds:0.000} packets_per_s={received / last.TotalSeconds:0}");
        output.WriteLine(line);
        Console.WriteLine(line);
        if (mode == TransferModeEnum.Reliable)
        {
            Assert.Equal(Count, received);
        }
    }
}

/// <summary>The sequence-checked exchange behind <see cref="ReliabilityTests"/>.</summary>
internal sealed record ExchangeRun(int Clients, double Seconds, long Sent, long ServerReceived, long Echoed, long LostToServer, long LostEchoes, long Reordered, long Rejections)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"clients={Clients} seconds={Seconds:0.0} sent={Sent} server_received={ServerReceived} echoed={Echoed} lost_to_server={LostToServer} lost_echoes={LostEchoes} reordered={Reordered} rejections={Rejections} round_trips_per_s={Echoed / Seconds:0}");

    public static ExchangeRun Run(int clients, TimeSpan duration, int window)
    {
        using var server = new NetworkedMultiplayerENet();
        server.SetBindIp("127.0.0.1");
        server.TransferMode = TransferModeEnum.Reliable;
        Assert.Equal(Error.Ok, server.CreateServer(0, Math.Max(32, clients)));
        var expectedAtServer = new Dictionary<int, uint>();
        server.PeerConnected += id => expectedAtServer[id] = 0;
        var peers = new NetworkedMultiplayerENet[clients];
        var sent = new uint[clients];
        var echoed = new uint[clients];
        long reordered = 0, serverReceived = 0;
        var payload = new byte[40];
        try
        {
            for (var i = 0; i < clients; i++)
            {
                peers[i] = new NetworkedMultiplayerENet();
                peers[i].TransferMode = TransferModeEnum.Reliable;
                Assert.Equal(Error.Ok, peers[i].CreateClient("127.0.0.1", server.GetLocalPort()));
            }

            var connectDeadline = Stopwatch.StartNew();
            while (peers.Any(p => p.GetConnectionStatus() != ConnectionStatus.Connected) || expectedAtServer.Count < clients)
            {
                Assert.True(connectDeadline.Elapsed < TimeSpan.FromSeconds(30), "clients did not all connect");
                server.Poll();
                foreach (var p in peers)
                {
                    p.Poll();
                }

                Thread.Sleep(1);
            }

            var sw = Stopwatch.StartNew();
            var stopSendingAt = duration;
            var drainDeadline = duration + TimeSpan.FromSeconds(15);
            while (true)
            {
                var sending = sw.Elapsed < stopSendingAt;
                for (var i = 0; i < clients; i++)
                {
                    var p = peers[i];
                    while (sending && sent[i] - echoed[i] < window)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(payload, sent[i]++);
                        p.SetTargetPeer(1);
                        Assert.Equal(Error.Ok, p.PutPacket(payload));
                    }

                    p.Poll();
                    while (p.TryGetPacket(out var echo))
                    {
                        if (BinaryPrimitives.ReadUInt32LittleEndian(echo) != echoed[i]++)
                        {
                            reordered++;
                        }
                    }
                }

                server.Poll();
                while (server.AvailablePacketCount > 0)
                {
                    var from = server.GetPacketPeer();
                    Assert.True(server.TryGetPacket(out var packet));

                    serverReceived++;
                    var seq = BinaryPrimitives.ReadUInt32LittleEndian(packet);
                    if (seq != expectedAtServer[from]++)
                    {
                        reordered++;
                    }

                    packet.CopyTo(payload);
                    server.SetTargetPeer(from);
                    Assert.Equal(Error.Ok, server.PutPacket(payload.AsSpan(0, packet.Length)));
                }

                var allEchoed = !sending && Enumerable.Range(0, clients).All(i => echoed[i] == sent[i]);
                if (allEchoed || sw.Elapsed > drainDeadline)
                {
                    break;
                }

                if (!sending)
                {
                    Thread.Sleep(1);
                }
            }

            long totalSent = sent.Sum(s => (long)s), totalEchoed = echoed.Sum(s => (long)s);
            var rejections = server.Statistics.Snapshot().TotalRejections + peers.Sum(p => p.Statistics.Snapshot().TotalRejections);
            return new ExchangeRun(clients, sw.Elapsed.TotalSeconds, totalSent, serverReceived, totalEchoed,
                totalSent - serverReceived, totalSent - totalEchoed, reordered, rejections);
        }
        finally
        {
            foreach (var p in peers)
            {
                p?.Dispose();
            }
        }
    }
}
