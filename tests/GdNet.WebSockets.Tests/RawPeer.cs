using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace GdNet.WebSockets.Tests;

/// <summary>One WebSocket message as a Godot client sees it: the 9-byte header and what follows.</summary>
public readonly record struct GdMessage(int Type, int From, int To, byte[] Rest)
{
    /// <summary>The id a system message carries.</summary>
    public int SystemId => BinaryPrimitives.ReadInt32LittleEndian(Rest);

    public override string ToString() => Type switch
    {
        0 => $"DATA {From}->{To} {Convert.ToHexStringLower(Rest)}",
        1 => $"SYS_ADD {SystemId}",
        2 => $"SYS_DEL {SystemId}",
        3 => $"SYS_ID {SystemId}",
        _ => $"type {Type}",
    };
}

/// <summary>
/// A raw <see cref="ClientWebSocket"/> that records every message the server sends, in order, so a test can assert exact
/// frames ("SYS_ADD 5", "DATA 5->0 2a"). It reads in the background unless created with <c>read: false</c> (a client
/// that never reads).
/// </summary>
public sealed class RawPeer : IAsyncDisposable
{
    private readonly Channel<GdMessage> _messages = Channel.CreateUnbounded<GdMessage>();
    private Task? _reader;

    private RawPeer()
    {
    }

    public ClientWebSocket Ws { get; } = new();

    /// <summary>The id from the server's SYS_ID (0 for a client that does not read).</summary>
    public int Id { get; private set; }

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    /// <summary>Completes when the server closed (or the connection ended).</summary>
    public Task Closed => _reader ?? Task.CompletedTask;

    /// <summary>Connects; when reading, waits for the welcome (SYS_ID then SYS_ADD 1) and checks its exact bytes.</summary>
    public static async Task<RawPeer> ConnectAsync(string url, bool read = true, Action<ClientWebSocketOptions>? configure = null)
    {
        var peer = new RawPeer();
        configure?.Invoke(peer.Ws.Options);
        peer.Ws.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(Net.Timeout);
        await peer.Ws.ConnectAsync(new Uri(url), cts.Token);
        if (!read)
        {
            return peer;
        }

        peer._reader = Task.Run(peer.ReadLoopAsync);
        var id = await peer.NextAsync();
        Assert.Equal(3, id.Type);
        Assert.Equal((1, 0), (id.From, id.To));
        peer.Id = id.SystemId;
        Assert.Equal("SYS_ADD 1", (await peer.NextAsync()).ToString());
        return peer;
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[70000];
        try
        {
            while (true)
            {
                var total = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await Ws.ReceiveAsync(buffer.AsMemory(total), CancellationToken.None);
                    total += r.Count;
                }
                while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);

                if (r.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = Ws.CloseStatus;
                    CloseDescription = Ws.CloseStatusDescription;
                    if (Ws.State == WebSocketState.CloseReceived)
                    {
                        await Ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, CancellationToken.None);
                    }

                    return;
                }

                var m = buffer.AsSpan(0, total);
                _messages.Writer.TryWrite(new GdMessage(m[0], BinaryPrimitives.ReadInt32LittleEndian(m[1..]), BinaryPrimitives.ReadInt32LittleEndian(m[5..]), m[9..].ToArray()));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // lost or disposed
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }

    /// <summary>The next message from the server; fails after <see cref="Net.Timeout"/> or when the connection ended first.</summary>
    public async Task<GdMessage> NextAsync()
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        return await _messages.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Sends a DATA message from this peer's id to <paramref name="to"/>.</summary>
    public Task SendAsync(int to, params byte[] payload) => SendRawAsync(Message(0, Id, to, payload));

    public Task SendRawAsync(byte[] message, WebSocketMessageType type = WebSocketMessageType.Binary) =>
        Ws.SendAsync(message, type, true, CancellationToken.None);

    /// <summary>Waits until the server closed; returns its close status and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason)> WaitClosedAsync()
    {
        await Closed.WaitAsync(Net.Timeout);
        return (CloseStatus, CloseDescription);
    }

    public static byte[] Message(int type, int from, int to, params byte[] payload)
    {
        var m = new byte[9 + payload.Length];
        m[0] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(1), from);
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(5), to);
        payload.CopyTo(m, 9);
        return m;
    }

    public async ValueTask DisposeAsync()
    {
        Ws.Abort();
        if (_reader is not null)
        {
            await _reader;
        }

        Ws.Dispose();
    }
}

/// <summary>A WebSocket upgrade request over a raw TCP socket, to see the exact HTTP answer of a refusal.</summary>
public static class RawHttp
{
    public sealed record Answer(int Status, string Head, string Body);

    /// <summary>Sends <c>GET target</c> as a WebSocket upgrade with <paramref name="headers"/>; returns the status line's code, the head and the body (by Content-Length; empty for 101).</summary>
    public static async Task<Answer> UpgradeAsync(int port, string target, params string[] headers)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var request = new StringBuilder()
            .Append("GET ").Append(target).Append(" HTTP/1.1\r\n")
            .Append("Host: 127.0.0.1:").Append(port).Append("\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
            .Append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
        foreach (var h in headers)
        {
            request.Append(h).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()));
        using var cts = new CancellationTokenSource(Net.Timeout);
        var data = new List<byte>();
        var buffer = new byte[4096];
        int end;
        while ((end = IndexOfHeadEnd(data)) < 0)
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "the server closed before answering");
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        var head = Encoding.ASCII.GetString(data.ToArray(), 0, end);
        var status = int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        if (status == 101)
        {
            return new Answer(status, head, string.Empty);
        }

        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        Assert.NotNull(lengthLine);
        var length = int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        while (data.Count < end + 4 + length)
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "the server closed before the whole body");
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        return new Answer(status, head, Encoding.UTF8.GetString(data.ToArray(), end + 4, length));
    }

    private static int IndexOfHeadEnd(List<byte> data)
    {
        for (var i = 0; i + 3 < data.Count; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
