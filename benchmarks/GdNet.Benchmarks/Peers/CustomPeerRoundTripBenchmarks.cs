using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using GdNet.Peers;

namespace GdNet.Benchmarks.Peers;

/// <summary>
/// One packet's trip through the custom peer in one process: PutPacket → PacketGenerated → DeliverPacket (copied once
/// into pooled memory) → GetPacketPeer + TryGetPacket, in bursts of <see cref="Burst"/>. The baseline is the simplest
/// queue a user would write instead: a <see cref="Channel{T}"/> of fresh byte arrays. Results are per packet.
/// </summary>
[MemoryDiagnoser]
public class CustomPeerRoundTripBenchmarks
{
    private const int Burst = 100;

    private readonly Channel<byte[]> _channel = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private byte[] _payload = [];
    private NetworkedMultiplayerCustom _sender = null!;
    private NetworkedMultiplayerCustom _receiver = null!;

    [Params(32, 1024)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PacketSize];
        Random.Shared.NextBytes(_payload);
        _sender = Connected(2, 1);
        _receiver = Connected(1, 2);
        _sender.PacketGenerated += (_, packet, _) => _receiver.DeliverPacket(packet, 2);
        _sender.SetTargetPeer(1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst)]
    public int ChannelOfByteArrays()
    {
        var writer = _channel.Writer;
        var reader = _channel.Reader;
        for (var i = 0; i < Burst; i++)
        {
            writer.TryWrite(_payload.AsSpan().ToArray());
        }

        var sum = 0;
        while (reader.TryRead(out var packet))
        {
            sum += packet.Length;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Burst)]
    public int CustomPeer()
    {
        for (var i = 0; i < Burst; i++)
        {
            _sender.PutPacket(_payload);
        }

        var sum = 0;
        while (_receiver.AvailablePacketCount > 0)
        {
            sum += _receiver.GetPacketPeer();
            _receiver.TryGetPacket(out var packet);
            sum += packet.Length;
        }

        return sum;
    }

    private static NetworkedMultiplayerCustom Connected(int id, int remote)
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        peer.Initialize(id);
        if (id != 1)
        {
            peer.SetConnectionStatus(ConnectionStatus.Connected);
        }

        peer.AddPeer(remote);
        peer.Poll();
        return peer;
    }
}
