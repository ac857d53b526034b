namespace Etcd.Concurrency;

/// <summary>
/// Software transactional memory over etcd keys: run a function that reads and writes keys through a
/// <see cref="StmContext"/>, and commit its writes atomically if what it read is still current, rerunning it on a
/// conflict. The isolation levels and the commit protocol follow etcd's Go client <c>concurrency.STM</c>.
/// </summary>
/// <remarks>
/// <para>The function may run several times (once per attempt), so it must be free of side effects other than through
/// the context. An exception it throws propagates unchanged and nothing is committed (except in an attempt whose
/// snapshot revision was compacted under it: such an attempt is void, and it is rerun whatever it threw). After
/// <see cref="StmOptions.MaxAttempts"/> conflicting attempts <see cref="EtcdStmConflictException"/> is thrown.</para>
/// <para>Every attempt ends in one etcd transaction, even when the function only read: for the checked levels the
/// commit then validates that the reads were still current (a read-only transaction gets a consistent view, and a
/// <see cref="StmIsolation.RepeatableReads"/> one a view of keys that held together at the commit revision). Go does
/// the same. On a conflict the transaction's Else branch reads the keys read, so the next attempt starts with them
/// (and its snapshot) without another round trip.</para>
/// <para>If the commit fails with an error after it was sent (e.g. <see cref="EtcdUnavailableException"/>), whether
/// it was applied is unknown; the error propagates and the transaction is not rerun.</para>
/// <para>etcd limits the operations and compares of one transaction (<c>--max-txn-ops</c>, 128 by default): a
/// transaction that reads or writes more keys than that fails with the server's error.</para>
/// </remarks>
/// <example><code>
/// var result = await Stm.RunAsync(client, async (stm, ct) =>
/// {
///     var from = long.Parse(await stm.GetStringAsync("accounts/a", ct) ?? "0");
///     var to = long.Parse(await stm.GetStringAsync("accounts/b", ct) ?? "0");
///     stm.Put("accounts/a", (from - 10).ToString());
///     stm.Put("accounts/b", (to + 10).ToString());
///     return from - 10;
/// });
/// </code></example>
public static class Stm
{
    /// <summary>Runs <paramref name="apply"/> as a transaction and commits its writes; returns the function's value, the commit revision and the attempts used.</summary>
    public static Task<StmResult<T>> RunAsync<T>(
        IEtcdKeyspace keyspace,
        Func<StmContext, CancellationToken, ValueTask<T>> apply,
        StmOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        ArgumentNullException.ThrowIfNull(apply);
        return RunCoreAsync(keyspace, apply, options ?? StmOptions.Default, cancellationToken);
    }

    /// <summary>Runs <paramref name="apply"/> as a transaction and commits its writes; returns the commit revision and the attempts used.</summary>
    public static Task<StmResult> RunAsync(
        IEtcdKeyspace keyspace,
        Func<StmContext, CancellationToken, ValueTask> apply,
        StmOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        ArgumentNullException.ThrowIfNull(apply);
        return RunWithoutValueAsync(keyspace, apply, options ?? StmOptions.Default, cancellationToken);
    }

    private static async Task<StmResult> RunWithoutValueAsync(
        IEtcdKeyspace keyspace,
        Func<StmContext, CancellationToken, ValueTask> apply,
        StmOptions options,
        CancellationToken cancellationToken)
    {
        var result = await RunCoreAsync<bool>(keyspace, async (stm, ct) =>
        {
            await apply(stm, ct).ConfigureAwait(false);
            return true;
        }, options, cancellationToken).ConfigureAwait(false);
        return new StmResult(result.Revision, result.Attempts);
    }

    private static async Task<StmResult<T>> RunCoreAsync<T>(
        IEtcdKeyspace keyspace,
        Func<StmContext, CancellationToken, ValueTask<T>> apply,
        StmOptions options,
        CancellationToken cancellationToken)
    {
        StmPrefetch? carried = null;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prefetch = await PrefetchAsync(keyspace, options.Prefetch, carried, cancellationToken).ConfigureAwait(false);
            carried = null;

            var context = new StmContext(keyspace, options.Isolation, prefetch) { Attempt = attempt };
            T value;
            try
            {
                value = await apply(context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (context.Aborted && !cancellationToken.IsCancellationRequested)
            {
                // The attempt read from a compacted snapshot: whatever it did next is moot, start again afresh.
                if (attempt >= options.MaxAttempts) throw new EtcdStmConflictException(attempt, options.Isolation);
                continue;
            }
            finally
            {
                context.Complete();
            }

            if (!context.Aborted)
            {
                var (transaction, elseKeys) = context.BuildCommit();
                var response = await keyspace.TxnAsync(transaction, cancellationToken).ConfigureAwait(false);
                if (response.Succeeded) return new StmResult<T>(value, response.Header.Revision, attempt);
                carried = CarryOver(response, elseKeys);
            }

            if (attempt >= options.MaxAttempts) throw new EtcdStmConflictException(attempt, options.Isolation);
            await ConflictBackoff.DelayAsync(attempt - 1, options.MaxBackoff, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The pairs the failed commit's Else branch read, at the commit's revision, for the next attempt.</summary>
    private static StmPrefetch CarryOver(TxnResponse response, List<EtcdBytes> keys)
    {
        var pairs = new Dictionary<EtcdBytes, KeyValue?>(keys.Count);
        for (var i = 0; i < keys.Count; i++) pairs[keys[i]] = response.Response<GetResponse>(i).First;
        return new StmPrefetch(response.Header.Revision, pairs);
    }

    /// <summary>
    /// Reads the prefetch keys not already carried over from the previous attempt, in one transaction at the carried
    /// revision (or the newest one) so every pre-read pair belongs to one snapshot.
    /// </summary>
    private static async Task<StmPrefetch?> PrefetchAsync(IEtcdKeyspace keyspace, IReadOnlyList<EtcdBytes> keys, StmPrefetch? carried, CancellationToken cancellationToken)
    {
        var missing = keys.Where(k => carried is null || !carried.Pairs.ContainsKey(k)).ToList();
        if (missing.Count == 0) return carried;

        var options = carried is null ? null : new GetOptions { Revision = carried.Revision };
        TxnResponse response;
        try
        {
            response = await keyspace.TxnAsync(new Transaction().Then(missing.Select(k => TxnOp.Get(k, options))), cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdCompactedException) when (carried is not null)
        {
            return await PrefetchAsync(keyspace, keys, null, cancellationToken).ConfigureAwait(false);
        }
        var pairs = carried is null ? new Dictionary<EtcdBytes, KeyValue?>(missing.Count) : new Dictionary<EtcdBytes, KeyValue?>(carried.Pairs);
        for (var i = 0; i < missing.Count; i++) pairs[missing[i]] = response.Response<GetResponse>(i).First;
        return new StmPrefetch(carried?.Revision ?? response.Header.Revision, pairs);
    }
}
