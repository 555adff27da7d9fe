using GdNet.Peers;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>PacketPeer's Variant helpers (spec §2.1, §1.9) through <see cref="InMemoryPacketPeer"/>.</summary>
public sealed class PacketPeerTests
{
    private static readonly byte[] FullReferenceObject = Convert.FromHexString("11000000090000005265666572656e636500000000000000");

    [Fact]
    public void PutVar_ThenGetVarOnOtherPeer_GivesTheSameValue()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        var value = new VariantArray { 1, "two", new Vector2(3, 4), new VariantDictionary { { "k", 0.5 } } };

        Assert.Equal(GdNet.Error.Ok, a.PutVar(value));

        Assert.Equal((Variant)value, b.GetVar());
    }

    [Fact]
    public void PutVar_Value_SendsGodotEncodingAsOnePacket()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();

        a.PutVar("a");

        Assert.Equal(1, b.AvailablePacketCount);
        Assert.Equal("040000000100000061000000", Convert.ToHexStringLower(b.GetPacket()));
    }

    [Fact]
    public void GetVar_NoPacket_ReturnsNil()
    {
        var (_, b) = InMemoryPacketPeer.CreatePair();

        Assert.True(b.GetVar().IsNil);
    }

    [Fact]
    public void TryGetVar_NoPacket_FailsWithNoPacketAndUnavailable()
    {
        var (_, b) = InMemoryPacketPeer.CreatePair();

        Assert.False(b.TryGetVar(out _, out var error));
        Assert.Equal((VariantErrorReason.NoPacket, GdNet.Error.Unavailable), (error.Reason, error.GodotError));
    }

    [Fact]
    public void GetVar_MalformedPacket_ReturnsNilAndConsumesThePacket()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(new byte[] { 0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F });

        Assert.True(b.GetVar().IsNil);
        Assert.Equal(0, b.AvailablePacketCount);
    }

    [Fact]
    public void TryGetVar_MalformedPacket_ReportsTheCodecError()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(new byte[] { 0x1B, 0, 0, 0 });

        Assert.False(b.TryGetVar(out var value, out var error));
        Assert.True(value.IsNil);
        Assert.Equal(VariantErrorReason.UnknownType, error.Reason);
    }

    [Fact]
    public void GetPacket_NoPacket_SetsGetPacketErrorUnavailable()
    {
        var (_, b) = InMemoryPacketPeer.CreatePair();

        Assert.Empty(b.GetPacket());
        Assert.Equal(GdNet.Error.Unavailable, b.GetPacketError());
    }

    [Fact]
    public void GetVar_NoPacket_LeavesGetPacketErrorUnchanged()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(new byte[] { 0 });
        b.GetPacket(); // GetPacketError is now Ok

        b.GetVar(); // nothing queued: get_var does not touch get_packet_error

        Assert.Equal(GdNet.Error.Ok, b.GetPacketError());
    }

    [Fact]
    public void GetVar_FullObjectWithDecodingOff_ReturnsNil()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(FullReferenceObject);

        Assert.True(b.GetVar().IsNil);
    }

    [Fact]
    public void GetVar_FullObjectWithArgumentAllowingObjects_ReturnsObjectData()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(FullReferenceObject);

        Assert.Equal(new ObjectData("Reference", []), b.GetVar(allowObjects: true).AsObject());
    }

    [Fact]
    public void GetVar_FullObjectWithAllowObjectDecoding_ReturnsObjectData()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        b.AllowObjectDecoding = true;
        a.PutPacket(FullReferenceObject);

        Assert.Equal(new ObjectData("Reference", []), b.GetVar().AsObject());
    }

    [Fact]
    public void PutVar_ObjectDataWithDecodingOff_SendsInstanceId()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();

        a.PutVar(Variant.FromObject(new ObjectData("Reference", [])));

        Assert.Equal("110001000000000000000000", Convert.ToHexStringLower(b.GetPacket()));
    }

    [Fact]
    public void PutVar_ObjectDataWithFullObjectsArgument_SendsFullObject()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();

        a.PutVar(Variant.FromObject(new ObjectData("Reference", [])), fullObjects: true);

        Assert.Equal(FullReferenceObject, b.GetPacket());
    }

    [Fact]
    public void PutVar_ObjectDataWithAllowObjectDecoding_SendsFullObject()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.AllowObjectDecoding = true;

        a.PutVar(Variant.FromObject(new ObjectData("Reference", [])));

        Assert.Equal(FullReferenceObject, b.GetPacket());
    }

    [Fact]
    public void EncodeBufferMaxSize_Default_Is8MiB() =>
        Assert.Equal(8 * 1024 * 1024, InMemoryPacketPeer.CreatePair().First.EncodeBufferMaxSize);

    [Theory]
    [InlineData(1024, 1024)]
    [InlineData(1025, 2048)]
    [InlineData(1500, 2048)]
    [InlineData(65536, 65536)]
    [InlineData(200_000_000, 256 * 1024 * 1024)]
    [InlineData(256 * 1024 * 1024, 256 * 1024 * 1024)]
    public void EncodeBufferMaxSize_Set_RoundsUpToPowerOfTwo(int set, int expected)
    {
        var (a, _) = InMemoryPacketPeer.CreatePair();

        a.EncodeBufferMaxSize = set;

        Assert.Equal(expected, a.EncodeBufferMaxSize);
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(256 * 1024 * 1024 + 1)]
    [InlineData(int.MaxValue)]
    public void EncodeBufferMaxSize_OutOfRange_ThrowsSayingTheRange(int set)
    {
        var (a, _) = InMemoryPacketPeer.CreatePair();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => a.EncodeBufferMaxSize = set);

        Assert.Contains("between 1024 and 268435456", ex.Message, StringComparison.Ordinal);
        Assert.Equal(8 * 1024 * 1024, a.EncodeBufferMaxSize);
    }

    [Fact]
    public void PutVar_EncodingLargerThanEncodeBufferMaxSize_ReturnsOutOfMemoryAndSendsNothing()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.EncodeBufferMaxSize = 1024;

        Assert.Equal(GdNet.Error.OutOfMemory, a.PutVar(new byte[1024 - 8 + 1]));
        Assert.Equal(0, b.AvailablePacketCount);
    }

    [Fact]
    public void PutVar_EncodingExactlyEncodeBufferMaxSize_IsSent()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.EncodeBufferMaxSize = 1024;

        Assert.Equal(GdNet.Error.Ok, a.PutVar(new byte[1024 - 8]));
        Assert.Equal(1024, b.GetPacket().Length);
    }

    [Fact]
    public void PutPacket_OtherQueueFull_ReturnsOutOfMemory()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair(maxQueuedPackets: 2);
        a.PutPacket(new byte[] { 1 });
        a.PutPacket(new byte[] { 2 });

        Assert.Equal(GdNet.Error.OutOfMemory, a.PutPacket(new byte[] { 3 }));
        Assert.Equal(2, b.AvailablePacketCount);
    }

    [Fact]
    public void PutPacket_SeveralPackets_ArriveInOrder()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(new byte[] { 1 });
        a.PutPacket(new byte[] { 2, 2 });

        Assert.Equal(new byte[] { 1 }, b.GetPacket());
        Assert.Equal(new byte[] { 2, 2 }, b.GetPacket());
    }

    [Fact]
    public void PutPacket_EmptyPacket_ArrivesEmpty()
    {
        var (a, b) = InMemoryPacketPeer.CreatePair();
        a.PutPacket(ReadOnlySpan<byte>.Empty);

        Assert.True(b.TryGetPacket(out var packet));
        Assert.Equal(0, packet.Length);
    }
}
