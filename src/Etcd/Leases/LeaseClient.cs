using System.Diagnostics;
using Etcd.Operations;
using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd;

/// <summary>
/// Leases: grant, revoke, time-to-live, list, single keep-alives, and leases kept alive in the background
/// (<see cref="CreateAsync"/>). Reached through <see cref="EtcdClient.Leases"/>. TTLs are whole seconds on the server;
/// a fractional TTL is rounded up.
/// </summary>
public sealed class LeaseClient
{
    private readonly EtcdCallInvoker _invoker;
    private readonly IEtcdKv _kv;

    internal LeaseClient(EtcdCallInvoker invoker, IEtcdKv kv)
    {
        _invoker = invoker;
        _kv = kv;
        KeepAlives = new LeaseKeepAliveManager(invoker);
    }

    internal LeaseKeepAliveManager KeepAlives { get; }

    /// <summary>The number of leases this client is keeping alive.</summary>
    public int KeptAliveCount => KeepAlives.Count;

    /// <summary>Grants a lease with <paramref name="ttl"/> (at least 1 s); <paramref name="id"/> 0 lets the server choose the id.</summary>
    public Task<LeaseGrantResponse> GrantAsync(TimeSpan ttl, long id = 0, CancellationToken cancellationToken = default)
    {
        var request = new Pb.LeaseGrantRequest { TTL = ToSeconds(ttl, nameof(ttl)), ID = ValidId(id, nameof(id), allowZero: true) };
        return GrantCoreAsync(request, cancellationToken);
    }

