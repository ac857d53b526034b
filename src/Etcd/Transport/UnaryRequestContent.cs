using System.Buffers;
using System.Net;

namespace Etcd.Transport;

/// <summary>
/// Request body holding one pre-framed message in a pooled buffer (unary and server-streaming calls).
/// </summary>
/// <remarks>
/// The handler may still be writing the body when the call is over (the server can answer before
/// reading it), so the buffer goes back to the pool only once the content is disposed and no
/// write is in flight. A write that did not finish synchronously is tracked through its own task,
/// checked at disposal, rather than with a continuation on every call.
/// </remarks>
internal sealed class UnaryRequestContent : HttpContent
{
    private const int Serializing = 1;
    private const int Disposed = 2;

    private readonly int _length;
    private byte[]? _frame;
    private Task? _pendingWrite;
    private int _state;
    private volatile bool _serializationStarted;

    /// <summary>Takes ownership of <paramref name="frame"/>, a buffer rented from the shared pool.</summary>
    public UnaryRequestContent(byte[] frame, int length)
    {
        _frame = frame;
        _length = length;

        // A raw value: no parsed header object to allocate per request.
        Headers.TryAddWithoutValidation(GrpcProtocol.ContentTypeHeader, GrpcProtocol.ContentType);
    }

    /// <summary>True once the handler began writing the body: the message may have left the process.</summary>
    public bool SerializationStarted => _serializationStarted;

    internal bool IsFrameReturned => Volatile.Read(ref _frame) is null;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if ((Interlocked.Or(ref _state, Serializing) & Disposed) != 0)
        {
            EndSerialization();
            return Task.FromException(new ObjectDisposedException(nameof(UnaryRequestContent)));
        }

        _serializationStarted = true;
        ValueTask write;
        try
        {
            write = stream.WriteAsync(new ReadOnlyMemory<byte>(_frame, 0, _length), cancellationToken);
        }
        catch (Exception ex)
        {
            EndSerialization();
            return Task.FromException(ex);
        }

        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            EndSerialization();
            return Task.CompletedTask;
        }

        Task pending = write.AsTask();
        Interlocked.Exchange(ref _pendingWrite, pending);
        if ((Volatile.Read(ref _state) & Disposed) != 0)
        {
            // Disposed concurrently: Dispose may not have seen the pending write.
            ReturnFrameAfter(pending);
        }

        return pending;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if ((Interlocked.Or(ref _state, Disposed) & Serializing) == 0)
            {
                ReturnFrame();
            }
            else if (Volatile.Read(ref _pendingWrite) is { } pending)
            {
                ReturnFrameAfter(pending);
            }
        }

        base.Dispose(disposing);
    }

    private void EndSerialization()
    {
        if ((Interlocked.And(ref _state, ~Serializing) & Disposed) != 0)
        {
            ReturnFrame();
        }
    }

    private void ReturnFrameAfter(Task write)
    {
        if (write.IsCompleted)
        {
            ReturnFrame();
        }
        else
        {
            write.ContinueWith(
                static (_, state) => ((UnaryRequestContent)state!).ReturnFrame(),
                this,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private void ReturnFrame()
    {
        byte[]? frame = Interlocked.Exchange(ref _frame, null);
        if (frame is not null)
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }
}
