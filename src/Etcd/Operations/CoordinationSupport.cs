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
    /// would otherwise go on waiting, and even report success, for a key the lease took away).
    /// </summary>
    public static async Task<T> CallWhileLeaseLivesAsync<T>(Lease lease, string what, EtcdBytes name, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
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
    /// Best-effort delete of a key this lease may have created during a call that failed or was cancelled (the server
    /// deletes it itself when it sees the cancellation while waiting, but not when the call ended between its write and
    /// its answer). Bounded; never throws.
    /// </summary>
    public static async Task CleanUpAsync(IEtcdKv kv, EtcdBytes key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(CleanUpTimeout);
            await kv.DeleteAsync(key, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable server or closed client: the key goes with its lease.
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
