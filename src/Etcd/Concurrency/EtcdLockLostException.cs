namespace Etcd.Concurrency;

/// <summary>
/// A lock could not be acquired or kept because its key is gone: the session's lease expired or was revoked, or the
/// key was deleted by someone else while this session waited in the queue.
/// </summary>
public sealed class EtcdLockLostException : EtcdException
{
    /// <summary>Creates the exception for the lock <paramref name="lockName"/> whose key is <paramref name="key"/>.</summary>
    public EtcdLockLostException(string message, EtcdBytes lockName, EtcdBytes key, Exception? innerException = null)
        : base(EtcdStatusCode.Aborted, message, null, innerException)
    {
        LockName = lockName;
        Key = key;
    }

    /// <summary>The name of the lock.</summary>
    public EtcdBytes LockName { get; }

    /// <summary>The session's key in the lock's queue.</summary>
    public EtcdBytes Key { get; }
}
