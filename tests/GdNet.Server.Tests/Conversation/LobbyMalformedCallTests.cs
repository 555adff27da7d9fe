using System.Buffers.Binary;
using System.Text;
using GdNet.Cli.Conversation;
using GdNet.Multiplayer;
using GdNet.Peers;

namespace GdNet.Server.Tests.Conversation;

/// <summary>
/// The hosted conversation-v1 lobby (gdnet serve's Main/Lobby) against a client that repeats a malformed call (issue 13
/// §5.4): what it keeps per client stays bounded — each kind of error once, the repeats counted.
/// </summary>
public sealed class LobbyMalformedCallTests
{
    private const int Client = 7;

    [Fact]
    public void Repeated_pings_with_wrong_argument_types_are_counted_not_kept()
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);
        var lobby = new ConversationLobby(ConversationRole.Server);
        main.AddChild(lobby);
        lobby.Attach(api);
        var checks = new List<string>();
        lobby.Line += l =>
        {
            if (l.StartsWith("CHECK", StringComparison.Ordinal))
            {
                checks.Add(l);
            }
        };
        api.NetworkPeer = peer;
        peer.Initialize(1);
        peer.AddPeer(Client);
        api.Poll();

        var ping = PingWithTwoStrings();
        for (var i = 0; i < 10_000; i++)
        {
            peer.DeliverPacket(ping, Client);
            if (i % 1000 == 999)
            {
                api.Poll();
            }
        }

        api.Poll();
        var (errors, repeats) = lobby.ErrorsOf(Client);
        Assert.Equal(["ping_arg_types"], errors);
        Assert.Equal(9_999, repeats);
        Assert.Equal($"CHECK fail ping_arg_types peer={Client}", Assert.Single(checks)); // one line, not ten thousand
    }

    // REMOTE_CALL "ping" on Main/Lobby by full path (spec §3.3) with two strings, where ping takes an int and a string.
    private static byte[] PingWithTwoStrings()
    {
        var packet = new List<byte> { 0, 0, 0, 0, 0 }; // REMOTE_CALL, target written below
        packet.AddRange("ping\0"u8.ToArray());
        packet.Add(2); // argc
        for (var i = 0; i < 2; i++)
        {
            packet.AddRange([4, 0, 0, 0, 1, 0, 0, 0, (byte)'x', 0, 0, 0]); // Variant STRING "x", padded to 4
        }

        var pathOffset = packet.Count;
        packet.AddRange(Encoding.ASCII.GetBytes("Main/Lobby\0"));
        var bytes = packet.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(1), 0x80000000u | (uint)pathOffset);
        return bytes;
    }
}
