namespace GdNet.Peers;

/// <summary>Godot's <c>NetworkedMultiplayerPeer.TransferMode</c>.</summary>
public enum TransferModeEnum
{
    Unreliable = 0,
    UnreliableOrdered = 1,
    Reliable = 2,
}

/// <summary>Godot's <c>NetworkedMultiplayerPeer.ConnectionStatus</c>.</summary>
public enum ConnectionStatus
{
    Disconnected = 0,
    Connecting = 1,
    Connected = 2,
}
