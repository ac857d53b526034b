using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>An open server-streaming call. Dispose it: that is what releases the HTTP/2 stream.</summary>
internal sealed class GrpcServerStreamingCall<TResponse> : IAsyncDisposable
    where TResponse : IMessage<TResponse>
{
    private readonly StreamingCallCore<TResponse> _core;

    internal GrpcServerStreamingCall(StreamingCallCore<TResponse> core)
    {
        _core = core;
    }

    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>.</summary>
    public TResponse Current => _core.Current;

    /// <summary>
    /// Reads the next message: false when the server ended the call with status OK; throws
    /// <see cref="GrpcCallException"/> for any other ending. Cancelling the token aborts the call.
    /// One read at a time.
    /// </summary>
    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default) => _core.MoveNextAsync(cancellationToken);

    /// <summary>Resets the HTTP/2 stream if the call has not finished. Never throws.</summary>
    public ValueTask DisposeAsync() => _core.DisposeAsync();
}
