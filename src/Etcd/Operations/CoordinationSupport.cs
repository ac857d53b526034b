using System.Globalization;

namespace Etcd.Operations;

/// <summary>What the server-side lock and election services share: the key layout, lease checks and clean-up.</summary>
internal static class CoordinationSupport
{
    private static readonly TimeSpan CleanUpTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The key the server creates for <paramref name="leaseId"/> under <paramref name="name"/>: name + "/" + lowercase
    /// hex lease id without padding (etcd's Go client concurrency package, which the server runs: <c>"%s/%x"</c>).
    /// </summary>
    public static EtcdBytes LeaseKey(EtcdBytes name, long leaseId)
    {
        var hex = leaseId.ToString("x", CultureInfo.InvariantCulture);
        var bytes = new byte[name.Length + 1 + hex.Length];
        name.Span.CopyTo(bytes);
        bytes[name.Length] = (byte)'/';
        for (var i = 0; i < hex.Length; i++) bytes[name.Length + 1 + i] = (byte)hex[i];
        return bytes;
    }

    /// <summary>Rejects a null or already lost lease before anything is sent.</summary>
    public static void ValidateLease(Lease lease, string paramName, string what, EtcdBytes name)
    {
        if (lease is null) throw new ArgumentNullException(paramName, $"A kept-alive lease is required (with lease 0 the server would grant a 60 s lease it never renews).");
        if (lease.IsLost) throw LeaseLost(lease, what, name);
    }

    public static EtcdLeaseLostException LeaseLost(Lease lease, string what, EtcdBytes name) =>
        new($"Lease {lease.Id:x} is lost; it cannot hold {what} '{name}'.", lease.Id, lease.LostReason);

    /// <summary>
    /// Runs a call the server holds until it succeeds, cancelled by the caller or by the loss of the lease (the server
    /// would otherwise go on waiting, and even report success, for a key the lease took away). A lease the server no
    /// longer knows (revoked or expired elsewhere, not yet noticed here) is <see cref="EtcdLeaseLostException"/> too.
    /// </summary>
    public static async Task<T> CallWhileLeaseLivesAsync<T>(Lease lease, string what, EtcdBytes name, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (EtcdLeaseNotFoundException error) when (error.LeaseId == lease.Id || error.LeaseId == 0)
        {
            throw new EtcdLeaseLostException($"Lease {lease.Id:x} no longer exists on the server; it cannot hold {what} '{name}'.", lease.Id, error);
        }
        catch (OperationCanceledException error) when (!cancellationToken.IsCancellationRequested && lease.IsLost)
        {
            throw new EtcdLeaseLostException($"Lease {lease.Id:x} was lost while acquiring {what} '{name}'.", lease.Id, error);
        }
        catch (OperationCanceledException error) when (cancellationToken.IsCancellationRequested && error.CancellationToken != cancellationToken)
        {
            throw new OperationCanceledException(error.Message, error, cancellationToken);
        }
    }

    /// <summary>
    /// Deletes <paramref name="key"/> only while it is the incarnation created at <paramref name="createRevision"/> with
    /// <paramref name="leaseId"/> (0: whatever incarnation the key has now, read first, if it carries the lease), so a late
    /// delete can never remove a later lock or candidacy on the same key. Returns whether it deleted; throws on failure.
    /// </summary>
    public static async Task<bool> DeleteIfOursAsync(IEtcdKv kv, EtcdBytes key, long leaseId, long createRevision, CancellationToken cancellationToken)
    {
        if (createRevision == 0)
        {
            var read = await kv.GetAsync(key, new GetOptions { KeysOnly = true }, cancellationToken).ConfigureAwait(false);
            if (read.First is not { } current || current.Lease != leaseId) return false;
            createRevision = current.CreateRevision;
        }
        var result = await kv.Txn()
            .If(Compare.CreateRevision(key).Equal(createRevision), Compare.Lease(key).Equal(leaseId))
            .Then(TxnOp.Delete(key))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>
    /// Deletes a key this lease may have created (see <see cref="DeleteIfOursAsync"/>) and then releases
    /// <paramref name="claim"/>, so the lease may ask for the name again. Used after a call that failed or was cancelled
    /// (the server deletes the key itself when it sees the cancellation while waiting, but not when the call ended between
    /// its write and its answer) and after an unlock that could not be sent. The first attempt is bounded (5 s); when its
    /// outcome is unknown the claim is kept and the delete retried in the background until it is answered, the lease is
    /// lost (its keys go with it) or the client is disposed. Never throws.
    /// </summary>
    public static async Task CleanUpAsync(IEtcdKv kv, EtcdBytes key, Lease lease, long createRevision, HeldKeys.Claim claim)
    {
        if (await TryDeleteIfOursAsync(kv, key, lease, createRevision, CleanUpTimeout).ConfigureAwait(false))
        {
            claim.Release();
            return;
        }
        CleanUpInBackground(kv, key, lease, createRevision, claim);
    }

    /// <summary>As <see cref="CleanUpAsync"/>, but every attempt runs in the background (the first after a short pause).</summary>
    public static void CleanUpInBackground(IEtcdKv kv, EtcdBytes key, Lease lease, long createRevision, HeldKeys.Claim claim) =>
        _ = Task.Run(() => RetryCleanUpAsync(kv, key, lease, createRevision, claim));

    private static async Task RetryCleanUpAsync(IEtcdKv kv, EtcdBytes key, Lease lease, long createRevision, HeldKeys.Claim claim)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!lease.IsLost)
        {
            try
            {
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 50)), lease.Lost).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break; // The lease is lost: the key goes with it, and so does the claim (released by the lease's registration).
            }
            if (await TryDeleteIfOursAsync(kv, key, lease, createRevision, CleanUpTimeout).ConfigureAwait(false)) break;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
        claim.Release();
    }

    // True when the outcome is known: deleted, not ours (gone or re-created), or nothing more can be done (client disposed).
    private static async Task<bool> TryDeleteIfOursAsync(IEtcdKv kv, EtcdBytes key, Lease lease, long createRevision, TimeSpan timeout)
    {
        try
        {
            using var limit = new CancellationTokenSource(timeout);
            await DeleteIfOursAsync(kv, key, lease.Id, createRevision, limit.Token).ConfigureAwait(false);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException)
        {
            return lease.IsLost;
        }
    }

    /// <summary>Turns the caller's token or a timeout into the right exception for a call with a time limit.</summary>
    public static async Task<T> WithTimeoutAsync<T>(TimeSpan timeout, string what, EtcdBytes name, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan) limit.CancelAfter(timeout);
        try
        {
            return await call(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (!cancellationToken.IsCancellationRequested && limit.IsCancellationRequested)
        {
            throw new TimeoutException($"{what} '{name}' was not acquired within {timeout.TotalSeconds:0.###} s.", error);
        }
        catch (OperationCanceledException error) when (cancellationToken.IsCancellationRequested && error.CancellationToken != cancellationToken)
        {
            throw new OperationCanceledException(error.Message, error, cancellationToken);
        }
    }

    public static void ValidateTimeout(TimeSpan timeout, string paramName)
    {
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
    }
}
