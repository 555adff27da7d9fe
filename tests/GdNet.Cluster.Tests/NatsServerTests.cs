using System.Text;
using GdNet.TestSupport;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace GdNet.Cluster.Tests;

/// <summary>
/// The facts about a real nats-server (Debian's 2.9.10) and the NATS.Net 3.3.2 client that the cluster code relies on:
/// raw byte payloads with headers, reconnection with subscriptions kept across a server restart, key-value creates
/// that only one caller wins, bucket expiry, and key-value entries kept across restarts.
/// </summary>
public sealed class NatsServerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Raw_bytes_with_headers_round_trip()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = await ConnectAsync(server);
        using var cts = new CancellationTokenSource(Wait);

        await using var sub = await nats.SubscribeCoreAsync("gdnet.test.raw", serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cts.Token);
        await using var pooled = await nats.SubscribeCoreAsync<NatsMemoryOwner<byte>>("gdnet.test.raw", cancellationToken: cts.Token);
        // The PING round trip makes sure the server has both SUBs before the PUB.
        await nats.PingAsync(cts.Token);

        byte[] payload = [0, 1, 2, 0xFE, 0xFF, (byte)'\r', (byte)'\n', 0];
        var headers = new NatsHeaders { ["gdnet-room"] = "lobby", ["gdnet-from"] = "7" };
        await nats.PublishAsync("gdnet.test.raw", payload, headers, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cts.Token);

        var msg = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal(payload, msg.Data);
        Assert.NotNull(msg.Headers);
        Assert.Equal("lobby", msg.Headers["gdnet-room"].ToString());
        Assert.Equal("7", msg.Headers["gdnet-from"].ToString());

        var owned = await pooled.Msgs.ReadAsync(cts.Token);
        using (var memory = owned.Data)
        {
            Assert.Equal(payload, memory.Memory.ToArray());
        }

        // Quirk: an empty payload arrives as null (not an empty array) through the raw byte[] serializer, and as an
        // empty NatsMemoryOwner<byte>.
        await nats.PublishAsync("gdnet.test.raw", Array.Empty<byte>(), serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cts.Token);
        var empty = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Null(empty.Data);
        Assert.Null(empty.Headers);
        using (var emptyMemory = (await pooled.Msgs.ReadAsync(cts.Token)).Data)
        {
            Assert.Equal(0, emptyMemory.Length);
        }
    }

    [Fact]
    public async Task Connection_reconnects_after_a_restart_and_keeps_its_subscriptions()
    {
        await using var server = await NatsServer.StartAsync();
        // Default reconnect options (unlimited retries, 2 s to 5 s back-off): nothing special is needed.
        await using var nats = await ConnectAsync(server);
        var disconnects = 0;
        var opens = 0;
        nats.ConnectionDisconnected += (_, _) => { Interlocked.Increment(ref disconnects); return ValueTask.CompletedTask; };
        nats.ConnectionOpened += (_, _) => { Interlocked.Increment(ref opens); return ValueTask.CompletedTask; };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await using var sub = await nats.SubscribeCoreAsync("gdnet.test.restart", serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cts.Token);
        await nats.PingAsync(cts.Token);

        await server.StopAsync();
        await Poll.UntilAsync(() => nats.ConnectionState != NatsConnectionState.Open, Wait, "the client notices the server is gone\n" + server.Describe());
        await server.StartAgainAsync(cts.Token);
        await Poll.UntilAsync(() => nats.ConnectionState == NatsConnectionState.Open && Volatile.Read(ref opens) >= 1, Wait,
            $"the client reconnects by itself (state {nats.ConnectionState})\n" + server.Describe());
        Assert.True(Volatile.Read(ref disconnects) >= 1, "ConnectionDisconnected was raised");

        await nats.PublishAsync("gdnet.test.restart", new byte[] { 42 }, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cts.Token);
        using var read = new CancellationTokenSource(Wait);
        var msg = await sub.Msgs.ReadAsync(read.Token);
        Assert.Equal(new byte[] { 42 }, msg.Data);
    }

    [Fact]
    public async Task Key_value_create_of_an_existing_key_throws_so_only_one_creator_wins()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = await ConnectAsync(server);
        await using var other = await ConnectAsync(server);
        using var cts = new CancellationTokenSource(Wait);
        var store = await new NatsKVContext(new NatsJSContext(nats)).CreateStoreAsync(new NatsKVConfig("gdnet-ids"), cts.Token);
        var otherStore = await new NatsKVContext(new NatsJSContext(other)).GetStoreAsync("gdnet-ids", cts.Token);

        var revision = await store.CreateAsync("room.1", "node-a", cancellationToken: cts.Token);
        Assert.True(revision > 0);

        var clash = await Assert.ThrowsAsync<NatsKVCreateException>(async () => await otherStore.CreateAsync("room.1", "node-b", cancellationToken: cts.Token));
        Assert.Null(clash.InnerException);
        var tried = await otherStore.TryCreateAsync("room.1", "node-b", cancellationToken: cts.Token);
        Assert.False(tried.Success);
        Assert.IsType<NatsKVCreateException>(tried.Error);
        Assert.Equal("node-a", (await otherStore.GetEntryAsync<string>("room.1", cancellationToken: cts.Token)).Value);

        // Racing creators on two connections: exactly one wins each key.
        for (var key = 0; key < 5; key++)
        {
            var name = $"peer.{key}";
            var attempts = Enumerable.Range(0, 8)
                .Select(i => (i % 2 == 0 ? store : otherStore).TryCreateAsync(name, $"claimant-{i}", cancellationToken: cts.Token).AsTask())
                .ToArray();
            var results = await Task.WhenAll(attempts);
            Assert.Equal(1, results.Count(r => r.Success));
            Assert.All(results.Where(r => !r.Success), r => Assert.IsType<NatsKVCreateException>(r.Error));
        }

        // A deleted key can be created again (the client creates over the delete marker).
        await store.DeleteAsync("room.1", cancellationToken: cts.Token);
        Assert.True((await otherStore.TryCreateAsync("room.1", "node-b", cancellationToken: cts.Token)).Success);
        Assert.Equal("node-b", (await store.GetEntryAsync<string>("room.1", cancellationToken: cts.Token)).Value);
    }

    [Fact]
    public async Task Key_value_entries_vanish_after_the_bucket_max_age()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = await ConnectAsync(server);
        using var cts = new CancellationTokenSource(Wait);
        var store = await new NatsKVContext(new NatsJSContext(nats))
            .CreateStoreAsync(new NatsKVConfig("gdnet-leases") { MaxAge = TimeSpan.FromSeconds(1) }, cts.Token);

        await store.PutAsync("node.a", "alive", cancellationToken: cts.Token);
        Assert.Equal("alive", (await store.GetEntryAsync<string>("node.a", cancellationToken: cts.Token)).Value);

        NatsResult<NatsKVEntry<string>> last = default;
        await Poll.UntilAsync(
            async () => !(last = await store.TryGetEntryAsync<string>("node.a", cancellationToken: cts.Token)).Success,
            Wait,
            "the entry expires with the bucket's MaxAge\n" + server.Describe());
        Assert.IsType<NatsKVKeyNotFoundException>(last.Error);
        await Assert.ThrowsAsync<NatsKVKeyNotFoundException>(async () => await store.GetEntryAsync<string>("node.a", cancellationToken: cts.Token));

        // An expired key is free to be created again.
        Assert.True((await store.TryCreateAsync("node.a", "again", cancellationToken: cts.Token)).Success);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Key_value_entries_survive_a_server_restart(bool kill)
    {
        await using var server = await NatsServer.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var nats = await ConnectAsync(server))
        {
            var store = await new NatsKVContext(new NatsJSContext(nats)).CreateStoreAsync(new NatsKVConfig("gdnet-rooms"), cts.Token);
            await store.CreateAsync("room.9", "node-a", cancellationToken: cts.Token);
        }

        if (kill)
        {
            await server.KillAsync();
        }
        else
        {
            await server.StopAsync();
        }

        Assert.False(server.IsRunning);
        await server.StartAgainAsync(cts.Token);

        await using var again = await ConnectAsync(server);
        var reopened = await new NatsKVContext(new NatsJSContext(again)).GetStoreAsync("gdnet-rooms", cts.Token);
        var entry = await reopened.GetEntryAsync<string>("room.9", cancellationToken: cts.Token);
        Assert.Equal("node-a", entry.Value);
        Assert.False((await reopened.TryCreateAsync("room.9", "node-b", cancellationToken: cts.Token)).Success);
    }

    [Fact]
    public async Task Server_restarts_on_the_same_port_and_store()
    {
        await using var server = await NatsServer.StartAsync();
        var (port, store, url) = (server.Port, server.StoreDirectory, server.Url);
        Assert.Equal($"nats://127.0.0.1:{port}", url);
        Assert.True(Directory.Exists(store));
        Assert.True(server.IsRunning);

        await server.StopAsync();
        Assert.False(server.IsRunning);
        Assert.Contains("Server Exiting", server.Log);
        await server.StartAgainAsync();
        Assert.Equal(port, server.Port);
        await using (var nats = await ConnectAsync(server))
        {
            await nats.PingAsync();
        }

        await server.DisposeAsync();
        Assert.False(Directory.Exists(store));
    }

    private static async Task<NatsConnection> ConnectAsync(NatsServer server)
    {
        var nats = new NatsConnection(new NatsOpts { Url = server.Url, Name = "gdnet-cluster-tests" });
        using var cts = new CancellationTokenSource(Wait);
        await nats.ConnectAsync().AsTask().WaitAsync(cts.Token);
        return nats;
    }
}
