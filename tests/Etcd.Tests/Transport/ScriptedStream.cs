namespace Etcd.Tests.Transport;

/// <summary>
/// A read-only stream that returns the given bytes (at most <see cref="MaxReadSize"/> per read),
/// then either ends or blocks until the read is cancelled. Records whether it was disposed.
/// </summary>
internal sealed class ScriptedStream : AsyncOnlyStream
{
    private readonly byte[] _data;
    private readonly bool _blockAtEnd;
    private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _position;

    public ScriptedStream(byte[] data, bool blockAtEnd = false, int maxReadSize = int.MaxValue)
    {
        _data = data;
        _blockAtEnd = blockAtEnd;
        MaxReadSize = maxReadSize;
    }

    public int MaxReadSize { get; }

    public int ReadCalls { get; private set; }

    public int BytesRead => _position;

    public bool IsDisposed => _disposed.Task.IsCompleted;

    /// <summary>Completes when a read is blocked at the end of the data.</summary>
    public Task Blocked => _blocked.Task;

    /// <summary>Completes when the stream is disposed.</summary>
    public Task Disposed => _disposed.Task;

    public override bool CanRead => true;

    public override bool CanWrite => false;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ReadCalls++;
        if (_position == _data.Length)
        {
            if (!_blockAtEnd)
            {
                return 0;
            }

            _blocked.TrySetResult();
            await Task.WhenAny(Task.Delay(Timeout.Infinite, cancellationToken), _disposed.Task);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ObjectDisposedException(nameof(ScriptedStream));
        }

        await Task.Yield();
        int count = Math.Min(Math.Min(buffer.Length, MaxReadSize), _data.Length - _position);
        _data.AsMemory(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        _disposed.TrySetResult();
        base.Dispose(disposing);
    }
}
