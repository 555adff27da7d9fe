using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace GdNet.WebSockets.Tests;

/// <summary>One WebSocket frame as it was on the wire: the first byte (FIN, RSV, opcode), whether it was masked, and its payload (unmasked).</summary>
public readonly record struct RawFrame(byte First, bool Masked, byte[] Payload)
{
    public int Opcode => First & 0x0F;

    public bool Fin => (First & 0x80) != 0;

    /// <summary>For a close frame: its code, or 0 when it had none.</summary>
    public int CloseCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 0;

    /// <summary>For a close frame: its reason.</summary>
    public string CloseReason => Payload.Length > 2 ? Encoding.UTF8.GetString(Payload, 2, Payload.Length - 2) : string.Empty;
}

/// <summary>
/// Hand-built RFC 6455 frames over a raw TCP socket, either side: a client that does its own handshake against a real
/// listener, or the accepted end of a raw server that a <see cref="WebSocketClient"/> connects to. Nothing here is the
/// code under test: frames are built and parsed byte by byte.
/// </summary>
public sealed class RawWs : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly List<byte> _in = [];

    private RawWs(TcpClient tcp, bool isClient)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        IsClient = isClient;
    }

    /// <summary>True for a client (its frames are masked by default).</summary>
    public bool IsClient { get; }

    /// <summary>The HTTP head the other side answered (client) or sent (server).</summary>
    public string Head { get; private set; } = string.Empty;

    /// <summary>Connects to <paramref name="port"/> and upgrades; fails unless the answer is 101 with the right accept value.</summary>
    public static async Task<RawWs> ConnectAsync(int port, string path = "/")
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var ws = new RawWs(tcp, isClient: true);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        await ws.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        ws.Head = await ws.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101 ", ws.Head, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: " + Accept(key) + "\r\n", ws.Head + "\r\n", StringComparison.OrdinalIgnoreCase);
        return ws;
    }

    /// <summary>Accepts one connection on <paramref name="listener"/> and answers its upgrade request with <paramref name="answer"/> (given the key; null: a valid 101).</summary>
    public static async Task<RawWs> AcceptAsync(TcpListener listener, Func<string, string>? answer = null)
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        var tcp = await listener.AcceptTcpClientAsync(cts.Token);
        var ws = new RawWs(tcp, isClient: false);
        ws.Head = await ws.ReadHeadAsync();
        var keyLine = ws.Head.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase));
        var key = keyLine["Sec-WebSocket-Key:".Length..].Trim();
        var response = answer?.Invoke(key)
            ?? $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Accept(key)}\r\n\r\n";
        await ws.WriteAsync(Encoding.ASCII.GetBytes(response));
        return ws;
    }

    /// <summary>RFC 6455 §1.3's accept value, computed here independently of the code under test.</summary>
#pragma warning disable CA5350 // SHA-1 is what RFC 6455 prescribes for the accept value.
    public static string Accept(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350

    /// <summary>
    /// Builds a frame: <paramref name="first"/> is the first byte as sent (FIN | RSV | opcode); masked with a fixed key
    /// when <paramref name="masked"/>; <paramref name="lengthForm"/> 0 picks the minimal length form, 126 or 127 forces
    /// the 16- or 64-bit form; <paramref name="declaredLength"/> overrides the length written (for lies).
    /// </summary>
    public static byte[] Frame(byte first, ReadOnlySpan<byte> payload, bool masked, int lengthForm = 0, long? declaredLength = null)
    {
        var length = declaredLength ?? payload.Length;
        var form = lengthForm != 0 ? lengthForm : length <= 125 ? 0 : length <= 65535 ? 126 : 127;
        var frame = new List<byte> { first };
        var maskBit = masked ? (byte)0x80 : (byte)0;
        switch (form)
        {
            case 0:
                frame.Add((byte)(maskBit | length));
                break;
            case 126:
                frame.Add((byte)(maskBit | 126));
                frame.Add((byte)(length >> 8));
                frame.Add((byte)length);
                break;
            default:
                frame.Add((byte)(maskBit | 127));
                for (var i = 7; i >= 0; i--)
                {
                    frame.Add((byte)((ulong)length >> (i * 8)));
                }

                break;
        }

        byte[] key = [0x37, 0xfa, 0x21, 0x3d];
        if (masked)
        {
            frame.AddRange(key);
        }

        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(masked ? (byte)(payload[i] ^ key[i & 3]) : payload[i]);
        }

        return [.. frame];
    }

    /// <summary>A close frame's payload: the code then the reason.</summary>
    public static byte[] ClosePayload(int code, string reason = "")
    {
        var r = Encoding.UTF8.GetBytes(reason);
        var p = new byte[2 + r.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, (ushort)code);
        r.CopyTo(p, 2);
        return p;
    }

    /// <summary>Sends a frame, masked when this is the client side unless <paramref name="masked"/> says otherwise.</summary>
    public Task SendAsync(byte first, byte[] payload, bool? masked = null, int lengthForm = 0) =>
        WriteAsync(Frame(first, payload, masked ?? IsClient, lengthForm));

    public async Task WriteAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Reads the next frame; fails after <see cref="Net.Timeout"/> or when the connection ends first.</summary>
    public async Task<RawFrame> ReadFrameAsync()
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        await FillAsync(2, cts.Token);
        var len7 = _in[1] & 0x7F;
        var masked = (_in[1] & 0x80) != 0;
        var n = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
        await FillAsync(n, cts.Token);
        long length = len7 switch
        {
            126 => (_in[2] << 8) | _in[3],
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(_in.GetRange(2, 8).ToArray()),
            _ => len7,
        };
        var header = n + (masked ? 4 : 0);
        await FillAsync(header + (int)length, cts.Token);
        var payload = _in.GetRange(header, (int)length).ToArray();
        if (masked)
        {
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] ^= _in[n + (i & 3)];
            }
        }

        var frame = new RawFrame(_in[0], masked, payload);
        _in.RemoveRange(0, header + (int)length);
        return frame;
    }

    /// <summary>Reads frames until a close frame, skipping the others (a welcome, relayed messages).</summary>
    public async Task<RawFrame> ReadCloseAsync()
    {
        while (true)
        {
            var f = await ReadFrameAsync();
            if (f.Opcode == 0x8)
            {
                return f;
            }
        }
    }

    /// <summary>Waits until the other side closes the TCP connection (an end of stream or a reset), discarding what comes.</summary>
    public async Task WaitEndAsync()
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        var buffer = new byte[4096];
        try
        {
            while (await _stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
            // a reset
        }
    }

    private async Task<string> ReadHeadAsync()
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.ASCII.GetString(_in.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _in.RemoveRange(0, end + 4);
                return text[..end];
            }

            var n = await _stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "the connection ended before the HTTP head did");
            _in.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    private async Task FillAsync(int count, CancellationToken token)
    {
        var buffer = new byte[65536];
        while (_in.Count < count)
        {
            var n = await _stream.ReadAsync(buffer, token);
            Assert.True(n > 0, "the connection ended inside a frame");
            _in.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
