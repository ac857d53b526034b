namespace Etcd.Concurrency;

/// <summary>
/// A distributed mutex over a session: the holder is the session whose key under <c>name/</c> was created first, and
/// waiters are served in the order they queued. The key layout is that of <c>etcdctl lock NAME</c> and of etcd's Go
/// client (concurrency.NewMutex), so all three exclude each other. A session takes one lock at most once at a time;
/// use a session per concurrent holder.
/// </summary>
/// <example><code>
/// await using var session = await Session.CreateAsync(client);
/// var mutex = new EtcdLock(session, "jobs/lock");
/// await using (var held = await mutex.LockAsync())
/// {
///     await held.FencedTxn().Then(TxnOp.Put("jobs/state", "done")).CommitOrThrowAsync();
/// }
/// </code></example>
public sealed class EtcdLock
{
    private readonly LockQueue.Request _request;

    /// <summary>Creates the lock <paramref name="name"/> for <paramref name="session"/> (nothing is sent until a lock call).</summary>
    public EtcdLock(Session session, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A lock name must not be empty.", nameof(name));
        Session = session;
        Name = EtcdBytes.CopyFrom(name.Span);
        var prefix = EtcdBytes.Concat(Name, "/"u8.ToArray());
        Key = KeyWaits.LeaseKey(prefix, session.LeaseId);
        // The slot is the key itself: one acquisition of this lock per session at a time.
        _request = new LockQueue.Request(session, Name, $"lock '{Name}'", Key, prefix, EtcdBytes.Concat("mutex\0"u8.ToArray(), Key));
    }

    /// <summary>The session the lock is taken with.</summary>
    public Session Session { get; }

    /// <summary>The lock's name; the queue lives under <c>name/</c>.</summary>
    public EtcdBytes Name { get; }

    /// <summary>This session's key in the queue: <c>name/</c> followed by the lowercase hex lease id.</summary>
    public EtcdBytes Key { get; }

    /// <summary>Waits until the lock is held.</summary>
    /// <exception cref="EtcdLockLostException">The session was lost, or its key deleted, before the lock was held.</exception>
    /// <exception cref="InvalidOperationException">This session already holds or waits for this lock.</exception>
    public Task<LockHandle> LockAsync(CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_request, null, cancellationToken);

    /// <summary>Waits at most <paramref name="timeout"/> for the lock; throws <see cref="TimeoutException"/> naming the lock when it is not held in time.</summary>
    public Task<LockHandle> LockAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
        => LockQueue.LockAsync(_request, LockQueue.ValidateTimeout(timeout, nameof(timeout)), cancellationToken);

    /// <summary>Takes the lock if nobody holds it or waits ahead; returns null at once otherwise (the queue is left as it was).</summary>
    public Task<LockHandle?> TryLockAsync(CancellationToken cancellationToken = default)
        => LockQueue.AcquireAsync(_request, TimeSpan.Zero, tryOnly: true, cancellationToken);

    /// <summary>Waits at most <paramref name="timeout"/> for the lock; returns null when it is not held in time.</summary>
    public Task<LockHandle?> TryLockAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var limit = LockQueue.ValidateTimeout(timeout, nameof(timeout));
        return LockQueue.AcquireAsync(_request, limit, tryOnly: true, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"lock {Name} (key {Key})";
}
