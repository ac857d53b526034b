namespace Etcd.Concurrency;

/// <summary>
/// A held lock (from <see cref="EtcdLock"/> or <see cref="ReadWriteLock"/>). <see cref="Revision"/> is a fencing token:
/// guard writes with <see cref="Fence"/> or <see cref="FencedTxn"/> so they fail once the lock is no longer held.
/// <see cref="Lost"/> fires when the lock is gone without <see cref="UnlockAsync"/>. Disposing unlocks.
/// </summary>
public sealed class LockHandle : IAsyncDisposable
{
    private readonly SessionLockRegistry _registry;
    private readonly EtcdBytes _slot;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopObserving = new();
    private CancellationTokenRegistration _sessionLost;
    private int _isLost;
    private int _released;     // 1 once the owner started to unlock: later deletes of the key are not a loss
    private int _slotReleased;
    private int _unlocked;
    private int _observing;    // 1 once the watch on the key runs (started by the first look at Lost or IsLost)

    internal LockHandle(LockQueue.Request request, long revision, SessionLockRegistry registry)
    {
        Session = request.Session;
        Name = request.Name;
        Key = request.Key;
        Revision = revision;
        _slot = request.Slot;
        _registry = registry;
        Fence = Compare.CreateRevision(Key).Equal(Revision);
        _sessionLost = Session.Lost.Register(static state => ((LockHandle)state!).MarkLost(), this);
    }

    /// <summary>The session the lock is held with.</summary>
    public Session Session { get; }

    /// <summary>The lock's name.</summary>
    public EtcdBytes Name { get; }

    /// <summary>The session's key in the lock's queue (in the session's keyspace).</summary>
    public EtcdBytes Key { get; }

    /// <summary>The create revision of <see cref="Key"/>: a fencing token that grows with every acquisition of the lock.</summary>
    public long Revision { get; }

    /// <summary>
    /// Fires once when the lock is gone without an unlock: the session was lost, or the key was deleted by someone else.
    /// The key is watched from the first time <see cref="Lost"/> or <see cref="IsLost"/> is read (a delete before that
    /// still counts), so a lock whose holder never asks costs no watch.
    /// </summary>
    public CancellationToken Lost
    {
        get
        {
            EnsureObserving();
            return _lost.Token;
        }
    }

    /// <summary>
    /// True once the lock is known to be lost (<see cref="Lost"/> fires right after, on the thread pool). The first read
    /// starts the key's watch, so a delete that happened before it shows a moment later, not in that first answer.
    /// </summary>
    public bool IsLost
    {
        get
        {
            EnsureObserving();
            return Volatile.Read(ref _isLost) != 0;
        }
    }

    /// <summary>The compare that holds only while this lock is held: <c>CreateRevision(Key) == Revision</c>.</summary>
    public Compare Fence { get; }

    /// <summary>Starts a transaction on the session's keyspace with <see cref="Fence"/> already in its <c>If</c>.</summary>
    public Transaction FencedTxn() => Session.Keyspace.Txn().If(Fence);

    /// <summary>Releases the lock by deleting its key (only the key of this acquisition). Idempotent; does not throw when the lock was already lost.</summary>
    public async Task UnlockAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _unlocked) != 0) return;
        StopObserving();
        try
        {
            await LockQueue.DeleteOwnKeyAsync(Session.Keyspace, Key, Revision, cancellationToken).ConfigureAwait(false);
            _registry.RemoveOrphan(Key, Revision);
            Volatile.Write(ref _unlocked, 1);
        }
        catch
        {
            // The key may still be there: the session's next attempt removes it (or it goes with the lease).
            _registry.AddOrphan(Key, Revision);
            throw;
        }
        finally
        {
            if (Interlocked.Exchange(ref _slotReleased, 1) == 0) _registry.Exit(_slot);
        }
    }

    /// <summary>Unlocks, waiting at most 5 s; never throws (an unreachable server leaves the key to the session's lease).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(LockQueue.CleanupTimeout);
            await UnlockAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Already remembered as an orphan by UnlockAsync.
        }
    }

    private void EnsureObserving()
    {
        if (Volatile.Read(ref _observing) != 0 || Volatile.Read(ref _released) != 0) return;
        if (Interlocked.Exchange(ref _observing, 1) == 0) _ = ObserveKeyAsync(_stopObserving.Token);
    }

    private void StopObserving()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        _stopObserving.Cancel();
        _sessionLost.Dispose();
    }

    private async Task ObserveKeyAsync(CancellationToken stop)
    {
        try
        {
            // From the revision after our put: a delete that happened before the watch started is replayed.
            await KeyWaits.WaitForDeleteAsync(Session.Keyspace, Key, Revision + 1, stop).ConfigureAwait(false);
            MarkLost();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Unlocked.
        }
        catch (Exception)
        {
            // The watch ended for good (client disposed, watch refused): the lock can no longer be vouched for.
            MarkLost();
        }
    }

    private void MarkLost()
    {
        if (Volatile.Read(ref _released) != 0) return;
        if (Interlocked.Exchange(ref _isLost, 1) != 0) return;
        // Callbacks registered on Lost run on the thread pool, never on the watch or keep-alive loop.
        _ = Task.Run(() =>
        {
            try
            {
                _lost.Cancel();
            }
            catch (AggregateException)
            {
                // A callback registered on Lost threw: the callback owner's failure, not the lock's.
            }
        });
    }

    /// <inheritdoc />
    public override string ToString() => $"lock {Name} held with key {Key} at revision {Revision}{(Volatile.Read(ref _isLost) != 0 ? " (lost)" : "")}";
}
