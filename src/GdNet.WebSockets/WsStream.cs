using System.Runtime.CompilerServices;

namespace GdNet.WebSockets;

/// <summary>
/// The byte stream under one WebSocket connection, shared by two writers: the connection's send loop, which writes
/// segments full of data frames it framed itself, and the <see cref="System.Net.WebSockets.WebSocket"/> object, which
/// writes its control frames (pong, close). An async lock around each write keeps every frame whole (a segment holds
/// whole frames; the WebSocket writes a frame in one call).
/// </summary>
/// <remarks>
/// Reads go through a small per-connection buffer: the <see cref="System.Net.WebSockets.WebSocket"/> reads a frame header
/// into its own 139-byte buffer and then the payload, so without it a burst of small messages costs an inner read (a
/// system call on a client, a pipe read and advance on the server) every two or three messages. Reads of at least the
/// buffer's size, with nothing buffered, go straight to the inner stream. One reader at a time (the WebSocket's receive,
/// then the connection's linger after it), as for any stream. The buffer is a plain array, not pooled: an abort may
/// dispose the stream while a read into it is still pending.
/// </remarks>
internal sealed class WsStream(Stream inner) : Stream
{
    private const int ReadBufferSize = 16 * 1024;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[]? _readBuffer;
    private int _readStart;
    private int _readEnd;
    private int _disposed;

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_readEnd > _readStart)
        {
            return new ValueTask<int>(CopyBuffered(buffer.Span));
        }

        if (buffer.Length == 0 || buffer.Length >= ReadBufferSize)
        {
            return inner.ReadAsync(buffer, cancellationToken);
        }

        return FillAndCopyAsync(buffer, cancellationToken);
    }

    // Pooled builder: a read that has to wait for the network does not allocate a state machine box each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FillAndCopyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        _readBuffer ??= new byte[ReadBufferSize];
        var n = await inner.ReadAsync(_readBuffer, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            return 0;
        }

        _readStart = 0;
        _readEnd = n;
        return CopyBuffered(buffer.Span);
    }

    private int CopyBuffered(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, n).CopyTo(destination);
        _readStart += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_readEnd > _readStart)
        {
            return CopyBuffered(buffer.AsSpan(offset, count));
        }

        return inner.Read(buffer, offset, count);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
