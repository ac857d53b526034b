using Etcd.Operations;

namespace Etcd;

/// <summary>
/// etcd's server-side lock service (v3lockpb.Lock): the server runs the lock protocol itself, so a lock is one call.
/// Reached through <see cref="EtcdClient.Locks"/>. Interoperates with <c>etcdctl lock</c> and etcd's Go client mutex.
/// </summary>
/// <remarks>
/// The lock key is <c>name/&lt;lease id in hex&gt;</c>, so one lease holds a given lock name at most once; this client
/// refuses a second concurrent <see cref="LockAsync(EtcdBytes, Lease, CancellationToken)"/> for the same name and lease
/// (other processes sharing a lease must not do it either). Keys are raw: the service does not see namespaces.
/// </remarks>
public sealed class LockService
{
    private readonly LockOperations _operations;

    internal LockService(EtcdCallInvoker invoker, IEtcdKeyspace kv) => _operations = new LockOperations(invoker, kv);

    internal LockOperations Operations => _operations;

    /// <summary>
    /// Waits until the lock <paramref name="name"/> is held with <paramref name="lease"/> (a lease this or another client
    /// keeps alive), then reads the key's create revision for <see cref="ServerLock.Fence"/>. If the call is cancelled or
    /// fails, any key it may have created is deleted (best effort, 5 s at most). A lease lost before or while waiting
    /// is <see cref="EtcdLeaseLostException"/>; a second attempt of the same lease on the same name is
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public Task<ServerLock> LockAsync(EtcdBytes name, Lease lease, CancellationToken cancellationToken = default)
    {
        Guard.Key(name, nameof(name));
        CoordinationSupport.ValidateLease(lease, nameof(lease), "lock", name);
        return _operations.LockAsync(name, lease, cancellationToken);
    }

    /// <summary>As <see cref="LockAsync(EtcdBytes, Lease, CancellationToken)"/>, giving up with <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public Task<ServerLock> LockAsync(EtcdBytes name, Lease lease, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Guard.Key(name, nameof(name));
        CoordinationSupport.ValidateLease(lease, nameof(lease), "lock", name);
        CoordinationSupport.ValidateTimeout(timeout, nameof(timeout));
        return CoordinationSupport.WithTimeoutAsync(timeout, "Lock", name, token => _operations.LockAsync(name, lease, token), cancellationToken);
    }

    /// <summary>
    /// Releases the lock held by <paramref name="key"/> (a <see cref="ServerLock.Key"/>): the server deletes the key whatever
    /// its incarnation; a missing key is not an error. Prefer <see cref="ServerLock.UnlockAsync"/>, which deletes only its own
    /// incarnation of the key.
    /// </summary>
    public Task UnlockAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        return UnlockCoreAsync(key, cancellationToken);
    }

    private async Task UnlockCoreAsync(EtcdBytes key, CancellationToken cancellationToken)
    {
        await _operations.UnlockAsync(key, cancellationToken).ConfigureAwait(false);
        _operations.Held.Find(key)?.Release();
    }
}
