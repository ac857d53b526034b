using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>An item a queue consumer won: the item as read, and for a claim the claim key and its create revision.</summary>
internal sealed record TakenItem(KeyValue Item, EtcdBytes ClaimKey, long ClaimRevision);

/// <summary>
/// What <see cref="DistributedQueue"/> and <see cref="DistributedPriorityQueue"/> share: the key layout, the
/// transactional take (exactly-once delete or at-least-once claim) and the watch-based wait. Layout under
/// <c>name + "/"</c>: items at <c>items/&lt;suffix&gt;</c>, claims at <c>claims/&lt;the item's suffix&gt;</c>. The two
/// queues differ only in the bucket a key starts with: the priority queue's keys start with the priority, so key
/// order is priority order, then enqueue-time order.
/// </summary>
internal sealed class QueueCore
{
    /// <summary>How many of the oldest items one round reads and tries (in order, in one nested transaction).</summary>
    /// <remarks>
    /// etcd (3.4, api/v3rpc/key.go checkTxnRequest) counts a transaction's operations per level: max(compares, then
    /// ops, else ops) must not exceed --max-txn-ops, and a nested transaction gets what its parents left. Each level of
    /// the take chain uses 2, so a chain of n needs --max-txn-ops of at least 2n: 32 for 16, well within the default 128.
    /// A server configured lower rejects the chain before applying anything; the take then halves its batch.
    /// </remarks>
    internal const int BatchSize = 16;

    /// <summary>How long the best-effort cleanup of a claim whose outcome is unknown may take.</summary>
    private static readonly TimeSpan s_cleanupTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How many candidates a take chain holds: <see cref="BatchSize"/> until the server rejects that many operations.</summary>
    private int _chainLength = BatchSize;

    public QueueCore(IEtcdKeyspace keyspace, EtcdBytes name)
    {
        Keyspace = keyspace;
        Name = name;
        Root = EtcdBytes.Concat(name, "/");
        ItemsPrefix = EtcdBytes.Concat(Root, "items/");
        ClaimsPrefix = EtcdBytes.Concat(Root, "claims/");
    }

    public IEtcdKeyspace Keyspace { get; }

    public EtcdBytes Name { get; }

    /// <summary><c>name/</c>: items and claims both live below it, so one watch sees both.</summary>
    public EtcdBytes Root { get; }

    public EtcdBytes ItemsPrefix { get; }

    public EtcdBytes ClaimsPrefix { get; }

    /// <summary>
    /// Puts <paramref name="value"/> at <c>items/ + bucket + time-ordered unique suffix</c> if that key does not exist
    /// yet (a suffix collision picks a new suffix instead of overwriting an item). Returns the item key.
    /// </summary>
    public async Task<EtcdBytes> EnqueueAsync(string bucket, EtcdBytes value, CancellationToken cancellationToken)
    {
        while (true)
        {
            EtcdBytes key = EtcdBytes.Concat(ItemsPrefix, bucket + NextSuffix());
            var result = await Keyspace.Txn()
                .If(Compare.CreateRevision(key).Equal(0))
                .Then(TxnOp.Put(key, value))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
            if (result.Succeeded) return key;
        }
    }

    /// <summary>
    /// A suffix whose byte order is enqueue-time order: 16 hex digits of UTC ticks, strictly increasing within this
    /// process (so one producer's items keep its order even when the clock stalls or steps back), then random digits
    /// against collisions between processes. Ordering by key lets a consumer read just the head of the queue; ordering
    /// by create revision would make etcd read and sort every item on every dequeue.
    /// </summary>
    internal static string NextSuffix()
    {
        long ticks;
        while (true)
        {
            long last = Volatile.Read(ref s_lastTicks);
            ticks = Math.Max(DateTime.UtcNow.Ticks, last + 1);
            if (Interlocked.CompareExchange(ref s_lastTicks, ticks, last) == last) break;
        }
        return ticks.ToString("x16", CultureInfo.InvariantCulture) + "-" + Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
    }

    private static long s_lastTicks;

