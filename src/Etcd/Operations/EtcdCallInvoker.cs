using Etcd.Transport;
using Google.Protobuf;

namespace Etcd.Operations;

/// <summary>
/// Runs calls against the configured endpoints: applies the request deadline, moves to the next endpoint when a
/// connection attempt failed before anything was sent (safe for writes too), and maps failures to typed exceptions.
/// </summary>
internal sealed class EtcdCallInvoker : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly TimeSpan _requestTimeout;
    private int _current;
    private volatile bool _disposed;

    public EtcdCallInvoker(EtcdClientOptions options)
    {
        var endpoints = options.Validate();
        _requestTimeout = options.RequestTimeout;
        var channelOptions = new GrpcChannelOptions
        {
            ConnectTimeout = options.ConnectTimeout,
            MaxSendMessageSize = options.MaxSendMessageSize,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            HttpHandler = options.HttpHandler,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            SslOptions = options.Tls?.CreateSslOptions(),
            TlsServerName = options.Tls?.ServerName,
        };
        _channels = new GrpcChannel[endpoints.Count];
        for (int i = 0; i < endpoints.Count; i++) _channels[i] = new GrpcChannel(endpoints[i], channelOptions);
    }

    public IReadOnlyList<Uri> Endpoints => Array.ConvertAll(_channels, c => c.Address);

    public Task<TResponse> UnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken, long requestedRevision = 0, long leaseId = 0)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
        => UnaryCoreAsync(method, request, deadline: NewDeadline(), cancellationToken, requestedRevision, leaseId);

    /// <summary>
    /// A unary call without the request deadline, for calls the server holds until something happens (the server's
    /// Lock and Campaign): only <paramref name="cancellationToken"/> bounds it.
    /// </summary>
    public Task<TResponse> BlockingUnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken, long leaseId = 0)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
        => UnaryCoreAsync(method, request, deadline: null, cancellationToken, requestedRevision: 0, leaseId);

    /// <summary>Starts a server-streaming call on the current endpoint, without a deadline (the caller's token ends it).</summary>
    public GrpcServerStreamingCall<TResponse> StartServerStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        var channel = _channels[Volatile.Read(ref _current) % _channels.Length];
        return channel.StartServerStreaming(method, request, new GrpcCallOptions { CancellationToken = cancellationToken });
    }

    /// <summary>
    /// Resolves <paramref name="member"/> (a client URL) to one of the configured endpoints, compared by scheme, host and
    /// port; throws <see cref="ArgumentException"/> naming the known endpoints when it is none of them.
    /// </summary>
    public Uri ResolveEndpoint(Uri member, string paramName) => _channels[IndexOf(member, paramName)].Address;

    /// <summary>A unary call sent to <paramref name="endpoint"/> only (no failover), with the request deadline.</summary>
    public async Task<TResponse> UnaryAtAsync<TRequest, TResponse>(
        Uri endpoint, GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var channel = _channels[IndexOf(endpoint, nameof(endpoint))];
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var options = new GrpcCallOptions { Deadline = NewDeadline(), CancellationToken = cancellationToken };
        try
        {
            return await channel.UnaryAsync(method, request, options).ConfigureAwait(false);
        }
        catch (GrpcCallException error)
        {
            throw ErrorMapper.Map(error, method.Path);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            throw new ObjectDisposedException(nameof(EtcdClient), "The etcd client was disposed while the call was running.");
        }
    }

    /// <summary>Starts a server-streaming call on <paramref name="endpoint"/> only, without a deadline (the caller's token ends it).</summary>
    public GrpcServerStreamingCall<TResponse> StartServerStreamingAt<TRequest, TResponse>(
        Uri endpoint, GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var channel = _channels[IndexOf(endpoint, nameof(endpoint))];
        ThrowIfDisposed();
        return channel.StartServerStreaming(method, request, new GrpcCallOptions { CancellationToken = cancellationToken });
    }

    private int IndexOf(Uri member, string paramName)
    {
        ArgumentNullException.ThrowIfNull(member, paramName);
        if (member.IsAbsoluteUri)
        {
            for (int i = 0; i < _channels.Length; i++)
            {
                if (Uri.Compare(_channels[i].Address, member, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
                    return i;
            }
        }
        throw new ArgumentException(
            $"'{member}' is not one of the client's endpoints ({string.Join(", ", Endpoints)}); a call aimed at one member must use one of them.", paramName);
    }

    private async Task<TResponse> UnaryCoreAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, DateTime? deadline, CancellationToken cancellationToken, long requestedRevision, long leaseId)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var options = new GrpcCallOptions { Deadline = deadline, CancellationToken = cancellationToken };
        int start = Volatile.Read(ref _current);
        for (int attempt = 0; ; attempt++)
        {
            int index = (start + attempt) % _channels.Length;
            try
            {
                var response = await _channels[index].UnaryAsync(method, request, options).ConfigureAwait(false);
                if (attempt > 0) Volatile.Write(ref _current, index);
                return response;
            }
            catch (GrpcCallException error) when (IsNotSentConnectionFailure(error) && attempt + 1 < _channels.Length)
            {
                // Nothing left the process: trying the next endpoint cannot apply a write twice.
            }
            catch (GrpcCallException error)
            {
                throw ErrorMapper.Map(error, method.Path, requestedRevision, leaseId);
            }
            catch (ObjectDisposedException) when (_disposed)
            {
                throw new ObjectDisposedException(nameof(EtcdClient), "The etcd client was disposed while the call was running.");
            }
        }
    }

    /// <summary>Opens a duplex stream on the current endpoint (used for watch and lease streams).</summary>
    public GrpcDuplexCall<TRequest, TResponse> StartDuplex<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, DateTime? deadline, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        var channel = _channels[Volatile.Read(ref _current) % _channels.Length];
        return channel.StartDuplex(method, new GrpcCallOptions { Deadline = deadline, CancellationToken = cancellationToken });
    }

    public TimeSpan RequestTimeout => _requestTimeout;

    /// <summary>The endpoint new streams and calls go to first.</summary>
    public Uri CurrentEndpoint => _channels[Volatile.Read(ref _current) % _channels.Length].Address;

    /// <summary>
    /// Moves streams and later calls to the next endpoint after the current one failed (a stream that broke, or a
    /// connection that was refused); a no-op with one endpoint.
    /// </summary>
    public void MoveToNextEndpoint(Uri failed)
    {
        int current = Volatile.Read(ref _current);
        if (_channels[current % _channels.Length].Address == failed)
            Interlocked.CompareExchange(ref _current, (current + 1) % _channels.Length, current);
    }

    public DateTime? NewDeadline() =>
        _requestTimeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + _requestTimeout;

    public void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(EtcdClient));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var channel in _channels) channel.Dispose();
    }

    private static bool IsNotSentConnectionFailure(GrpcCallException error) =>
        error.StatusCode == GrpcStatusCode.Unavailable && !error.RequestMayHaveBeenSent;
}
