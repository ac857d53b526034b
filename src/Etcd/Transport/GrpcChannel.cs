using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>
/// gRPC over HTTP/2 to one address, on .NET's own HTTP stack. Thread-safe; meant to be long-lived.
/// Knows nothing about the services it calls: methods are described by <see cref="GrpcMethod{TRequest, TResponse}"/>.
/// </summary>
internal sealed class GrpcChannel : IDisposable
{
    // CancellationTokenSource.CancelAfter rejects longer delays; such deadlines are left to the server.
    private static readonly TimeSpan s_maxLocalTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly HttpMessageInvoker _invoker;
    private readonly string _baseUri;
    private readonly ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);

    // Never disposed: calls still running when the channel is disposed hold registrations on it.
    private readonly CancellationTokenSource _shutdown = new();
    private readonly string? _hostHeader;
    private int _disposed;

    public GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(options);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The address must be an absolute http:// or https:// URI: '{address}'.", nameof(address));
        }

        options.Validate();
        Address = address;
        Options = options;
        _baseUri = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (options.TlsServerName is { } serverName && address.Scheme == Uri.UriSchemeHttps)
        {
            _hostHeader = serverName.Contains(':', StringComparison.Ordinal) ? $"[{serverName}]:{address.Port}" : $"{serverName}:{address.Port}";
        }

        HttpHandler = options.HttpHandler ?? CreateHandler(options);
        _invoker = new HttpMessageInvoker(HttpHandler, disposeHandler: options.HttpHandler is null);
    }

    public Uri Address { get; }

    internal GrpcChannelOptions Options { get; }

    /// <summary>The handler requests go through: the one from the options, or the channel's own.</summary>
    internal HttpMessageHandler HttpHandler { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Sends one request and reads exactly one response message.</summary>
    public Task<TResponse> UnaryAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, GrpcCallOptions options)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfWrongType(method.Type, GrpcMethodType.Unary);

        // The preparation stays out of the async method so its state machine (allocated per call) stays small.
        HttpRequestMessage httpRequest;
        UnaryRequestContent content;
        CancellationTokenSource? cts;
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            options.CancellationToken.ThrowIfCancellationRequested();
            TimeSpan timeout = GetTimeout(options.Deadline);
            byte[] frame = GrpcFraming.RentFrame(request, Options.MaxSendMessageSize, out int frameLength);
            content = new UnaryRequestContent(frame, frameLength);
            httpRequest = CreateRequest(method.Path, content, timeout, options.Metadata);
            cts = CreateCallCancellation(options.CancellationToken, timeout, alwaysCreate: false);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResponse>(ex);
        }

        return SendUnaryAsync(httpRequest, content, method.ResponseParser, options.CancellationToken, cts);
    }

    /// <summary>
    /// Starts a call with one request message and a stream of responses. Headers and failures
    /// surface through <see cref="GrpcServerStreamingCall{TResponse}.MoveNextAsync"/>; only local
    /// checks (disposed channel, passed deadline, oversized request, invalid metadata) throw here.
    /// </summary>
    public GrpcServerStreamingCall<TResponse> StartServerStreaming<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, GrpcCallOptions options)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfWrongType(method.Type, GrpcMethodType.ServerStreaming);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        options.CancellationToken.ThrowIfCancellationRequested();
        TimeSpan timeout = GetTimeout(options.Deadline);

        byte[] frame = GrpcFraming.RentFrame(request, Options.MaxSendMessageSize, out int frameLength);
        var content = new UnaryRequestContent(frame, frameLength);
        HttpRequestMessage httpRequest = CreateRequest(method.Path, content, timeout, options.Metadata);
        CancellationTokenSource cts = CreateCallCancellation(options.CancellationToken, timeout, alwaysCreate: true)!;
        var core = new StreamingCallCore<TResponse>(this, method.ResponseParser, httpRequest, content, duplexContent: null, cts, options.CancellationToken);
        core.Start();
        return new GrpcServerStreamingCall<TResponse>(core);
    }

    /// <summary>
    /// Starts a bidirectional streaming call. The request is sent without waiting for response
    /// headers (etcd sends none before the first request message); they are awaited by the first
    /// <see cref="GrpcDuplexCall{TRequest, TResponse}.MoveNextAsync"/>.
    /// </summary>
    public GrpcDuplexCall<TRequest, TResponse> StartDuplex<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, GrpcCallOptions options)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ThrowIfWrongType(method.Type, GrpcMethodType.DuplexStreaming);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        options.CancellationToken.ThrowIfCancellationRequested();
        TimeSpan timeout = GetTimeout(options.Deadline);

        var content = new DuplexRequestContent();
        HttpRequestMessage httpRequest = CreateRequest(method.Path, content, timeout, options.Metadata);
        CancellationTokenSource cts = CreateCallCancellation(options.CancellationToken, timeout, alwaysCreate: true)!;
        var core = new StreamingCallCore<TResponse>(this, method.ResponseParser, httpRequest, singleContent: null, content, cts, options.CancellationToken);
        core.Start();
        return new GrpcDuplexCall<TRequest, TResponse>(core);
    }

    private async Task<TResponse> SendUnaryAsync<TResponse>(
        HttpRequestMessage httpRequest,
        UnaryRequestContent content,
        MessageParser<TResponse> parser,
        CancellationToken callerToken,
        CancellationTokenSource? cts)
        where TResponse : IMessage<TResponse>
    {
        CancellationToken token = cts?.Token ?? _shutdown.Token;
        HttpResponseMessage? response = null;
        GrpcFrameReader? reader = null;
        try
        {
            response = await _invoker.SendAsync(httpRequest, token).ConfigureAwait(false);
            if (GrpcResponseStatus.CheckHeaders(response))
            {
                throw NoResponseMessage();
            }

            reader = new GrpcFrameReader(await GetResponseStreamAsync(response, token).ConfigureAwait(false), Options.MaxReceiveMessageSize);
            if (!await reader.ReadFrameAsync(token).ConfigureAwait(false))
            {
                GrpcResponseStatus.ThrowIfTrailersNotOk(response);
                throw NoResponseMessage();
            }

            TResponse message = reader.ParseFrame(parser);
            if (await reader.ReadFrameAsync(token).ConfigureAwait(false))
            {
                throw new GrpcCallException(GrpcStatusCode.Internal, "The server sent more than one message in reply to a unary call.");
            }

            GrpcResponseStatus.ThrowIfTrailersNotOk(response);
            return message;
        }
        catch (Exception ex) when (ex is not GrpcCallException)
        {
            throw TranslateFailure(ex, callerToken, cts, content.SerializationStarted);
        }
        finally
        {
            reader?.Dispose();

            // Disposing a response that is not finished resets the HTTP/2 stream.
            response?.Dispose();
            httpRequest.Dispose();
            cts?.Dispose();
        }
    }

    /// <summary>New calls throw <see cref="ObjectDisposedException"/>; open calls are aborted and fail with it too.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _shutdown.Cancel();
        }
        catch (AggregateException)
        {
            // A failing cancellation callback belongs to some call; it must not break disposal.
        }

        _invoker.Dispose();
    }

    /// <summary>
    /// The response body stream. SocketsHttpHandler's content hands its stream out synchronously,
    /// which saves a Task per call; contents without synchronous support fall back to the async API.
    /// </summary>
    internal static ValueTask<Stream> GetResponseStreamAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return new ValueTask<Stream>(response.Content.ReadAsStream(cancellationToken));
        }
        catch (NotSupportedException)
        {
            return new ValueTask<Stream>(response.Content.ReadAsStreamAsync(cancellationToken));
        }
    }

    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>
    /// Maps a failure of a call. Order matters: caller cancellation wins, then channel disposal,
    /// then the call's own token source (only the deadline cancels it otherwise), then transport errors.
    /// </summary>
    internal Exception TranslateFailure(Exception exception, CancellationToken callerToken, CancellationTokenSource? callCancellation, bool requestStarted)
    {
        if (callerToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The gRPC call was cancelled.", exception, callerToken);
        }

        if (_shutdown.IsCancellationRequested)
        {
            return new ObjectDisposedException($"The channel to {Address} was disposed during the call.", exception);
        }

        if (callCancellation is not null && callCancellation.IsCancellationRequested)
        {
            return new GrpcCallException(GrpcStatusCode.DeadlineExceeded, $"The deadline of the call to {Address} was exceeded.", inner: exception);
        }

        return GrpcTransportErrors.FromException(exception, requestStarted, Address);
    }

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (options.KeepAlivePingDelay != Timeout.InfiniteTimeSpan)
        {
            handler.KeepAlivePingDelay = options.KeepAlivePingDelay;
            handler.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        }

        if (options.SslOptions is not null)
        {
            handler.SslOptions = options.SslOptions;
        }

        return handler;
    }

    private static void ThrowIfWrongType(GrpcMethodType actual, GrpcMethodType expected)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"A {actual} method cannot be called as {expected}.", "method");
        }
    }

    private static GrpcCallException NoResponseMessage() =>
        new(GrpcStatusCode.Internal, "The server ended a unary call with status OK but sent no response message.");

    /// <summary>Time left before the deadline, or infinite. A deadline already passed fails without sending.</summary>
    private static TimeSpan GetTimeout(DateTime? deadline)
    {
        if (deadline is not DateTime value || value == DateTime.MaxValue)
        {
            return Timeout.InfiniteTimeSpan;
        }

        if (value.Kind == DateTimeKind.Local)
        {
            value = value.ToUniversalTime();
        }

        TimeSpan remaining = value - DateTime.UtcNow;
        if (remaining <= TimeSpan.Zero)
        {
            throw new GrpcCallException(GrpcStatusCode.DeadlineExceeded, "The deadline had already passed; the call was not sent.", requestMayHaveBeenSent: false);
        }

        return remaining;
    }

    private static void AddMetadata(HttpRequestHeaders headers, KeyValuePair<string, string> entry)
    {
        string name = entry.Key;
        string value = entry.Value ?? throw new ArgumentException($"Metadata '{name}' has a null value.", "options");
        if (!IsPrintableAscii(value) || !headers.TryAddWithoutValidation(name, value))
        {
            throw new ArgumentException($"Invalid metadata header '{name}': names must be valid HTTP header names and values printable ASCII.", "options");
        }
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private HttpRequestMessage CreateRequest(string path, HttpContent content, TimeSpan timeout, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, GetUri(path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        try
        {
            HttpRequestHeaders headers = request.Headers;
            headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers);
            if (_hostHeader is not null)
            {
                headers.Host = _hostHeader;
            }

            if (timeout != Timeout.InfiniteTimeSpan)
            {
                headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(timeout));
            }

            if (metadata is not null)
            {
                for (int i = 0; i < metadata.Count; i++)
                {
                    AddMetadata(headers, metadata[i]);
                }
            }
        }
        catch
        {
            request.Dispose();
            throw;
        }

        return request;
    }

    private Uri GetUri(string path)
    {
        if (!_methodUris.TryGetValue(path, out Uri? uri))
        {
            uri = _methodUris.GetOrAdd(path, new Uri(_baseUri + path, UriKind.Absolute));
        }

        return uri;
    }

    /// <summary>
    /// The token source of one call: linked to the caller's token and the channel's shutdown, with
    /// the deadline as a timer. Unary calls skip it when there is neither a deadline nor a
    /// cancellable caller token, and then use the shutdown token directly.
    /// </summary>
    private CancellationTokenSource? CreateCallCancellation(CancellationToken callerToken, TimeSpan timeout, bool alwaysCreate)
    {
        bool hasDeadline = timeout != Timeout.InfiniteTimeSpan;
        if (!hasDeadline && !callerToken.CanBeCanceled && !alwaysCreate)
        {
            return null;
        }

        CancellationTokenSource cts = callerToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(callerToken, _shutdown.Token)
            : CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        if (hasDeadline && timeout <= s_maxLocalTimer)
        {
            cts.CancelAfter(timeout);
        }

        return cts;
    }
}
