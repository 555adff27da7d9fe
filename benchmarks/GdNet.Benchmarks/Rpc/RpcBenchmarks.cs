using System.Buffers;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;

namespace GdNet.Benchmarks.Rpc;

/// <summary>
/// One RPC with (int, String) arguments from one MultiplayerAPI to another over LocalNetwork: encode, put on the
/// server's custom peer, deliver over a perfect link, poll, decode, bind and dispatch to the handler. The baseline is a
/// direct call of the same handler.
/// </summary>
[MemoryDiagnoser]
public class RpcBenchmarks
{
    private const int Batch = 100;
    private LocalNetwork _network = null!;
    private MultiplayerAPI _server = null!;
    private MultiplayerAPI _client = null!;
    private Receiver _serverNode = null!;
    private Receiver _clientNode = null!;
    private int _clientId;

    /// <summary>The handler: a <c>[Remote]</c> method with typed parameters.</summary>
    public sealed class Receiver : Node
    {
        public long Sum { get; private set; }

        [Remote]
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Hit(int n, string s) => Sum += n + s.Length;
    }

    [GlobalSetup]
    public void Setup()
    {
        // A pool sized for a frame's burst: ArrayPool<byte>.Shared keeps only a few dozen arrays per size and core, so
        // 100 packets queued before the first is read would allocate the overflow.
        _network = new LocalNetwork(seed: 1, bufferPool: ArrayPool<byte>.Create(1 << 16, 1024));
        (_server, _serverNode) = Machine(_network.CreateServer());
        (_client, _clientNode) = Machine(_network.CreateClient());
        Pump();
        _clientId = _client.GetNetworkUniqueId();

        // Warm up: path offered and confirmed, pools and tables filled.
        for (var i = 0; i < 1000; i++)
        {
            _serverNode.RpcId(_clientId, nameof(Receiver.Hit), 7, "hello");
            Pump();
        }

        if (_clientNode.Sum != 1000 * 12)
        {
            throw new InvalidOperationException($"The RPC did not arrive (sum {_clientNode.Sum}).");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _network.Dispose();

    private static (MultiplayerAPI Api, Receiver Node) Machine(NetworkedMultiplayerCustom peer)
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);
        var node = new Receiver { Name = "Receiver" };
        main.AddChild(node);
        api.NetworkPeer = peer;
        return (api, node);
    }

    private void Pump()
    {
        _network.Step();
        _server.Poll();
        _client.Poll();
    }

    /// <summary>Baseline: calling the handler directly.</summary>
    [Benchmark(Baseline = true)]
    public void DirectCall() => _clientNode.Hit(7, "hello");

    /// <summary>One RPC per network step and poll (a frame with a single call).</summary>
    [Benchmark]
    public void RpcOnePerFrame()
    {
        _serverNode.RpcId(_clientId, nameof(Receiver.Hit), 7, "hello");
        _network.Step();
        _client.Poll();
    }

    /// <summary>100 RPCs per network step and poll; reported per RPC.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void RpcBatchedPerFrame()
    {
        for (var i = 0; i < Batch; i++)
        {
            _serverNode.RpcId(_clientId, nameof(Receiver.Hit), 7, "hello");
        }

        _network.Step();
        _client.Poll();
    }
}
