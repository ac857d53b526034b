using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>
/// The queue protocol shared by <see cref="EtcdLock"/> and <see cref="ReadWriteLock"/> (the layout of etcd's Go client
/// concurrency.Mutex and of <c>etcdctl lock</c>): a session puts its own key, attached to its lease, with one
/// transaction, and holds the lock once no key under the wait prefix is older than its own. Each waiter watches only
/// its predecessor, so a release wakes one waiter and the queue is FIFO.
/// </summary>
internal static class LockQueue
{
    /// <summary>How long a cleanup delete (after a timeout, cancellation, failure or try-lock miss) may take.</summary>
    internal static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(5);

    private static readonly GetOptions s_oldestFirst = new()
    {
        Limit = 1,
        SortOrder = SortOrder.Ascending,
        SortTarget = SortTarget.CreateRevision,
        KeysOnly = true,
    };

    private static readonly GetOptions s_keyOnly = new() { KeysOnly = true };

    /// <summary>What one acquisition is about.</summary>
    /// <param name="Session">The session whose lease the key is attached to.</param>
    /// <param name="Name">The lock's name (for the handle and for messages).</param>
    /// <param name="Description">How messages name the lock, e.g. <c>lock 'jobs'</c>.</param>
    /// <param name="Key">The session's key in the queue.</param>
    /// <param name="WaitPrefix">The prefix whose older keys must all be gone before the lock is held.</param>
    /// <param name="Slot">What the session may take at most once (see <see cref="SessionLockRegistry"/>).</param>
    internal sealed record Request(Session Session, EtcdBytes Name, string Description, EtcdBytes Key, EtcdBytes WaitPrefix, EtcdBytes Slot);

