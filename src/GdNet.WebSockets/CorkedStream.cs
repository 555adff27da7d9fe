using System.Buffers;

namespace GdNet.WebSockets;

/// <summary>
/// A pass-through stream that can hold writes back while a batch is being written ("cork", like TCP_CORK but in user
/// space): a connection's send loop corks, lets the WebSocket write every queued frame, then uncorks, so a burst of small
/// frames leaves in one write to the socket (one system call) instead of one each.
/// </summary>
/// <remarks>
/// Writes are serialised by an async lock, so a write from outside the send loop (a pong or a close frame written by the
/// WebSocket itself) keeps its order. Reads go straight to the inner stream. While not corked, writes pass through.
/// </remarks>
internal sealed class CorkedStream : Stream
{
    private const int Capacity = 64 * 1024;

    private readonly Stream _inner;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(Capacity);
    private int _count;
    private volatile bool _corked;
    private int _disposed;

    public CorkedStream(Stream inner)
    {
        _inner = inner;
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => _inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>From now on, writes that fit are buffered until <see cref="UncorkAsync"/>.</summary>
    public void Cork() => _corked = true;

    /// <summary>Writes what was buffered and lets later writes through.</summary>
    public async ValueTask UncorkAsync()
    {
        _corked = false;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await FlushBufferAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_corked && _writeLock.Wait(0, cancellationToken))
        {
            var b = _buffer;
            if (b is not null && _count + buffer.Length <= b.Length)
            {
                buffer.Span.CopyTo(b.AsSpan(_count));
                _count += buffer.Length;
                _writeLock.Release();
                return default;
            }

            _writeLock.Release();
        }

        return WriteSlowAsync(buffer, cancellationToken);
    }

    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
            var b = _buffer;
            if (_corked && b is not null && data.Length <= b.Length)
            {
                data.Span.CopyTo(b);
                _count = data.Length;
                return;
            }

            await _inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // Caller holds _writeLock.
    private async ValueTask FlushBufferAsync(CancellationToken cancellationToken)
    {
        if (_count == 0 || _buffer is null)
        {
            return;
        }

        var n = _count;
        _count = 0;
        await _inner.WriteAsync(_buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }

        await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
            ReleaseBuffer();
        }

        base.Dispose(disposing);
    }

    private void ReleaseBuffer()
    {
        // Only when no write holds the lock; otherwise the buffer is left to the GC (rare: dispose during a write).
        // Later writes find no buffer and go to the disposed inner stream, which throws.
        if (_writeLock.Wait(0))
        {
            var b = _buffer;
            _buffer = null;
            _count = 0;
            _writeLock.Release();
            if (b is not null)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }
    }
}
