using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>
/// In a cluster each node keeps its members' SIMPLIFY_PATH packets for peer 1 (for a host takeover): bounded in count
/// and in bytes, per peer and in all (issue 13 §5.2: 64 packets of 64 KiB were 4 MiB per peer).
/// </summary>
public sealed class RecordedPathsTests
{
    [Fact]
    public async Task Recorded_paths_are_bounded_in_bytes_per_peer_and_forgotten_when_the_peer_leaves()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits()) { HostFactory = _ => new FakeHost() };
        router.AttachCluster(new NullLink());
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        var packet = new byte[1 + 4 + 4000 + 1];
        packet[0] = 2; // SIMPLIFY_PATH
        packet.AsSpan(5, 4000).Fill((byte)'a');

        for (var i = 0; i < 64; i++)
        {
            router.Route(a, a.PeerId, RelayRouter.HostPeerId, packet, TransferModeEnum.Reliable);
            router.Route(b, b.PeerId, RelayRouter.HostPeerId, packet, TransferModeEnum.Reliable);
        }

        var kept = RelayRouter.MaxRecordedPathBytesPerPeer / packet.Length; // 4 of 64: the bytes bound, not the count
        Assert.Equal(2L * kept * packet.Length, router.RecordedPathBytes);
        Assert.Equal(2L * (64 - kept), router.PathsNotRecorded);
        Assert.True(router.RecordedPathBytes <= 2 * RelayRouter.MaxRecordedPathBytesPerPeer);

        router.Leave(a);
        Assert.Equal(kept * packet.Length, router.RecordedPathBytes);
        router.Leave(b);
        Assert.Equal(0, router.RecordedPathBytes);
    }

    // A cluster of one node: the link does nothing, and this node hosts every room.
    private sealed class NullLink : IClusterLink
    {
        public Task OpenRoomAsync(Room room, bool wantsHost) => Task.CompletedTask;

        public void CloseRoom(Room room)
        {
        }

        public void PeerJoined(Room room, int peerId)
        {
        }

        public void PeerLeft(Room room, int peerId)
        {
        }

        public bool Forward(Room room, int from, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel) => false;

        public bool Kick(Room room, int peerId, string reason) => false;

        public bool IsBackedUp => false;

        public Task WhenNotBackedUpAsync() => Task.CompletedTask;

        public ValueTask<bool> ClaimPeerIdAsync(int peerId, CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public void ReleasePeerId(int peerId)
        {
        }
    }
}
