using System.Collections.Concurrent;
using System.Globalization;
using GdNet.Cli.Conversation;
using GdNet.Cluster;
using GdNet.Enet;
using GdNet.Multiplayer;
using GdNet.Server;
using GdNet.WebSockets;
using Microsoft.Extensions.Logging;

namespace GdNet.Cli.Serve;

/// <summary>
/// What <c>gdnet serve</c> runs: one <see cref="RelayRouter"/> (rooms, relay rules, admission, limits) with the
/// transports the settings name plugged in as connection providers — WebSocket on TCP and ENet on UDP, the same port —
/// and, with <c>--lobby conversation-v1</c>, each room's hosted logic (the conversation-v1 <c>Main/Lobby</c>) on one game
/// thread; by default the rooms only relay.
/// </summary>
internal sealed class RelayServer : IAsyncDisposable, IAdminSource
{
    private const int MaxEventLinesPerSecond = 20;

    private readonly ConcurrentQueue<string> _events;
    private readonly ILogger _logger;
    private readonly RoomHostLoop? _hosts;
    private readonly ConcurrentDictionary<MultiplayerRoomHost, ConversationLobby> _lobbies = new();
    private WebSocketRelayListener? _ws;
    private EnetRelayListener? _enet;
    private long _eventWindow;
    private int _eventsInWindow;
    private long _eventsDropped;

    private RelayServer(ServeSettings settings, ConcurrentQueue<string> events, ILogger logger)
    {
        Settings = settings;
        _logger = logger;
        _events = events;
        Router = new RelayRouter(settings.ToRelayOptions(), logger);
        if (settings.HostsConversationLobby)
        {
            _hosts = new RoomHostLoop(h =>
            {
                if (_lobbies.TryGetValue(h, out var lobby))
                {
                    lobby.Update();
                }
            });
            Router.HostFactory = CreateLobbyHost;
        }

        Metrics = new RelayMetrics(Router, roomLabels: settings.MetricsRoomLabels, hosts: _hosts); // dotnet-counters monitor --counters GdNet

        Router.PeerJoined += c => Event(string.Create(CultureInfo.InvariantCulture,
            $"peer {c.PeerId} connected (room {c.Room?.Name}, {c.Transport} {c.RemoteEndPoint}{(c.Name is null ? "" : ", " + c.Name)})"), always: true);
        Router.PeerLeft += c => Event(string.Create(CultureInfo.InvariantCulture, $"peer {c.PeerId} disconnected"), always: true);
        Router.ConnectionRefused += (r, reason, detail) =>
        {
            if (TakeEventSlot())
            {
                _events.Enqueue($"refused {r.Transport} {r.RemoteEndPoint} (room {r.Room}): {reason}: {detail}");
                Remember(reason.ToString(), $"refused {r.Transport} {r.RemoteEndPoint} (room {r.Room}): {detail}");
            }
        };
        Router.PacketRejected += (_, r) =>
        {
            // Counted by the router; a line (and the dashboard's list) only within the rate: a flood formats nothing.
            if (TakeEventSlot())
            {
                var detail = r.Detail;
                _events.Enqueue("rejected: " + detail);
                Remember(r.Reason.ToString(), detail);
            }
        };
    }

    public ServeSettings Settings { get; }

    public RelayRouter Router { get; }

    /// <summary>The RPC traffic of the rooms' hosted logic, or null when relay-only.</summary>
    public HostedRpcStatistics? HostedStatistics => _hosts?.GetStatistics();

    /// <summary>The cluster link (<c>--cluster</c>), or null when the server is alone.</summary>
    public NatsClusterLink? ClusterLink { get; private set; }

    /// <summary>The cluster link's counters, or null when the server is alone.</summary>
    public NatsClusterStatistics? ClusterStatistics => ClusterLink?.GetStatistics();

    /// <summary>The router's counters on the <c>GdNet</c> meter.</summary>
    public RelayMetrics Metrics { get; }

    /// <summary>The last refusals and rejections (at most <see cref="RecentLimit"/>), newest last, for the dashboard.</summary>
    public IReadOnlyList<AdminRejection> RecentRejections
    {
        get
        {
            lock (_recent)
            {
                return [.. _recent];
            }
        }
    }

    private const int RecentLimit = 50;
    private readonly Queue<AdminRejection> _recent = new();

    private void Remember(string reason, string detail)
    {
        lock (_recent)
        {
            if (_recent.Count == RecentLimit)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(new AdminRejection(DateTimeOffset.UtcNow, reason, detail));
        }
    }

