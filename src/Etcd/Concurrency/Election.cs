using System.Runtime.CompilerServices;

namespace Etcd.Concurrency;

/// <summary>
/// Leader election among sessions: each candidate puts the key <c>name/&lt;hex lease id&gt;</c> with its session's lease,
/// and the first-created key leads. The layout and protocol are those of etcd's Go client (<c>concurrency.NewElection</c>)
/// and <c>etcdctl elect</c>, so candidates and observers of either kind mix. Works inside a namespace when the session
/// was created over one. An instance runs one campaign at a time (a second concurrent <see cref="CampaignAsync(EtcdBytes, CancellationToken)"/>
/// is <see cref="InvalidOperationException"/>). Several instances over the same session and name share one candidate key,
/// so they must not campaign concurrently either (not enforced): cancelling one would withdraw the other's candidacy.
/// </summary>
/// <example><code>
/// await using var session = await Session.CreateAsync(client);
/// var election = new Election(session, "jobs/leader");
/// await using var leadership = await election.CampaignAsync("node-1");
/// // lead until leadership.Lost fires
/// </code></example>
public sealed class Election
{
    private static readonly TimeSpan s_cleanupTimeout = TimeSpan.FromSeconds(5);

    private static readonly GetOptions s_firstCreated = new()
    {
        Limit = 1,
        SortOrder = SortOrder.Ascending,
        SortTarget = SortTarget.CreateRevision,
    };

    private readonly EtcdBytes _prefix;
    private int _campaigning;

    /// <summary>Creates the election <paramref name="name"/> for candidates of <paramref name="session"/>.</summary>
    public Election(Session session, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("An election name must not be empty.", nameof(name));
        Session = session;
        // Copied: the caller's array may change later, the election must not.
        Name = EtcdBytes.CopyFrom(name.Span);
        _prefix = EtcdBytes.Concat(Name, "/"u8.ToArray());
        Key = KeyWaits.LeaseKey(_prefix, session.LeaseId);
    }

    /// <summary>The session whose lease the candidate key is attached to.</summary>
    public Session Session { get; }

    /// <summary>The name of the election (its candidate keys live under <c>name/</c>).</summary>
    public EtcdBytes Name { get; }

    /// <summary>This session's candidate key: <c>name/&lt;lowercase hex lease id&gt;</c>.</summary>
    public EtcdBytes Key { get; }

    /// <summary>
    /// Campaigns with <paramref name="value"/> and completes once this session leads. If this session already has a key
    /// in the election (a resumed session, <see cref="SessionOptions.LeaseId"/>), that candidacy is resumed with its
    /// original revision and, when the value differs, <paramref name="value"/> is proclaimed (as etcd's Go client does).
    /// If the campaign fails or is cancelled while waiting, the candidate key is deleted (also a resumed one: a key
    /// left behind would be kept alive by this session and block every later candidate).
    /// </summary>
    /// <exception cref="EtcdNotLeaderException">The candidate key was deleted by someone else while waiting.</exception>
    /// <exception cref="EtcdLeaseLostException">The session's lease was lost (also when the server no longer knows it).</exception>
    /// <exception cref="InvalidOperationException">A campaign of this instance is already running.</exception>
    public Task<Leadership> CampaignAsync(EtcdBytes value, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        return CampaignCoreAsync(value, cancellationToken);
    }

    /// <summary>
    /// Like <see cref="CampaignAsync(EtcdBytes, CancellationToken)"/>, but gives up after <paramref name="timeout"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/> for never) with a <see cref="TimeoutException"/>, withdrawing the candidacy.
    /// </summary>
    public Task<Leadership> CampaignAsync(EtcdBytes value, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The campaign timeout must be positive (or Timeout.InfiniteTimeSpan).");
        return CampaignWithTimeoutAsync(value, timeout, cancellationToken);
    }

    /// <summary>The current leader (the first-created candidate key), or null when there is none.</summary>
    public async Task<LeaderInfo?> GetLeaderAsync(CancellationToken cancellationToken = default)
    {
        var first = await Session.Keyspace.GetAsync(KeySet.Prefix(_prefix), s_firstCreated, cancellationToken).ConfigureAwait(false);
        return first.First is { } kv ? LeaderInfo.From(kv) : null;
    }

