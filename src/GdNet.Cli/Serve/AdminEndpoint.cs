using System.Net;
using System.Security.Cryptography;
using System.Text;
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
/// players, 503 before listening and while draining), <c>/api/status</c> (rooms, peers, totals, refusals and
/// rejections as JSON), and with <c>--admin-token</c> the actions <c>POST /api/peers/{id}/kick</c> and
/// <c>POST /api/rooms/{name}/close</c> (Bearer token; 401 without it, 403 when no token was configured). Reads the same
/// router the terminal table reads. <c>GET /</c> is the dashboard (an embedded page, no external assets) fed by
/// <c>GET /api/events</c> (Server-Sent Events, the status once a second).
/// </summary>
internal interface IAdminSource
{
    RelayRouter Router { get; }

    /// <summary>Accepting players (listening and not draining).</summary>
    bool IsReady { get; }

    /// <summary>Where players connect; empty before listening.</summary>
    IReadOnlyList<string> Urls { get; }

    /// <summary>The last refusals and rejections, newest last.</summary>
    IReadOnlyList<AdminRejection> RecentRejections { get; }

    /// <summary>The RPC traffic of the rooms' hosted logic, or null when relay-only.</summary>
    HostedRpcStatistics? HostedStatistics { get; }

    /// <summary>The cluster link's counters, or null when the server is alone.</summary>
    GdNet.Cluster.NatsClusterStatistics? ClusterStatistics { get; }
}

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
    public static async Task<AdminEndpoint> StartAsync(IAdminSource server, string bind, int port, string? token)
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
        var stopping = app.Lifetime.ApplicationStopping;
        // A RequestDelegate, explicitly: with PublishAot the request delegate generator would intercept a lambda here as the Delegate overload (CS9144).
        app.MapGet("/api/events", (RequestDelegate)(async context =>
        {
            // Server-Sent Events: the status once a second, until the client goes or the endpoint stops.
            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            context.Response.Headers.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            try
            {
                while (true)
                {
                    var json = JsonSerializer.Serialize(Status(server), AdminJson.Default.AdminStatus);
                    await context.Response.WriteAsync("data: " + json + "\n\n", done.Token).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(done.Token).ConfigureAwait(false);
                    await Task.Delay(TimeSpan.FromSeconds(1), done.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // the page closed, or the server stops
            }
        }));
        app.MapGet("/", () => Results.Text(Dashboard.Value, "text/html; charset=utf-8"));
        app.MapPost("/api/peers/{id:int}/kick", (HttpRequest request, int id) => Authorize(request, token)
            ?? (server.Router.Kick(id, "kicked by the operator") ? Results.Text("kicked\n") : Results.NotFound($"no peer {id}\n")));
        app.MapPost("/api/rooms/{name}/close", (HttpRequest request, string name) => Authorize(request, token)
            ?? (server.Router.CloseRoom(name, "room closed by the operator") ? Results.Text("closed\n") : Results.NotFound($"no room {name}\n")));

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

    // The actions need the operator's Bearer token, compared in constant time; without a configured token they are off.
    private static IResult? Authorize(HttpRequest request, string? token)
    {
        if (token is null)
        {
            return Results.Text("admin actions are off: start gdnet serve with --admin-token (or GDNET_ADMIN_TOKEN)\n", statusCode: StatusCodes.Status403Forbidden);
        }

        var given = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        var ok = given.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given[Scheme.Length..].Trim()), Encoding.UTF8.GetBytes(token));
        if (ok)
        {
            return null;
        }

        request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Text("missing or wrong admin token (Authorization: Bearer …)\n", statusCode: StatusCodes.Status401Unauthorized);
    }

    private static readonly Lazy<string> Dashboard = new(() =>
    {
        using var stream = typeof(AdminEndpoint).Assembly.GetManifestResourceStream("GdNet.Cli.Serve.dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    internal static AdminStatus Status(IAdminSource server)
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
                    c.PacketsIn, c.BytesIn, c.PacketsOut, c.BytesOut, c.QueuedBytes, c.RoundTripTime?.TotalMilliseconds, c.PacketLoss));
            }
        }

        var hosted = server.HostedStatistics is { } h
            ? new AdminHosted(h.Rooms, h.QueuedPackets, h.Traffic.RpcIn, h.Traffic.RsetIn, h.Traffic.RpcOut, h.Traffic.RsetOut,
                h.Traffic.Rejections.ToDictionary(p => p.Key.ToString(), p => p.Value, StringComparer.Ordinal))
            : null;
        return new AdminStatus(
            DateTimeOffset.UtcNow, server.IsReady, server.Urls, rooms, peers,
            new AdminTotals(stats.Peers, stats.Rooms, stats.Accepted, stats.PacketsIn, stats.BytesIn, stats.Relayed, stats.DeliveredToHost, stats.SentByHost, stats.QueuedBytes),
            router.GetTrafficByTransport().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            stats.Refusals.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            stats.Rejections.ToDictionary(p => p.Key.ToString(), p => p.Value, StringComparer.Ordinal),
            server.RecentRejections, hosted, server.ClusterStatistics);
    }
}

/// <summary><c>/api/status</c>: the server now.</summary>
internal sealed record AdminStatus(
    DateTimeOffset At, bool Ready, IReadOnlyList<string> Listening, IReadOnlyList<AdminRoom> Rooms, IReadOnlyList<AdminPeer> Peers, AdminTotals Totals,
    IReadOnlyDictionary<string, GdNet.Server.TransportTraffic> Transports, IReadOnlyDictionary<string, long> Refusals, IReadOnlyDictionary<string, long> Rejections,
    IReadOnlyList<AdminRejection> RecentRejections, AdminHosted? Hosted, GdNet.Cluster.NatsClusterStatistics? Cluster);

/// <summary>The rooms' hosted logic (null when relay-only): RPCs run, sent and rejected, closed rooms included.</summary>
internal sealed record AdminHosted(int Rooms, int QueuedPackets, long RpcDispatched, long RsetDispatched, long RpcSent, long RsetSent,
    IReadOnlyDictionary<string, long> Rejections);

/// <summary>A refused connection or a rejected packet, for the dashboard's list.</summary>
internal sealed record AdminRejection(DateTimeOffset At, string Reason, string Detail);

internal sealed record AdminRoom(string Name, int Peers, DateTimeOffset CreatedAt);

internal sealed record AdminPeer(
    int Id, string Transport, string? Address, string Room, string? Name, DateTimeOffset ConnectedAt,
    long PacketsIn, long BytesIn, long PacketsOut, long BytesOut, long QueuedBytes, double? RoundTripTimeMs, double? PacketLoss);

internal sealed record AdminTotals(int Peers, int Rooms, long Accepted, long PacketsIn, long BytesIn, long Relayed, long DeliveredToHost, long SentByHost, long QueuedBytes);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AdminStatus))]
internal sealed partial class AdminJson : JsonSerializerContext;
