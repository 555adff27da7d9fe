using GdNet.Multiplayer;
using GdNet.Peers;

namespace GdNet.Cli.Conversation;

/// <summary>
/// One side of conversation v1 ready to run: a <see cref="MultiplayerAPI"/> whose tree is <c>root/Main/Lobby</c> (wire
/// path <c>Main/Lobby</c>, as in the Godot peers), on a network peer. Call <see cref="Poll"/> once per frame on the
/// game thread.
/// </summary>
public sealed class ConversationPeer
{
    private ConversationPeer(NetworkedMultiplayerPeer peer, ConversationRole role)
    {
        Peer = peer;
        Api = new MultiplayerAPI();
        Main = new Node { Name = "Main" };
        Api.RootNode.AddChild(Main);
        Lobby = new ConversationLobby(role);
        Main.AddChild(Lobby);
        Lobby.Attach(Api);
        Api.NetworkPeer = peer;
    }

    public NetworkedMultiplayerPeer Peer { get; }

    public MultiplayerAPI Api { get; }

    /// <summary><c>/root/Main</c>: other nodes (e.g. a chat) can be added beside the lobby.</summary>
    public Node Main { get; }

    public ConversationLobby Lobby { get; }

    /// <summary>The server side on a listening server peer; <paramref name="kick"/> disconnects a client after its quit.</summary>
    public static ConversationPeer Server(NetworkedMultiplayerPeer peer, Action<int> kick)
    {
        var p = new ConversationPeer(peer, ConversationRole.Server);
        p.Lobby.Kick = kick;
        return p;
    }

    /// <summary>The client side on a connecting client peer.</summary>
    public static ConversationPeer Client(NetworkedMultiplayerPeer peer) => new(peer, ConversationRole.Client);

    /// <summary>Receives and dispatches, then lets the lobby do its per-frame work.</summary>
    public void Poll()
    {
        Api.Poll();
        Lobby.Update();
    }
}
