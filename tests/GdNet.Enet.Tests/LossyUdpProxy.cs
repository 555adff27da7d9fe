using System.Net;
using System.Net.Sockets;

namespace GdNet.Enet.Tests;

/// <summary>
/// A UDP relay on 127.0.0.1 between one client and a server that drops every <c>n</c>-th datagram going back to the
/// client, so the server's side of the path loses packets the way a bad link does (deterministically, not at random).
/// </summary>
internal sealed class LossyUdpProxy : IDisposable
{
    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _back = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _dropEvery;
    private readonly Task _forward;
    private readonly Task _backward;
    private EndPoint? _client;
    private long _dropped;

    /// <param name="serverPort">The server's UDP port on 127.0.0.1.</param>
    /// <param name="dropEvery">Every this many datagrams from the server, one is dropped (2 or more).</param>
    public LossyUdpProxy(int serverPort, int dropEvery)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dropEvery, 2);
        _dropEvery = dropEvery;
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _back.Connect(new IPEndPoint(IPAddress.Loopback, serverPort));
        _forward = Task.Run(ForwardAsync);
        _backward = Task.Run(BackwardAsync);
    }

    /// <summary>The port the client connects to.</summary>
    public int Port => ((IPEndPoint)_front.LocalEndPoint!).Port;

    /// <summary>Datagrams from the server dropped so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private async Task ForwardAsync()
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var r = await _front.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                Volatile.Write(ref _client, r.RemoteEndPoint);
                await _back.SendAsync(buffer.AsMemory(0, r.ReceivedBytes), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task BackwardAsync()
    {
        var buffer = new byte[65536];
        long n = 0;
        try
        {
            while (true)
            {
                int length;
                try
                {
                    length = await _back.ReceiveAsync(buffer, _stop.Token);
                }
                catch (SocketException)
                {
                    continue; // the server's port refused one datagram (ICMP): keep relaying
                }

                if (++n % _dropEvery == 0)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                if (Volatile.Read(ref _client) is { } client)
                {
                    await _front.SendToAsync(buffer.AsMemory(0, length), client, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _front.Dispose();
        _back.Dispose();
        Task.WaitAll([_forward, _backward], TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
