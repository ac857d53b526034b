using System.Buffers;
using System.Runtime.ExceptionServices;
using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>
/// The machinery shared by server-streaming and duplex calls: starts the HTTP request, reads
/// response messages and the final status, writes request messages (duplex), and tears the
/// HTTP/2 stream down.
/// </summary>
/// <remarks>
/// The call's outcome is set once: the OK sentinel, or the exception every later operation rethrows.
/// Local aborts (dispose, an operation's token, a protocol error) record the outcome before
/// cancelling the call's token source, so a failure observed afterwards maps to that outcome;
/// otherwise a cancelled token source means the caller's token, the channel's disposal or the deadline.
/// </remarks>
internal sealed class StreamingCallCore<TResponse>
    where TResponse : IMessage<TResponse>
{
    private const int Reading = 1;
    private const int ReaderDisposed = 2;

    private const int WriteIdle = 0;
    private const int WriteBusy = 1;
    private const int WriteCompleted = 2;

    private static readonly object s_completedOk = new();
    private static readonly Action<object?> s_abortFromOperationToken = state =>
        ((StreamingCallCore<TResponse>)state!).Abort(new GrpcCallException(
            GrpcStatusCode.Cancelled, "The call was aborted because an operation on it was cancelled."));

    private readonly GrpcChannel _channel;
    private readonly MessageParser<TResponse> _parser;
    private readonly HttpRequestMessage _request;
    private readonly UnaryRequestContent? _singleContent;
    private readonly DuplexRequestContent? _duplexContent;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _callToken;
    private readonly CancellationToken _callerToken;
    private Task _startTask = Task.CompletedTask;
    private HttpResponseMessage? _response;
    private GrpcFrameReader? _reader;
    private object? _outcome;
    private int _readState;
    private int _writeState;
    private int _disposed;
    private volatile bool _writeStarted;
    private TResponse? _current;
    private bool _hasCurrent;

    public StreamingCallCore(
        GrpcChannel channel,
        MessageParser<TResponse> parser,
        HttpRequestMessage request,
        UnaryRequestContent? singleContent,
        DuplexRequestContent? duplexContent,
        CancellationTokenSource cts,
        CancellationToken callerToken)
    {
        _channel = channel;
        _parser = parser;
        _request = request;
        _singleContent = singleContent;
        _duplexContent = duplexContent;
        _cts = cts;

        // Cached: the token stays usable after the source is disposed, the Token property does not.
        _callToken = cts.Token;
        _callerToken = callerToken;
    }

    public TResponse Current => _hasCurrent ? _current! : throw new InvalidOperationException("MoveNextAsync has not returned true.");

    private bool RequestStarted => _singleContent?.SerializationStarted ?? _writeStarted;

    public void Start() => _startTask = StartAsync();

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        int previous = Interlocked.Or(ref _readState, Reading);
        if ((previous & Reading) != 0)
        {
            throw new InvalidOperationException("MoveNextAsync is already in progress; reads must not overlap.");
        }

        CancellationTokenRegistration registration = default;
        try
        {
            _hasCurrent = false;
            _current = default;
            if ((previous & ReaderDisposed) != 0)
            {
                return ThrowIfFailed(Volatile.Read(ref _outcome)!);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (cancellationToken.CanBeCanceled)
            {
                registration = cancellationToken.UnsafeRegister(s_abortFromOperationToken, this);
            }

            // Never throws: a failed start records the outcome.
            await _startTask.ConfigureAwait(false);
            GrpcFrameReader? reader = _reader;
            if (Volatile.Read(ref _outcome) is not null || reader is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return ThrowIfFailed(Volatile.Read(ref _outcome)
                    ?? new GrpcCallException(GrpcStatusCode.Internal, "The call has no response stream."));
            }

            try
            {
                if (await reader.ReadFrameAsync(_callToken).ConfigureAwait(false))
                {
                    _current = reader.ParseFrame(_parser);
                    _hasCurrent = true;
                    return true;
                }

                GrpcResponseStatus.ThrowIfTrailersNotOk(_response!);
                return ThrowIfFailed(CompleteOk());
            }
            catch (Exception ex)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The read was cancelled; the call has been aborted.", ex, cancellationToken);
                }

                Abort(ex is GrpcCallException ? ex : Classify(ex));
                return ThrowIfFailed(Volatile.Read(ref _outcome)!);
            }
        }
        finally
        {
            registration.Dispose();
            if ((Interlocked.And(ref _readState, ~Reading) & ReaderDisposed) != 0)
            {
                ReleaseReader();
            }
        }
    }

    public Task WriteAsync<TRequest>(TRequest message, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteCoreAsync(message, batch: null, cancellationToken);
    }

    /// <summary>Writes <paramref name="messages"/> as consecutive frames with one write and one flush.</summary>
    public Task WriteBatchAsync<TRequest>(IReadOnlyList<TRequest> messages, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
    {
        ArgumentNullException.ThrowIfNull(messages);
        return messages.Count == 0 ? Task.CompletedTask : WriteCoreAsync(default, messages, cancellationToken);
    }

    private async Task WriteCoreAsync<TRequest>(TRequest? message, IReadOnlyList<TRequest>? batch, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
    {
        DuplexRequestContent content = _duplexContent ?? throw new InvalidOperationException("This call has no request stream.");
        int state = Interlocked.CompareExchange(ref _writeState, WriteBusy, WriteIdle);
        if (state != WriteIdle)
        {
            throw new InvalidOperationException(state == WriteBusy
                ? "A write is already in progress; WriteAsync calls must not overlap."
                : "The request stream has been completed; no more messages can be written.");
        }

        try
        {
            if (Volatile.Read(ref _outcome) is { } outcome)
            {
                ThrowIfFailed(outcome);
                throw CompletedCallException();
            }

            cancellationToken.ThrowIfCancellationRequested();
            int frameLength;
            byte[] frame = batch is null
                ? GrpcFraming.RentFrame(message!, _channel.Options.MaxSendMessageSize, out frameLength)
                : GrpcFraming.RentFrames(batch, _channel.Options.MaxSendMessageSize, out frameLength);
            try
            {
                // Waiting for the request stream sends nothing, so cancelling this wait leaves the call intact.
                Task<Stream> streamTask = content.RequestStream;
                Stream stream = streamTask.IsCompleted
                    ? await streamTask.ConfigureAwait(false)
                    : await streamTask.WaitAsync(cancellationToken).ConfigureAwait(false);

                // A partly written frame would corrupt the stream, so from here cancelling aborts the call.
                using CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
                    ? cancellationToken.UnsafeRegister(s_abortFromOperationToken, this)
                    : default;
                _writeStarted = true;
                await stream.WriteAsync(frame.AsMemory(0, frameLength), _callToken).ConfigureAwait(false);
                await stream.FlushAsync(_callToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not GrpcCallException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The write was cancelled.", ex, cancellationToken);
                }

                if (Volatile.Read(ref _outcome) is { } ended)
                {
                    ThrowIfFailed(ended);
                    throw CompletedCallException();
                }

                throw Classify(ex);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
        finally
        {
            Interlocked.CompareExchange(ref _writeState, WriteIdle, WriteBusy);
        }
    }

    public Task CompleteAsync()
    {
        DuplexRequestContent content = _duplexContent ?? throw new InvalidOperationException("This call has no request stream.");
        if (Interlocked.CompareExchange(ref _writeState, WriteCompleted, WriteIdle) == WriteBusy)
        {
            return Task.FromException(new InvalidOperationException("A write is in progress; wait for it before completing the request stream."));
        }

        content.Complete();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return default;
        }

        try
        {
            SetOutcome(new GrpcCallException(GrpcStatusCode.Cancelled, "The call was disposed."));
            _duplexContent?.Complete();
            CancelQuietly();
            Volatile.Read(ref _response)?.Dispose();
            _request.Dispose();
            if ((Interlocked.Or(ref _readState, ReaderDisposed) & Reading) == 0)
            {
                ReleaseReader();
            }

            _cts.Dispose();
        }
        catch (Exception)
        {
            // Teardown is best effort; DisposeAsync must not throw.
        }

        return default;
    }

    private static bool ThrowIfFailed(object outcome)
    {
        if (outcome is Exception exception)
        {
            ExceptionDispatchInfo.Throw(exception);
        }

        return false;
    }

    private static GrpcCallException CompletedCallException() =>
        new(GrpcStatusCode.OK, "The call has already completed with status OK; no more messages can be written.", requestMayHaveBeenSent: false);

    private async Task StartAsync()
    {
        HttpResponseMessage response;
        try
        {
            response = await _channel.SendAsync(_request, _callToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Abort(Classify(ex));
            return;
        }

        // Paired with DisposeAsync (flag set, then response read): one side always disposes it.
        Interlocked.Exchange(ref _response, response);
        if (Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _outcome) is Exception)
        {
            response.Dispose();
            return;
        }

        try
        {
            if (GrpcResponseStatus.CheckHeaders(response))
            {
                CompleteOk();
                return;
            }

            Stream body = await GrpcChannel.GetResponseStreamAsync(response, _callToken).ConfigureAwait(false);
            _reader = new GrpcFrameReader(body, _channel.Options.MaxReceiveMessageSize);
        }
        catch (Exception ex)
        {
            Abort(ex is GrpcCallException ? ex : Classify(ex));
        }
    }

    private Exception Classify(Exception exception) =>
        Volatile.Read(ref _outcome) as Exception
        ?? _channel.TranslateFailure(exception, _callerToken, _cts, RequestStarted);

    /// <summary>Records the outcome if none is set yet and returns the outcome in force.</summary>
    private object SetOutcome(object outcome)
    {
        object? previous = Interlocked.CompareExchange(ref _outcome, outcome, null);
        if (previous is not null)
        {
            return previous;
        }

        if (_duplexContent is not null)
        {
            if (outcome is Exception exception)
            {
                _duplexContent.Fail(exception);
            }
            else
            {
                _duplexContent.Fail(CompletedCallException());
            }
        }

        return outcome;
    }

    /// <summary>Ends the call locally: records <paramref name="reason"/> (unless already ended) and resets the HTTP/2 stream.</summary>
    private void Abort(Exception reason)
    {
        if (SetOutcome(reason) == s_completedOk)
        {
            return;
        }

        CancelQuietly();
        Volatile.Read(ref _response)?.Dispose();
        _cts.Dispose();
    }

    /// <summary>The server ended the call with OK. Returns the outcome in force (it may have ended otherwise first).</summary>
    private object CompleteOk()
    {
        object outcome = SetOutcome(s_completedOk);
        if (outcome == s_completedOk)
        {
            // Unlinks from the caller's token and the channel now, even if the caller never disposes the call.
            _cts.Dispose();
        }

        return outcome;
    }

    private void CancelQuietly()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        catch (AggregateException)
        {
        }
    }

    private void ReleaseReader() => Interlocked.Exchange(ref _reader, null)?.Dispose();
}
