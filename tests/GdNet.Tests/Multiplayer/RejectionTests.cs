using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// Spec §3.5: every invalid packet becomes a rejection with a reason, the peer and a readable detail; it is counted, and
/// the session carries on. The packets are hand-made and delivered through a real custom peer.
/// </summary>
public class RejectionTests
{
    private const int Sender = 7;

    /// <summary>A server API on a custom peer that knows peer 7; packets are delivered by hand.</summary>
    private sealed class Harness
    {
        public Harness()
        {
            Peer = new NetworkedMultiplayerCustom();
            Peer.SetConnectionStatus(ConnectionStatus.Connecting);
            Machine = new Machine(Peer);
            Peer.Initialize(1);
            Peer.AddPeer(Sender);
            Machine.Api.Poll();
        }

        public NetworkedMultiplayerCustom Peer { get; }

        public Machine Machine { get; }

        public RpcRejection Deliver(string hex) => Deliver(Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)));

        public RpcRejection Deliver(byte[] bytes)
        {
            Machine.Rejections.Clear();
            Peer.DeliverPacket(bytes, Sender);
            Machine.Api.Poll();
            return Assert.Single(Machine.Rejections);
        }

        /// <summary>Announces Main/Lobby as cache id 1 (SIMPLIFY_PATH) and drops the CONFIRM reply.</summary>
        public Harness WithCachedLobby()
        {
            Peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), Sender);
            Machine.Api.Poll();
            return this;
        }

        /// <summary>A good call still works after whatever was rejected.</summary>
        public void AssertSessionCarriesOn()
        {
            var before = Machine.TestLobby.Calls.Count;
            Peer.DeliverPacket(Call(nameof(TestLobby.Ping), []), Sender);
            Machine.Api.Poll();
            Assert.Equal(before + 1, Machine.TestLobby.Calls.Count);
        }
    }

    /// <summary>A full-path REMOTE_CALL to Main/Lobby.</summary>
    internal static byte[] Call(string method, Variant[] args, string path = "Main/Lobby", bool fullObjects = false)
    {
        var bytes = new List<byte> { 0, 0, 0, 0, 0 };
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(method));
        bytes.Add(0);
        bytes.Add((byte)args.Length);
        foreach (var a in args)
        {
            bytes.AddRange(VariantCodec.Encode(a, fullObjects));
        }

        var offset = bytes.Count;
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(path));
        bytes.Add(0);
        var packet = bytes.ToArray();
        RpcPacket.WriteTarget(packet, RpcPacket.FullPathFlag | (uint)offset);
        return packet;
    }

    private static byte[] CallCamel(string method, params Variant[] args) => Call(method, args);

    [Fact]
    public void UnknownCommand_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver("09 01020304");

        Assert.Equal((RpcRejectReason.UnknownCommand, Sender, 9L), (r.Reason, r.PeerId, r.Value));
        Assert.Contains("unknown command byte 9", r.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1)] // empty
    [InlineData("00 01000000", 6)] // call under 6 bytes
    [InlineData("01 010000", 6)] // set under 6 bytes
    [InlineData("00 01000000 70696e67", 0)] // no NUL after the name
    [InlineData("00 01000000 70696e6700", 0)] // nothing after the name (no argc)
    [InlineData("02 0100", 5)] // SIMPLIFY_PATH under 5 bytes
    [InlineData("03", 2)] // CONFIRM_PATH under 2 bytes
    [InlineData("04", 2)] // RAW without bytes
    public void TooSmall_Rejected(string hex, int needs)
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver(hex);

        Assert.Equal((RpcRejectReason.TooSmall, Sender, (long)needs), (r.Reason, r.PeerId, r.Limit));
        Assert.Contains("too small", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void InvalidPathOffset_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver("00 c8000080 70696e670000");

        Assert.Equal((RpcRejectReason.InvalidPathOffset, 200L), (r.Reason, r.Value));
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void UnknownCachedPath_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver("00 63000000 70696e670000");

        Assert.Equal((RpcRejectReason.UnknownCachedPath, 99L), (r.Reason, r.Value));
        Assert.Contains("never announced", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void NodeNotFound_FullPath_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(Call("ping", [], path: "Main/Nope"));

        Assert.Equal((RpcRejectReason.NodeNotFound, "Main/Nope"), (r.Reason, r.NodePath));
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void NodeNotFound_CachedPathOfRemovedNode_Rejected()
    {
        var h = new Harness().WithCachedLobby();
        h.Machine.Main.RemoveChild(h.Machine.Lobby);

        var r = h.Deliver("00 01000000 70696e670000");

        Assert.Equal((RpcRejectReason.NodeNotFound, "Main/Lobby"), (r.Reason, r.NodePath));
    }

    [Fact]
    public void NotExposed_MethodWithoutMode_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.NotAnRpc)));

        Assert.Equal((RpcRejectReason.NotExposed, nameof(TestLobby.NotAnRpc)), (r.Reason, r.Member));
        Assert.Empty(h.Machine.TestLobby.Calls);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void NotExposed_UnknownMethod_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel("no_such_method"));

        Assert.Equal(RpcRejectReason.NotExposed, r.Reason);
        Assert.Contains("'no_such_method' on Main/Lobby", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void NotExposed_PropertyWithoutMode_Rejected()
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver("01 01000000 48696464656e00 04000000 01000000 78000000"); // rset Hidden = "x"

        Assert.Equal((RpcRejectReason.NotExposed, "Hidden"), (r.Reason, r.Member));
        Assert.Equal(string.Empty, h.Machine.TestLobby.Hidden);
    }

    [Fact]
    public void NotExposed_CSharpNameOfRenamedMethod_Rejected()
    {
        // Only the wire name ("welcome") is callable remotely.
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Welcome), 1, "x"));

        Assert.Equal(RpcRejectReason.NotExposed, r.Reason);
    }

    [Fact]
    public void ForbiddenByMode_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.DoPuppet)));

        Assert.Equal((RpcRejectReason.ForbiddenByMode, RpcMode.Puppet, 1), (r.Reason, r.Mode, r.NetworkMaster));
        Assert.Contains("mode is Puppet, master is 1", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void UndecodableArgument_UnknownType_Rejected()
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver("00 01000000 416e7900 01 63000000"); // Any(<type 99>)

        Assert.Equal((RpcRejectReason.UndecodableArgument, 0), (r.Reason, r.ArgumentIndex));
        Assert.Equal(VariantErrorReason.UnknownType, r.DecodeError?.Reason);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void UndecodableArgument_Missing_Rejected()
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver("00 01000000 4563686f00 02 02000000 07000000"); // Echo(7, <nothing>)

        Assert.Equal((RpcRejectReason.UndecodableArgument, 1), (r.Reason, r.ArgumentIndex));
        Assert.Empty(h.Machine.TestLobby.Calls);
    }

    [Fact]
    public void UndecodableArgument_RsetValueMissing_Rejected()
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver("01 01000000 53636f726500 0200"); // Score = <2 bytes>

        Assert.Equal(RpcRejectReason.UndecodableArgument, r.Reason);
    }

    [Fact]
    public void ObjectsNotAllowed_FullObjectWhileDecodingOff_Rejected()
    {
        var h = new Harness();
        var obj = Variant.FromObject(new ObjectData("Node", []));

        var r = h.Deliver(Call(nameof(TestLobby.Any), [obj], fullObjects: true));

        Assert.Equal((RpcRejectReason.ObjectsNotAllowed, 0), (r.Reason, r.ArgumentIndex));
        Assert.Contains("object decoding is off", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void ObjectsAllowed_FullObject_Delivered()
    {
        var h = new Harness();
        h.Machine.Api.AllowObjectDecoding = true;
        h.Peer.DeliverPacket(Call(nameof(TestLobby.Any), [Variant.FromObject(new ObjectData("Node", []))], fullObjects: true), Sender);

        h.Machine.Api.Poll();

        Assert.Equal(["Any(Object) from 7"], h.Machine.TestLobby.Calls);
    }

    [Fact]
    public void BadArguments_TooFew_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Echo), 1));

        Assert.Equal((RpcRejectReason.BadArguments, -1, 1L, 2L), (r.Reason, r.ArgumentIndex, r.Value, r.Limit));
        Assert.Contains("takes 2 argument(s); peer 7 sent 1", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void BadArguments_TooMany_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Ping), 1));

        Assert.Equal((RpcRejectReason.BadArguments, 1L, 0L), (r.Reason, r.Value, r.Limit));
    }

    [Fact]
    public void BadArguments_WrongType_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Echo), "seven", "s"));

        Assert.Equal((RpcRejectReason.BadArguments, 0, VariantType.String, typeof(int)), (r.Reason, r.ArgumentIndex, r.ArgumentType, r.ExpectedType));
        Assert.Contains("is String, which does not convert to Int32", r.Detail, StringComparison.Ordinal);
        Assert.Empty(h.Machine.TestLobby.Calls);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void BadArguments_RsetWrongType_Rejected()
    {
        var h = new Harness().WithCachedLobby();

        var r = h.Deliver("01 01000000 53636f726500 04000000 01000000 78000000"); // Score = "x"

        Assert.Equal((RpcRejectReason.BadArguments, VariantType.String), (r.Reason, r.ArgumentType));
        Assert.Equal(0, h.Machine.TestLobby.Score);
    }

    [Fact]
    public void HandlerThrew_Reported()
    {
        var h = new Harness();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Throws)));

        Assert.Equal(RpcRejectReason.HandlerThrew, r.Reason);
        Assert.Equal("boom", r.Exception?.Message);
        Assert.Contains("threw for peer 7: InvalidOperationException: boom", r.Detail, StringComparison.Ordinal);
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void UnknownPeer_AfterClear_Rejected()
    {
        var h = new Harness();
        h.Machine.Api.Clear();

        var r = h.Deliver(CallCamel(nameof(TestLobby.Ping)));

        Assert.Equal((RpcRejectReason.UnknownPeer, Sender), (r.Reason, r.PeerId));
        Assert.Empty(h.Machine.TestLobby.Calls);
    }

    [Fact]
    public void UnknownPeer_PeerAddedBeforeApiAssigned_Rejected()
    {
        // The API learns peers from events; a peer announced before the API listened is unknown to it (never run
        // calls from a peer whose connect event was not seen: godotengine/godot#41412).
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        peer.Initialize(1);
        peer.AddPeer(Sender);
        peer.Poll();
        var machine = new Machine(peer);
        peer.DeliverPacket(CallCamel(nameof(TestLobby.Ping)), Sender);

        machine.Api.Poll();

        Assert.Equal(RpcRejectReason.UnknownPeer, Assert.Single(machine.Rejections).Reason);
        Assert.Empty(machine.TestLobby.Calls);
    }

    [Fact]
    public void UnknownPathConfirmation_NeverOffered_Rejected()
    {
        var h = new Harness();

        var r = h.Deliver("03 4d61696e2f4c6f62627900");

        Assert.Equal((RpcRejectReason.UnknownPathConfirmation, "Main/Lobby"), (r.Reason, r.NodePath));
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void UnknownPathConfirmation_OfferedToAnotherPeer_Rejected()
    {
        var h = new Harness();
        h.Peer.AddPeer(8);
        h.Machine.Api.Poll();
        h.Machine.Lobby.RpcId(8, nameof(TestLobby.Ping)); // offers Main/Lobby to 8 only

        var r = h.Deliver("03 4d61696e2f4c6f62627900");

        Assert.Equal(RpcRejectReason.UnknownPathConfirmation, r.Reason);
    }

    [Fact]
    public void PathCacheFull_BeyondLimit_Rejected()
    {
        var h = new Harness();
        h.Machine.Api.MaxPathCacheEntriesPerPeer = 2;
        h.Peer.DeliverPacket(Convert.FromHexString("020100000061"), Sender);
        h.Peer.DeliverPacket(Convert.FromHexString("020200000062"), Sender);
        h.Peer.DeliverPacket(Convert.FromHexString("020100000063"), Sender); // replacing id 1 is fine
        h.Machine.Api.Poll();
        Assert.Empty(h.Machine.Rejections);

        var r = h.Deliver("020300000064");

        Assert.Equal((RpcRejectReason.PathCacheFull, 3L, 2L), (r.Reason, r.Value, r.Limit));
        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void PathCacheFull_BeyondTheByteBoundsPerPeerAndInAll_RejectedAndHeldBytesStayBounded()
    {
        // Issue 13 §5.2: 4,096 paths of 60,000 characters held 910 MiB; now the bytes are bounded, per peer and in all.
        var h = new Harness();
        var api = h.Machine.Api;
        Assert.Equal(MultiplayerAPI.DefaultMaxPathCacheBytesPerPeer, api.MaxPathCacheBytesPerPeer);
        var longPath = new string('a', 60_000);
        var refused = 0;
        for (var id = 1; id <= 4096; id++)
        {
            h.Peer.DeliverPacket(RpcPacketBytes.SimplifyPath(id, longPath), Sender);
            if (id % 64 == 0)
            {
                api.Poll();
                refused += h.Machine.Rejections.Count(r => r.Reason == RpcRejectReason.PathCacheFull);
                h.Machine.Rejections.Clear();
            }
        }

        var perPath = 96 + 2L * 60_000;
        var kept = (int)(api.MaxPathCacheBytesPerPeer / perPath);
        Assert.Equal(4096 - kept, refused);
        Assert.Equal(kept * perPath, api.PathCacheBytes);
        Assert.True(api.PathCacheBytes <= api.MaxPathCacheBytesPerPeer);
        var r = h.Deliver(RpcPacketBytes.SimplifyPath(5000, longPath));
        Assert.Equal((RpcRejectReason.PathCacheFull, nameof(MultiplayerAPI.MaxPathCacheBytesPerPeer), api.MaxPathCacheBytesPerPeer), (r.Reason, r.Bound, r.Limit));
        Assert.Contains("MaxPathCacheBytesPerPeer", r.Detail, StringComparison.Ordinal);

        // Replacing a path the peer announced frees what the old one held; the total bound applies over all peers.
        h.Machine.Rejections.Clear();
        h.Peer.DeliverPacket(RpcPacketBytes.SimplifyPath(1, "Main"), Sender);
        api.Poll();
        Assert.Empty(h.Machine.Rejections);
        Assert.Equal((kept - 1) * perPath + 96 + 8, api.PathCacheBytes);
        api.MaxPathCacheBytesTotal = api.PathCacheBytes + 100;
        r = h.Deliver(RpcPacketBytes.SimplifyPath(6000, "Main/Lobby"));
        Assert.Equal((RpcRejectReason.PathCacheFull, nameof(MultiplayerAPI.MaxPathCacheBytesTotal)), (r.Reason, r.Bound));

        // A peer that leaves takes its paths' bytes with it.
        h.Peer.RemovePeer(Sender);
        api.Poll();
        Assert.Equal(0, api.PathCacheBytes);
    }

    private static class RpcPacketBytes
    {
        public static byte[] SimplifyPath(int id, string path)
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(path);
            var p = new byte[5 + utf8.Length + 1];
            p[0] = 2;
            BitConverter.TryWriteBytes(p.AsSpan(1), id);
            utf8.CopyTo(p, 5);
            return p;
        }
    }

    public static TheoryData<RpcRejectReason> AllReasons => [.. Enum.GetValues<RpcRejectReason>()];

    [Theory]
    [MemberData(nameof(AllReasons))]
    public void EveryReason_HasATestAbove(RpcRejectReason reason)
    {
        var tested = typeof(RejectionTests).GetMethods().Select(m => m.Name).ToList();

        Assert.Contains(tested, n => n.StartsWith(reason + "_", StringComparison.Ordinal));
    }

    [Fact]
    public void Rejection_CountedPerPeerPerNodeAndTotal()
    {
        var h = new Harness();

        h.Deliver(CallCamel(nameof(TestLobby.DoPuppet)));

        var stats = h.Machine.Api.GetStats();
        Assert.Equal(1, stats.Total.GetRejections(RpcRejectReason.ForbiddenByMode));
        Assert.Equal(1, stats.Peers[Sender].GetRejections(RpcRejectReason.ForbiddenByMode));
        Assert.Equal(1, stats.Nodes["Main/Lobby"].GetRejections(RpcRejectReason.ForbiddenByMode));
    }

    [Fact]
    public void RejectedHandler_Throws_LoopContinues()
    {
        var h = new Harness();
        h.Machine.Api.RpcRejected += _ => throw new InvalidOperationException("bad listener");

        h.Deliver("09");

        h.AssertSessionCarriesOn();
    }

    [Fact]
    public void Fuzz_RandomPackets_NeverThrowAndSessionCarriesOn()
    {
        const int seed = 4242;
        var h = new Harness().WithCachedLobby();
        var random = new Random(seed);
        string[] names = ["ping", "Echo", "Any", "Score", "motd", "Optional", "x"];
        for (var i = 0; i < 3000; i++)
        {
            var bytes = new byte[random.Next(0, 48)];
            random.NextBytes(bytes);
            if (bytes.Length > 5 && random.Next(2) == 0)
            {
                bytes[0] = (byte)random.Next(0, 5);
                bytes[1] = (byte)random.Next(0, 3);
                bytes[2] = bytes[3] = 0;
                bytes[4] = (byte)(random.Next(2) == 0 ? 0 : 0x80);
                var name = System.Text.Encoding.ASCII.GetBytes(names[random.Next(names.Length)] + "\0");
                name.AsSpan(0, Math.Min(name.Length, bytes.Length - 5)).CopyTo(bytes.AsSpan(5));
            }

            h.Peer.DeliverPacket(bytes, Sender);
            var ex = Record.Exception(h.Machine.Api.Poll);
            Assert.True(ex is null, $"seed {seed}, packet {i} ({Convert.ToHexString(bytes)}): {ex}");
        }

        h.AssertSessionCarriesOn();
    }
}
