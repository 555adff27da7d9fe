using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using GdNet.Server;
using OpenTelemetry.Metrics;

namespace GdNet.Cli.Serve;

/// <summary>
/// The operator's side of <c>gdnet serve</c> (<c>--admin-port</c>), on its own Kestrel listener, never the players'
/// port: <c>/metrics</c> (Prometheus text: the <c>GdNet</c> meter's instruments through OpenTelemetry's Prometheus
/// exporter, which keeps their kinds — counters as <c>_total</c> counters, up-down counters as gauges, units as
/// suffixes — plus .NET's <c>System.Runtime</c> meter for runtime and process metrics), <c>/healthz</c> (liveness), <c>/readyz</c> (200 while accepting
/// players, 503 before listening and while draining) and <c>/api/status</c> (rooms, peers, totals, refusals and
/// rejections as JSON). Reads the same router the terminal table reads.
/// </summary>
internal sealed class AdminEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AdminEndpoint(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:9090</c>.</summary>
    public string Url { get; }

    /// <summary>Starts listening on <paramref name="bind"/>:<paramref name="port"/>; throws <see cref="InvalidOperationException"/> with the reason when it cannot.</summary>
    public static async Task<AdminEndpoint> StartAsync(RelayServer server, string bind, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(bind), port));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJson.Default));
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(RelayMetrics.MeterName)
            .AddMeter("System.Runtime") // .NET's own runtime and process metrics (GC, heap, threads, CPU time, working set)
            .AddPrometheusExporter());
        var app = builder.Build();

        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () => server.IsReady
            ? Results.Text("ready\n")
            : Results.Text(server.Urls.Count == 0 ? "not listening yet\n" : "draining\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/api/status", () => Results.Json(Status(server), AdminJson.Default.AdminStatus));

        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"the admin endpoint cannot listen on {bind}:{port}: {ex.Message}", ex);
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? $"http://{bind}:{port}";
        return new AdminEndpoint(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    internal static AdminStatus Status(RelayServer server)
    {
        var router = server.Router;
        var stats = router.GetStatistics();
        var rooms = new List<AdminRoom>();
        var peers = new List<AdminPeer>();
        foreach (var room in router.Rooms)
        {
            rooms.Add(new AdminRoom(room.Name, room.PeerCount, room.CreatedAt));
            foreach (var c in room.Members)
            {
                peers.Add(new AdminPeer(c.PeerId, c.Transport, c.RemoteEndPoint?.ToString(), room.Name, c.Name, c.ConnectedAt,
                    c.PacketsIn, c.BytesIn, c.PacketsOut, c.BytesOut, c.QueuedBytes));
            }
        }

        return new AdminStatus(
            server.IsReady, server.Urls, rooms, peers,
            new AdminTotals(stats.Peers, stats.Rooms, stats.Accepted, stats.PacketsIn, stats.BytesIn, stats.Relayed, stats.DeliveredToHost, stats.SentByHost, stats.QueuedBytes),
            router.GetTrafficByTransport().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            stats.Refusals.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            stats.Rejections.ToDictionary(p => p.Key.ToString(), p => p.Value, StringComparer.Ordinal));
    }
}

/// <summary><c>/api/status</c>: the server now.</summary>
internal sealed record AdminStatus(
    bool Ready, IReadOnlyList<string> Listening, IReadOnlyList<AdminRoom> Rooms, IReadOnlyList<AdminPeer> Peers, AdminTotals Totals,
    IReadOnlyDictionary<string, GdNet.Server.TransportTraffic> Transports, IReadOnlyDictionary<string, long> Refusals, IReadOnlyDictionary<string, long> Rejections);

internal sealed record AdminRoom(string Name, int Peers, DateTimeOffset CreatedAt);

internal sealed record AdminPeer(
    int Id, string Transport, string? Address, string Room, string? Name, DateTimeOffset ConnectedAt,
    long PacketsIn, long BytesIn, long PacketsOut, long BytesOut, long QueuedBytes);

internal sealed record AdminTotals(int Peers, int Rooms, long Accepted, long PacketsIn, long BytesIn, long Relayed, long DeliveredToHost, long SentByHost, long QueuedBytes);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AdminStatus))]
internal sealed partial class AdminJson : JsonSerializerContext;
