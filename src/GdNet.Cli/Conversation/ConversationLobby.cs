using System.Diagnostics;
using System.Globalization;
using GdNet.Multiplayer;
using GdNet.Variants;

namespace GdNet.Cli.Conversation;

/// <summary>Which side of conversation v1 a lobby plays.</summary>
public enum ConversationRole
{
    Server,
    Client,
}

/// <summary>
/// The node <c>/root/Main/Lobby</c> of "conversation v1", the scripted exchange of the shared Godot 3.2.3 interop peers
/// (<c>shared/godot3/README.md</c>), in C#: the server side (answers every client and kicks it after <c>quit</c>) and the
/// client side (runs the steps in order, checking each reply). Wire names, RPC modes and argument types are exactly the
/// GDScript ones, so either side can face a real Godot peer.
/// </summary>
/// <remarks>
/// Arguments are received as <see cref="Variant"/> and their types checked one by one, as the GDScript does with
/// <c>typeof</c>: a wrong type is a failed check, not a silent conversion. Game thread only.
/// </remarks>
public sealed class ConversationLobby : Node
{
    public const string ServerName = "gdnet";
    public const string MotdText = "hello from godot";
    public const string AnnounceText = "hello everyone";
    public static readonly byte[] RawOut = [1, 2, 3, 250];
    public static readonly byte[] RawBack = [250, 3, 2, 1];
    private static readonly string[] ServerNeeds = ["ping", "ping_unreliable", "submit", "score", "announce", "raw"];
    private static readonly string SubmitText = VariantText.Format(Variant.From(SubmitValue()));

    private readonly Dictionary<int, Progress> _progress = [];
    private readonly List<int> _pendingKicks = [];
    private readonly List<int> _waiting = [];
    private bool _started;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private MultiplayerAPI? _api;
    private TimeSpan _resendAt;
    private int _resends;
    private bool _gotWelcome;
    private bool _gotMotd;

    public ConversationLobby(ConversationRole role)
    {
        Name = "Lobby";
        Role = role;
    }

    private sealed class Progress
    {
        public readonly List<string> Done = [];
        public readonly List<string> Errors = []; // distinct error names (a handful at most), in order of first sight
        public long Repeats; // errors seen again after their first time: counted, not kept
        public bool Finished;
    }

    public ConversationRole Role { get; }

    /// <summary>
    /// Server: the match starts when this many clients are in (they are welcomed together), and they leave together
    /// (each one's <c>quit</c> is answered by the disconnect only once every welcomed client has quit or left). With
    /// several clients this makes every client see every other's broadcasts. Default 1 (each client on its own).
    /// </summary>
    public int MinPlayers { get; set; } = 1;

    /// <summary>Godot-style output lines (RPC_RECEIVED, CHECK, STEP, CLIENT_DONE, DONE…), for logs and diagnostics.</summary>
    public event Action<string>? Line;

    /// <summary>Server: a client finished (sent quit, or left before it): its id, whether every step passed, and why not.</summary>
    public event Action<int, bool, string>? ClientDone;

    /// <summary>Server: how to disconnect a client after its quit (WebSocket: close 1000 "quit"; ENet: disconnect).</summary>
    public Action<int>? Kick { get; set; }

    /// <summary>Server: clients that finished every step.</summary>
    public int ClientsOk { get; private set; }

    /// <summary>Server: clients that failed a step or left before quit.</summary>
    public int ClientsFailed { get; private set; }

    /// <summary>Client: the current step ("connecting", "welcome", "ping", …, "quit").</summary>
    public string Step { get; private set; } = "connecting";

    /// <summary>Client: null while running, then true (kicked after quit, as expected) or false.</summary>
    public bool? Succeeded { get; private set; }

    /// <summary>Client: why it failed.</summary>
    public string? FailureReason { get; private set; }

    /// <summary>Client: this peer's id once connected.</summary>
    public int MyId { get; private set; }

    /// <summary>
    /// Client: when true, the lobby stops after <c>welcome</c> and <c>motd</c> until <see cref="Begin"/> (a demo lets its
    /// bots chat first). Default false: the steps start at once, as in the Godot peer.
    /// </summary>
    public bool HoldAfterWelcome { get; set; }

    /// <summary>Client: true once welcome and motd were checked (the conversation can start).</summary>
    public bool Welcomed => _gotWelcome && _gotMotd;

    /// <summary>Client: starts the steps held by <see cref="HoldAfterWelcome"/>.</summary>
    public void Begin()
    {
        HoldAfterWelcome = false;
        MaybeStart();
    }

    /// <summary>Client: the steps passed so far, in order.</summary>
    public List<string> Passed { get; } = [];

