using System.Text;
using GdNet.Multiplayer;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class RpcPacketTests
{
    [Fact]
    public void BuildSimplifyPath_MainLobby_MatchesCapture()
    {
        // rpc-packets.json, both captures, step 0: "02 01000000 Main/Lobby\0".
        var packet = RpcPacket.BuildSimplifyPath(1, "Main/Lobby"u8);

        Assert.Equal("02010000004d61696e2f4c6f62627900", Convert.ToHexStringLower(packet));
    }

    [Fact]
    public void BuildConfirmPath_MainLobby_MatchesCapture()
    {
        Assert.Equal("034d61696e2f4c6f62627900", Convert.ToHexStringLower(RpcPacket.BuildConfirmPath("Main/Lobby")));
    }

    [Fact]
    public void WriteCallHeader_Ping_WritesCommandTargetAndName()
    {
        var buffer = new byte[10];

        var next = RpcPacket.WriteCallHeader(buffer, NetworkCommand.RemoteCall, 1, "ping"u8);

        Assert.Equal(10, next);
        Assert.Equal("000100000070696e6700", Convert.ToHexStringLower(buffer));
    }

    [Fact]
    public void WriteTarget_FullPathFlag_IsLittleEndian()
    {
        var buffer = new byte[5];

        RpcPacket.WriteTarget(buffer, RpcPacket.FullPathFlag | 0x0b);

        Assert.Equal("000b000080", Convert.ToHexStringLower(buffer));
    }

    [Fact]
    public void ReadTarget_FullPathCall_ReadsOffset()
    {
        var packet = Convert.FromHexString("000b00008070696e6700004d61696e2f4c6f62627900");

        Assert.Equal(RpcPacket.FullPathFlag | 11u, RpcPacket.ReadTarget(packet));
        Assert.Equal("Main/Lobby", Encoding.UTF8.GetString(RpcPacket.ReadPath(packet, 11)));
    }

    [Fact]
    public void TryReadCString_NoNul_False()
    {
        Assert.False(RpcPacket.TryReadCString("\0\0\0\0\0ping"u8, 5, out _, out _));
    }

    [Fact]
    public void TryReadCString_Name_ReturnsNameAndNext()
    {
        Assert.True(RpcPacket.TryReadCString("\0\0\0\0\0ping\0\u0001"u8, 5, out var name, out var next));
        Assert.Equal(("ping", 10), (Encoding.UTF8.GetString(name), next));
    }

    [Fact]
    public void ReadPath_NoNul_RunsToEnd()
    {
        Assert.Equal("Main", Encoding.UTF8.GetString(RpcPacket.ReadPath("\u0003Main"u8, 1)));
    }

    [Fact]
    public void DecodeName_InvalidUtf8_ReplacesSequence()
    {
        Span<char> chars = stackalloc char[8];

        var n = RpcPacket.DecodeName([0x70, 0xff], chars);

        Assert.Equal("p\ufffd", chars[..n].ToString());
    }
}
