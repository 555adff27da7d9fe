using System.Globalization;
using GdNet.Enet;
using GdNet.Peers;
using GdNet.Peers.Local;
using GdNet.WebSockets;

namespace GdNet.Cli;

/// <summary>The transports the CLI can run on.</summary>
internal enum TransportKind
{
    /// <summary>Godot 3's WebSocketMultiplayerPeer protocol (GdNet.WebSockets).</summary>
    Ws,

    /// <summary>Godot 3's NetworkedMultiplayerENet protocol (GdNet.Enet).</summary>
    Enet,

    /// <summary>In-process <see cref="LocalNetwork"/> (no sockets; for measuring the layers above the transport).</summary>
    Local,
}

/// <summary>Server settings common to every transport.</summary>
internal sealed record ServerSettings(string Bind, int Port, int MaxClients, int MaxPacketSize);

/// <summary>Traffic counters of a running server, as the CLI displays them.</summary>
internal readonly record struct TrafficSample(int Peers, long PacketsIn, long BytesIn, long PacketsOut, long BytesOut, long Relayed);

/// <summary>A listening server peer with what the CLI needs around it.</summary>
internal sealed class ServerHandle(NetworkedMultiplayerPeer peer, string url, Func<TrafficSample> sample, Func<ValueTask> stop) : IAsyncDisposable
{
    public NetworkedMultiplayerPeer Peer { get; } = peer;

    /// <summary>Where clients connect, e.g. <c>ws://127.0.0.1:9080</c>.</summary>
    public string Url { get; } = url;

    public TrafficSample Sample() => sample();

    public ValueTask DisposeAsync() => stop();
}

/// <summary>A server and a way to make clients of it, in one process (bench, demo, soak).</summary>
internal sealed class InProcessNetwork(ServerHandle server, Func<NetworkedMultiplayerPeer> newClient, Action pump, Func<ValueTask> dispose) : IAsyncDisposable
{
    public ServerHandle Server { get; } = server;

    /// <summary>A new client, connecting (events arrive from its Poll).</summary>
    public NetworkedMultiplayerPeer NewClient() => newClient();

    /// <summary>Moves the network along; call once per frame (a no-op for socket transports, which run on their own tasks).</summary>
    public void Pump() => pump();

    public ValueTask DisposeAsync() => dispose();
}

/// <summary>
/// The one place where a transport name becomes peers. Adding a transport (e.g. ENet) means a case in
/// <see cref="StartServerAsync"/>, <see cref="CreateClient"/> and <see cref="StartInProcessAsync"/>.
/// </summary>
internal static class Transports
{
    public static readonly string[] NetworkNames = ["ws", "enet"];

    public static readonly string[] AllNames = ["ws", "enet", "local"];

    public static TransportKind Parse(string name) => name.ToLowerInvariant() switch
    {
        "ws" or "websocket" => TransportKind.Ws,
        "enet" => TransportKind.Enet,
        "local" => TransportKind.Local,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Use ws, enet or local."),
    };

    /// <summary>Starts a listening server; throws <see cref="InvalidOperationException"/> with a readable reason when it cannot.</summary>
    public static async Task<ServerHandle> StartServerAsync(TransportKind kind, ServerSettings settings)
    {
        switch (kind)
        {
            case TransportKind.Ws:
            {
                var server = new WebSocketServer { BindIp = settings.Bind, MaxClients = settings.MaxClients, MaxPacketSize = settings.MaxPacketSize };
                var err = await server.ListenAsync(settings.Port).ConfigureAwait(false);
                if (err != Error.Ok)
                {
                    await server.DisposeAsync().ConfigureAwait(false);
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"cannot listen on {settings.Bind}:{settings.Port}: {(err == Error.AlreadyInUse ? "the port is already in use" : err.ToString())}"));
                }

                return new ServerHandle(server, server.Url!, () =>
                {
                    var s = server.GetTransportStats();
                    return new TrafficSample(s.Peers, s.MessagesIn, s.BytesIn, s.MessagesOut, s.BytesOut, s.Relayed);
                }, server.DisposeAsync);
            }

