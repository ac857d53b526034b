namespace Etcd;

/// <summary>Settings of an <see cref="EtcdClient"/>; validated when the client is created.</summary>
public sealed class EtcdClientOptions
{
    /// <summary>The etcd endpoints, e.g. <c>http://127.0.0.1:2379</c> (scheme defaults to http, or https with <see cref="Tls"/>). The client uses the first
    /// that works and moves to the next when a member cannot be reached, has no leader or is unavailable.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = ["http://127.0.0.1:2379"];

    /// <summary>How long establishing a connection may take (default 5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The deadline of each unary call (default 30 s); <see cref="Timeout.InfiniteTimeSpan"/> for none.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest request message the client sends (default 2 MiB; etcd's own limit is 1.5 MiB unless raised).</summary>
    public int MaxSendMessageSize { get; init; } = 2 * 1024 * 1024;

    /// <summary>The largest response message the client accepts (default 256 MiB).</summary>
    public int MaxReceiveMessageSize { get; init; } = 256 * 1024 * 1024;

    /// <summary>
    /// How often an HTTP/2 PING checks a connection that has calls open, so a silently dead connection fails fast
    /// instead of at each call's deadline (default 10 s; etcd answers pings faster than 5 s with GOAWAY, so the minimum
    /// is 5 s); <see cref="Timeout.InfiniteTimeSpan"/> disables pings.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a PING may go unanswered before the connection is dropped (default 10 s).</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>When failed calls are tried again (default <see cref="EtcdRetryPolicy.Default"/>); writes are never retried in a way that could apply them twice.</summary>
    public EtcdRetryPolicy RetryPolicy { get; init; } = EtcdRetryPolicy.Default;

    /// <summary>
    /// Sends etcd's <c>hasleader</c> metadata (default true): a member that has lost its leader (partitioned, or the
    /// cluster lost quorum) refuses calls at once and cancels watch and keep-alive streams, so the client moves to another
    /// member instead of waiting on it. Serializable reads and calls aimed at one member never require a leader.
    /// </summary>
    public bool RequireLeader { get; init; } = true;

    /// <summary>
    /// How often the endpoint list is replaced by the client URLs of the cluster's voting members (from the member list);
    /// null (default) keeps the configured endpoints. See also <see cref="EtcdClient.SyncEndpointsAsync"/>.
    /// </summary>
    public TimeSpan? EndpointSyncInterval { get; init; }

    /// <summary>
    /// An HTTP handler to use instead of the built-in SocketsHttpHandler (proxies, tests; for TLS prefer <see cref="Tls"/>). The client does not dispose
    /// it, and <see cref="ConnectTimeout"/> and the keep-alive settings do not apply to it: configure them on the handler.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// TLS settings (custom CA, server name, client certificate). When set, endpoints without a scheme are https,
    /// http:// endpoints are rejected, and <see cref="HttpHandler"/> must not be set.
    /// </summary>
    public EtcdTlsOptions? Tls { get; init; }

    /// <summary>
    /// Where the client logs failovers, retries, endpoint changes and stream reconnects (category <c>Etcd.EtcdClient</c>);
    /// null (default) logs nothing. Keys, values, passwords and tokens are never logged.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The user name and password to authenticate with when the cluster has authentication enabled; null (default) for
    /// none. The client gets a token before its first call, sends it with every call and stream, and gets a new one when
    /// etcd rejects it (expired, or issued before an auth change). Use TLS: the password and tokens travel in clear otherwise.
    /// </summary>
    public EtcdCredentials? Credentials { get; init; }

    internal IReadOnlyList<Uri> Validate()
    {
        if (Tls is not null && HttpHandler is not null)
            throw new ArgumentException("Set either Tls or HttpHandler, not both: TLS settings apply to the built-in handler only.", nameof(Tls));
        var uris = ParseEndpoints(Endpoints, nameof(Endpoints));
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "ConnectTimeout must be positive.");
        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "RequestTimeout must be positive or infinite.");
        if (KeepAlivePingDelay < TimeSpan.FromSeconds(5) && KeepAlivePingDelay != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingDelay), KeepAlivePingDelay, "KeepAlivePingDelay must be at least 5 s (etcd's --grpc-keepalive-min-time) or infinite.");
        if (KeepAlivePingTimeout <= TimeSpan.Zero && KeepAlivePingTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "KeepAlivePingTimeout must be positive or infinite.");
        ArgumentNullException.ThrowIfNull(RetryPolicy, nameof(RetryPolicy));
        RetryPolicy.Validate(nameof(RetryPolicy));
        if (RetryPolicy.MaxAttempts == int.MaxValue && RequestTimeout == Timeout.InfiniteTimeSpan)
            throw new ArgumentException("A retry policy without an attempt limit needs a finite RequestTimeout, or calls to a dead cluster would never end.", nameof(RetryPolicy));
        if (EndpointSyncInterval is { } sync && (sync < TimeSpan.FromSeconds(1) || sync > TimeSpan.FromDays(1)))
            throw new ArgumentOutOfRangeException(nameof(EndpointSyncInterval), sync, "EndpointSyncInterval must be between 1 s and 1 day (or null for no syncing).");
        if (MaxSendMessageSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxSendMessageSize), MaxSendMessageSize, "MaxSendMessageSize must be positive.");
        if (MaxReceiveMessageSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "MaxReceiveMessageSize must be positive.");
        return uris;
    }

    internal static Uri ParseEndpoint(string? endpoint) => ParseEndpoint(endpoint, Uri.UriSchemeHttp);

    /// <summary>Parses an endpoint list by the rules of <see cref="Endpoints"/> (scheme from <see cref="Tls"/>, duplicates dropped).</summary>
    internal IReadOnlyList<Uri> ParseEndpoints(IEnumerable<string>? endpoints, string paramName)
    {
        if (endpoints is null)
            throw new ArgumentException("At least one endpoint is required.", paramName);
        var uris = new List<Uri>();
        foreach (var endpoint in endpoints)
        {
            var uri = ParseEndpoint(endpoint, Tls is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps);
            if (Tls is not null && uri.Scheme != Uri.UriSchemeHttps)
                throw new ArgumentException($"Endpoint '{endpoint}' is http:// but Tls is set; use https://.", paramName);
            if (!uris.Contains(uri)) uris.Add(uri);
        }
        if (uris.Count == 0)
            throw new ArgumentException("At least one endpoint is required.", paramName);
        return uris;
    }

    private static Uri ParseEndpoint(string? endpoint, string defaultScheme)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
            throw new ArgumentException("An endpoint must not be empty.", nameof(Endpoints));
        var text = endpoint.Trim();
        if (!text.Contains("://", StringComparison.Ordinal)) text = defaultScheme + "://" + text;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{endpoint}' is not an http:// or https:// endpoint.", nameof(Endpoints));
        if (uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query))
            throw new ArgumentException($"Endpoint '{endpoint}' must not have a path or query.", nameof(Endpoints));
        return uri;
    }
}
