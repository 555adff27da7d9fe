using System.Buffers.Binary;
using System.Text.Json;
using GdNet.Enet.Interop;
using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

public sealed class DatagramInspectorTests
{
    private const long NoLimit = 1L << 30;

    private static readonly Lazy<JsonElement[]> Units = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Paths.SharedFile("godot3/vectors/rpc-packets.json")));
        var enet = doc.RootElement.GetProperty("captures").EnumerateArray().Single(c => c.GetProperty("transport").GetString() == "enet");
        return [.. enet.GetProperty("units").EnumerateArray().Where(u => u.GetProperty("kind").GetString() == "udp_datagram").Select(u => u.Clone())];
    });

    public static TheoryData<int> CapturedDatagrams()
    {
        var data = new TheoryData<int>();
        foreach (var u in Units.Value)
        {
            data.Add(u.GetProperty("index").GetInt32());
        }

        return data;
    }

    private static JsonElement Unit(int index) => Units.Value.Single(u => u.GetProperty("index").GetInt32() == index);

    [Theory]
    [MemberData(nameof(CapturedDatagrams))]
    public void Inspect_CapturedGodotDatagram_IsOkWithHeaderPeer(int index)
    {
        var unit = Unit(index);
        var bytes = Convert.FromHexString(unit.GetProperty("hex").GetString()!);
        var info = DatagramInspector.Inspect(bytes, 32, compressionEnabled: false, NoLimit);
        Assert.Equal(DatagramVerdict.Ok, info.Verdict);
        var peerId = unit.GetProperty("enet_header").GetProperty("peer_id").GetInt32();
        Assert.Equal(peerId == 0xFFF ? -1 : peerId, info.PeerIndex);
        Assert.False(info.OversizedFragment);
    }

    [Fact]
    public void Inspect_CapturedConnect_ReadsClientIdAndConnectId()
    {
        var unit = Units.Value.First(u => u.GetProperty("commands").EnumerateArray().Any(c => c.GetProperty("command").GetString() == "CONNECT"));
        var command = unit.GetProperty("commands")[0];
        var info = DatagramInspector.Inspect(Convert.FromHexString(unit.GetProperty("hex").GetString()!), 32, false, NoLimit);
        Assert.True(info.HasConnect);
        Assert.Equal(command.GetProperty("connect_data").GetUInt32(), info.ConnectData);
        Assert.Equal(command.GetProperty("connect_id").GetUInt32(), info.ConnectId);
    }

    [Theory]
    [InlineData("", "shorter than an ENet header")]
    [InlineData("80", "shorter than an ENet header")]
    [InlineData("8000ab", "shorter than its ENet header")]
    [InlineData("0021", "addressed to a peer slot this host does not have")]
    [InlineData("4000", "compressed, but this host's CompressionMode is None (do both sides use the same compression?)")]
    [InlineData("00000001", "ends inside a command header")]
    [InlineData("00000dff0001", "holds an unknown ENet command")]
    [InlineData("000001ff00", "ends inside a command header")]
    [InlineData("0000800000010000", "holds an unknown ENet command")]
    [InlineData("000001ff00010000", "ends inside a command")]
    [InlineData("0fff85ff0001", "has a command other than CONNECT for no peer")]
    [InlineData("00008601000100ff0102", "ends inside a command's data")]
    public void Inspect_Garbage_IsMalformedWithReason(string hex, string note)
    {
        var info = DatagramInspector.Inspect(Convert.FromHexString(hex), 32, compressionEnabled: false, NoLimit);
        Assert.Equal(DatagramVerdict.Malformed, info.Verdict);
        Assert.Equal(note, info.Note);
    }

    [Fact]
    public void Inspect_CompressedWithCompressionOn_IsOkWithoutLookingInside()
    {
        var info = DatagramInspector.Inspect(Convert.FromHexString("4001deadbeef"), 32, compressionEnabled: true, NoLimit);
        Assert.Equal(DatagramVerdict.Ok, info.Verdict);
        Assert.True(info.Compressed);
        Assert.Equal(1, info.PeerIndex);
    }

    [Theory]
    [InlineData(DatagramInspector.CommandSendFragment, true)]
    [InlineData(DatagramInspector.CommandSendUnreliableFragment, false)]
    public void Inspect_FragmentOfOversizedPacket_FlagsItWithTotalLength(int command, bool reliable)
    {
        var datagram = Fragment(command, startSequence: 7, totalLength: 5008, dataLength: 4);
        var info = DatagramInspector.Inspect(datagram, 32, false, maxPacketLength: 1008);
        Assert.Equal(DatagramVerdict.Ok, info.Verdict);
        Assert.True(info.OversizedFragment);
        Assert.Equal(reliable, info.OversizedReliable);
        Assert.Equal((ushort)7, info.OversizedStartSequence);
        Assert.Equal(5008u, info.OversizedTotalLength);
    }

    [Fact]
    public void Inspect_FragmentWithinLimit_NotFlagged()
    {
        var info = DatagramInspector.Inspect(Fragment(DatagramInspector.CommandSendFragment, 1, 1008, 4), 32, false, maxPacketLength: 1008);
        Assert.False(info.OversizedFragment);
    }

    private static byte[] Fragment(int command, ushort startSequence, uint totalLength, ushort dataLength)
    {
        var d = new byte[2 + 24 + dataLength];
        BinaryPrimitives.WriteUInt16BigEndian(d, 0x0003); // peer slot 3, no sent time
        d[2] = (byte)(command | 0x80);
        d[3] = 1; // channel
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(6), startSequence);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(8), dataLength);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(10), 2);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(14), 0);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(18), totalLength);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(22), 0);
        return d;
    }
}