    /// <summary>The admin endpoint (<c>--admin-port</c>), or null. It stays up through the drain, so <c>/readyz</c> reports it.</summary>
    public AdminEndpoint? Admin { get; private set; }

    /// <summary>Where clients connect, one URL per transport (<c>ws://…</c>, <c>enet://…</c>).</summary>
    public List<string> Urls { get; } = [];

    IReadOnlyList<string> IAdminSource.Urls => Urls;

    /// <summary>Whether the server has started listening and is not draining (readiness).</summary>
    public bool IsReady => Urls.Count > 0 && Router.IsAccepting;

    /// <summary>Starts listening on every transport of <paramref name="settings"/>; throws <see cref="InvalidOperationException"/> with a readable reason when it cannot.</summary>
    public static async Task<RelayServer> StartAsync(ServeSettings settings, ConcurrentQueue<string> events, ILogger logger)
    {
        var server = new RelayServer(settings, events, logger);
        try
        {
            if (settings.JwtSecretFile is { } keyFile)
            {
                server.AddJwt(keyFile);
            }

            if (settings.Cluster is { } url)
            {
                var options = new NatsClusterOptions { Url = url, ClusterName = settings.ClusterName };
                if (settings.NodeName is { } node)
                {
                    options.NodeName = node;
                }

                server.ClusterLink = await NatsClusterLink.ConnectAsync(server.Router, options, logger).ConfigureAwait(false);
                server.ClusterLink.AddMetrics(server.Metrics.Meter);
            }

            await server.ListenAsync().ConfigureAwait(false);
            if (settings.AdminPort is { } adminPort)
            {
                server.Admin = await AdminEndpoint.StartAsync(server, settings.AdminBind, adminPort, settings.AdminToken).ConfigureAwait(false);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void AddJwt(string keyFile)
    {
        JwtAdmission jwt;
        try
        {
            jwt = JwtAdmission.FromKeyFile(keyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"cannot use the JWT key file {keyFile}: {ex.Message}", ex);
        }

        var allow = Settings.EnetAllow is { } list ? AddressAllowList.Parse(list) : null;
        Router.AddAdmissionHook((request, ct) =>
        {
            if (request.Transport != "enet")
            {
                return jwt.CheckAsync(request, ct);
            }

            // Godot 3's ENet client carries no credentials: with tokens on, only addresses the operator trusts get in.
            return ValueTask.FromResult(allow is not null && allow.Contains(request.RemoteEndPoint?.Address)
                ? AdmissionDecision.Accept()
                : AdmissionDecision.Refuse(AdmissionRefusal.Unauthorized, "ENet clients carry no token; the address is not in --enet-allow"));
        });
    }

    private async Task ListenAsync()
    {
        _bind = Settings.ResolveBind(); // a host name resolved, and a clear message for an address that is not this machine's
        var kinds = Settings.Transports;
        var port = Settings.Port;
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port;
            string? failure = null;
            foreach (var kind in kinds)
            {
                failure = kind == TransportKind.Ws ? await ListenWsAsync(chosen).ConfigureAwait(false) : ListenEnet(chosen);
                if (failure is not null)
                {
                    break;
                }

                chosen = kind == TransportKind.Ws ? _ws!.LocalPort : _enet!.LocalPort;
            }

            if (failure is null)
            {
                return;
            }

            await StopListenersAsync().ConfigureAwait(false);
            Urls.Clear();
            if (port != 0 || attempt >= 5)
            {
                throw new InvalidOperationException(failure);
            }

            // Port 0 with two transports: the free TCP port may be taken on UDP; draw another.
        }
    }

    private string _bind = "127.0.0.1";

    private async Task<string?> ListenWsAsync(int port)
    {
        _ws = new WebSocketRelayListener(Router, _logger)
        {
            BindIp = _bind,
            MaxPacketSize = Settings.MaxPacketSize,
            MaxQueuedBytes = Settings.PerClientQueueBytes, // two of the largest messages: a large packet is not a slow reader
            // A client that never answers the close is aborted after this: within the drain time, so SIGTERM ends in time.
            CloseTimeout = TimeSpan.FromSeconds(Math.Clamp(Settings.DrainSeconds, 0.1, 2)),
            RoomsFromPath = true,
        };
        var err = await _ws.ListenAsync(port).ConfigureAwait(false);
        if (err != Error.Ok)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"cannot listen on {_bind}:{port} (TCP): {(err == Error.AlreadyInUse ? "the port is already in use" : err + " (is the address this machine's, and the port free?)")}");
        }

        Urls.Add(_ws.Url!);
        return null;
    }

    private string? ListenEnet(int port)
    {
        Error err;
        try
        {
            _enet = new EnetRelayListener(Router, _logger)
            {
                BindIp = _bind,
                MaxClients = Math.Min(Settings.MaxClients, NetworkedMultiplayerENet.MaxClientsLimit),
                MaxPacketSize = Math.Min(Settings.MaxPacketSize, NetworkedMultiplayerENet.GodotMaxPacketSize),
                MaxWaitingData = Math.Max(NetworkedMultiplayerENet.DefaultMaxWaitingData, 2L * Math.Min(Settings.MaxPacketSize, NetworkedMultiplayerENet.GodotMaxPacketSize)),
                Room = Settings.EnetRoom,
            };
            err = _enet.Listen(port);
        }
        catch (DllNotFoundException ex)
        {
            return ex.Message;
        }

        if (err != Error.Ok)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"cannot listen on {_bind}:{port} (UDP): {(err == Error.CantCreate ? "the port is already in use or the address is not local" : err.ToString())}");
        }

        Urls.Add(_enet.Url!);
        return null;
    }

