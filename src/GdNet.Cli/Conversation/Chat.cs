using GdNet.Multiplayer;

namespace GdNet.Cli.Conversation;

/// <summary>
/// <c>/root/Main/Chat</c>: a one-method chat for demos. <see cref="Say"/> is <c>remotesync</c>, so <c>Rpc("Say", text)</c>
/// shows the line everywhere, the sender included; the server relays it between clients.
/// </summary>
public sealed class Chat : Node
{
    public Chat() => Name = "Chat";

    /// <summary>Every line seen here: the sender's id and the text.</summary>
    public List<(int From, string Text)> Lines { get; } = [];

    /// <summary>Raised for each line, with the sender's id.</summary>
    public event Action<int, string>? Said;

    [RemoteSync(Name = "say")]
    public void Say(string text)
    {
        var from = Multiplayer!.GetRpcSenderId();
        Lines.Add((from, text));
        Said?.Invoke(from, text);
    }
}
