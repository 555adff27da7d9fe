using System.Collections.Concurrent;
using System.Net;
using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>What a <see cref="FakeConnection"/> was asked to do, in order.</summary>
internal abstract record Seen;

internal sealed record Welcomed(int Id) : Seen;

internal sealed record Got(int From, int To, string Payload, TransferModeEnum Mode, int Channel) : Seen;

internal sealed record Added(int Id) : Seen;

internal sealed record Removed(int Id) : Seen;

internal sealed record Closed(CloseReason Reason, string Detail) : Seen;

/// <summary>A connection that records what the router asks of it (the router is transport-neutral, so this is its real contract).</summary>
internal sealed class FakeConnection(string transport = "fake", IPEndPoint? endPoint = null) : RelayConnection(transport, endPoint)
{
    public ConcurrentQueue<Seen> Log { get; } = new();

    public List<(PacketRejection Rejection, bool Misbehaviour)> Rejections { get; } = [];

    public SendResult NextResult { get; set; } = SendResult.Sent;

    public long Queued { get; set; }

    public override long QueuedBytes => Queued;

    public List<Seen> Items => [.. Log];

    public List<Got> Packets => [.. Log.OfType<Got>()];

    public List<int> PeersAdded => [.. Log.OfType<Added>().Select(a => a.Id)];

    public List<int> PeersRemoved => [.. Log.OfType<Removed>().Select(a => a.Id)];

    public Closed? ClosedWith => Log.OfType<Closed>().FirstOrDefault();

    protected override void Welcome() => Log.Enqueue(new Welcomed(PeerId));

    protected override SendResult Send(in RelayPacket packet)
    {
        Log.Enqueue(new Got(packet.From, packet.To, System.Text.Encoding.UTF8.GetString(packet.Payload), packet.Mode, packet.Channel));
        return NextResult;
    }

    protected override void SendPeerAdded(int peerId) => Log.Enqueue(new Added(peerId));

    protected override void SendPeerRemoved(int peerId) => Log.Enqueue(new Removed(peerId));

    protected override void Close(CloseReason reason, string detail) => Log.Enqueue(new Closed(reason, detail));

    protected override void OnRejected(PacketRejection rejection, bool misbehaviour) => Rejections.Add((rejection, misbehaviour));
}

/// <summary>A hosted logic that records joins, leaves and packets, and can be made full.</summary>
internal sealed class FakeHost : IRoomHost
{
    public ConcurrentQueue<string> Log { get; } = new();

    public bool Full { get; set; }

    public bool Disposed { get; private set; }

    public List<string> Items => [.. Log];

    public void PeerJoined(int peerId) => Log.Enqueue($"joined {peerId}");

    public void PeerLeft(int peerId) => Log.Enqueue($"left {peerId}");

    public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
    {
        if (Full)
        {
            return HostDelivery.Full;
        }

        Log.Enqueue($"packet {from} {System.Text.Encoding.UTF8.GetString(payload)}");
        return HostDelivery.Accepted;
    }

    public Task WhenRoomAsync(int length) => Task.CompletedTask;

    public void Dispose() => Disposed = true;
}

internal static class RouterKit
{
    public static readonly IPEndPoint Loopback = new(IPAddress.Loopback, 5000);

    public static RelayOptions NoRateLimits() => new()
    {
        MaxConnectionsPerAddress = 0,
        ConnectionsPerSecondPerAddress = 0,
        MaxPacketsPerSecond = 0,
        MaxBytesPerSecond = 0,
    };

    public static async Task<FakeConnection> JoinAsync(this RelayRouter router, string room = Room.DefaultName, int requestedId = 0, IPEndPoint? endPoint = null)
    {
        var c = new FakeConnection(endPoint: endPoint ?? Loopback);
        using var ticket = await router.AdmitAsync(new AdmissionRequest("fake", c.RemoteEndPoint, room) { RequestedPeerId = requestedId });
        Assert.True(ticket.IsAccepted, ticket.Detail);
        router.Join(ticket, c);
        return c;
    }

    public static RouteResult Send(this RelayRouter router, FakeConnection from, int to, string text, TransferModeEnum mode = TransferModeEnum.Reliable, int channel = 0) =>
        router.Route(from, from.PeerId, to, System.Text.Encoding.UTF8.GetBytes(text), mode, channel);
}

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