    private MultiplayerRoomHost CreateLobbyHost(Room room)
    {
        MultiplayerRoomHost? host = null;
        host = new MultiplayerRoomHost(room, (api, r) =>
        {
            var main = new Node { Name = "Main" };
            api.RootNode.AddChild(main);
            var lobby = new ConversationLobby(ConversationRole.Server) { Kick = id => r.Kick(id, "quit"), MinPlayers = Settings.LobbyMinPlayers };
            main.AddChild(lobby);
            lobby.Attach(api);
            lobby.ClientDone += (id, ok, detail) => Event(string.Create(CultureInfo.InvariantCulture,
                $"peer {id} finished conversation v1: {(ok ? "ok" : "fail " + detail)}"), always: true);
            api.RpcRejected += rejection =>
            {
                if (TakeEventSlot())
                {
                    _events.Enqueue("rpc rejected: " + rejection);
                }
            };
            _lobbies[host!] = lobby;
        });
        _hosts!.Add(host);
        return host;
    }

    // Events for the terminal: joins, leaves and conversation results always; refusals and rejections at most
    // MaxEventLinesPerSecond a second (a flood must not flood the log, nor format a line per bad packet), the rest counted.
    private void Event(string line, bool always = false)
    {
        if (always || TakeEventSlot())
        {
            _events.Enqueue(line);
        }
    }

    // Whether one more rate-limited line may be written this second; counts the ones that may not.
    private bool TakeEventSlot()
    {
        var second = Environment.TickCount64 / 1000;
        lock (_events)
        {
            if (second != _eventWindow)
            {
                if (_eventsDropped > 0)
                {
                    _events.Enqueue(string.Create(CultureInfo.InvariantCulture, $"({_eventsDropped} more refusals/rejections in the last second, counted in the stats)"));
                }

                _eventWindow = second;
                _eventsInWindow = 0;
                _eventsDropped = 0;
            }

            if (++_eventsInWindow > MaxEventLinesPerSecond)
            {
                _eventsDropped++;
                return false;
            }

            return true;
        }
    }

    /// <summary>Counters for the status line.</summary>
    public TrafficSample Sample()
    {
        var s = Router.GetStatistics();
        return new TrafficSample(s.Peers, s.PacketsIn, s.BytesIn, s.Relayed + s.SentByHost, 0, s.Relayed);
    }

    /// <summary>
    /// Drains: stops admitting, says goodbye to every client (WebSocket close 1001, ENet disconnect), waits up to
    /// <paramref name="timeout"/> for them to leave, then stops listening.
    /// </summary>
    /// <returns>True when every client left in time.</returns>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        var all = await Router.DrainAsync(timeout).ConfigureAwait(false);
        await StopListenersAsync().ConfigureAwait(false);
        if (ClusterLink is not null)
        {
            await ClusterLink.DisposeAsync().ConfigureAwait(false); // goodbye: the other nodes drop this node's peers at once
        }

        return all;
    }

    private async Task StopListenersAsync()
    {
        if (_ws is not null)
        {
            await _ws.DisposeAsync().ConfigureAwait(false);
            _ws = null;
        }

        _enet?.Dispose();
        _enet = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopListenersAsync().ConfigureAwait(false);
        if (ClusterLink is not null)
        {
            await ClusterLink.DisposeAsync().ConfigureAwait(false);
        }

        if (Admin is not null)
        {
            await Admin.DisposeAsync().ConfigureAwait(false);
        }

        _hosts?.Dispose();
        Metrics.Dispose();
    }
}
