namespace Etcd.Concurrency;

/// <summary>
/// A distributed read-write lock over a session: many readers at once, or one writer, served in the order they queued
/// (a reader that queued behind a waiting writer waits for it). Readers queue as <c>name/read/&lt;lease hex&gt;</c>,
/// writers as <c>name/write/&lt;lease hex&gt;</c>; a reader waits until no older writer key exists, a writer until no
/// older key of either kind exists. A session holds this lock at most once at a time, for reading or for writing.
/// </summary>
public sealed class ReadWriteLock
{
    private readonly LockQueue.Request _read;
    private readonly LockQueue.Request _write;

    /// <summary>Creates the read-write lock <paramref name="name"/> for <paramref name="session"/> (nothing is sent until a lock call).</summary>
    public ReadWriteLock(Session session, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A lock name must not be empty.", nameof(name));
        Session = session;
        Name = EtcdBytes.CopyFrom(name.Span);
        var prefix = EtcdBytes.Concat(Name, "/"u8.ToArray());
        var readPrefix = EtcdBytes.Concat(prefix, "read/"u8.ToArray());
        var writePrefix = EtcdBytes.Concat(prefix, "write/"u8.ToArray());
        ReadKey = KeyWaits.LeaseKey(readPrefix, session.LeaseId);
        WriteKey = KeyWaits.LeaseKey(writePrefix, session.LeaseId);
        // One slot for both modes: a session holding the read lock that asked for the write lock would wait for itself.
        var slot = EtcdBytes.Concat("rwlock\0"u8.ToArray(), prefix);
        _read = new LockQueue.Request(session, Name, $"read lock '{Name}'", ReadKey, writePrefix, slot);
        _write = new LockQueue.Request(session, Name, $"write lock '{Name}'", WriteKey, prefix, slot);
    }

    /// <summary>The session the lock is taken with.</summary>
    public Session Session { get; }

    /// <summary>The lock's name; the queue lives under <c>name/</c>.</summary>
    public EtcdBytes Name { get; }

    /// <summary>This session's key when it reads: <c>name/read/</c> followed by the lowercase hex lease id.</summary>
    public EtcdBytes ReadKey { get; }

    /// <summary>This session's key when it writes: <c>name/write/</c> followed by the lowercase hex lease id.</summary>
    public EtcdBytes WriteKey { get; }

    /// <summary>Waits until the lock is held for reading (no older writer holds or waits).</summary>
    public Task<LockHandle> ReadLockAsync(CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_read, null, cancellationToken);

    /// <summary>Waits at most <paramref name="timeout"/> for the read lock; throws <see cref="TimeoutException"/> naming the lock when it is not held in time.</summary>
    public Task<LockHandle> ReadLockAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_read, LockQueue.ValidateTimeout(timeout, nameof(timeout)), cancellationToken);

    /// <summary>Waits until the lock is held for writing (no older reader or writer holds or waits).</summary>
    public Task<LockHandle> WriteLockAsync(CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_write, null, cancellationToken);

    /// <summary>Waits at most <paramref name="timeout"/> for the write lock; throws <see cref="TimeoutException"/> naming the lock when it is not held in time.</summary>
    public Task<LockHandle> WriteLockAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_write, LockQueue.ValidateTimeout(timeout, nameof(timeout)), cancellationToken);

    /// <inheritdoc />
    public override string ToString() => $"read-write lock {Name}";
}
