using System.Buffers;

namespace GdNet.Peers.Local;

/// <summary>
/// An in-process network of <see cref="NetworkedMultiplayerCustom"/> peers: one server (id 1) and clients with random
/// ids (2…2147483647, from the seeded generator, like Godot), joined by simulated links on a clock the caller drives.
/// It is written only against the public API of <see cref="NetworkedMultiplayerCustom"/>, as a user would write a
/// backend, and behaves like Godot's servers: clients talk only to the server, which relays client-to-client packets
/// (keeping the original sender), honours broadcast (0) and exclusion (−id), and announces peers to each other.
/// </summary>
/// <remarks>
/// <para><b>Time.</b> Nothing moves until <see cref="Step"/>, <see cref="Advance"/> or <see cref="RunUntilIdle"/>.
/// Packets put with <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/> leave at <see cref="Now"/>; with perfect
/// links (the default) one <see cref="Step"/> delivers everything sent so far, relays and handshakes included. Then
/// each peer's <c>Poll()</c> and packet reads raise its events, as with any transport.</para>
/// <para><b>Joining.</b> <see cref="CreateClient"/> returns a Connecting peer with id 0 (hand it to MultiplayerAPI now).
/// Its hello travels up; the server, unless it refuses new connections, picks the id, adds the client
/// (<c>PeerConnected</c> on the server) and sends down: the id (<c>Initialize</c>), peer 1 (<c>AddPeer(1)</c> then
/// <c>SetConnectionStatus(Connected)</c>: <c>PeerConnected(1)</c> then <c>ConnectionSucceeded</c>), and every existing
/// client; each existing client learns the new one. A refused client gets <c>ConnectionFailed</c>.</para>
/// <para><b>Leaving.</b> <see cref="Disconnect"/> of a client closes it at once without events and sends a goodbye up;
/// the server then removes it and tells the others (<c>PeerDisconnected</c>). The server's
/// <see cref="NetworkedMultiplayerCustom.DisconnectPeer"/> kicks a client (it gets <c>ServerDisconnected</c>); a client's
/// <c>DisconnectPeer(1)</c> leaves. <see cref="Disconnect"/> of the server closes it and disconnects every client.</para>
/// <para><b>Threads.</b> A LocalNetwork and its peers belong to one thread (the game/test thread); handlers raised while
/// it processes (status events) run on it and may send, but may not call <see cref="Step"/> or <see cref="Advance"/>.</para>
/// </remarks>
public sealed partial class LocalNetwork : IDisposable
{
    private readonly Random _ids;
    private readonly int _seed;
    private readonly ArrayPool<byte> _pool;
    private readonly List<Node> _nodes = [];
    private readonly List<Node> _accepted = [];
    private readonly Dictionary<int, Node> _byId = [];
    private readonly Dictionary<NetworkedMultiplayerCustom, Node> _byPeer = [];
    private LinkConditions _defaultConditions = LinkConditions.Perfect;
    private NetworkedMultiplayerCustom? _server;
    private bool _serverStopped;
    private bool _disposed;

    /// <summary>Creates an empty network.</summary>
    /// <param name="seed">Seeds the client ids and every link generator that has no seed of its own.</param>
    /// <param name="bufferPool">The pool in-flight packets and the peers' queues use; <see cref="ArrayPool{T}.Shared"/> when null.</param>
    public LocalNetwork(int seed = 0, ArrayPool<byte>? bufferPool = null)
    {
        _seed = seed;
        _ids = new Random(seed);
        _pool = bufferPool ?? ArrayPool<byte>.Shared;
    }

