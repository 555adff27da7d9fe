using System.Buffers.Binary;

namespace GdNet.Enet.Tests;

/// <summary>
/// <see cref="EnetFraming.ReadSystemMessage"/>, which the ENet client reads channel 0 with (and the fuzz target
/// <c>enet</c> fuzzes): Godot's order of checks, every outcome.
/// </summary>
public sealed class FuzzSystemMessageTests
{
    private const int Self = 40;

    private static byte[] Message(uint message, uint id)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, message);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), id);
        return b;
    }

    [Theory]
    [InlineData(0u, 5u, nameof(SystemMessageKind.AddPeer))]
    [InlineData(1u, 5u, nameof(SystemMessageKind.RemovePeer))]
    [InlineData(0u, (uint)int.MaxValue, nameof(SystemMessageKind.AddPeer))]
    [InlineData(2u, 5u, nameof(SystemMessageKind.Unknown))]
    [InlineData(0u, 0u, nameof(SystemMessageKind.InvalidPeerId))]
    [InlineData(0u, 1u, nameof(SystemMessageKind.InvalidPeerId))]
    [InlineData(1u, (uint)Self, nameof(SystemMessageKind.InvalidPeerId))]
    [InlineData(0u, 0x80000000u, nameof(SystemMessageKind.InvalidPeerId))]
    [InlineData(9u, 1u, nameof(SystemMessageKind.InvalidPeerId))] // the id is checked before the message, as in Godot
    public void ReadSystemMessage_ClassifiesInGodotsOrder(uint message, uint id, string expected)
    {
        var kind = EnetFraming.ReadSystemMessage(Message(message, id), Self, out var readMessage, out var readId);

        Assert.Equal(expected, kind.ToString());
        Assert.Equal((message, id), (readMessage, readId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("00000000050000")]
    public void ReadSystemMessage_ShorterThan8Bytes_IsTooShort(string hex)
    {
        var kind = EnetFraming.ReadSystemMessage(Convert.FromHexString(hex), Self, out var message, out var id);

        Assert.Equal(SystemMessageKind.TooShort, kind);
        Assert.Equal((0u, 0u), (message, id));
    }

    [Fact]
    public void ReadSystemMessage_BytesAfterTheFirst8_AreIgnored()
    {
        byte[] data = [.. Message(1, 7), 0xFF, 0xFF];

        Assert.Equal(SystemMessageKind.RemovePeer, EnetFraming.ReadSystemMessage(data, Self, out _, out var id));
        Assert.Equal(7u, id);
    }
}
