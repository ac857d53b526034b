namespace Etcd.Concurrency;

/// <summary>Settings of a <see cref="Session"/>.</summary>
public sealed record SessionOptions
{
    /// <summary>The TTL of the session's lease (default 60 s, as etcd's Go client); the session is lost this long after the process stops renewing.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Resume this existing lease instead of granting a new one (0: grant a new lease).</summary>
    public long LeaseId { get; init; }
}

/// <summary>
/// A lease kept alive for as long as this process holds it: the base of locks, elections and other recipes. Keys
/// written with <see cref="LeaseId"/> vanish when the session ends; <see cref="Lost"/> says when that happened without
/// the owner asking for it. Disposing ends the session and revokes its lease.
/// </summary>
public sealed class Session : IAsyncDisposable
{
    private Session(IEtcdKeyspace keyspace, Lease lease)
    {
        Keyspace = keyspace;
        Lease = lease;
    }

    /// <summary>The keys the session's recipes work in: the client itself, or a namespace of it.</summary>
    public IEtcdKeyspace Keyspace { get; }

    /// <summary>The client the session lives on.</summary>
    public EtcdClient Client => Keyspace.Client;

    /// <summary>The session's kept-alive lease.</summary>
    public Lease Lease { get; }

    /// <summary>The id of the session's lease, for <see cref="PutOptions.Lease"/>.</summary>
    public long LeaseId => Lease.Id;

    /// <summary>Fires when the session's lease is gone (expired, revoked elsewhere, not renewed in time, or disposed).</summary>
    public CancellationToken Lost => Lease.Lost;

    /// <summary>
    /// Starts a session: grants a lease (or resumes <see cref="SessionOptions.LeaseId"/>) and keeps it alive. Recipes built
    /// on the session work in <paramref name="keyspace"/>: pass the client, or a namespace (<see cref="EtcdClient.WithNamespace"/>).
    /// </summary>
    public static Task<Session> CreateAsync(IEtcdKeyspace keyspace, SessionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        options ??= new SessionOptions();
        if (options.Ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), options.Ttl, "SessionOptions.Ttl must be positive.");
        if (options.LeaseId < 0) throw new ArgumentOutOfRangeException(nameof(options), options.LeaseId, "SessionOptions.LeaseId must not be negative.");
        return CreateCoreAsync(keyspace, options, cancellationToken);
    }

    private static async Task<Session> CreateCoreAsync(IEtcdKeyspace keyspace, SessionOptions options, CancellationToken cancellationToken)
    {
        var client = keyspace.Client;
        var lease = options.LeaseId != 0
            ? await client.Leases.KeepAliveAsync(options.LeaseId, cancellationToken).ConfigureAwait(false)
            : await client.Leases.CreateAsync(options.Ttl, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new Session(keyspace, lease);
    }

    /// <summary>Ends the session: stops renewing and revokes the lease, deleting the keys attached to it.</summary>
    public ValueTask DisposeAsync() => Lease.DisposeAsync();

    /// <inheritdoc />
    public override string ToString() => $"session on {Lease}";
}