            case TransportKind.Enet:
            {
                var server = NewEnet(settings.MaxPacketSize);
                Error err;
                try
                {
                    server.SetBindIp(settings.Bind);
                    err = server.CreateServer(settings.Port, Math.Min(settings.MaxClients, NetworkedMultiplayerENet.MaxClientsLimit));
                }
                catch (ArgumentException ex)
                {
                    server.Dispose();
                    throw new InvalidOperationException($"cannot listen on {settings.Bind} with enet: {ex.Message}", ex);
                }
                catch (DllNotFoundException ex)
                {
                    server.Dispose();
                    throw new InvalidOperationException(ex.Message, ex);
                }

                if (err != Error.Ok)
                {
                    server.Dispose();
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"cannot listen on {settings.Bind}:{settings.Port} (UDP): {(err == Error.CantCreate ? "the port is already in use or the address is not local" : err.ToString())}"));
                }

                var peers = 0;
                server.PeerConnected += _ => Interlocked.Increment(ref peers);
                server.PeerDisconnected += _ => Interlocked.Decrement(ref peers);
                var host = settings.Bind == "*" ? "127.0.0.1" : settings.Bind;
                return new ServerHandle(server, string.Create(CultureInfo.InvariantCulture, $"enet://{host}:{server.GetLocalPort()}"), () =>
                {
                    var s = server.Statistics.Snapshot();
                    return new TrafficSample(Volatile.Read(ref peers), s.PacketsIn, s.BytesIn, s.PacketsOut, s.BytesOut, server.RelayedPackets);
                }, () =>
                {
                    server.Dispose();
                    return ValueTask.CompletedTask;
                });
            }

            default:
                throw new InvalidOperationException($"the {kind.ToString().ToLowerInvariant()} transport has no network server; use ws or enet");
        }
    }

    /// <summary>Disconnects client <paramref name="id"/> from <paramref name="server"/> (WebSocket: close 1000 with <paramref name="reason"/>).</summary>
    public static void Kick(NetworkedMultiplayerPeer server, int id, string reason)
    {
        switch (server)
        {
            case WebSocketServer ws:
                ws.DisconnectPeer(id, 1000, reason);
                break;
            case NetworkedMultiplayerENet enet:
                try
                {
                    enet.DisconnectPeer(id);
                }
                catch (ArgumentOutOfRangeException)
                {
                    // already gone
                }

                break;
            case NetworkedMultiplayerCustom custom:
                custom.DisconnectPeer(id);
                break;
            default:
                throw new InvalidOperationException($"cannot kick peers from a {server.GetType().Name}");
        }
    }

    /// <summary>A client connecting to <paramref name="url"/> (ws://host:port, or enet://host:port).</summary>
    public static NetworkedMultiplayerPeer CreateClient(TransportKind kind, string url, int maxPacketSize = WebSocketMultiplayerPeer.DefaultMaxPacketSize)
    {
        switch (kind)
        {
            case TransportKind.Ws:
            {
                var client = new WebSocketClient { MaxPacketSize = maxPacketSize };
                var err = client.ConnectToUrl(url);
                if (err != Error.Ok)
                {
                    client.Dispose();
                    throw new InvalidOperationException($"cannot connect to {url}: {err}");
                }

                return client;
            }

            case TransportKind.Enet:
            {
                if (!Uri.TryCreate(url.Contains("://", StringComparison.Ordinal) ? url : "enet://" + url, UriKind.Absolute, out var uri) || uri.Port is < 1 or > 65535)
                {
                    throw new InvalidOperationException($"cannot connect to {url}: give a host and a port, e.g. enet://127.0.0.1:9080");
                }

                var client = NewEnet(maxPacketSize);
                Error err;
                try
                {
                    err = client.CreateClient(uri.Host, uri.Port);
                }
                catch (DllNotFoundException ex)
                {
                    client.Dispose();
                    throw new InvalidOperationException(ex.Message, ex);
                }

                if (err != Error.Ok)
                {
                    client.Dispose();
                    throw new InvalidOperationException($"cannot connect to {url}: {err}");
                }

                return client;
            }

            default:
                throw new InvalidOperationException($"the {kind.ToString().ToLowerInvariant()} transport has no network clients; use ws or enet");
        }
    }

    /// <summary>An ENet peer for <paramref name="maxPacketSize"/> (clamped to Godot's 16 MiB), with room for at least two
    /// such packets waiting in ENet.</summary>
    private static NetworkedMultiplayerENet NewEnet(int maxPacketSize)
    {
        var size = Math.Min(maxPacketSize, NetworkedMultiplayerENet.GodotMaxPacketSize);
        return new NetworkedMultiplayerENet { MaxPacketSize = size, MaxWaitingData = Math.Max(NetworkedMultiplayerENet.DefaultMaxWaitingData, 2L * size) };
    }

    /// <summary>A server on 127.0.0.1 (a free port) and a client factory, for in-process runs.</summary>
    public static async Task<InProcessNetwork> StartInProcessAsync(TransportKind kind, int maxPacketSize = WebSocketMultiplayerPeer.DefaultMaxPacketSize)
    {
        if (kind == TransportKind.Local)
        {
            var net = new LocalNetwork(seed: Environment.TickCount);
            var server = net.CreateServer();
            var handle = new ServerHandle(server, "local", () =>
            {
                var s = server.Statistics.Snapshot();
                return new TrafficSample(net.Clients.Count, s.PacketsIn, s.BytesIn, s.PacketsOut, s.BytesOut, 0);
            }, () =>
            {
                net.Dispose();
                return ValueTask.CompletedTask;
            });
            return new InProcessNetwork(handle, () => net.CreateClient(), net.Step, handle.DisposeAsync);
        }

        var serverHandle = await StartServerAsync(kind, new ServerSettings("127.0.0.1", 0, kind == TransportKind.Enet ? NetworkedMultiplayerENet.MaxClientsLimit : 100_000, maxPacketSize)).ConfigureAwait(false);
        var made = new List<NetworkedMultiplayerPeer>();
        return new InProcessNetwork(serverHandle, () =>
        {
            var c = CreateClient(kind, serverHandle.Url, maxPacketSize);
            made.Add(c);
            return c;
        }, static () => { }, async () =>
        {
            foreach (var c in made)
            {
                if (c is IAsyncDisposable d)
                {
                    await d.DisposeAsync().ConfigureAwait(false);
                }
                else if (c is IDisposable sd)
                {
                    sd.Dispose();
                }
            }

            await serverHandle.DisposeAsync().ConfigureAwait(false);
        });
    }
}
