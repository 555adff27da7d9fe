using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using GdNet.Enet.Interop;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet.Tests;

/// <summary>
/// A bare ENet 1.3 host with one peer, driven from the test thread through GdNet's own binding: as a client it sends
/// whatever bytes, channel and connect data a test wants (spoofed sources, reserved ids, system channel, oversized
/// packets); as a server it plays a hostile or vanishing Godot server. <see cref="Vanish"/> destroys the host without
/// a disconnect.
/// </summary>
internal sealed unsafe class RawEnetHost : IDisposable
{
    private readonly EnetHostHandle _host;
    private nint _peer;

    private RawEnetHost(EnetHostHandle host)
    {
        _host = host;
    }

    /// <summary>A client connecting to 127.0.0.1:<paramref name="port"/> with CONNECT data <paramref name="connectData"/>.</summary>
    public static RawEnetHost Client(int port, uint connectData, int channels = 3)
    {
        EnsureLoaded();
        var bind = ToAddress(IPAddress.Loopback, 0);
        var host = new RawEnetHost(new EnetHostHandle(enet_host_create(&bind, 1, (nuint)channels, 0, 0)));
        Assert.False(host._host.IsInvalid);
        var to = ToAddress(IPAddress.Loopback, port);
        host._peer = enet_host_connect(host._host, &to, (nuint)channels, connectData);
        Assert.NotEqual(0, host._peer);
        return host;
    }

    /// <summary>A server on 127.0.0.1 and a free port, taking one client.</summary>
    public static RawEnetHost Server(int channels = 3)
    {
        EnsureLoaded();
        var bind = ToAddress(IPAddress.Loopback, 0);
        var host = new RawEnetHost(new EnetHostHandle(enet_host_create(&bind, 1, (nuint)channels, 0, 0)));
        Assert.False(host._host.IsInvalid);
        return host;
    }

    public int Port => HostAddressOf(_host).Port;

    /// <summary>The CONNECT data the remote side sent (server mode).</summary>
    public uint ConnectData { get; private set; }

    public bool Connected { get; private set; }

    public bool Disconnected { get; private set; }

    public List<(int Channel, byte[] Data)> Received { get; } = [];

    /// <summary>The channel and ENet flags of each received packet (reliable 1, unsequenced 2, plain unreliable 0).</summary>
    public List<(int Channel, uint Flags)> ReceivedFlags { get; } = [];

    public void Service()
    {
        if (_host.IsClosed)
        {
            return;
        }

        EnetEvent ev;
        while (enet_host_service(_host, &ev, 0) > 0)
        {
            switch (ev.Type)
            {
                case EventConnect:
                    Connected = true;
                    _peer = ev.Peer;
                    ConnectData = ev.Data;
                    break;
                case EventDisconnect:
                    Disconnected = true;
                    break;
                case EventReceive:
                    var p = (EnetPacket*)ev.Packet;
                    Received.Add((ev.ChannelId, new ReadOnlySpan<byte>(p->Data, (int)p->DataLength).ToArray()));
                    ReceivedFlags.Add((ev.ChannelId, p->Flags));
                    enet_packet_destroy(p);
                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>Sends raw bytes (no Godot header added) on <paramref name="channel"/> with ENet <paramref name="flags"/>.</summary>
    public void SendRaw(byte channel, ReadOnlySpan<byte> bytes, uint flags = PacketFlagReliable)
    {
        var packet = enet_packet_create(null, (nuint)bytes.Length, flags);
        bytes.CopyTo(new Span<byte>(packet->Data, bytes.Length));
        Assert.Equal(0, enet_peer_send(_peer, channel, packet));
        enet_host_flush(_host);
    }

    /// <summary>Sends a Godot data packet: source, target, payload.</summary>
    public void SendGodot(uint source, int target, ReadOnlySpan<byte> payload, byte channel = 1, uint flags = PacketFlagReliable)
    {
        var bytes = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, source);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), target);
        payload.CopyTo(bytes.AsSpan(8));
        SendRaw(channel, bytes, flags);
    }

    /// <summary>Services until <paramref name="condition"/> holds (also pumping <paramref name="others"/>); false on timeout.</summary>
    public bool ServiceUntil(Func<bool> condition, TimeSpan timeout, params Recorder[] others)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            Service();
            foreach (var r in others)
            {
                r.Pump();
            }

            if (condition())
            {
                return true;
            }

            Thread.Sleep(1);
        }

        return false;
    }

    /// <summary>Destroys the host without telling the server: the peer vanishes.</summary>
    public void Vanish() => _host.Dispose();

    public void Dispose() => _host.Dispose();
}
