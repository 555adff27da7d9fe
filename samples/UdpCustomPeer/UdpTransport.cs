using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GdNet.Peers;

namespace UdpCustomPeer;

/// <summary>
/// A GdNet backend over plain UDP: everything a user writes to plug a transport into <see cref="NetworkedMultiplayerCustom"/>.
/// One datagram is one message; byte 0 is its kind, ids are little-endian int32:
/// <code>
/// Hello   [1]                      client → server   let me in
/// Welcome [2][id]                  server → client   your id is id
/// Add     [3][id]                  server → client   peer id is here (id 1: you are connected)
/// Remove  [4][id]                  server → client   peer id left
/// Data    [5][from][to][payload]   both ways         a MultiplayerAPI packet; the server relays it unchanged
/// Bye     [6]                      both ways         client: I leave. server: you are kicked
/// </code>
/// UDP neither retransmits nor orders: this sample ignores the transfer mode, which is fine on 127.0.0.1. Everything runs
/// on the game thread: the socket is read when the game polls the peer (<see cref="NetworkedMultiplayerCustom.Polling"/>).
/// (DeliverPacket and AddPeer are thread-safe too, if you prefer a receive thread.)
/// </summary>
public sealed class UdpTransport : IDisposable
{
    private const byte Hello = 1, Welcome = 2, Add = 3, Remove = 4, Data = 5, Bye = 6;
    private const int DataHeader = 9;

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _buffer = new byte[65507]; // the largest UDP payload over IPv4
    private readonly byte[] _out = new byte[65507];
    private readonly Dictionary<int, EndPoint> _clients = []; // server: id → address
    private readonly Dictionary<EndPoint, int> _ids = [];      // server: address → id
    private readonly EndPoint? _server;                        // client: the server's address

    private UdpTransport(EndPoint? server)
    {
        _server = server;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.Blocking = false;
        Peer.SetMaxPacketSize(_out.Length - DataHeader);
        Peer.PacketGenerated += Send;
        Peer.PeerDisconnectRequested += Kick;
        Peer.Polling += Receive;
        Peer.SetConnectionStatus(ConnectionStatus.Connecting);
    }

    /// <summary>The peer to give to MultiplayerAPI.</summary>
    public NetworkedMultiplayerCustom Peer { get; } = new();

    /// <summary>Where this transport's socket listens.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Starts a server (peer id 1, connected at once) on a free port of 127.0.0.1.</summary>
    public static UdpTransport Listen()
    {
        var transport = new UdpTransport(null);
        transport.Peer.Initialize(NetworkedMultiplayerPeer.TargetPeerServer);
        return transport;
    }

    /// <summary>Starts a client; it connects when the server's welcome arrives (during a later Poll).</summary>
    public static UdpTransport Connect(IPEndPoint server)
    {
        var transport = new UdpTransport(server);
        transport.SendMessage(server, Hello, 0);
        return transport;
    }

    // MultiplayerAPI → network. A client sends everything to the server; the server sends to the target(s).
    private void Send(int to, ReadOnlySpan<byte> packet, TransferModeEnum mode)
    {
        _out[0] = Data;
        BinaryPrimitives.WriteInt32LittleEndian(_out.AsSpan(1), Peer.GetUniqueId());
        BinaryPrimitives.WriteInt32LittleEndian(_out.AsSpan(5), to);
        packet.CopyTo(_out.AsSpan(DataHeader));
        var message = _out.AsSpan(0, DataHeader + packet.Length);
        if (_server is not null)
        {
            _socket.SendTo(message, _server);
            return;
        }

        foreach (var (id, address) in _clients)
        {
            if (to == 0 || (to < 0 && id != -to) || to == id)
            {
                _socket.SendTo(message, address);
            }
        }
    }