    /// <summary>The conditions given to the links of clients created from now on. Default <see cref="LinkConditions.Perfect"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range (see <see cref="LinkConditions.Validate"/>).</exception>
    public LinkConditions DefaultConditions
    {
        get => _defaultConditions;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _defaultConditions = value;
        }
    }

    /// <summary>The network's clock: starts at zero, moved by <see cref="Advance"/> and <see cref="RunUntilIdle"/>.</summary>
    public TimeSpan Now => TimeSpan.FromTicks(_now);

    /// <summary>The server peer, or null before <see cref="CreateServer"/>.</summary>
    public NetworkedMultiplayerCustom? Server => _server;

    /// <summary>The clients that have not left, in the order they were created.</summary>
    public IReadOnlyList<NetworkedMultiplayerCustom> Clients => [.. _nodes.Where(n => !n.Left).Select(n => n.Peer)];

    /// <summary>Packets and network messages still travelling.</summary>
    public int PacketsInFlight => _flights.Count;

    /// <summary>Packets that had nowhere to go: sent before the sender had an id, to itself, or to an unknown peer.</summary>
    public long UnroutablePackets { get; private set; }

    /// <summary>Creates the server: a peer initialized with id 1, connected at once (it raises <c>ConnectionSucceeded</c> now, before anyone can listen, like Godot's servers).</summary>
    /// <exception cref="InvalidOperationException">The network already has a server.</exception>
    public NetworkedMultiplayerCustom CreateServer()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_server is not null)
        {
            throw new InvalidOperationException("This LocalNetwork already has a server; create another LocalNetwork for a second one.");
        }

        var server = new NetworkedMultiplayerCustom(_pool);
        server.PacketGenerated += OnServerPacket;
        server.PeerDisconnectRequested += OnServerDisconnectRequest;
        server.SetConnectionStatus(ConnectionStatus.Connecting);
        server.Initialize(NetworkedMultiplayerPeer.TargetPeerServer);
        _server = server;
        return server;
    }

    /// <summary>Creates a client: a Connecting peer with id 0 whose hello leaves now; it connects when the handshake has travelled (see the remarks).</summary>
    /// <param name="conditions">Both directions of its link; <see cref="DefaultConditions"/> when null.</param>
    /// <exception cref="InvalidOperationException">There is no server yet.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A condition is out of range.</exception>
    public NetworkedMultiplayerCustom CreateClient(LinkConditions? conditions = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_server is null)
        {
            throw new InvalidOperationException("Call CreateServer() before CreateClient(): clients join the server.");
        }

        conditions ??= _defaultConditions;
        conditions.Validate();
        var peer = new NetworkedMultiplayerCustom(_pool);
        var index = _nodes.Count;
        var node = new Node(peer, index,
            new SimulatedLink(conditions, DeriveSeed(conditions, index, LinkDirection.Up)),
            new SimulatedLink(conditions, DeriveSeed(conditions, index, LinkDirection.Down)));
        _nodes.Add(node);
        _byPeer.Add(peer, node);
        peer.PacketGenerated += node.OnPacket = (to, packet, mode) => OnClientPacket(node, to, packet, mode);
        peer.PeerDisconnectRequested += node.OnDisconnectRequest = id => OnClientDisconnectRequest(node, id);
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        Send(node, LinkDirection.Up, FlightKind.Hello, 0, 0);
        return peer;
    }

    /// <summary>Replaces the conditions of both directions of a client's link, for packets sent from now on.</summary>
    /// <exception cref="ArgumentException"><paramref name="client"/> is not a client of this network.</exception>
    public void SetLinkConditions(NetworkedMultiplayerCustom client, LinkConditions conditions) => SetLinkConditions(client, conditions, conditions);

    /// <summary>Replaces the conditions of each direction of a client's link, for packets sent from now on.</summary>
    /// <exception cref="ArgumentException"><paramref name="client"/> is not a client of this network.</exception>
    public void SetLinkConditions(NetworkedMultiplayerCustom client, LinkConditions up, LinkConditions down)
    {
        ArgumentNullException.ThrowIfNull(up);
        ArgumentNullException.ThrowIfNull(down);
        up.Validate();
        down.Validate();
        var node = NodeOf(client);
        node.Up.SetConditions(up, DeriveSeed(up, node.Index, LinkDirection.Up));
        node.Down.SetConditions(down, DeriveSeed(down, node.Index, LinkDirection.Down));
    }

    /// <summary>What one direction of a client's link did so far.</summary>
    /// <exception cref="ArgumentException"><paramref name="client"/> is not a client of this network.</exception>
    public LinkStatistics GetLinkStatistics(NetworkedMultiplayerCustom client, LinkDirection direction)
    {
        var node = NodeOf(client);
        return (direction == LinkDirection.Up ? node.Up : node.Down).Snapshot();
    }

    /// <summary>
    /// Disconnects a peer of this network. A client closes at once (no events on it) and its goodbye travels to the
    /// server, which removes it and tells the others. The server closes at once and every client is disconnected when
    /// the news reaches it (<c>ServerDisconnected</c>, or <c>ConnectionFailed</c> if it was still connecting).
    /// Disconnecting twice does nothing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="peer"/> is not a peer of this network.</exception>
    public void Disconnect(NetworkedMultiplayerCustom peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (ReferenceEquals(peer, _server))
        {
            StopServer();
            return;
        }

        var node = NodeOf(peer);
        if (node.Left)
        {
            return;
        }

        node.Left = true;
        peer.Close();
        Send(node, LinkDirection.Up, FlightKind.Bye, 0, 0);
    }

    /// <summary>Frees every in-flight buffer and disposes the peers (returning their queued buffers).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        while (_flights.TryDequeue(out var f, out _))
        {
            if (f.Buffer is not null)
            {
                _pool.Return(f.Buffer);
            }
        }

        foreach (var node in _nodes)
        {
            node.Peer.PacketGenerated -= node.OnPacket;
            node.Peer.PeerDisconnectRequested -= node.OnDisconnectRequest;
            node.Peer.Dispose();
        }

        if (_server is not null)
        {
            _server.PacketGenerated -= OnServerPacket;
            _server.PeerDisconnectRequested -= OnServerDisconnectRequest;
            _server.Dispose();
        }
    }

    private sealed class Node(NetworkedMultiplayerCustom peer, int index, SimulatedLink up, SimulatedLink down)
    {
        public NetworkedMultiplayerCustom Peer { get; } = peer;

        public int Index { get; } = index;

        public SimulatedLink Up { get; } = up;

        public SimulatedLink Down { get; } = down;

        /// <summary>The id the server gave it; 0 until its hello arrived.</summary>
        public int Id { get; set; }

        /// <summary>The client end is gone: it left, was kicked or refused. Packets reaching it are discarded.</summary>
        public bool Left { get; set; }

        public PacketGeneratedHandler? OnPacket { get; set; }

        public Action<int>? OnDisconnectRequest { get; set; }
    }

    private Node NodeOf(NetworkedMultiplayerCustom client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return _byPeer.TryGetValue(client, out var node)
            ? node
            : throw new ArgumentException("This peer is not a client of this LocalNetwork; pass a peer returned by CreateClient().", nameof(client));
    }

    private int DeriveSeed(LinkConditions conditions, int index, LinkDirection direction) =>
        conditions.Seed ?? HashCode.Combine(_seed, index, direction) ^ (_seed * 31);

    private int NewClientId()
    {
        while (true)
        {
            var id = (int)_ids.NextInt64(2, 2147483648L);
            if (!_byId.ContainsKey(id))
            {
                return id;
            }
        }
    }

    // ---- Outgoing: what the peers generate. ----

    private void OnClientPacket(Node node, int to, ReadOnlySpan<byte> packet, TransferModeEnum mode)
    {
        var from = node.Peer.GetUniqueId();
        if (from == 0 || node.Left)
        {
            UnroutablePackets++;
            return;
        }

        SendData(node, LinkDirection.Up, from, to, mode, packet);
    }

    private void OnServerPacket(int to, ReadOnlySpan<byte> packet, TransferModeEnum mode)
    {
        if (to > NetworkedMultiplayerPeer.TargetPeerServer)
        {
            if (_byId.TryGetValue(to, out var target))
            {
                SendData(target, LinkDirection.Down, NetworkedMultiplayerPeer.TargetPeerServer, to, mode, packet);
            }
            else
            {
                UnroutablePackets++;
            }

            return;
        }

        if (to == NetworkedMultiplayerPeer.TargetPeerServer)
        {
            UnroutablePackets++;
            return;
        }

        foreach (var client in _accepted)
        {
            if (to == 0 || client.Id != -to)
            {
                SendData(client, LinkDirection.Down, NetworkedMultiplayerPeer.TargetPeerServer, to, mode, packet);
            }
        }
    }

    private void OnServerDisconnectRequest(int id)
    {
        if (!_byId.TryGetValue(id, out var node))
        {
            return;
        }

        RemoveFromServer(node);
        Send(node, LinkDirection.Down, FlightKind.Kick, 0, 0);
    }

    private void OnClientDisconnectRequest(Node node, int id)
    {
        if (id == NetworkedMultiplayerPeer.TargetPeerServer)
        {
            Disconnect(node.Peer);
        }

        // A client cannot disconnect another client, as in Godot: the request is ignored.
    }

    private void StopServer()
    {
        if (_serverStopped)
        {
            return;
        }

        _serverStopped = true;
        _server!.Close();
        foreach (var client in _accepted)
        {
            Send(client, LinkDirection.Down, FlightKind.Kick, 0, 0);
        }

        _accepted.Clear();
        _byId.Clear();
    }

    private void RemoveFromServer(Node node)
    {
        _byId.Remove(node.Id);
        _accepted.Remove(node);
        _server!.TryRemovePeer(node.Id);
        foreach (var other in _accepted)
        {
            Send(other, LinkDirection.Down, FlightKind.Remove, node.Id, 0);
        }
    }

    // ---- Incoming: what reaches each end of a link. ----

    private void ArriveAtServer(in Flight f)
    {
        var node = f.Node;
        switch (f.Kind)
        {
            case FlightKind.Hello:
                Accept(node);
                return;
            case FlightKind.Bye:
                if (_byId.TryGetValue(node.Id, out var known) && known == node)
                {
                    RemoveFromServer(node);
                }

                return;
            default:
                break;
        }

        if (_serverStopped || !_byId.TryGetValue(f.From, out var sender) || sender != node)
        {
            node.Up.Discarded++;
            _pool.Return(f.Buffer!);
            return;
        }

        RelayFromClient(node, f);
    }

    private void Accept(Node node)
    {
        var server = _server!;
        if (_serverStopped || server.RefuseNewConnections)
        {
            Send(node, LinkDirection.Down, FlightKind.Refuse, 0, 0);
            return;
        }

        node.Id = NewClientId();
        _byId.Add(node.Id, node);
        server.AddPeer(node.Id);
        Send(node, LinkDirection.Down, FlightKind.Welcome, node.Id, 0);
        Send(node, LinkDirection.Down, FlightKind.Add, NetworkedMultiplayerPeer.TargetPeerServer, 0);
        foreach (var other in _accepted)
        {
            Send(other, LinkDirection.Down, FlightKind.Add, node.Id, 0);
            Send(node, LinkDirection.Down, FlightKind.Add, other.Id, 0);
        }

        _accepted.Add(node);
    }

    // Godot's server relay (spec §6.4, ENet's correct handling of −1): 1 local; 0 local and every other client; −N every
    // client but the sender and N, and local unless N is 1; N > 1 that client only (not the sender, not unknown).
    private void RelayFromClient(Node sender, in Flight f)
    {
        var to = f.To;
        var packet = f.Buffer.AsSpan(0, f.Length);
        if (to > NetworkedMultiplayerPeer.TargetPeerServer)
        {
            if (to != sender.Id && _byId.TryGetValue(to, out var target))
            {
                SendData(target, LinkDirection.Down, f.From, to, f.Mode, packet);
            }
            else
            {
                _server!.RejectPacket(sender.Id, PacketRejectReason.UnknownTarget, f.Length, note: $"relay to {to}");
            }

            _pool.Return(f.Buffer!);
            return;
        }

        if (to <= 0)
        {
            foreach (var client in _accepted)
            {
                if (client != sender && (to == 0 || client.Id != -to))
                {
                    SendData(client, LinkDirection.Down, f.From, to, f.Mode, packet);
                }
            }
        }

        if (to != -NetworkedMultiplayerPeer.TargetPeerServer)
        {
            _server!.DeliverPacketOwned(f.Buffer!, f.Length, f.From);
        }
        else
        {
            _pool.Return(f.Buffer!);
        }
    }

    private void ArriveAtClient(in Flight f)
    {
        var node = f.Node;
        var peer = node.Peer;
        if (node.Left)
        {
            node.Down.Discarded++;
            if (f.Buffer is not null)
            {
                _pool.Return(f.Buffer);
            }

            return;
        }

        switch (f.Kind)
        {
            case FlightKind.Data:
                peer.DeliverPacketOwned(f.Buffer!, f.Length, f.From);
                break;
            case FlightKind.Welcome:
                if (peer.GetConnectionStatus() == ConnectionStatus.Connecting)
                {
                    peer.Initialize(f.From);
                }

                break;
            case FlightKind.Add:
                peer.TryAddPeer(f.From);
                if (f.From == NetworkedMultiplayerPeer.TargetPeerServer && peer.GetConnectionStatus() == ConnectionStatus.Connecting && peer.GetUniqueId() != 0)
                {
                    peer.SetConnectionStatus(ConnectionStatus.Connected);
                }

                break;
            case FlightKind.Remove:
                peer.TryRemovePeer(f.From);
                break;
            case FlightKind.Kick:
            case FlightKind.Refuse:
                node.Left = true;
                peer.SetConnectionStatus(ConnectionStatus.Disconnected);
                break;
            default:
                break;
        }
    }
}