    /// <summary>Wires the lobby to <paramref name="api"/>'s events; call once after adding it under <c>Main</c>.</summary>
    public void Attach(MultiplayerAPI api)
    {
        _api = api;
        api.NetworkPeerConnected += OnPeerConnected;
        api.NetworkPeerDisconnected += OnPeerDisconnected;
        api.ConnectedToServer += OnConnectedToServer;
        api.ConnectionFailed += () => Finish(false, "connection_failed");
        api.ServerDisconnected += OnServerDisconnected;
        api.NetworkPeerPacket += OnPacket;
    }

    /// <summary>Once per frame after <see cref="MultiplayerAPI.Poll"/>: resends the unreliable ping, performs deferred kicks.</summary>
    public void Update()
    {
        // With MinPlayers, everyone leaves together: the kicks wait until every client still here has quit.
        if (_pendingKicks.Count > 0 && (MinPlayers <= 1 || _progress.Values.All(p => p.Finished)))
        {
            foreach (var id in _pendingKicks)
            {
                Kick?.Invoke(id);
            }

            _pendingKicks.Clear();
        }

        if (Role == ConversationRole.Client && Step == "ping_unreliable" && _clock.Elapsed >= _resendAt && _resends < 50)
        {
            SendUnreliablePing();
        }
    }

    /// <summary>The Dictionary of the "submit" step: String keys in this order, values Int, Real, String, Vector2.</summary>
    public static VariantDictionary SubmitValue() => new()
    {
        ["name"] = "probe",
        ["values"] = Variant.From(new VariantArray { 1, 2.5, "three", new Vector2(1, 2) }),
    };

    private int Sender => _api!.GetRpcSenderId();

    private bool IsServer => Role == ConversationRole.Server;

    private void Emit(string line) => Line?.Invoke(line);

    private void LogRpc(string method, params ReadOnlySpan<Variant> args)
    {
        if (Line is null)
        {
            return;
        }

        var parts = new List<string>(args.Length);
        foreach (var a in args)
        {
            parts.Add(VariantText.Format(a).ReplaceLineEndings(" "));
        }

        Emit(string.Create(CultureInfo.InvariantCulture, $"RPC_RECEIVED Main/Lobby {method} {Sender} [{string.Join(", ", parts)}]"));
    }

    private bool Check(bool ok, string name, string detail = "")
    {
        Emit(ok ? "CHECK ok " + name : $"CHECK fail {name} {detail}");
        if (ok && !IsServer)
        {
            Passed.Add(name);
        }

        return ok;
    }

    // ------------------------------------------------------------------ server side

    private Progress P(int id)
    {
        if (!_progress.TryGetValue(id, out var p))
        {
            p = new Progress();
            _progress[id] = p;
        }

        return p;
    }

    private void Mark(int id, string what)
    {
        var p = P(id);
        if (!p.Done.Contains(what))
        {
            p.Done.Add(what);
        }
    }

    // A client's error, once per kind: a client repeating a malformed call (a flood) is counted, not remembered or
    // reported again, so what the lobby keeps per client stays bounded by the handful of kinds.
    private void Error(int id, string what)
    {
        var p = P(id);
        if (p.Errors.Contains(what))
        {
            p.Repeats++;
            return;
        }

        p.Errors.Add(what);
        Check(false, what, string.Create(CultureInfo.InvariantCulture, $"peer={id}"));
    }

    /// <summary>Server: the distinct errors a connected client made so far, and how many repeated one (for tests and diagnostics).</summary>
    public (IReadOnlyList<string> Errors, long Repeats) ErrorsOf(int id) =>
        _progress.TryGetValue(id, out var p) ? (p.Errors, p.Repeats) : ([], 0);

    private void OnPeerConnected(int id)
    {
        Emit(string.Create(CultureInfo.InvariantCulture, $"EVENT peer_connected {id}"));
        if (IsServer)
        {
            P(id);
            if (_started || MinPlayers <= 1)
            {
                Greet(id);
                return;
            }

            _waiting.Add(id);
            if (_waiting.Count >= MinPlayers)
            {
                _started = true;
                foreach (var w in _waiting)
                {
                    Greet(w);
                }

                _waiting.Clear();
            }
        }
    }

    private void Greet(int id)
    {
        RpcId(id, nameof(Welcome), id, ServerName);
        RsetId(id, nameof(Motd), MotdText);
    }

    private void OnPeerDisconnected(int id)
    {
        Emit(string.Create(CultureInfo.InvariantCulture, $"EVENT peer_disconnected {id}"));
        _waiting.Remove(id);
        if (IsServer && _progress.TryGetValue(id, out var p))
        {
            if (!p.Finished)
            {
                p.Finished = true;
                ClientsFailed++;
                Emit(string.Create(CultureInfo.InvariantCulture, $"CLIENT_DONE {id} fail disconnected_before_quit"));
                ClientDone?.Invoke(id, false, "disconnected_before_quit");
            }

            _progress.Remove(id);
        }
    }

