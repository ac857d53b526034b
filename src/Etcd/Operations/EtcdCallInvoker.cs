using Etcd.Transport;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Etcd.Operations;

/// <summary>
/// Runs calls against the client's endpoints: applies the request deadline and the retry policy, moves to the next
/// endpoint when a member is unreachable, leaderless or unavailable, attaches <c>hasleader</c> and auth metadata, and maps
/// failures to typed exceptions. The endpoint list can be replaced while calls run.
/// </summary>
internal sealed class EtcdCallInvoker : IDisposable
{
    private static readonly KeyValuePair<string, string>[] s_hasLeader = [new("hasleader", "true")];

    private readonly GrpcChannelOptions _channelOptions;
    private readonly TimeSpan _requestTimeout;
    private readonly EtcdRetryPolicy _retry;
    private readonly bool _requireLeader;
    private readonly ILogger _log;
    private readonly object _endpointsLock = new();
    private readonly List<GrpcChannel> _retired = [];
    private readonly CancellationTokenSource _disposing = new();
    private volatile EndpointSet _set;
    private volatile bool _disposed;
    private IAuthTokenSource? _auth;
    private TokenMetadata? _tokenMetadata;

    public EtcdCallInvoker(EtcdClientOptions options)
    {
        var endpoints = options.Validate();
        _requestTimeout = options.RequestTimeout;
        _retry = options.RetryPolicy;
        _requireLeader = options.RequireLeader;
        _log = options.LoggerFactory?.CreateLogger<EtcdClient>() ?? NullLogger<EtcdClient>.Instance;
        _channelOptions = new GrpcChannelOptions
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
        var channels = new GrpcChannel[endpoints.Count];
        for (int i = 0; i < endpoints.Count; i++) channels[i] = new GrpcChannel(endpoints[i], _channelOptions);
        _set = new EndpointSet(channels);
    }

    public IReadOnlyList<Uri> Endpoints => Array.ConvertAll(_set.Channels, c => c.Address);

    /// <summary>The client's logger (a no-op one when none was configured).</summary>
    public ILogger Log => _log;

    public TimeSpan RequestTimeout => _requestTimeout;

    /// <summary>The endpoint new streams and calls go to first.</summary>
    public Uri CurrentEndpoint => _set.CurrentChannel.Address;

    /// <summary>Makes every later call and stream carry a token from <paramref name="source"/>; set once, before any call.</summary>
    public void UseAuthentication(IAuthTokenSource source) => _auth = source;

    /// <summary>
    /// Replaces the endpoint list. Channels to endpoints that stay are kept (with their connections); the others are
    /// disposed once calls already running on them had their request timeout to finish. Streams on a removed endpoint
    /// then reopen on the new list.
    /// </summary>
    public void SetEndpoints(IReadOnlyList<Uri> endpoints)
    {
        if (endpoints.Count == 0) throw new ArgumentException("At least one endpoint is required.", nameof(endpoints));
        List<GrpcChannel> removed;
        lock (_endpointsLock)
        {
            ThrowIfDisposed();
            var old = _set;
            var channels = new GrpcChannel[endpoints.Count];
            for (int i = 0; i < endpoints.Count; i++)
                channels[i] = Array.Find(old.Channels, c => c.Address == endpoints[i]) ?? new GrpcChannel(endpoints[i], _channelOptions);
            removed = old.Channels.Where(c => Array.IndexOf(channels, c) < 0).ToList();
            // Stay on the member in use when it is still listed.
            int current = Math.Max(0, Array.IndexOf(channels, old.CurrentChannel));
            _set = new EndpointSet(channels, current);
            _retired.AddRange(removed);
        }
        ClientLog.EndpointsReplaced(_log, string.Join(", ", endpoints));
        if (removed.Count > 0) _ = RetireAsync(removed);
    }

    private async Task RetireAsync(List<GrpcChannel> channels)
    {
        var grace = _requestTimeout == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : _requestTimeout;
        try
        {
            await Task.Delay(grace, _disposing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // Dispose closed them.
        }
        lock (_endpointsLock)
        {
            foreach (var channel in channels) _retired.Remove(channel);
        }
        foreach (var channel in channels) channel.Dispose();
    }

    /// <summary>A unary call with the request deadline, retried and failed over as <paramref name="flags"/> allow.</summary>
    public Task<TResponse> UnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken,
        long requestedRevision = 0, long leaseId = 0, CallFlags flags = CallFlags.None)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
        => UnaryCoreAsync(method, request, NewDeadline(), flags, cancellationToken, requestedRevision, leaseId);

