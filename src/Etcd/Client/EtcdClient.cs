using Etcd.Operations;

namespace Etcd;

/// <summary>
/// The etcd v3 client: one long-lived, thread-safe instance per application, speaking gRPC over HTTP/2.
/// Key-value operations are on the client itself; other services hang off properties such as <see cref="Maintenance"/>.
/// </summary>
/// <example><code>
/// await using var client = new EtcdClient("http://127.0.0.1:2379");
/// await client.PutAsync("greeting", "hello");
/// var value = await client.GetValueAsync("greeting");
/// </code></example>
public sealed class EtcdClient : IEtcdKeyspace, IAsyncDisposable, IDisposable
{
    private readonly EtcdCallInvoker _invoker;
    private readonly KvOperations _kv;
    private readonly EndpointSyncLoop? _endpointSync;

    /// <summary>Creates a client for one endpoint or a comma-separated list of endpoints (e.g. <c>"http://10.0.0.1:2379,http://10.0.0.2:2379"</c>).</summary>
    public EtcdClient(string endpoints)
        : this(new EtcdClientOptions { Endpoints = SplitEndpoints(endpoints) })
    {
    }

    /// <summary>Creates a client with the given options (validated here: bad options throw <see cref="ArgumentException"/>).</summary>
    public EtcdClient(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _invoker = new EtcdCallInvoker(options);
        if (options.Credentials is { } credentials)
        {
            TokenSource = new AuthTokenSource(_invoker, credentials);
            _invoker.UseAuthentication(TokenSource);
        }
        Options = options;
        _kv = new KvOperations(_invoker);
        Maintenance = new MaintenanceClient(_invoker);
        Cluster = new ClusterClient(_invoker);
        Auth = new AuthClient(_invoker);
        Leases = new LeaseClient(_invoker, this);
        Watch = new WatchClient(_invoker);
        Locks = new LockService(_invoker, this);
        Elections = new ElectionService(_invoker, this);
        if (options.EndpointSyncInterval is { } interval) _endpointSync = new EndpointSyncLoop(this, interval, _invoker.Log);
    }

    /// <summary>The options the client was created with.</summary>
    public EtcdClientOptions Options { get; }

    /// <summary>The endpoints the client connects to now (the configured ones until <see cref="SetEndpoints"/> or a sync replaces them).</summary>
    public IReadOnlyList<Uri> Endpoints => _invoker.Endpoints;

    /// <summary>
    /// Replaces the endpoint list while the client runs (parsed and validated like <see cref="EtcdClientOptions.Endpoints"/>).
    /// Connections to endpoints that stay are kept; calls running on a removed endpoint get its request timeout to finish,
    /// and watch and keep-alive streams on it move to the new list.
    /// </summary>
    public void SetEndpoints(IEnumerable<string> endpoints) => _invoker.SetEndpoints(Options.ParseEndpoints(endpoints, nameof(endpoints)));

    /// <summary>
    /// Replaces the endpoint list with the client URLs of the cluster's voting members (learners serve no client calls)
    /// and returns the new list; the list stays as it is when no member advertises a URL of the client's scheme.
    /// <see cref="EtcdClientOptions.EndpointSyncInterval"/> runs this periodically.
    /// </summary>
    public async Task<IReadOnlyList<Uri>> SyncEndpointsAsync(CancellationToken cancellationToken = default)
    {
        var members = await Cluster.ListMembersAsync(cancellationToken).ConfigureAwait(false);
        string scheme = Options.Tls is null && Endpoints.All(e => e.Scheme == Uri.UriSchemeHttp) ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        var urls = members.Members.Where(m => !m.IsLearner).SelectMany(m => m.ClientUrls).Where(u => u.Scheme == scheme).Select(u => u.ToString()).ToList();
        if (urls.Count > 0) SetEndpoints(urls);
        return Endpoints;
    }

    /// <summary>The endpoint new calls and streams go to first (it changes when a member cannot be reached).</summary>
    public Uri CurrentEndpoint => _invoker.CurrentEndpoint;

    /// <summary>Maintenance calls: status, alarms, defragmentation, hashes, snapshots, leader transfer.</summary>
    public MaintenanceClient Maintenance { get; }

    /// <summary>Cluster membership: list, add (voting or learner), remove, update, promote.</summary>
    public ClusterClient Cluster { get; }