    [Remote(Name = "ping")]
    public void Ping(Variant n, Variant s)
    {
        LogRpc("ping", n, s);
        if (!IsServer)
        {
            return;
        }

        var id = Sender;
        if (n.Type != VariantType.Int || s.Type != VariantType.String)
        {
            Error(id, "ping_arg_types");
            return;
        }

        Mark(id, n.AsInt64() == 100 ? "ping_unreliable" : "ping");
        RpcId(id, nameof(Pong), n.AsInt64() + 1, s);
    }

    [Master(Name = "submit")]
    public void Submit(Variant data)
    {
        LogRpc("submit", data);
        var id = Sender;
        if (data.Type != VariantType.Dictionary
            || !data.AsDictionary().TryGetValue("name", out var name) || name.Type != VariantType.String
            || !data.AsDictionary().TryGetValue("values", out var values) || values.Type != VariantType.Array)
        {
            Error(id, "submit_arg_types");
            return;
        }

        Mark(id, "submit");
        RpcId(id, nameof(SubmitAck), (long)values.AsArray().Count, data);
    }

    /// <summary>GDScript <c>remote var score</c>: the server checks it is an int and acknowledges it.</summary>
    [Remote(Name = "score")]
    public Variant Score
    {
        get => field;
        set
        {
            field = value;
            if (_api is null || !IsServer)
            {
                return;
            }

            var id = Sender;
            Emit(string.Create(CultureInfo.InvariantCulture, $"RSET_RECEIVED Main/Lobby score {id} {VariantText.Format(value)}"));
            if (value.Type != VariantType.Int)
            {
                Error(id, "score_type");
                return;
            }

            Mark(id, "score");
            RpcId(id, nameof(ScoreAck), value);
        }
    }

    [RemoteSync(Name = "announce")]
    public void Announce(Variant text)
    {
        LogRpc("announce", text);
        var id = Sender;
        if (IsServer && id != 1)
        {
            if (text.Type != VariantType.String)
            {
                Error(id, "announce_type");
                return;
            }

            Mark(id, "announce");
            Rpc(nameof(Relayed), id, text);
        }
    }

    [Remote(Name = "quit")]
    public void Quit()
    {
        LogRpc("quit");
        if (!IsServer)
        {
            return;
        }

        var id = Sender;
        var p = P(id);
        var missing = ServerNeeds.Where(w => !p.Done.Contains(w)).ToList();
        p.Finished = true;
        var ok = missing.Count == 0 && p.Errors.Count == 0;
        var detail = ok ? "" : $"missing=[{string.Join(",", missing)}] errors=[{string.Join(",", p.Errors)}]{(p.Repeats > 0 ? string.Create(CultureInfo.InvariantCulture, $" (+{p.Repeats} repeated)") : "")}";
        if (ok)
        {
            ClientsOk++;
        }
        else
        {
            ClientsFailed++;
        }

        Emit(string.Create(CultureInfo.InvariantCulture, $"CLIENT_DONE {id} {(ok ? "ok" : "fail " + detail)}"));
        ClientDone?.Invoke(id, ok, detail);
        _pendingKicks.Add(id);
    }

    private void OnPacket(int id, ReadOnlySpan<byte> packet)
    {
        Emit(string.Create(CultureInfo.InvariantCulture, $"RAW_RECEIVED {id} {Convert.ToHexStringLower(packet)}"));
        if (IsServer)
        {
            var back = packet.ToArray();
            Array.Reverse(back);
            if (packet.SequenceEqual(RawOut))
            {
                Mark(id, "raw");
            }

            _api!.SendBytes(back, id);
        }
        else if (Step == "raw" && id == 1)
        {
            if (Check(packet.SequenceEqual(RawBack), "raw", Convert.ToHexStringLower(packet)))
            {
                Go("quit");
            }
            else
            {
                Finish(false, "raw");
            }
        }
    }

    // ------------------------------------------------------------------ client side

    private void OnConnectedToServer()
    {
        MyId = _api!.GetNetworkUniqueId();
        Emit(string.Create(CultureInfo.InvariantCulture, $"EVENT connected_to_server {MyId}"));
        Step = "welcome";
        MaybeStart();
    }

    private void OnServerDisconnected()
    {
        Emit("EVENT server_disconnected");
        if (IsServer)
        {
            return;
        }

        if (Step == "quit")
        {
            Check(true, "kicked");
            Finish(true, "");
        }
        else
        {
            Finish(false, "server_disconnected_at_" + Step);
        }
    }