    /// <summary>
    /// Yields the current leader (if any), then every change: each proclaim of the leader, and each new leader, in
    /// revision order and never twice. While there is no leader it waits on a watch (no polling). Intermediate states
    /// may be skipped only when the watch history was compacted; the latest state is always delivered. Like the watches
    /// it uses, it rides out an unreachable server: its reads are retried (50 ms doubling to 1 s) until cancelled, or
    /// until the session is lost (then the read's transient <see cref="EtcdException"/> ends the enumeration).
    /// </summary>
    public async IAsyncEnumerable<LeaderInfo> ObserveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var keyspace = Session.Keyspace;
        LeaderInfo? last = null;
        while (true)
        {
            var (leader, fromRevision) = await WaitForLeaderAsync(cancellationToken).ConfigureAwait(false);
            if (IsNewer(leader, last))
            {
                last = leader;
                yield return leader;
            }

            // Follow the leader's key until its delete (our watches resume across reconnects on their own).
            var options = new WatchOptions { StartRevision = fromRevision };
            await using var events = keyspace.WatchAsync(leader.Key, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                WatchEvent e;
                try
                {
                    if (!await events.MoveNextAsync().ConfigureAwait(false)) break;
                    e = events.Current;
                }
                catch (EtcdCompactedException)
                {
                    break; // Read the leader again from now; IsNewer drops what was already delivered.
                }
                if (e.Type == WatchEventType.Delete || e.Kv.CreateRevision != leader.Revision) break;
                var update = LeaderInfo.From(e.Kv);
                if (IsNewer(update, last))
                {
                    last = update;
                    yield return update;
                }
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"election {Name} (candidate key {Key})";

    private static bool IsNewer(LeaderInfo candidate, LeaderInfo? last) =>
        last is null
        || candidate.Key != last.Key
        || candidate.Revision != last.Revision
        || candidate.ModRevision > last.ModRevision;

    // The leader now, and the revision to follow it from; waits on a watch of the prefix while there is none.
    private async Task<(LeaderInfo Leader, long FromRevision)> WaitForLeaderAsync(CancellationToken cancellationToken)
    {
        var keyspace = Session.Keyspace;
        while (true)
        {
            // Retried: a read failing once (after a leader change, a compaction or a reconnect) must not end the observation.
            var now = await TransientRetry.ReadAsync(
                token => keyspace.GetAsync(KeySet.Prefix(_prefix), s_firstCreated, token), Session.Lost, cancellationToken).ConfigureAwait(false);
            if (now.First is { } kv) return (LeaderInfo.From(kv), now.Header.Revision + 1);
            try
            {
                // The prefix was empty at that revision, so the first put after it creates the first-created key (as
                // etcd's Go client Observe does).
                var options = new WatchOptions { StartRevision = now.Header.Revision + 1, NoDelete = true };
                await foreach (var e in keyspace.WatchAsync(KeySet.Prefix(_prefix), options, cancellationToken).ConfigureAwait(false))
                {
                    return (LeaderInfo.From(e.Kv), e.Revision + 1);
                }
            }
            catch (EtcdCompactedException)
            {
                // Read again.
            }
        }
    }

    private async Task<Leadership> CampaignWithTimeoutAsync(EtcdBytes value, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await CampaignCoreAsync(value, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(error.Message, error, cancellationToken);
        }
        catch (OperationCanceledException error) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"Not elected in {Name} within {timeout.TotalSeconds:0.###} s; the candidacy was withdrawn.", error);
        }
    }

