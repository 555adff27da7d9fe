using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using GdNet.TestSupport;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// <c>gdnet serve --admin-port</c> with a real Godot client: Prometheus metrics that move with the traffic, liveness,
/// readiness (503 while draining), and the status JSON.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeAdminTests
{
    [Fact]
    public async Task Metrics_health_and_status_follow_the_players_and_readyz_is_503_while_draining()
    {
        var (serve, port) = await StartAsync(1, "--lobby", "conversation-v1", "--admin-port", "0", "--drain-seconds", "10");
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        Assert.NotEqual(port, admin.Port);
        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };

        Assert.Equal("ok\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        var before = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.Equal(0, before.GetValueOrDefault("gdnet_connections_accepted_total"));
        Assert.Equal(0, before["gdnet_peers{gdnet_transport=\"ws\"}"]); // the series is there before the first player
        Assert.Equal(0, before["gdnet_rpc_dispatched_total{gdnet_rpc_kind=\"rpc\"}"]);

        // A Godot client plays its conversation with the room's lobby.
        await using (var godot = Godot("ws-client", $"--port={port}"))
        {
            Assert.True(await godot.WaitForExitAsync(Wait) == 0 && godot.DoneLine == "DONE ok", Describe(serve, godot));
        }

        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 1, Wait), serve.Describe());
        var after = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.Equal(1, after["gdnet_connections_accepted_total"]);
        Assert.True(after["gdnet_packets_received_total{gdnet_transport=\"ws\"}"] > 0);
        Assert.True(after["gdnet_packets_host_received_total"] > 0);
        Assert.True(after["gdnet_packets_sent_total{gdnet_transport=\"ws\"}"] > 0);
        Assert.Equal(0, after["gdnet_peers{gdnet_transport=\"ws\"}"]); // it left; its counts stay in the totals
        Assert.Contains("gdnet_packets_relayed_total", after.Keys);
        Assert.Equal(1, after["gdnet_websocket_handshake_duration_seconds_count"]); // the Godot client's upgrade
        Assert.Contains(after.Keys, k => k.StartsWith("dotnet_gc_heap_total_allocated_bytes_total", StringComparison.Ordinal));

        // The lobby (the room's hosted logic) ran the client's RPCs and answered; its room has closed, its counts stay.
        for (var deadline = DateTime.UtcNow + Wait; after["gdnet_rpc_sent_total{gdnet_rpc_kind=\"rpc\"}"] == 0 && DateTime.UtcNow < deadline;)
        {
            after = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        }

        Assert.True(after["gdnet_rpc_dispatched_total{gdnet_rpc_kind=\"rpc\"}"] > 0);
        Assert.True(after["gdnet_rpc_sent_total{gdnet_rpc_kind=\"rpc\"}"] > 0);
        Assert.Equal(0, after["gdnet_host_queue_size"]);

        // A player that stays, in room "arena", and never reads: listed in the status; the drain waits for it.
        using var stays = new ClientWebSocket();
        await stays.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/arena"), CancellationToken.None);
        Assert.True(await serve.WaitForLinesContainingAsync("(room arena,", 1, Wait), serve.Describe());
        using (var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))))
        {
            var root = status.RootElement;
            Assert.True(root.GetProperty("ready").GetBoolean());
            Assert.Equal($"ws://127.0.0.1:{port}", root.GetProperty("listening")[0].GetString());
            var peer = Assert.Single(root.GetProperty("peers").EnumerateArray());
            Assert.Equal("arena", peer.GetProperty("room").GetString());
            Assert.Equal("ws", peer.GetProperty("transport").GetString());
            Assert.StartsWith("127.0.0.1:", peer.GetProperty("address").GetString(), StringComparison.Ordinal);
            Assert.Equal("arena", Assert.Single(root.GetProperty("rooms").EnumerateArray()).GetProperty("name").GetString());
            Assert.Equal(2, root.GetProperty("totals").GetProperty("accepted").GetInt64());
            Assert.True(root.GetProperty("hosted").GetProperty("rpcDispatched").GetInt64() > 0);
        }

        // Without --admin-token the actions are off.
        using (var off = await http.PostAsync(new Uri("/api/rooms/arena/close", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, off.StatusCode);
            Assert.Contains("--admin-token", await off.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // SIGTERM: no new players, so not ready, while the admin endpoint stays up through the drain.
        await serve.SignalAsync("TERM", Wait);
        var notReady = false;
        for (var deadline = DateTime.UtcNow + Wait; !notReady && DateTime.UtcNow < deadline;)
        {
            using var r = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            notReady = r.StatusCode == HttpStatusCode.ServiceUnavailable && await r.Content.ReadAsStringAsync() == "draining\n";
        }

        Assert.True(notReady, serve.Describe());
        Assert.Equal(0, await serve.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task Kick_and_close_a_room_need_the_admin_token()
    {
        const string Token = "0123456789abcdef-operator";
        var (serve, port) = await StartAsync(1, "--admin-port", "0", "--admin-token", Token);
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };
        using var a = new ClientWebSocket();
        using var b = new ClientWebSocket();
        await a.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/one"), CancellationToken.None);
        await b.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/two"), CancellationToken.None);
        Assert.True(await serve.WaitForLinesContainingAsync("(room two,", 1, Wait), serve.Describe());
        var idOne = RoomsOf(serve).Single(p => p.Value == "one").Key;

        async Task<HttpStatusCode> PostAsync(string path, string? bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative));
            if (bearer is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
            }

            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"/api/peers/{idOne}/kick", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"/api/peers/{idOne}/kick", Token + "x"));
        Assert.Equal(HttpStatusCode.NotFound, await PostAsync("/api/peers/12345/kick", Token));
        Assert.Equal(HttpStatusCode.NotFound, await PostAsync("/api/rooms/nowhere/close", Token));

        Assert.Equal(HttpStatusCode.OK, await PostAsync($"/api/peers/{idOne}/kick", Token));
        Assert.True(await serve.WaitForLinesContainingAsync($"peer {idOne} disconnected", 1, Wait), serve.Describe());
        Assert.Equal(HttpStatusCode.OK, await PostAsync("/api/rooms/two/close", Token));
        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 2, Wait), serve.Describe());
        Assert.Equal(0, await serve.TerminateAsync(Wait));
    }

    [Fact]
    public async Task The_dashboard_page_is_served_and_its_event_stream_sends_the_status_until_the_server_stops()
    {
        var (serve, port) = await StartAsync(1, "--admin-port", "0");
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };

        using (var page = await http.GetAsync(new Uri("/", UriKind.Relative)))
        {
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("new EventSource(\"/api/events\")", html, StringComparison.Ordinal);
            Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal); // no CDN: nothing from elsewhere
        }

        using var stays = new ClientWebSocket();
        await stays.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/lobby"), CancellationToken.None);
        Assert.True(await serve.WaitForLinesContainingAsync("(room lobby,", 1, Wait), serve.Describe());

        using var events = await http.GetAsync(new Uri("/api/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(Wait);
        Assert.StartsWith("data: ", first, StringComparison.Ordinal);
        using (var status = JsonDocument.Parse(first!["data: ".Length..]))
        {
            Assert.True(status.RootElement.GetProperty("ready").GetBoolean());
            Assert.Equal("lobby", Assert.Single(status.RootElement.GetProperty("peers").EnumerateArray()).GetProperty("room").GetString());
        }

        // The server stops: the stream ends (the page then shows it), and the server exits cleanly.
        await serve.SignalAsync("TERM", Wait);
        while (await reader.ReadLineAsync().WaitAsync(Wait) is not null)
        {
            // further status events until the endpoint stops
        }

        Assert.Equal(0, await serve.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task An_ENet_players_round_trip_time_is_in_the_status_and_the_metrics()
    {
        // Two players needed to start: the Godot ENet client waits in the lobby, connected, until the drain.
        var (serve, port) = await StartAsync(2, "--transport", "ws,enet", "--admin-port", "0", "--lobby", "conversation-v1", "--lobby-min-players", "2", "--drain-seconds", "5");
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };
        await using var enet = Godot("enet-client", $"--port={port}");
        Assert.True(await serve.WaitForLinesContainingAsync(" connected (room default, enet ", 1, Wait), Describe(serve, enet));

        // Sampled by the ENet service thread every quarter second.
        double? rtt = null;
        for (var deadline = DateTime.UtcNow + Wait; rtt is null && DateTime.UtcNow < deadline;)
        {
            using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative)));
            var peer = Assert.Single(status.RootElement.GetProperty("peers").EnumerateArray());
            Assert.Equal("enet", peer.GetProperty("transport").GetString());
            var value = peer.GetProperty("roundTripTimeMs");
            rtt = value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
        }

        Assert.NotNull(rtt);
        Assert.InRange(rtt.Value, 0, 5000);
        using (var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))))
        {
            var peer = Assert.Single(status.RootElement.GetProperty("peers").EnumerateArray());
            Assert.InRange(peer.GetProperty("packetLoss").GetDouble(), 0, 1); // sampled with the round-trip time
        }

        var metrics = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.InRange(metrics["gdnet_peer_round_trip_time_max_seconds{gdnet_transport=\"enet\"}"], 0, 5);
        Assert.Contains("gdnet_peer_round_trip_time_mean_seconds{gdnet_transport=\"enet\"}", metrics.Keys);
        Assert.InRange(metrics["gdnet_peer_packet_loss_max{gdnet_transport=\"enet\"}"], 0, 1);
        Assert.Contains("gdnet_peer_packet_loss_mean{gdnet_transport=\"enet\"}", metrics.Keys);
        Assert.Equal(0, await serve.TerminateAsync(Wait));
    }

    // Prometheus text exposition: "name{labels} value" lines, with the otel_scope_* labels taken out of the key.
    private static Dictionary<string, double> Parse(string exposition)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var brace = series.IndexOf('{', StringComparison.Ordinal);
            var key = series;
            if (brace >= 0)
            {
                var labels = series[(brace + 1)..^1].Split(',').Where(l => !l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToList();
                key = series[..brace] + (labels.Count == 0 ? string.Empty : "{" + string.Join(',', labels) + "}");
            }

            values[key] = double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return values;
    }
}
