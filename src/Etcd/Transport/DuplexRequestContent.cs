using System.Net;

namespace Etcd.Transport;

/// <summary>
/// Request body of a streaming call. The handler calls <see cref="SerializeToStreamAsync(Stream, TransportContext?, CancellationToken)"/>
/// once the request headers are out; the stream it passes is published to the writers, and the
/// method returns only when the request side is completed: returning is the half-close (END_STREAM).
/// </summary>
internal sealed class DuplexRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _requestStream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DuplexRequestContent()
    {
        Headers.TryAddWithoutValidation(GrpcProtocol.ContentTypeHeader, GrpcProtocol.ContentType);
    }

    /// <summary>Completes with the request body stream, or fails when the call ended before it was available.</summary>
    public Task<Stream> RequestStream => _requestStream.Task;

    /// <summary>Ends the request body (END_STREAM) once pending writes are done. Idempotent.</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>The call is over: writers still waiting for the stream get <paramref name="error"/>.</summary>
    public void Fail(Exception error)
    {
        if (_requestStream.TrySetException(error))
        {
            // Nobody may be waiting; do not let it surface as an unobserved task exception.
            _ = _requestStream.Task.Exception;
        }

        _completed.TrySetResult();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!_requestStream.TrySetResult(stream))
        {
            if (_requestStream.Task.IsFaulted)
            {
                // The call already ended; just finish the body.
                return;
            }

            // A second serialization means the handler is retrying the request on another
            // connection: messages already written went to the first stream, so it cannot be replayed.
            throw new InvalidOperationException("A streaming request body cannot be sent twice.");
        }

        // Cancelled by the handler when the call is aborted or the response has ended.
        await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Complete();
        }

        base.Dispose(disposing);
    }
}