    /// <summary>
    /// A unary call without the request deadline, for calls the server holds until something happens (the server's
    /// Lock and Campaign): only <paramref name="cancellationToken"/> bounds it. Treated as a write.
    /// </summary>
    public Task<TResponse> BlockingUnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken, long leaseId = 0)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
        => UnaryCoreAsync(method, request, deadline: null, CallFlags.ServerSideClient, cancellationToken, requestedRevision: 0, leaseId);

    /// <summary>
    /// Resolves <paramref name="member"/> (a client URL) to one of the configured endpoints, compared by scheme, host and
    /// port; throws <see cref="ArgumentException"/> naming the known endpoints when it is none of them.
    /// </summary>
    public Uri ResolveEndpoint(Uri member, string paramName) => Find(member, paramName).Address;

    /// <summary>A unary call sent to <paramref name="endpoint"/> only (no failover, no <c>hasleader</c>), with the request deadline.</summary>
    public async Task<TResponse> UnaryAtAsync<TRequest, TResponse>(
        Uri endpoint, GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var channel = Find(endpoint, nameof(endpoint));
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var deadline = NewDeadline();
        for (int tokenRefreshes = 0; ; tokenRefreshes++)
        {
            string? token = null;
            try
            {
                token = await GetTokenAsync(CallFlags.NoLeaderRequired, deadline, cancellationToken).ConfigureAwait(false);
                var options = new GrpcCallOptions { Deadline = deadline, CancellationToken = cancellationToken, Metadata = Metadata(token, CallFlags.NoLeaderRequired) };
                return await channel.UnaryAsync(method, request, options).ConfigureAwait(false);
            }
            catch (GrpcCallException error) when (tokenRefreshes < 2 && NeedsNewToken(error, token))
            {
                _auth!.Invalidate(token);
            }
            catch (GrpcCallException error)
            {
                throw ErrorMapper.Map(error, method.Path);
            }
            catch (ObjectDisposedException) when (_disposed)
            {
                throw ClientDisposed();
            }
            catch (ObjectDisposedException error) when (channel.IsDisposed)
            {
                throw EndpointRemoved(channel, method.Path, error);
            }
        }
    }

    /// <summary>
    /// The exception for a call cut because its endpoint was removed by <see cref="SetEndpoints"/> (its channel retired),
    /// or null when <paramref name="error"/> is something else; for stream readers, which see the channel's disposal.
    /// </summary>
    public EtcdException? MapRetired(ObjectDisposedException error, string method) =>
        _disposed ? null : new EtcdUnavailableException($"{method} failed: its endpoint was removed from the client's endpoints while it ran.", requestMayHaveBeenSent: true, innerException: error);

    private static EtcdUnavailableException EndpointRemoved(GrpcChannel channel, string method, Exception error) =>
        new($"{method} failed: the endpoint {channel.Address} was removed from the client's endpoints while the call ran.", requestMayHaveBeenSent: true, innerException: error);

    /// <summary>Starts a server-streaming call on the current endpoint, without a deadline (the caller's token ends it).</summary>
    public async ValueTask<GrpcServerStreamingCall<TResponse>> StartServerStreamingAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        var token = await GetTokenAsync(CallFlags.None, NewDeadline(), cancellationToken).ConfigureAwait(false);
        return _set.CurrentChannel.StartServerStreaming(method, request,
            new GrpcCallOptions { CancellationToken = cancellationToken, Metadata = Metadata(token, CallFlags.None) });
    }

    /// <summary>Starts a server-streaming call on <paramref name="endpoint"/> only (no <c>hasleader</c>), without a deadline.</summary>
    public async ValueTask<GrpcServerStreamingCall<TResponse>> StartServerStreamingAtAsync<TRequest, TResponse>(
        Uri endpoint, GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        var channel = Find(endpoint, nameof(endpoint));
        ThrowIfDisposed();
        var token = await GetTokenAsync(CallFlags.NoLeaderRequired, NewDeadline(), cancellationToken).ConfigureAwait(false);
        return channel.StartServerStreaming(method, request,
            new GrpcCallOptions { CancellationToken = cancellationToken, Metadata = Metadata(token, CallFlags.NoLeaderRequired) });
    }

    /// <summary>Opens a duplex stream on the current endpoint (watch and lease streams), with <c>hasleader</c> when configured.</summary>
    public async ValueTask<GrpcDuplexCall<TRequest, TResponse>> StartDuplexAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, DateTime? deadline, CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        var token = await GetTokenAsync(CallFlags.None, deadline ?? NewDeadline(), cancellationToken).ConfigureAwait(false);
        return _set.CurrentChannel.StartDuplex(method,
            new GrpcCallOptions { Deadline = deadline, CancellationToken = cancellationToken, Metadata = Metadata(token, CallFlags.None) });
    }

    /// <summary>
    /// Drops the current auth token after a stream saw it rejected, so the stream's next attempt authenticates again.
    /// </summary>
    public void InvalidateToken() => _auth?.InvalidateCurrent();

    /// <summary>True when the client authenticates (has credentials).</summary>
    public bool HasCredentials => _auth is not null;

    /// <summary>
    /// True when a new token would cure <paramref name="failure"/>: the token sent was stale, or none was sent because
    /// the cluster had authentication disabled and it has since been enabled ("user name is empty").
    /// </summary>
    private bool NeedsNewToken(GrpcCallException failure, string? token) =>
        _auth is not null && (token is not null ? RetryClassifier.TokenRejected(failure) : AuthErrors.IsUserEmpty(failure.Detail));

    /// <summary>
    /// Moves streams and later calls to the next endpoint after <paramref name="failed"/> failed (a stream that broke, or
    /// a member that refused); a no-op with one endpoint or when the client already moved on.
    /// </summary>
    public void MoveToNextEndpoint(Uri failed)
    {
        if (_set.MoveFrom(failed)) ClientLog.LeftEndpoint(_log, failed, "stream failure", "the stream broke or stopped answering");
    }

    public DateTime? NewDeadline() =>
        _requestTimeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + _requestTimeout;

    public void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(EtcdClient));
    }

    public void Dispose()
    {
        GrpcChannel[] channels;
        lock (_endpointsLock)
        {
            if (_disposed) return;
            _disposed = true;
            channels = [.. _set.Channels, .. _retired];
            _retired.Clear();
        }
        _disposing.Cancel();
        foreach (var channel in channels) channel.Dispose();
    }

    private async Task<TResponse> UnaryCoreAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, DateTime? deadline, CallFlags flags,
        CancellationToken cancellationToken, long requestedRevision, long leaseId)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        bool idempotent = (flags & CallFlags.Idempotent) != 0 && _retry.RetryReads;
        // Without a deadline nothing else would end a retry loop: a few rounds over the endpoints, then the error.
        int maxAttempts = deadline is null ? Math.Min(_retry.MaxAttempts, 2 * _set.Channels.Length) : _retry.MaxAttempts;
        int tokenRefreshes = 0;
        for (int attempt = 1; ; attempt++)
        {
            var set = _set;
            var channel = set.CurrentChannel;
            string? token = null;
            GrpcCallException failure;
            try
            {
                token = await GetTokenAsync(flags, deadline, cancellationToken).ConfigureAwait(false);
                var options = new GrpcCallOptions { Deadline = deadline, CancellationToken = cancellationToken, Metadata = Metadata(token, flags) };
                return await channel.UnaryAsync(method, request, options).ConfigureAwait(false);
            }
            catch (GrpcCallException error)
            {
                failure = error;
            }
            catch (ObjectDisposedException) when (_disposed)
            {
                throw ClientDisposed();
            }
            catch (ObjectDisposedException error) when (channel.IsDisposed)
            {
                // The endpoint was removed from the list and its channel retired while this call ran on it.
                failure = new GrpcCallException(GrpcStatusCode.Unavailable, $"The endpoint {channel.Address} was removed from the client's endpoints while the call ran.", requestMayHaveBeenSent: true, error);
            }

            if (tokenRefreshes < 2 && NeedsNewToken(failure, token))
            {
                // etcd checks the token before proposing anything, so even a write can be sent again with a fresh one.
                tokenRefreshes++;
                attempt--;
                ClientLog.TokenRejected(_log, method.Path);
                _auth!.Invalidate(token);
                continue;
            }

            if (RetryClassifier.LeaveEndpoint(failure) && _set.MoveFrom(channel.Address))
                ClientLog.LeftEndpoint(_log, channel.Address, failure.StatusCode.ToString(), failure.Detail);
            // A TLS failure is a configuration problem, not a passing one: each other endpoint gets one try, no more.
            bool retryable = failure.TlsFailure
                ? attempt < set.Channels.Length
                : RetryClassifier.NotApplied(failure, flags) || (idempotent && RetryClassifier.Transient(failure, flags));
            if (!retryable || attempt >= maxAttempts || !await BackoffAsync(method.Path, attempt, failure, deadline, cancellationToken).ConfigureAwait(false))
                throw ErrorMapper.Map(failure, method.Path, requestedRevision, leaseId);
        }
    }

    /// <summary>Waits before the next attempt; false when the pause would end past the call's deadline (give up now).</summary>
    private async ValueTask<bool> BackoffAsync(string method, int attempt, GrpcCallException failure, DateTime? deadline, CancellationToken cancellationToken)
    {
        var pause = _retry.GetBackoff(attempt);
        if (deadline is { } end && DateTime.UtcNow + pause >= end) return false;
        if (_log.IsEnabled(LogLevel.Debug))
            ClientLog.Retrying(_log, method, attempt, failure.StatusCode.ToString(), failure.Detail, (long)pause.TotalMilliseconds);
        if (pause > TimeSpan.Zero) await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
        ThrowIfDisposed();
        return true;
    }

    /// <summary>The token for a call; authenticating counts against the call's deadline (a DeadlineExceeded <see cref="GrpcCallException"/> past it).</summary>
    private async ValueTask<string?> GetTokenAsync(CallFlags flags, DateTime? deadline, CancellationToken cancellationToken)
    {
        var auth = _auth;
        if (auth is null || (flags & CallFlags.NoAuthToken) != 0) return null;
        var pending = auth.GetTokenAsync(cancellationToken);
        if (pending.IsCompleted || deadline is not { } end) return await pending.ConfigureAwait(false);
        var left = end - DateTime.UtcNow;
        try
        {
            if (left <= TimeSpan.Zero) throw new TimeoutException();
            return await pending.AsTask().WaitAsync(left, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new GrpcCallException(GrpcStatusCode.DeadlineExceeded, "The call's deadline passed while the client was authenticating; nothing was sent.", requestMayHaveBeenSent: false);
        }
    }

    /// <summary>The call's metadata; arrays are cached per token so a call allocates none.</summary>
    private KeyValuePair<string, string>[]? Metadata(string? token, CallFlags flags)
    {
        bool hasLeader = _requireLeader && (flags & CallFlags.NoLeaderRequired) == 0;
        if (token is null) return hasLeader ? s_hasLeader : null;
        var cached = Volatile.Read(ref _tokenMetadata);
        if (cached is null || !string.Equals(cached.Token, token, StringComparison.Ordinal))
        {
            cached = new TokenMetadata(token);
            Volatile.Write(ref _tokenMetadata, cached);
        }
        return hasLeader ? cached.WithLeader : cached.Alone;
    }

    private GrpcChannel Find(Uri member, string paramName)
    {
        ArgumentNullException.ThrowIfNull(member, paramName);
        var channels = _set.Channels;
        if (member.IsAbsoluteUri)
        {
            foreach (var channel in channels)
            {
                if (Uri.Compare(channel.Address, member, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
                    return channel;
            }
        }
        throw new ArgumentException(
            $"'{member}' is not one of the client's endpoints ({string.Join(", ", Endpoints)}); a call aimed at one member must use one of them.", paramName);
    }

    private static ObjectDisposedException ClientDisposed() =>
        new(nameof(EtcdClient), "The etcd client was disposed while the call was running.");

    /// <summary>The token's metadata arrays, with and without <c>hasleader</c>.</summary>
    private sealed class TokenMetadata(string token)
    {
        public string Token { get; } = token;

        public KeyValuePair<string, string>[] Alone { get; } = [new("token", token)];

        public KeyValuePair<string, string>[] WithLeader { get; } = [new("token", token), new("hasleader", "true")];
    }

    /// <summary>One endpoint list and which of its members calls go to first; replaced whole by <see cref="SetEndpoints"/>.</summary>
    private sealed class EndpointSet(GrpcChannel[] channels, int current = 0)
    {
        private int _current = current;

        public GrpcChannel[] Channels { get; } = channels;

        public GrpcChannel CurrentChannel => Channels[Volatile.Read(ref _current) % Channels.Length];

        /// <summary>Moves on from <paramref name="failed"/> when it is current; true when this call moved (false with one endpoint).</summary>
        public bool MoveFrom(Uri failed)
        {
            int current = Volatile.Read(ref _current);
            return Channels.Length > 1
                && Channels[current % Channels.Length].Address == failed
                && Interlocked.CompareExchange(ref _current, (current + 1) % Channels.Length, current) == current;
        }
    }
}