    private async Task<LeaseGrantResponse> GrantCoreAsync(Pb.LeaseGrantRequest request, CancellationToken cancellationToken)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.LeaseGrant, request, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
            throw new EtcdException(EtcdStatusCode.Unknown, $"LeaseGrant failed: {response.Error}", response.Error);
        return new LeaseGrantResponse(ProtoMapping.ToHeader(response.Header), response.ID, TimeSpan.FromSeconds(response.TTL));
    }

    /// <summary>Revokes a lease, deleting every key attached to it; an unknown lease is <see cref="EtcdLeaseNotFoundException"/>.</summary>
    public Task<LeaseRevokeResponse> RevokeAsync(long id, CancellationToken cancellationToken = default)
    {
        var request = new Pb.LeaseRevokeRequest { ID = ValidId(id, nameof(id), allowZero: false) };
        return RevokeCoreAsync(request, cancellationToken);
    }

    private async Task<LeaseRevokeResponse> RevokeCoreAsync(Pb.LeaseRevokeRequest request, CancellationToken cancellationToken)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.LeaseRevoke, request, cancellationToken, leaseId: request.ID).ConfigureAwait(false);
        return new LeaseRevokeResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>How long a lease has left (and, with <paramref name="includeKeys"/>, its keys); an unknown or expired lease is <see cref="EtcdLeaseNotFoundException"/>.</summary>
    public Task<LeaseTimeToLiveResponse> TimeToLiveAsync(long id, bool includeKeys = false, CancellationToken cancellationToken = default)
    {
        var request = new Pb.LeaseTimeToLiveRequest { ID = ValidId(id, nameof(id), allowZero: false), Keys = includeKeys };
        return TimeToLiveCoreAsync(request, cancellationToken);
    }

    private async Task<LeaseTimeToLiveResponse> TimeToLiveCoreAsync(Pb.LeaseTimeToLiveRequest request, CancellationToken cancellationToken)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.LeaseTimeToLive, request, cancellationToken, leaseId: request.ID, flags: CallFlags.Idempotent).ConfigureAwait(false);
        // etcd answers TTL -1 for a lease it does not have, instead of an error.
        if (response.TTL < 0) throw NotFound(request.ID);
        var keys = response.Keys.Count == 0 ? [] : response.Keys.Select(ProtoMapping.ToBytes).ToArray();
        return new LeaseTimeToLiveResponse(ProtoMapping.ToHeader(response.Header), response.ID,
            TimeSpan.FromSeconds(response.TTL), TimeSpan.FromSeconds(response.GrantedTTL), keys);
    }

    /// <summary>Lists the ids of every lease on the server.</summary>
    public async Task<LeaseListResponse> ListAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.LeaseLeases, new Pb.LeaseLeasesRequest(), cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new LeaseListResponse(ProtoMapping.ToHeader(response.Header), response.Leases.Select(l => l.ID).ToArray());
    }

    /// <summary>Renews a lease once (txaioetcd's "refresh"); an unknown or expired lease is <see cref="EtcdLeaseNotFoundException"/>.</summary>
    public Task<LeaseKeepAliveResponse> KeepAliveOnceAsync(long id, CancellationToken cancellationToken = default)
    {
        ValidId(id, nameof(id), allowZero: false);
        _invoker.ThrowIfDisposed();
        return KeepAliveOnceCoreAsync(id, cancellationToken);
    }

    private async Task<LeaseKeepAliveResponse> KeepAliveOnceCoreAsync(long id, CancellationToken cancellationToken)
    {
        try
        {
            await using var call = await _invoker.StartDuplexAsync(EtcdMethods.LeaseKeepAlive, _invoker.NewDeadline(), cancellationToken).ConfigureAwait(false);
            await call.WriteAsync(new Pb.LeaseKeepAliveRequest { ID = id }, cancellationToken).ConfigureAwait(false);
            if (!await call.MoveNextAsync(cancellationToken).ConfigureAwait(false))
                throw new EtcdException(EtcdStatusCode.Internal, $"LeaseKeepAlive for lease {id:x} ended without an answer.");
            var response = call.Current;
            // etcd answers TTL 0 for a lease it does not have, instead of an error.
            if (response.TTL <= 0) throw NotFound(id);
            return new LeaseKeepAliveResponse(ProtoMapping.ToHeader(response.Header), response.ID, TimeSpan.FromSeconds(response.TTL));
        }
        catch (GrpcCallException error)
        {
            throw ErrorMapper.Map(error, EtcdMethods.LeaseKeepAlive.Path, leaseId: id);
        }
    }

    /// <summary>Grants a lease and keeps it alive until it is disposed (which revokes it) or lost; see <see cref="Lease.Lost"/>.</summary>
    public Task<Lease> CreateAsync(TimeSpan ttl, long id = 0, CancellationToken cancellationToken = default)
    {
        var request = new Pb.LeaseGrantRequest { TTL = ToSeconds(ttl, nameof(ttl)), ID = ValidId(id, nameof(id), allowZero: true) };
        return CreateCoreAsync(request, cancellationToken);
    }

    private async Task<Lease> CreateCoreAsync(Pb.LeaseGrantRequest request, CancellationToken cancellationToken)
    {
        long sentAt = Stopwatch.GetTimestamp();
        var granted = await GrantCoreAsync(request, cancellationToken).ConfigureAwait(false);
        return StartKeepAlive(granted.Id, (long)granted.Ttl.TotalSeconds, sentAt);
    }

    /// <summary>Keeps an existing lease alive (for example one a previous process granted); an unknown lease is <see cref="EtcdLeaseNotFoundException"/>.</summary>
    public Task<Lease> KeepAliveAsync(long id, CancellationToken cancellationToken = default)
    {
        ValidId(id, nameof(id), allowZero: false);
        if (KeepAlives.Contains(id)) throw new ArgumentException($"Lease {id:x} is already kept alive by this client.", nameof(id));
        _invoker.ThrowIfDisposed();
        return KeepAliveCoreAsync(id, cancellationToken);
    }

    private async Task<Lease> KeepAliveCoreAsync(long id, CancellationToken cancellationToken)
    {
        long sentAt = Stopwatch.GetTimestamp();
        var renewed = await KeepAliveOnceCoreAsync(id, cancellationToken).ConfigureAwait(false);
        return StartKeepAlive(id, (long)renewed.Ttl.TotalSeconds, sentAt);
    }

    /// <summary>
    /// Puts <paramref name="value"/> at <paramref name="key"/> attached to a new kept-alive lease, so the key lives as long
    /// as this process keeps the lease (service registration). Dispose the returned lease to remove the key at once.
    /// </summary>
    public Task<Lease> RegisterAsync(EtcdBytes key, EtcdBytes value, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        var request = new Pb.LeaseGrantRequest { TTL = ToSeconds(ttl, nameof(ttl)) };
        return RegisterCoreAsync(key, value, request, cancellationToken);
    }

    private async Task<Lease> RegisterCoreAsync(EtcdBytes key, EtcdBytes value, Pb.LeaseGrantRequest request, CancellationToken cancellationToken)
    {
        var lease = await CreateCoreAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await _kv.PutAsync(key, value, new PutOptions { Lease = lease.Id }, cancellationToken).ConfigureAwait(false);
            return lease;
        }
        catch
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Lease StartKeepAlive(long id, long ttlSeconds, long confirmedAt)
    {
        var lease = new Lease(this, id, ttlSeconds, confirmedAt);
        KeepAlives.Add(lease);
        return lease;
    }

    private static long ToSeconds(TimeSpan ttl, string paramName)
    {
        if (ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(paramName, ttl, "A lease TTL must be positive.");
        return (long)Math.Ceiling(ttl.TotalSeconds);
    }

    private static long ValidId(long id, string paramName, bool allowZero)
    {
        if (id < 0 || (id == 0 && !allowZero))
            throw new ArgumentOutOfRangeException(paramName, id, allowZero ? "A lease id must not be negative." : "A lease id must be positive.");
        return id;
    }

    private static EtcdLeaseNotFoundException NotFound(long id) =>
        new($"Lease {id:x} does not exist (never granted, expired or revoked).", id, "etcdserver: requested lease not found");
}