    // Network → MultiplayerAPI, on the game thread. Remote bytes never throw: bad ones become rejections.
    private void Receive()
    {
        while (_socket.Available > 0)
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            var message = _buffer.AsSpan(0, _socket.ReceiveFrom(_buffer, ref from));
            var id = message.Length >= 5 ? BinaryPrimitives.ReadInt32LittleEndian(message[1..]) : 0;
            if (message.Length == 0 || (message[0] == Data && message.Length < DataHeader))
            {
                Peer.RejectPacket(0, PacketRejectReason.Malformed, message.Length, note: from.ToString());
            }
            else if (_server is null)
            {
                ServerReceive(message, from, id);
            }
            else if (from.Equals(_server))
            {
                ClientReceive(message, id);
            }
        }
    }

    private void ServerReceive(ReadOnlySpan<byte> message, EndPoint from, int claimedId)
    {
        var known = _ids.TryGetValue(from, out var sender);
        if (message[0] == Hello && !known)
        {
            Accept(from);
        }
        else if (!known || message[0] is not (Data or Bye))
        {
            Peer.RejectPacket(sender, known ? PacketRejectReason.UnsupportedFrame : PacketRejectReason.UnknownPeer, message.Length);
        }
        else if (message[0] == Bye)
        {
            Forget(sender);
        }
        else if (claimedId != sender)
        {
            Peer.RejectPacket(sender, PacketRejectReason.SpoofedSource, message.Length, note: $"claimed {claimedId}");
        }
        else
        {
            // Godot's relay: 1 here; 0 here and every other client; -N every client but the sender and N (here unless
            // N is 1); N > 1 that client only. The relayed message keeps the original sender.
            var to = BinaryPrimitives.ReadInt32LittleEndian(message[5..]);
            if (to == 1 || to == 0 || (to < 0 && to != -1))
            {
                Peer.DeliverPacket(message[DataHeader..], sender);
            }

            if (to > 1 && (to == sender || !_clients.ContainsKey(to)))
            {
                Peer.RejectPacket(sender, PacketRejectReason.UnknownTarget, message.Length);
            }

            foreach (var (id, address) in _clients)
            {
                if (id != sender && (to == 0 || (to < 0 && id != -to) || to == id))
                {
                    _socket.SendTo(message, address);
                }
            }
        }
    }

    // A new client gets its id and the server (1), then learns each other client, which learns it.
    private void Accept(EndPoint from)
    {
        if (Peer.RefuseNewConnections)
        {
            SendMessage(from, Bye, 0);
            return;
        }

        var id = Random.Shared.Next(2, int.MaxValue);
        SendMessage(from, Welcome, id);
        SendMessage(from, Add, NetworkedMultiplayerPeer.TargetPeerServer);
        foreach (var (other, address) in _clients)
        {
            SendMessage(address, Add, id);
            SendMessage(from, Add, other);
        }

        (_clients[id], _ids[from]) = (from, id);
        Peer.AddPeer(id);
    }

    private void ClientReceive(ReadOnlySpan<byte> message, int id)
    {
        switch (message[0])
        {
            case Welcome when id > 1 && Peer.GetConnectionStatus() == ConnectionStatus.Connecting:
                Peer.Initialize(id);
                break;
            case Add:
                if (Peer.TryAddPeer(id) && id == NetworkedMultiplayerPeer.TargetPeerServer && Peer.GetUniqueId() != 0)
                {
                    Peer.SetConnectionStatus(ConnectionStatus.Connected); // raises PeerConnected(1), then ConnectionSucceeded
                }

                break;
            case Remove:
                Peer.TryRemovePeer(id);
                break;
            case Data:
                Peer.DeliverPacket(message[DataHeader..], id);
                break;
            case Bye:
                Peer.SetConnectionStatus(ConnectionStatus.Disconnected);
                break;
            default:
                Peer.RejectPacket(1, PacketRejectReason.Malformed, message.Length);
                break;
        }
    }

    // DisconnectPeer(id): the server kicks a client; a client asked to drop the server (1) leaves.
    private void Kick(int id)
    {
        if (_server is not null && id == NetworkedMultiplayerPeer.TargetPeerServer)
        {
            SendMessage(_server, Bye, 0);
            Peer.Close();
        }
        else if (_server is null && _clients.TryGetValue(id, out var address))
        {
            SendMessage(address, Bye, 0);
            Forget(id);
        }
    }

    private void Forget(int id)
    {
        _ids.Remove(_clients[id]);
        _clients.Remove(id);
        Peer.RemovePeer(id);
        foreach (var address in _clients.Values)
        {
            SendMessage(address, Remove, id);
        }
    }

    private void SendMessage(EndPoint to, byte kind, int id)
    {
        Span<byte> message = [kind, 0, 0, 0, 0];
        BinaryPrimitives.WriteInt32LittleEndian(message[1..], id);
        _socket.SendTo(message, to);
    }

    /// <summary>Leaves (a client says goodbye), closes the socket and the peer.</summary>
    public void Dispose()
    {
        if (_server is not null && Peer.GetConnectionStatus() != ConnectionStatus.Disconnected)
        {
            SendMessage(_server, Bye, 0);
        }

        Peer.Polling -= Receive;
        _socket.Dispose();
        Peer.Dispose();
    }
}
