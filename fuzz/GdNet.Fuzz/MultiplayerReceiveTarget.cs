using GdNet.Multiplayer;
using GdNet.Peers;

namespace GdNet.Fuzz;

/// <summary>
/// <c>mp-receive</c>: MultiplayerAPI's receive path. A fresh server (id 1) per input on a NetworkedMultiplayerCustom
/// with clients <see cref="Client"/> and <see cref="SecondClient"/> connected, the <see cref="FuzzScene"/> tree, then the
/// input's packets (records: <c>u8 selector · u16 length · bytes</c>) delivered and polled. Selector bits 0-1: the sender
/// (0, 1: <see cref="Client"/>; 2: <see cref="SecondClient"/>; 3: <see cref="Stranger"/>, not connected); bit 2: poll
/// after this packet; bit 3: the API decodes full objects from here on; bit 4: <see cref="SecondClient"/> disconnects
/// after this packet. Malformed input: an <see cref="RpcRejection"/> (read in full: its detail is formatted) or a
/// refused delivery; nothing may escape <see cref="MultiplayerAPI.Poll"/>.
/// </summary>
internal sealed class MultiplayerReceiveTarget : FuzzTarget
{
    public const int Client = 7;
    public const int SecondClient = 9;
    public const int Stranger = 33;



    public override void Run(ReadOnlySpan<byte> input)
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var api = new MultiplayerAPI();
        FuzzScene.Build(api, Client);
        var rejections = 0;
        api.RpcRejected += r =>
        {
            rejections++;
            FuzzCheckException.Check(!string.IsNullOrEmpty(r.Detail) && r.ToString().Length > 0, "a rejection says why");
        };
        var raw = 0;
        api.NetworkPeerPacket += (_, bytes) => raw += bytes.Length;
        api.NetworkPeer = peer;
        peer.Initialize(1);
        peer.AddPeer(Client);
        peer.AddPeer(SecondClient);
        api.Poll();

        var records = new Records(input);
        while (records.TryNext(out var selector, out var packet))
        {
            var from = (selector & 3) switch
            {
                2 => SecondClient,
                3 => Stranger,
                _ => Client,
            };
            if ((selector & 8) != 0)
            {
                api.AllowObjectDecoding = true;
            }

            _ = peer.DeliverPacket(packet, from);
            if ((selector & 4) != 0)
            {
                api.Poll();
            }

            if ((selector & 16) != 0 && peer.HasPeer(SecondClient))
            {
                peer.RemovePeer(SecondClient);
            }
        }

        api.Poll();
        _ = api.GetStats();
        api.NetworkPeer = null;
        peer.Dispose();
    }
}