    /// <summary>Checks a timeout argument; <see cref="Timeout.InfiniteTimeSpan"/> means no limit (returned as null).</summary>
    internal static TimeSpan? ValidateTimeout(TimeSpan timeout, string paramName)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return null;
        if (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue)
            throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be zero or positive (at most Int32.MaxValue ms), or Timeout.InfiniteTimeSpan.");
        return timeout;
    }

    /// <summary>Waits for the lock (at most <paramref name="timeout"/>; null: no limit), throwing <see cref="TimeoutException"/> when it is not held in time.</summary>
    internal static async Task<LockHandle> LockAsync(Request request, TimeSpan? timeout, CancellationToken cancellationToken)
        => (await AcquireAsync(request, timeout, tryOnly: false, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// Acquires the lock. <paramref name="timeout"/> null waits without limit; zero makes one attempt without waiting.
    /// When the time runs out the result is null if <paramref name="tryOnly"/>, else a <see cref="TimeoutException"/>.
    /// Whatever does not end with the lock held removes the session's key (bounded, without the caller's token).
    /// </summary>
    internal static async Task<LockHandle?> AcquireAsync(Request request, TimeSpan? timeout, bool tryOnly, CancellationToken cancellationToken)
    {
        var session = request.Session;
        var keyspace = session.Keyspace;
        cancellationToken.ThrowIfCancellationRequested();
        if (session.Lease.IsLost) throw SessionLost(request, null);

        var registry = SessionLockRegistry.For(session);
        if (!registry.TryEnter(request.Slot))
        {
            throw new InvalidOperationException(
                $"Session {LeaseHex(session)} already holds or waits for {request.Description}; a session holds a lock at most once; use another Session.");
        }

        bool held = false;
        bool mayHaveCreated = false; // the key may exist because of this attempt (then it must not outlive it)
        long myRevision = 0;         // the key's create revision, 0 while unknown
        bool noWait = timeout == TimeSpan.Zero;
        using var timeoutCts = timeout is { } t && t > TimeSpan.Zero ? new CancellationTokenSource(t) : null;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lost, timeoutCts?.Token ?? CancellationToken.None);
        var token = linked.Token;
        try
        {
            GetResponse owner;
            while (true)
            {
                var txn = keyspace.Txn()
                    .If(Compare.CreateRevision(request.Key).Equal(0))
                    .Then(
                        TxnOp.Put(request.Key, EtcdBytes.Empty, new PutOptions { Lease = session.LeaseId }),
                        TxnOp.Get(KeySet.Prefix(request.WaitPrefix), s_oldestFirst))
                    .Else(TxnOp.Get(request.Key, s_keyOnly));
                mayHaveCreated = true;
                var created = await txn.CommitAsync(token).ConfigureAwait(false);
                if (created.Succeeded)
                {
                    myRevision = created.Header.Revision;
                    owner = created.Response<GetResponse>(1);
                    break;
                }

                var existing = created.Response<GetResponse>(0).First;
                if (existing is not null && registry.TryTakeOrphan(request.Key, existing.CreateRevision))
                {
                    // Our own key, left behind by a cleanup that could not reach the server: remove it and queue anew.
                    myRevision = existing.CreateRevision;
                    await DeleteOwnKeyAsync(keyspace, request.Key, myRevision, token).ConfigureAwait(false);
                    myRevision = 0;
                    continue;
                }
                // The key belongs to another holder or waiter on the same lease (another Session object or process).
                mayHaveCreated = false;
                throw new InvalidOperationException(
                    $"Session {LeaseHex(session)} already holds or waits for {request.Description} (key {request.Key} exists); a session holds a lock at most once; use another Session.");
            }

            // Every key the owner read can see existed before our put, so an older one means we must wait.
            if (owner.First is { } first && first.CreateRevision < myRevision)
            {
                if (noWait) return tryOnly ? null : throw TimedOut(request, TimeSpan.Zero);
                if (!await WaitForTurnAsync(keyspace, request.Key, request.WaitPrefix, myRevision, token).ConfigureAwait(false))
                {
                    throw KeyDeleted(request);
                }
                // A delete of our key may have raced with the predecessor's: check that the key we queued with is still there.
                var mine = await keyspace.GetAsync(request.Key, s_keyOnly, token).ConfigureAwait(false);
                if (mine.First?.CreateRevision != myRevision)
                {
                    throw KeyDeleted(request);
                }
            }

            var handle = new LockHandle(request, myRevision, registry);
            held = true;
            return handle;
        }
        catch (OperationCanceledException error) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"Acquiring {request.Description} was cancelled.", error, cancellationToken);
        }
        catch (OperationCanceledException error) when (session.Lost.IsCancellationRequested || session.Lease.IsLost)
        {
            throw SessionLost(request, session.Lease.LostReason ?? error);
        }
        catch (OperationCanceledException) when (timeoutCts?.IsCancellationRequested == true)
        {
            if (tryOnly) return null;
            throw TimedOut(request, timeout!.Value);
        }
        catch (EtcdLeaseNotFoundException error)
        {
            // The put named a lease the server no longer has: the session is gone even if its keep-alive has not noticed yet.
            throw SessionLost(request, error);
        }
        finally
        {
            if (!held)
            {
                if (mayHaveCreated) await TryCleanupAsync(keyspace, request.Key, myRevision, registry).ConfigureAwait(false);
                registry.Exit(request.Slot);
            }
        }
    }

    /// <summary>
    /// Waits until no key under <paramref name="waitPrefix"/> is older than ours (true), or until our own key is deleted
    /// (false: revoked lease, expired session or a delete by someone else), whichever comes first, so a waiter whose key
    /// vanished fails at once instead of when its predecessor leaves.
    /// </summary>
    private static async Task<bool> WaitForTurnAsync(IEtcdKeyspace keyspace, EtcdBytes key, EtcdBytes waitPrefix, long myRevision, CancellationToken cancellationToken)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var turn = KeyWaits.WaitForOlderDeletesAsync(keyspace, waitPrefix, myRevision - 1, both.Token);
        var gone = KeyWaits.WaitForDeleteAsync(keyspace, key, myRevision + 1, both.Token);
        var first = await Task.WhenAny(turn, gone).ConfigureAwait(false);
        both.Cancel();
        var other = first == turn ? (Task)gone : turn;
        try
        {
            await other.ConfigureAwait(false);
        }
        catch (Exception error) when (error is OperationCanceledException or EtcdException or ObjectDisposedException)
        {
            // The loser was cancelled above (or failed while being cancelled); the winner decides.
        }
        await first.ConfigureAwait(false); // rethrows the winner's failure, such as the caller's cancellation
        return first == turn;
    }

    /// <summary>
    /// Deletes the session's key if it is still the one created at <paramref name="createRevision"/> (0: whatever is
    /// there, which is ours since the key is named after our lease).
    /// </summary>
    internal static async Task DeleteOwnKeyAsync(IEtcdKeyspace keyspace, EtcdBytes key, long createRevision, CancellationToken cancellationToken)
    {
        if (createRevision > 0)
        {
            await keyspace.Txn()
                .If(Compare.CreateRevision(key).Equal(createRevision))
                .Then(TxnOp.Delete(key))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await keyspace.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Best-effort bounded delete of our key; a failure is remembered so the next attempt of the session removes it.</summary>
    internal static async Task TryCleanupAsync(IEtcdKeyspace keyspace, EtcdBytes key, long createRevision, SessionLockRegistry registry)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CleanupTimeout);
            await DeleteOwnKeyAsync(keyspace, key, createRevision, timeout.Token).ConfigureAwait(false);
            registry.RemoveOrphan(key, createRevision);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable server or closed client: the key goes with the session's lease at the latest.
            registry.AddOrphan(key, createRevision);
        }
    }

    internal static string LeaseHex(Session session) => session.LeaseId.ToString("x", CultureInfo.InvariantCulture);

    private static EtcdLockLostException SessionLost(Request request, Exception? reason) => new(
        $"Session {LeaseHex(request.Session)} is lost (its lease expired or was revoked), so it cannot take {request.Description}.",
        request.Name, request.Key, reason);

    private static EtcdLockLostException KeyDeleted(Request request) => new(
        $"The key {request.Key} of session {LeaseHex(request.Session)} in the queue of {request.Description} was deleted while it waited (session expired, revoked or key deleted).",
        request.Name, request.Key, request.Session.Lease.LostReason);

    private static TimeoutException TimedOut(Request request, TimeSpan timeout) =>
        new($"{char.ToUpperInvariant(request.Description[0])}{request.Description[1..]} was not acquired within {timeout.TotalSeconds:0.###} s.");
}