    /// <summary>The number of items (claimed or not).</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        var result = await Keyspace.GetAsync(KeySet.Prefix(ItemsPrefix), new GetOptions { CountOnly = true }, cancellationToken).ConfigureAwait(false);
        return result.Count;
    }

    public EtcdBytes ClaimKeyOf(EtcdBytes itemKey) => EtcdBytes.Concat(ClaimsPrefix, itemKey.Memory[ItemsPrefix.Length..]);

    /// <summary>
    /// Takes the first unclaimed item in delivery order: deletes it (<paramref name="claimLease"/> 0) or claims it with a
    /// key on that lease. With <paramref name="wait"/> it waits (by watch) while nothing is available; otherwise it
    /// returns null then.
    /// </summary>
    public async Task<TakenItem?> TakeAsync(long claimLease, bool wait, CancellationToken cancellationToken)
    {
        ChangeSignal? changes = null; // a watch from now, started the first time nothing is available
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var candidates = await ReadCandidatesAsync(cancellationToken).ConfigureAwait(false);
                if (candidates.Count > 0)
                {
                    int chainLength = Volatile.Read(ref _chainLength);
                    if (candidates.Count > chainLength) candidates.RemoveRange(chainLength, candidates.Count - chainLength);
                    TakenItem? taken;
                    try
                    {
                        taken = await TryTakeFirstAsync(candidates, claimLease).ConfigureAwait(false);
                    }
                    catch (EtcdInvalidArgumentException error) when (chainLength > 1 && IsTooManyOps(error))
                    {
                        // The server's --max-txn-ops is below what the chain needs. Such a request is rejected before it is
                        // applied, so nothing was taken: shorten the chain for good and read again.
                        Interlocked.CompareExchange(ref _chainLength, chainLength / 2, chainLength);
                        continue;
                    }
                    if (taken is not null) return taken;
                    // Every candidate went to another consumer since the read: read again, there may be more.
                    continue;
                }
                if (!wait) return null;
                if (changes is null)
                {
                    // Watch from now, then read again: a change before the watch started shows in that read, a later one
                    // wakes the watch. (A watch from the read's revision would be served by etcd's 100 ms catch-up loop.)
                    changes = await ChangeSignal.StartAsync(this, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!await changes.WaitAsync(cancellationToken).ConfigureAwait(false))
                {
                    // The watch ended (its resume point was compacted after a reconnect): start a new one and read again.
                    await changes.DisposeAsync().ConfigureAwait(false);
                    changes = null;
                }
            }
        }
        finally
        {
            if (changes is not null) await changes.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool IsTooManyOps(EtcdException error)
        => (error.ServerMessage ?? error.Message).Contains("too many operations in txn request", StringComparison.Ordinal);

    /// <summary>Claims the first unclaimed item for <paramref name="session"/>, waiting while there is none.</summary>
    public async Task<QueueItem> ClaimAsync(Session session, CancellationToken cancellationToken)
        => (await ClaimCoreAsync(session, wait: true, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Claims the first unclaimed item for <paramref name="session"/>; null when there is none.</summary>
    public Task<QueueItem?> TryClaimAsync(Session session, CancellationToken cancellationToken)
        => ClaimCoreAsync(session, wait: false, cancellationToken);

    private async Task<QueueItem?> ClaimCoreAsync(Session session, bool wait, CancellationToken cancellationToken)
    {
        var taken = await TakeAsync(session.LeaseId, wait, cancellationToken).ConfigureAwait(false);
        return taken is null ? null : new QueueItem(Keyspace, taken.Item, taken.ClaimKey, taken.ClaimRevision, session.Lost);
    }

    /// <summary>
    /// One transaction that takes the first candidate still in place and unclaimed: candidate i is tried in the Else
    /// branch of candidate i-1, so the server walks the batch in order and applies exactly one take (or none).
    /// </summary>
    /// <remarks>
    /// Sent without the caller's token on purpose: once the delete may have reached the server, abandoning the answer
    /// would lose an item nobody receives. The client's request timeout still bounds the call.
    /// </remarks>
    private async Task<TakenItem?> TryTakeFirstAsync(List<KeyValue> candidates, long claimLease)
    {
        // A claim's value is a token of this attempt, so a claim whose outcome is unknown can be taken back without
        // touching a claim another consumer made since.
        EtcdBytes token = claimLease == 0 ? EtcdBytes.Empty : Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
        Transaction? chain = null;
        for (int i = candidates.Count - 1; i >= 0; i--)
        {
            var item = candidates[i];
            var claim = ClaimKeyOf(item.Key);
            var step = new Transaction()
                .If(Compare.ModRevision(item.Key).Equal(item.ModRevision), Compare.CreateRevision(claim).Equal(0))
                .Then(claimLease == 0 ? TxnOp.Delete(item.Key) : TxnOp.Put(claim, token, new PutOptions { Lease = claimLease }));
            if (chain is not null) step.Else(TxnOp.Txn(chain));
            chain = step;
        }
        TxnResponse result;
        try
        {
            result = await Keyspace.TxnAsync(chain!, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (claimLease != 0 && !(error is EtcdInvalidArgumentException invalid && IsTooManyOps(invalid)))
        {
            // The claim may have applied without us hearing of it; left alone it would hide the item until the
            // session ends. (A too-many-operations rejection is never applied: nothing to undo.)
            await UnclaimAsync(candidates, token).ConfigureAwait(false);
            throw;
        }
        var level = result;
        for (int i = 0; i < candidates.Count; i++)
        {
            if (level.Succeeded)
            {
                var item = candidates[i];
                return claimLease == 0
                    ? new TakenItem(item, default, 0)
                    : new TakenItem(item, ClaimKeyOf(item.Key), result.Header.Revision);
            }
            if (level.Responses.Count == 0) break;
            level = level.Response<TxnResponse>(0);
        }
        return null;
    }

    /// <summary>
    /// Deletes whichever candidate's claim holds <paramref name="token"/> (at most one can), in one transaction of one
    /// guarded delete per candidate. Best effort and bounded: if it fails too, the claim ends with its session.
    /// </summary>
    private async Task UnclaimAsync(List<KeyValue> candidates, EtcdBytes token)
    {
        var undo = new Transaction();
        foreach (var item in candidates)
        {
            var claim = ClaimKeyOf(item.Key);
            undo.Then(TxnOp.Txn(new Transaction().If(Compare.Value(claim).Equal(token)).Then(TxnOp.Delete(claim))));
        }
        try
        {
            using var timeout = new CancellationTokenSource(s_cleanupTimeout);
            await Keyspace.TxnAsync(undo, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or ObjectDisposedException or OperationCanceledException)
        {
            // The claim (if it was made) goes with the session's lease.
        }
    }

    /// <summary>
    /// Up to <see cref="BatchSize"/> unclaimed items in delivery order (key order: priority bucket, then enqueue time).
    /// Reads only the head of the queue, whatever its length.
    /// </summary>
    private async Task<List<KeyValue>> ReadCandidatesAsync(CancellationToken cancellationToken)
    {
        var first = await Keyspace.Txn()
            .Then(TxnOp.Get(KeySet.Prefix(ItemsPrefix), new GetOptions { Limit = BatchSize }),
                  TxnOp.Get(KeySet.Prefix(ClaimsPrefix), new GetOptions { KeysOnly = true }))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        var items = first.Response<GetResponse>(0);
        var claimed = ClaimedSuffixes(first.Response<GetResponse>(1));
        var candidates = Unclaimed(items.Kvs, claimed);
        if (candidates.Count == 0 && items.More && claimed.Count > 0)
        {
            // The whole batch is claimed: among the first BatchSize + claims items at most "claims" are claimed.
            var deeper = await Keyspace.GetAsync(KeySet.Prefix(ItemsPrefix), new GetOptions { Limit = BatchSize + claimed.Count }, cancellationToken).ConfigureAwait(false);
            candidates = Unclaimed(deeper.Kvs, claimed);
        }
        return candidates;
    }

    private HashSet<EtcdBytes> ClaimedSuffixes(GetResponse claims)
    {
        var set = new HashSet<EtcdBytes>();
        foreach (var kv in claims.Kvs) set.Add(kv.Key.Memory[ClaimsPrefix.Length..]);
        return set;
    }

    private List<KeyValue> Unclaimed(IReadOnlyList<KeyValue> items, HashSet<EtcdBytes> claimed)
    {
        var result = new List<KeyValue>(Math.Min(items.Count, BatchSize));
        foreach (var kv in items)
        {
            if (result.Count == BatchSize) break;
            if (!claimed.Contains(kv.Key.Memory[ItemsPrefix.Length..])) result.Add(kv);
        }
        return result;
    }

    /// <summary>
    /// Signals anything that may make an item available: a new item, or a claim going away (released, acknowledged or
    /// expired with its session). Item deletes and new claims are ignored. Watches the queue from the moment it starts.
    /// </summary>
    private sealed class ChangeSignal : IAsyncDisposable
    {
        private readonly SemaphoreSlim _changed = new(0);
        private WatchSubscription _watch = null!;

        public static async Task<ChangeSignal> StartAsync(QueueCore queue, CancellationToken cancellationToken)
        {
            var signal = new ChangeSignal();
            signal._watch = queue.Keyspace.Watch(KeySet.Prefix(queue.Root), e =>
            {
                bool relevant = (e.Type == WatchEventType.Put && e.Kv.Key.StartsWith(queue.ItemsPrefix))
                             || (e.Type == WatchEventType.Delete && e.Kv.Key.StartsWith(queue.ClaimsPrefix));
                // One pending wake-up is enough: the consumer reads everything there is when it wakes.
                if (relevant && signal._changed.CurrentCount == 0) signal._changed.Release();
            });
            try
            {
                await Task.WhenAny(signal._watch.Started, signal._watch.Completion).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (signal._watch.Completion.IsCompleted) await signal._watch.Completion.ConfigureAwait(false);
            }
            catch
            {
                await signal.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return signal;
        }

        /// <summary>True after a change; false when the watch ended because its history was compacted (start a new one).</summary>
        public async Task<bool> WaitAsync(CancellationToken cancellationToken)
        {
            using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var changed = _changed.WaitAsync(stopWaiting.Token);
            var first = await Task.WhenAny(changed, _watch.Completion).ConfigureAwait(false);
            if (first == changed)
            {
                try
                {
                    await changed.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested(); // report the caller's token, not the linked one
                    throw;
                }
                return true;
            }
            // The watch ended first: withdraw the semaphore wait so it does not linger on the caller's token.
            stopWaiting.Cancel();
            try
            {
                await changed.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected: withdrawn above.
            }
            try
            {
                await _watch.Completion.ConfigureAwait(false);
            }
            catch (EtcdCompactedException)
            {
                return false;
            }
            throw new InvalidOperationException("The queue's watch ended without a reason.");
        }

        public async ValueTask DisposeAsync()
        {
            await _watch.DisposeAsync().ConfigureAwait(false);
            _changed.Dispose();
        }
    }
}
