using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GdNet.TestSupport;
using Xunit;

namespace GdNet.Tests.TestSupport;

/// <summary>
/// The chaos proxies do what their options say and count it truly (the fault tests rely on both): raw sockets on
/// loopback on either side, a marker after the faulty traffic instead of a wait.
/// </summary>
public sealed class ChaosProxyTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    // ------------------------------------------------------------------ UDP

    private sealed class UdpPair : IDisposable
    {
        public UdpPair(int seed = 1)
        {
            Server.ReceiveBufferSize = 4 << 20; // the reader may lag on a busy machine: nothing may overflow uncounted
            Server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Proxy = new ChaosUdpProxy(((IPEndPoint)Server.LocalEndPoint!).Port, seed);
            Client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Client.Connect(new IPEndPoint(IPAddress.Loopback, Proxy.Port));
            Server.ReceiveTimeout = Client.ReceiveTimeout = (int)Wait.TotalMilliseconds;
        }

        public Socket Server { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public Socket Client { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public ChaosUdpProxy Proxy { get; }

        public void Send(int seq)
        {
            var d = new byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(d, seq);
            Client.Send(d);
        }

        /// <summary>
        /// Sends 0..count-1, then (faults cleared) the marker -1; returns what the server got, in order, until the marker and
        /// <paramref name="atLeast"/> datagrams in all. Each datagram is sent once the proxy has read the previous one, and
        /// the server reads all along, so no socket buffer overflows (the kernel would drop without counting).
        /// </summary>
        public List<int> Exchange(int count, int atLeast = 0)
        {
            var got = new List<int>();
            var reader = Task.Run(() =>
            {
                var buffer = new byte[64];
                while (true)
                {
                    Server.Receive(buffer); // throws after Wait
                    var seq = BinaryPrimitives.ReadInt32LittleEndian(buffer);
                    lock (got)
                    {
                        got.Add(seq);
                        if (got.Contains(-1) && got.Count >= atLeast)
                        {
                            return;
                        }
                    }
                }
            });
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                Send(i);
                while (Proxy.ToServerCounters.Received <= i)
                {
                    Assert.True(sw.Elapsed < Wait, $"the proxy read {Proxy.ToServerCounters.Received} of {i + 1}");
                    Thread.Yield();
                }
            }

            Proxy.ToServer.Clear();
            Send(-1);
            Assert.True(reader.Wait(Wait), "the marker never arrived: " + Proxy);
            return got;
        }

        public void Dispose()
        {
            Proxy.Dispose();
            Server.Dispose();
            Client.Dispose();
        }
    }

    [Fact]
    public void Udp_Loss_DropsAboutThatShare_AndCountsEachDrop()
    {
        using var p = new UdpPair(seed: 42);
        p.Proxy.ToServer.Loss = 0.1;

        var got = p.Exchange(1000);

        var dropped = p.Proxy.ToServerCounters.Dropped;
        Assert.InRange(dropped, 50, 150);
        Assert.True(1000 - dropped + 1 == got.Count, $"{got.Count} arrived; {p.Proxy}; missing {string.Join(",", Enumerable.Range(0, 1000).Except(got).Take(200))}");
        Assert.Equal(got.Where(s => s >= 0).Order(), got.Where(s => s >= 0)); // loss alone keeps the order
    }

    [Fact]
    public void Udp_SameSeedSameTraffic_SameDrops()
    {
        List<int> Run()
        {
            using var p = new UdpPair(seed: 5);
            p.Proxy.ToServer.Loss = 0.2;
            return p.Exchange(300);
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Udp_DropEvery_DropsExactlyTheMiddleOfEachRun()
    {
        using var p = new UdpPair();
        p.Proxy.ToServer.DropEvery = 20;

        var got = p.Exchange(100);

        Assert.Equal([9, 29, 49, 69, 89], Enumerable.Range(0, 100).Except(got));
        Assert.Equal(5, p.Proxy.ToServerCounters.Dropped);
    }

    [Fact]
    public void Udp_Duplication_EveryCopyCounted()
    {
        using var p = new UdpPair(seed: 3);
        p.Proxy.ToServer.Duplication = 0.1;

        var got = p.Exchange(500, atLeast: 501 + 25);

        var duplicated = p.Proxy.ToServerCounters.Duplicated;
        Assert.InRange(duplicated, 25, 100);
        Assert.Equal(500 + duplicated + 1, got.Count);
        Assert.Equal(Enumerable.Range(-1, 501), got.Distinct().Order());
        Assert.Equal(duplicated, got.Count - got.Distinct().Count());
    }

    [Fact]
    public void Udp_Reordering_EachSwapCountedAndNothingLost()
    {
        using var p = new UdpPair(seed: 9);
        p.Proxy.ToServer.Reordering = 0.1;

        var got = p.Exchange(500, atLeast: 501);

        Assert.Equal(Enumerable.Range(-1, 501), got.Order());
        var order = got.Select(x => x < 0 ? int.MaxValue : x).ToList(); // the marker was read last
        var descents = order.Zip(order.Skip(1)).Count(x => x.Second < x.First);
        Assert.InRange(p.Proxy.ToServerCounters.Reordered, 20, 100);
        Assert.Equal(descents, p.Proxy.ToServerCounters.Reordered);
    }

    [Fact]
    public void Udp_Latency_NeverDeliversEarly()
    {
        using var p = new UdpPair();
        p.Proxy.Both(o => o.Latency = TimeSpan.FromMilliseconds(30));
        var sw = Stopwatch.StartNew();

        p.Send(1);
        var buffer = new byte[64];
        p.Server.Receive(buffer);

        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(30), sw.Elapsed.ToString());
        Assert.Equal(1, p.Proxy.ToServerCounters.Delayed);
    }

    [Fact]
    public void Udp_TwoClients_EachHasItsOwnAddressAtTheServer_AndGetsItsOwnAnswers()
    {
        using var p = new UdpPair();
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Wait.TotalMilliseconds };
        other.Connect(new IPEndPoint(IPAddress.Loopback, p.Proxy.Port));
        var buffer = new byte[64];

        p.Client.Send([1]);
        EndPoint first = new IPEndPoint(IPAddress.Any, 0);
        p.Server.ReceiveFrom(buffer, ref first);
        other.Send([2]);
        EndPoint second = new IPEndPoint(IPAddress.Any, 0);
        p.Server.ReceiveFrom(buffer, ref second);
        p.Server.SendTo([10], first);
        p.Server.SendTo([20], second);

        Assert.NotEqual(first, second);
        Assert.Equal(2, p.Proxy.Clients);
        Assert.Equal(1, p.Client.Receive(buffer));
        Assert.Equal(10, buffer[0]);
        Assert.Equal(1, other.Receive(buffer));
        Assert.Equal(20, buffer[0]);
    }

    // ------------------------------------------------------------------ TCP

    private sealed class TcpPair : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        private TcpPair()
        {
        }

        public ChaosTcpProxy Proxy { get; private set; } = null!;

        public Socket Client { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public Socket Server { get; private set; } = null!;

        public static async Task<TcpPair> StartAsync(int seed = 1)
        {
            var p = new TcpPair();
            p._listener.Start();
            p.Proxy = new ChaosTcpProxy(((IPEndPoint)p._listener.LocalEndpoint).Port, seed);
            await p.Client.ConnectAsync(IPAddress.Loopback, p.Proxy.Port);
            using var cts = new CancellationTokenSource(Wait);
            p.Server = await p._listener.AcceptSocketAsync(cts.Token);
            return p;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Server.Dispose();
            _listener.Stop();
            await Proxy.DisposeAsync();
        }
    }

    /// <summary>Reads until the end of the stream; the bytes, and whether it ended with a reset.</summary>
    private static async Task<(byte[] Bytes, bool Reset)> ReadToEndAsync(Socket s)
    {
        using var cts = new CancellationTokenSource(Wait);
        var all = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = await s.ReceiveAsync(buffer, cts.Token)) > 0)
            {
                all.Write(buffer, 0, n);
            }

            return (all.ToArray(), false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (all.ToArray(), true);
        }
    }

    private static byte[] Noise(int length)
    {
        var d = new byte[length];
        new Random(length).NextBytes(d);
        return d;
    }

    [Fact]
    public async Task Tcp_LatencyJitterAndCap_BytesArriveWhole_InOrder_NotEarly()
    {
        await using var p = await TcpPair.StartAsync(seed: 4);
        p.Proxy.ToServer.Delay(TimeSpan.FromMilliseconds(20), jitter: TimeSpan.FromMilliseconds(15));
        p.Proxy.ToServer.BytesPerSecond = 2_000_000;
        var data = Noise(200_000);
        var sw = Stopwatch.StartNew();

        var reading = ReadToEndAsync(p.Server);
        await p.Client.SendAsync(data);
        p.Client.Shutdown(SocketShutdown.Send);
        var (got, reset) = await reading;

        Assert.False(reset);
        Assert.Equal(data, got);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(100), sw.Elapsed.ToString()); // 200 kB at 2 MB/s: never sooner
        Assert.True(p.Proxy.ToServerCounters.Delayed > 0, p.Proxy.ToString());
        Assert.Equal(data.Length, p.Proxy.ToServerCounters.Bytes);
    }

    [Fact]
    public async Task Tcp_EndsPropagate_FinEachWay()
    {
        await using var p = await TcpPair.StartAsync();

        await p.Client.SendAsync(new byte[] { 1, 2, 3 });
        p.Client.Shutdown(SocketShutdown.Send);
        var (atServer, _) = await ReadToEndAsync(p.Server);
        await p.Server.SendAsync(new byte[] { 4, 5 });
        p.Server.Shutdown(SocketShutdown.Send);
        var (atClient, reset) = await ReadToEndAsync(p.Client);

        Assert.Equal([1, 2, 3], atServer);
        Assert.Equal([4, 5], atClient);
        Assert.False(reset);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Tcp_CutAfterBytes_PassesExactlyThatManyThenFinsBothSides(bool toServer)
    {
        await using var p = await TcpPair.StartAsync();
        var (from, to) = toServer ? (p.Client, p.Server) : (p.Server, p.Client);
        (toServer ? p.Proxy.ToServer : p.Proxy.ToClient).CutAfterBytes = 1000;
        var data = Noise(5000);

        await from.SendAsync(data);
        var (got, reset) = await ReadToEndAsync(to);
        var (back, backReset) = await ReadToEndAsync(from);

        Assert.Equal(data[..1000], got);
        Assert.False(reset);
        Assert.Equal((0, false), (back.Length, backReset)); // a FIN, not a reset, on the sender's side too
        Assert.Equal(1, (toServer ? p.Proxy.ToServerCounters : p.Proxy.ToClientCounters).Cuts);
    }

    [Fact]
    public async Task Tcp_Reset_BothSidesGetAnRst()
    {
        await using var p = await TcpPair.StartAsync();
        await p.Client.SendAsync(new byte[] { 1 });
        var buffer = new byte[1];
        Assert.Equal(1, await p.Server.ReceiveAsync(buffer));

        Assert.Equal(1, p.Proxy.Reset());

        Assert.True((await ReadToEndAsync(p.Server)).Reset);
        Assert.True((await ReadToEndAsync(p.Client)).Reset);
        Assert.Equal(1, p.Proxy.Resets);
    }

    [Fact]
    public async Task Tcp_Paused_TheSendersWritesBlock_ThenEverythingArrivesOnResume()
    {
        await using var p = await TcpPair.StartAsync();
        p.Proxy.ToServer.Paused = true;
        await Task.Delay(20); // let a read already posted before the pause take nothing: it passes at most one chunk

        // The client writes without blocking until the kernel says it would block: nobody reads along the way.
        p.Client.Blocking = false;
        var chunk = Noise(65536);
        var sent = new MemoryStream();
        var blocked = false;
        while (sent.Length < (256L << 20))
        {
            try
            {
                var n = p.Client.Send(chunk);
                sent.Write(chunk, 0, n);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                blocked = true;
                break;
            }
        }

        Assert.True(blocked, $"{sent.Length} bytes written and the writes never blocked");
        p.Client.Blocking = true;
        var reading = ReadToEndAsync(p.Server);
        p.Proxy.ToServer.Paused = false;
        p.Client.Shutdown(SocketShutdown.Send);
        var (got, reset) = await reading;

        Assert.False(reset);
        Assert.Equal(sent.ToArray(), got);
    }

    [Fact]
    public void Options_OutOfRange_Throw()
    {
        var o = new ChaosOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => o.Loss = 1.5);
        Assert.Throws<ArgumentOutOfRangeException>(() => o.Duplication = -0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => o.Reordering = double.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => o.Latency = TimeSpan.FromMilliseconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => o.BytesPerSecond = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => o.DropEvery = 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => o.CutAfterBytes = -1);
    }
}
