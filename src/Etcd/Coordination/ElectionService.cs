using Etcd.Operations;

namespace Etcd;

/// <summary>
/// etcd's server-side election service (v3electionpb.Election): the server runs the election protocol itself.
/// Reached through <see cref="EtcdClient.Elections"/>. Interoperates with <c>etcdctl elect</c> and etcd's Go client.
/// </summary>
/// <remarks>
/// A candidate's key is <c>name/&lt;lease id in hex&gt;</c>, so one lease campaigns in a given election at most once;
/// this client refuses a second campaign of the same lease and name until the first resigns, fails or is found to be
/// over (a proclaim answered "not leader"). Keys are raw: the service does not see namespaces.
/// <para>
/// A <see cref="LeaderKey"/> is a snapshot, not a live handle: leadership can end without any call here noticing (the
/// lease expires, or another client deletes the key, e.g. <c>etcdctl del</c>, and the next candidate leads). Fence every
/// write made as leader with <see cref="LeaderKey.Fence"/> in a transaction; the election recipe
/// (<see cref="Concurrency.Election"/>) offers a leadership that watches its key and reports its loss instead.
/// </para>
/// </remarks>
public sealed class ElectionService
{
    private readonly ElectionOperations _operations;

    internal ElectionService(EtcdCallInvoker invoker, IEtcdKv kv) => _operations = new ElectionOperations(invoker, kv);

    internal ElectionOperations Operations => _operations;

    /// <summary>
    /// Waits until this candidate leads election <paramref name="name"/> with <paramref name="value"/>, on a lease this
    /// or another client keeps alive. If the call is cancelled or fails, the candidate's key is deleted (best effort,
    /// 5 s at most). A lease lost before or while waiting (also one the server no longer knows) is
    /// <see cref="EtcdLeaseLostException"/>. Leadership is reported only after checking that the candidate's key still
    /// exists with the campaign's create revision (the server does not re-check it); if it was deleted while waiting,
    /// the campaign fails with <see cref="EtcdNotLeaderException"/>.
    /// </summary>
    public Task<LeaderKey> CampaignAsync(EtcdBytes name, EtcdBytes value, Lease lease, CancellationToken cancellationToken = default)
    {
        Guard.Key(name, nameof(name));
        Guard.NotNull(value, nameof(value));
        CoordinationSupport.ValidateLease(lease, nameof(lease), "election", name);
        return _operations.CampaignAsync(name, value, lease, cancellationToken);
    }

    /// <summary>Publishes a new value as leader; <see cref="EtcdNotLeaderException"/> when <paramref name="leader"/> no longer leads.</summary>
    public Task ProclaimAsync(LeaderKey leader, EtcdBytes value, CancellationToken cancellationToken = default)
    {
        ValidateLeader(leader);
        Guard.NotNull(value, nameof(value));
        return _operations.ProclaimAsync(leader, value, cancellationToken);
    }

    /// <summary>The current leader's key and value, or null when the election has no leader.</summary>
    public Task<KeyValue?> GetLeaderAsync(EtcdBytes name, CancellationToken cancellationToken = default)
    {
        Guard.Key(name, nameof(name));
        return _operations.GetLeaderAsync(name, cancellationToken);
    }

    /// <summary>
    /// Follows the election: the current leader (once there is one), each of its proclamations, then each next leader.
    /// Runs until cancelled. A broken connection surfaces as an <see cref="EtcdException"/>, and so does the server
    /// ending the stream by itself (<see cref="EtcdUnavailableException"/>): observe again to resume from the current leader.
    /// </summary>
    public IAsyncEnumerable<KeyValue> ObserveAsync(EtcdBytes name, CancellationToken cancellationToken = default)
    {
        Guard.Key(name, nameof(name));
        return _operations.ObserveAsync(name, cancellationToken);
    }

    /// <summary>Gives up leadership (deletes the leader key if it still has the campaign's create revision); a stale <paramref name="leader"/> is a no-op.</summary>
    public Task ResignAsync(LeaderKey leader, CancellationToken cancellationToken = default)
    {
        ValidateLeader(leader);
        return _operations.ResignAsync(leader, cancellationToken);
    }

    private static void ValidateLeader(LeaderKey leader)
    {
        ArgumentNullException.ThrowIfNull(leader);
        if (leader.Name.IsNull || leader.Name.IsEmpty) throw new ArgumentException("LeaderKey.Name must not be empty.", nameof(leader));
        if (leader.Key.IsNull || leader.Key.IsEmpty) throw new ArgumentException("LeaderKey.Key must not be empty.", nameof(leader));
        if (leader.Revision <= 0) throw new ArgumentOutOfRangeException(nameof(leader), leader.Revision, "LeaderKey.Revision must be positive.");
        if (leader.LeaseId <= 0) throw new ArgumentOutOfRangeException(nameof(leader), leader.LeaseId, "LeaderKey.LeaseId must be positive.");
    }
}