    private async Task<Leadership> CampaignCoreAsync(EtcdBytes value, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Two campaigns of one instance share one key: a cancelled second one would withdraw the first.
        if (Interlocked.CompareExchange(ref _campaigning, 1, 0) != 0)
            throw new InvalidOperationException($"A campaign in election {Name} is already running on this Election instance; wait for it to end first.");
        var lease = Session.Lease;
        try
        {
            if (lease.IsLost)
                throw new EtcdLeaseLostException($"Cannot campaign in election {Name}: the session's lease {lease.Id:x} is lost.", lease.Id, lease.LostReason);
            return await CampaignOnceAsync(value, lease, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdLeaseNotFoundException error) when (error.LeaseId == lease.Id || error.LeaseId == 0)
        {
            // The lease was revoked or expired elsewhere and the session has not noticed yet: that is a lost lease.
            throw new EtcdLeaseLostException($"Cannot campaign in election {Name}: the server no longer knows the session's lease {lease.Id:x}.", lease.Id, error);
        }
        finally
        {
            Volatile.Write(ref _campaigning, 0);
        }
    }

    private async Task<Leadership> CampaignOnceAsync(EtcdBytes value, Lease lease, CancellationToken cancellationToken)
    {
        var keyspace = Session.Keyspace;

        TxnResponse txn;
        try
        {
            txn = await keyspace.Txn()
                .If(Compare.KeyMissing(Key))
                .Then(TxnOp.Put(Key, value, new PutOptions { Lease = lease.Id }))
                .Else(TxnOp.Get(Key))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (OutcomeUnknown(error))
        {
            // The put may have been applied without us learning its revision: withdraw whatever key this session has.
            await DeleteOwnKeyAsync().ConfigureAwait(false);
            throw;
        }

        long revision;
        long modRevision;
        EtcdBytes current;
        bool proclaim = false;
        if (txn.Succeeded)
        {
            revision = modRevision = txn.Header.Revision;
            current = value;
        }
        else
        {
            var existing = txn.Response<GetResponse>(0).First
                ?? throw new EtcdException(EtcdStatusCode.Internal, $"Election key {Key} existed for the compare but not for the read in the same transaction.");
            revision = existing.CreateRevision;
            modRevision = existing.ModRevision;
            current = existing.Value;
            // Go's client proclaims a differing value; we also re-attach a key that lost its lease to ours.
            proclaim = existing.Value != value || existing.Lease != lease.Id;
        }

        var leadership = new Leadership(this, revision, current, modRevision, txn.Header.Revision + 1);
        try
        {
            if (proclaim) await leadership.ProclaimCoreAsync(value, cancellationToken).ConfigureAwait(false);
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, leadership.Lost))
            {
                try
                {
                    await KeyWaits.WaitForOlderDeletesAsync(keyspace, _prefix, revision - 1, wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException error) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(error.Message, error, cancellationToken);
                }
                catch (OperationCanceledException) when (leadership.IsLost)
                {
                    throw leadership.LostException();
                }
            }
            // Every older candidate is gone; make sure ours was not deleted meanwhile.
            var mine = await keyspace.GetAsync(Key, new GetOptions { KeysOnly = true }, cancellationToken).ConfigureAwait(false);
            if (mine.First?.CreateRevision != revision)
            {
                leadership.MarkLost(new EtcdNotLeaderException($"Election candidate key {Key} (revision {revision}) was deleted while waiting.", Key));
            }
            if (leadership.IsLost) throw leadership.LostException();
            return leadership;
        }
        catch
        {
            // Bounded (5 s) guarded delete of our key, never throws: a failed campaign leaves no candidate behind.
            await leadership.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static bool OutcomeUnknown(Exception error) => error switch
    {
        OperationCanceledException => true,
        EtcdUnavailableException unavailable => unavailable.RequestMayHaveBeenSent,
        EtcdException etcd => etcd.StatusCode is EtcdStatusCode.DeadlineExceeded or EtcdStatusCode.Cancelled
            or EtcdStatusCode.Unknown or EtcdStatusCode.Internal,
        _ => false,
    };

    private async Task DeleteOwnKeyAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(s_cleanupTimeout);
            await Session.Keyspace.Txn()
                .If(Compare.Lease(Key).Equal(Session.LeaseId))
                .Then(TxnOp.Delete(Key))
                .CommitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable: the key goes when the session's lease does.
        }
    }
}
