using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>An open bidirectional streaming call. Dispose it: that is what releases the HTTP/2 stream.</summary>
internal sealed class GrpcDuplexCall<TRequest, TResponse> : IAsyncDisposable
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    private readonly StreamingCallCore<TResponse> _core;

    internal GrpcDuplexCall(StreamingCallCore<TResponse> core)
    {
        _core = core;
    }

    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>.</summary>
    public TResponse Current => _core.Current;

    /// <summary>
    /// Frames, writes and flushes one message. One write at a time: an overlapping call throws
    /// <see cref="InvalidOperationException"/>. Throws the call's failure once it has ended
    /// (a <see cref="GrpcCallException"/> with status OK if it ended cleanly). Cancelling the token
    /// while the message is being written aborts the call.
    /// </summary>
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) => _core.WriteAsync(message, cancellationToken);

    /// <summary>
    /// Writes several messages with one write and one flush (as <see cref="WriteAsync"/> otherwise): for many small
    /// messages due at once, one system call instead of one each.
    /// </summary>
    public Task WriteBatchAsync(IReadOnlyList<TRequest> messages, CancellationToken cancellationToken = default) => _core.WriteBatchAsync(messages, cancellationToken);

    /// <summary>Half-closes the request stream (END_STREAM). Idempotent; not allowed while a write is in progress.</summary>
    public Task CompleteAsync() => _core.CompleteAsync();

    /// <summary>
    /// Reads the next message: false when the server ended the call with status OK; throws
    /// <see cref="GrpcCallException"/> for any other ending. Cancelling the token aborts the call.
    /// One read at a time.
    /// </summary>
    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default) => _core.MoveNextAsync(cancellationToken);

    /// <summary>
    /// Half-closes if needed and resets the HTTP/2 stream if the call has not finished. Pending
    /// reads and writes end with <see cref="GrpcCallException"/> (Cancelled). Never throws.
    /// </summary>
    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