    [Puppet(Name = "welcome")]
    public void Welcome(Variant yourId, Variant serverName)
    {
        LogRpc("welcome", yourId, serverName);
        var ok = yourId.Type == VariantType.Int && yourId.AsInt64() == _api!.GetNetworkUniqueId() && serverName.Type == VariantType.String;
        if (Check(ok, "welcome", $"{VariantText.Format(yourId)} {VariantText.Format(serverName)}"))
        {
            _gotWelcome = true;
            MaybeStart();
        }
        else
        {
            Finish(false, "welcome");
        }
    }

    /// <summary>GDScript <c>puppet var motd</c>: the client checks the server's message of the day.</summary>
    [Puppet(Name = "motd")]
    public Variant Motd
    {
        get => field;
        set
        {
            field = value;
            if (_api is null || IsServer)
            {
                return;
            }

            Emit(string.Create(CultureInfo.InvariantCulture, $"RSET_RECEIVED Main/Lobby motd {Sender} {VariantText.Format(value)}"));
            if (Check(value.Type == VariantType.String && value.AsString() == MotdText, "motd", VariantText.Format(value)))
            {
                _gotMotd = true;
                MaybeStart();
            }
            else
            {
                Finish(false, "motd");
            }
        }
    }

    private void MaybeStart()
    {
        if (Step == "welcome" && _gotWelcome && _gotMotd && !HoldAfterWelcome)
        {
            Go("ping");
        }
    }

    private void Go(string step)
    {
        Step = step;
        Emit("STEP " + step);
        switch (step)
        {
            case "ping":
                RpcId(1, nameof(Ping), 7, "hello");
                break;
            case "ping_unreliable":
                _resends = 0;
                SendUnreliablePing();
                break;
            case "submit":
                RpcId(1, nameof(Submit), Variant.From(SubmitValue()));
                break;
            case "score":
                RsetId(1, nameof(Score), 42);
                break;
            case "announce":
                Rpc(nameof(Announce), AnnounceText);
                break;
            case "raw":
                _api!.SendBytes(RawOut, 1);
                break;
            case "quit":
                RpcId(1, nameof(Quit));
                break;
            default:
                break;
        }
    }

    private void SendUnreliablePing()
    {
        _resends++;
        _resendAt = _clock.Elapsed + TimeSpan.FromMilliseconds(100);
        RpcUnreliableId(1, nameof(Ping), 100, "u");
    }

    [Puppet(Name = "pong")]
    public void Pong(Variant n, Variant s)
    {
        LogRpc("pong", n, s);
        var detail = $"{VariantText.Format(n)} {VariantText.Format(s)}";
        if (Step == "ping")
        {
            if (Check(IsInt(n, 8) && IsString(s, "hello"), "ping", detail))
            {
                Go("ping_unreliable");
            }
            else
            {
                Finish(false, "ping");
            }
        }
        else if (Step == "ping_unreliable")
        {
            if (Check(IsInt(n, 101) && IsString(s, "u"), "ping_unreliable", detail))
            {
                Go("submit");
            }
            else
            {
                Finish(false, "ping_unreliable");
            }
        }

        // late duplicates of pong(101, "u") are ignored
    }

    [Puppet(Name = "submit_ack")]
    public void SubmitAck(Variant count, Variant data)
    {
        LogRpc("submit_ack", count, data);
        if (Step != "submit")
        {
            return;
        }

        var ok = IsInt(count, 4) && data.Type == VariantType.Dictionary && VariantText.Format(data) == SubmitText;
        if (Check(ok, "submit", VariantText.Format(data).ReplaceLineEndings(" ")))
        {
            Go("score");
        }
        else
        {
            Finish(false, "submit");
        }
    }

    [Puppet(Name = "score_ack")]
    public void ScoreAck(Variant v)
    {
        LogRpc("score_ack", v);
        if (Step != "score")
        {
            return;
        }

        if (Check(IsInt(v, 42), "score", VariantText.Format(v)))
        {
            Go("announce");
        }
        else
        {
            Finish(false, "score");
        }
    }

    [Remote(Name = "relayed")]
    public void Relayed(Variant fromId, Variant text)
    {
        LogRpc("relayed", fromId, text);
        if (IsServer || !IsInt(fromId, MyId) || Step != "announce")
        {
            return; // another client's announcement
        }

        if (Check(IsString(text, AnnounceText), "announce", VariantText.Format(text)))
        {
            Go("raw");
        }
        else
        {
            Finish(false, "announce");
        }
    }

    private void Finish(bool ok, string reason)
    {
        if (Succeeded is not null)
        {
            return;
        }

        Succeeded = ok;
        FailureReason = ok ? null : reason;
        Emit(ok ? "DONE ok" : "DONE fail " + reason);
    }

    private static bool IsInt(Variant v, long expected) => v.Type == VariantType.Int && v.AsInt64() == expected;

    private static bool IsString(Variant v, string expected) => v.Type == VariantType.String && v.AsString() == expected;
}
