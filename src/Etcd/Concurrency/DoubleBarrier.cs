using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>
/// A double barrier: <see cref="EnterAsync"/> returns once <see cref="Count"/> participants have entered, and
/// <see cref="LeaveAsync"/> returns once all of them have left. Each participant is a key
/// <c>name/waiters/&lt;unique&gt;</c> on its session's lease (a crashed participant's key vanishes with the lease);
/// the participant that completes the count puts <c>name/ready</c>, which releases the others. This is the protocol of
/// etcd's Go contrib/recipes double barrier. One instance is one participant; do not call it concurrently.
/// </summary>
public sealed class DoubleBarrier
{
    private readonly Session _session;
    private readonly IEtcdKeyspace _keyspace;
    private readonly EtcdBytes _waiters;
    private readonly EtcdBytes _ready;
    private EtcdBytes _myKey;
    private bool _entered;

    /// <summary>A participant in the double barrier <paramref name="name"/> for <paramref name="count"/> participants, in <paramref name="session"/>'s keyspace.</summary>
    public DoubleBarrier(Session session, EtcdBytes name, int count)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A barrier name must not be empty.", nameof(name));
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "A double barrier needs at least one participant.");
        _session = session;
        _keyspace = session.Keyspace;
        Name = name;
        Count = count;
        _waiters = EtcdBytes.Concat(name, "/waiters/");
        _ready = EtcdBytes.Concat(name, "/ready");
    }

    /// <summary>The barrier's name.</summary>
    public EtcdBytes Name { get; }

    /// <summary>The number of participants the barrier waits for.</summary>
    public int Count { get; }

    /// <summary>
    /// Enters the barrier and returns once <see cref="Count"/> participants have entered. Throws
    /// <see cref="EtcdBarrierFullException"/> when the barrier already had <see cref="Count"/> participants, and
    /// <see cref="EtcdLeaseLostException"/> when the session ends while waiting. A failed or cancelled join or wait
    /// withdraws this participant (best effort; its key goes with the session at the latest). If the put that opens
    /// the barrier fails with an unknown outcome, the others may have passed already: the error is thrown and this
    /// participant stays entered, so call <see cref="LeaveAsync"/> (or end the session).
    /// </summary>
    public async Task EnterAsync(CancellationToken cancellationToken = default)
    {
        if (_entered) throw new InvalidOperationException("This participant has already entered the barrier; leave it first.");
        EtcdBytes myKey = default;
        long participants;
        long joinedRevision;
        try
        {
            TxnResponse joined;
            do
            {
                // The key is chosen before sending, so a join whose answer is lost (timeout, cancellation) can still be
                // withdrawn: it is unique, so deleting it never removes another participant.
                myKey = EtcdBytes.Concat(_waiters, Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture));
                // Joining and counting in one transaction: the count includes exactly the participants before us and us.
                joined = await _keyspace.Txn()
                    .If(Compare.CreateRevision(myKey).Equal(0))
                    .Then(
                        TxnOp.Put(myKey, EtcdBytes.Empty, new PutOptions { Lease = _session.LeaseId }),
                        TxnOp.Get(KeySet.Prefix(_waiters), new GetOptions { CountOnly = true }))
                    .CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            while (!joined.Succeeded);
            participants = joined.Response<GetResponse>(1).Count;
            joinedRevision = joined.Header.Revision;

            if (participants > Count)
            {
                throw new EtcdBarrierFullException(
                    $"Double barrier {Name} already has {Count} participants; this one ({participants}) withdrew.", Count, participants);
            }
            if (participants < Count)
            {
                await WaitForPutWhileSessionLivesAsync(_ready, joinedRevision + 1, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await WithdrawAsync(myKey).ConfigureAwait(false);
            throw;
        }

        _myKey = myKey;
        _entered = true;
        if (participants == Count)
        {
            // Not cancellable (the client's request timeout bounds it) and never withdrawn: once it may have applied,
            // the others may have passed, and withdrawing would leave them with one participant too few. On an error
            // its outcome is unknown; this participant then stays entered and the error is thrown.
            await _keyspace.PutAsync(_ready, EtcdBytes.Empty, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Leaves the barrier and returns once every participant of this round has left. The first-entered participant
    /// leaves last: it waits for the newest one's key to go, while every other participant deletes its key and waits
    /// for the first one's (so a crashed participant, whose key vanishes with its lease, does not block the others).
    /// </summary>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        if (!_entered) throw new InvalidOperationException("This participant has not entered the barrier.");
        long roundRevision = 0;
        while (true)
        {
            // Only keys created up to our first look belong to this round: a participant of the next round that
            // enters while we leave must not hold us (etcd's Go recipe re-reads every waiter).
            var options = new GetOptions
            {
                SortOrder = SortOrder.Ascending,
                SortTarget = SortTarget.CreateRevision,
                KeysOnly = true,
                MaxCreateRevision = roundRevision,
            };
            var waiters = await _keyspace.GetAsync(KeySet.Prefix(_waiters), options, cancellationToken).ConfigureAwait(false);
            if (roundRevision == 0) roundRevision = waiters.Header.Revision;
            var keys = waiters.Kvs;
            if (keys.Count == 0) break;

            int mine = -1;
            for (int i = 0; i < keys.Count; i++)
            {
                if (keys[i].Key == _myKey) mine = i;
            }
            if (mine < 0)
            {
                // We are out already (deleted our key, or it went with our lease): wait for the first one, who goes last.
                await KeyWaits.WaitForDeleteAsync(_keyspace, keys[0].Key, waiters.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
            }
            else if (keys.Count == 1)
            {
                await _keyspace.Txn().Then(TxnOp.Delete(_ready), TxnOp.Delete(_myKey)).CommitAsync(cancellationToken).ConfigureAwait(false);
                break;
            }
            else if (mine == 0)
            {
                await KeyWaits.WaitForDeleteAsync(_keyspace, keys[^1].Key, waiters.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _keyspace.DeleteAsync(_myKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                // From the read's revision, not the delete's: the first key may have gone in between (its session
                // ended), and a watch starting after that delete would wait forever.
                await KeyWaits.WaitForDeleteAsync(_keyspace, keys[0].Key, waiters.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
            }
        }
        _entered = false;
    }

    private async Task WaitForPutWhileSessionLivesAsync(EtcdBytes key, long fromRevision, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _session.Lost);
        try
        {
            await WaitForPutAsync(key, fromRevision, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _session.Lost.IsCancellationRequested)
        {
            throw new EtcdLeaseLostException($"The session of double barrier {Name} ended while waiting to enter.", _session.LeaseId);
        }
    }

    /// <summary>Waits for a put of <paramref name="key"/> at or after <paramref name="fromRevision"/>.</summary>
    private async Task WaitForPutAsync(EtcdBytes key, long fromRevision, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var options = new WatchOptions { StartRevision = fromRevision, NoDelete = true };
                await foreach (var e in _keyspace.WatchAsync(key, options, cancellationToken).ConfigureAwait(false))
                {
                    if (e.Type == WatchEventType.Put) return;
                }
            }
            catch (EtcdCompactedException)
            {
                // The history is gone: the key as it is now tells whether it was put since.
            }
            var now = await _keyspace.GetAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (now.First is { } kv && kv.ModRevision >= fromRevision) return;
            fromRevision = now.Header.Revision + 1;
        }
    }

    /// <summary>Deletes a participant key after a failed enter (best effort, bounded by the client's request timeout; the lease removes it otherwise).</summary>
    private async Task WithdrawAsync(EtcdBytes myKey)
    {
        if (myKey.IsEmpty) return;
        try
        {
            await _keyspace.DeleteAsync(myKey, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or ObjectDisposedException or OperationCanceledException)
        {
            // The key goes with the session's lease at the latest.
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"double barrier {Name} ({Count})";
}