    /// <summary>Auth administration: enable or disable authentication; users, roles and their permissions.</summary>
    public AuthClient Auth { get; }

    /// <summary>The source of the auth token when the client has <see cref="EtcdClientOptions.Credentials"/>; null otherwise.</summary>
    internal AuthTokenSource? TokenSource { get; }

    /// <summary>Watches: changes of keys, ranges and prefixes over one shared stream that resumes without loss.</summary>
    public WatchClient Watch { get; }

    /// <summary>Leases: grant, revoke, time-to-live, list, keep-alive once, and leases kept alive in the background.</summary>
    public LeaseClient Leases { get; }

    /// <summary>etcd's server-side lock service: a lock in one call, interoperable with <c>etcdctl lock</c>.</summary>
    public LockService Locks { get; }

    /// <summary>etcd's server-side election service: campaign, proclaim, leader, observe, resign; interoperable with <c>etcdctl elect</c>.</summary>
    public ElectionService Elections { get; }

    /// <inheritdoc />
    public Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default)
        => _kv.GetAsync(keys, options, cancellationToken);

    /// <inheritdoc />
    public Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default)
        => _kv.GetValueAsync(key, cancellationToken);

    /// <inheritdoc />
    public Task<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default)
        => _kv.GetStringAsync(key, cancellationToken);

    /// <inheritdoc />
    public Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default)
        => _kv.PutAsync(key, value, options, cancellationToken);

    /// <inheritdoc />
    public Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default)
        => _kv.DeleteAsync(keys, prevKv, cancellationToken);

    /// <inheritdoc />
    public Transaction Txn() => new(this);

    /// <inheritdoc />
    public Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default)
        => _kv.TxnAsync(transaction, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => _kv.ScanAsync(keys, options, cancellationToken);

    EtcdClient IEtcdKeyspace.Client => this;

    IAsyncEnumerable<WatchEvent> IEtcdWatch.WatchAsync(KeySet keys, WatchOptions? options, CancellationToken cancellationToken)
        => Watch.WatchAsync(keys, options, cancellationToken);

    IAsyncEnumerable<WatchResponse> IEtcdWatch.WatchResponsesAsync(KeySet keys, WatchOptions? options, CancellationToken cancellationToken)
        => Watch.WatchResponsesAsync(keys, options, cancellationToken);

    WatchSubscription IEtcdWatch.Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options)
        => Watch.Watch(keys, onEvent, options);

    WatchSubscription IEtcdWatch.Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options)
        => Watch.Watch(keys, onEvent, options);

    /// <summary>A view confined to the keys under <paramref name="prefix"/> (added to every key sent, stripped from every key returned); see <see cref="EtcdNamespace"/>.</summary>
    public EtcdNamespace WithNamespace(EtcdBytes prefix) => new(this, prefix);

    /// <summary>
    /// Discards the history of every key before <paramref name="revision"/> (reads and watches below it then fail with
    /// <see cref="EtcdCompactedException"/>). With <paramref name="physical"/> the call returns only once the space is reclaimed.
    /// </summary>
    public Task<CompactResponse> CompactAsync(long revision, bool physical = false, CancellationToken cancellationToken = default)
        => _kv.CompactAsync(revision, physical, cancellationToken);

    /// <summary>
    /// Stops every keep-alive (their leases' <see cref="Lease.Lost"/> fire) and closes every connection; calls still
    /// running fail and later calls throw <see cref="ObjectDisposedException"/>. Prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose()
    {
        // Not awaited: the loops end on their own once the connections are closed.
        _ = _endpointSync?.DisposeAsync().AsTask();
        _ = Leases.KeepAlives.DisposeAsync().AsTask();
        _ = Watch.Manager.DisposeAsync().AsTask();
        _invoker.Dispose();
    }

    /// <summary>
    /// Stops every keep-alive (their leases' <see cref="Lease.Lost"/> fire), ends every watch with
    /// <see cref="ObjectDisposedException"/>, and closes every connection; calls still running fail and later calls
    /// throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_endpointSync is not null) await _endpointSync.DisposeAsync().ConfigureAwait(false);
            await Leases.KeepAlives.DisposeAsync().ConfigureAwait(false);
            await Watch.Manager.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _invoker.Dispose();
        }
    }

    private static string[] SplitEndpoints(string endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
