using Etcd.Concurrency;
using Etcd.Operations;

namespace Etcd;

/// <summary>
/// A lock held through etcd's server-side Lock service (<see cref="LockService.LockAsync(EtcdBytes, Lease, CancellationToken)"/>).
/// It lasts while its key does: <see cref="Lost"/> fires when the lease is lost or when someone else deletes or re-creates
/// the key (the next waiter then holds the lock). Disposing unlocks it.
/// </summary>
public sealed class ServerLock : IAsyncDisposable
{
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(10);
    private readonly LockOperations _operations;
    private readonly Lease _lease;
    private readonly HeldKeys.Claim _claim;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopWatch = new();
    private readonly CancellationTokenRegistration _leaseLost;
    private readonly Task _watch;
    private int _isLost;
    private int _released;

    internal ServerLock(LockOperations operations, EtcdBytes name, EtcdBytes key, ResponseHeader header, Lease lease, long createRevision,
        HeldKeys.Claim claim, long watchFromRevision)
    {
        _operations = operations;
        _lease = lease;
        _claim = claim;
        Name = name;
        Key = key;
        Header = header;
        CreateRevision = createRevision;
        _leaseLost = lease.Lost.Register(static state => ((ServerLock)state!).MarkLost(), this);
        _watch = WatchKeyAsync(watchFromRevision);
    }

    /// <summary>The lock's name (the prefix its waiters queue under).</summary>
    public EtcdBytes Name { get; }

    /// <summary>The key that holds the lock: <c>name/&lt;lease id in hex&gt;</c>.</summary>
    public EtcdBytes Key { get; }

    /// <summary>The header of the server's Lock response.</summary>
    public ResponseHeader Header { get; }

    /// <summary>The id of the lease the lock key is attached to.</summary>
    public long LeaseId => _lease.Id;

    /// <summary>The create revision of <see cref="Key"/> (read once after the lock was granted).</summary>
    public long CreateRevision { get; }

    /// <summary>A compare that holds only while this lock is held: add it to a transaction to fence its writes.</summary>
    public Compare Fence => Compare.CreateRevision(Key).Equal(CreateRevision);

    /// <summary>
    /// Fires once the lock is no longer held: its lease was lost, its key was deleted or re-created by someone else, the
    /// watch of its key failed for good (the client was disposed), or it was unlocked here. Callbacks run on the thread pool.
    /// </summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once the lock is known to be no longer held (<see cref="Lost"/> fires right after).</summary>
    public bool IsLost => Volatile.Read(ref _isLost) != 0;

    /// <summary>
    /// Releases the lock: deletes its key if it is still this lock's incarnation (a later lock on the same key is left
    /// alone); throws when the server cannot be reached. A second call does nothing.
    /// </summary>
    public async Task UnlockAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _released) != 0) return;
        await CoordinationSupport.DeleteIfOursAsync(_operations.Keyspace, Key, LeaseId, CreateRevision, cancellationToken).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        MarkLost();
        _claim.Release();
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Releases the lock, waiting 10 s at most; never throws. When the server cannot be reached the delete is retried in
    /// the background until answered or until the lease ends (its key goes with it); this lease cannot lock the same name
    /// through this client meanwhile.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(DisposeTimeout);
            await UnlockAsync(timeout.Token).ConfigureAwait(false);
            return;
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable server or closed client: retried below.
        }
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        MarkLost();
        await StopAsync().ConfigureAwait(false);
        CoordinationSupport.CleanUpInBackground(_operations.Keyspace, Key, _lease, CreateRevision, _claim);
    }

    /// <inheritdoc />
    public override string ToString() => $"server lock '{Name}' ({Key} at revision {CreateRevision}{(IsLost ? ", lost" : "")})";

    private void MarkLost()
    {
        if (Interlocked.Exchange(ref _isLost, 1) != 0) return;
        _stopWatch.Cancel();
        // Callbacks registered on Lost run on the thread pool, never inside the caller, the lease or the watch loop.
        _ = Task.Run(() =>
        {
            try
            {
                _lost.Cancel();
            }
            catch (AggregateException)
            {
                // A callback registered on Lost threw: that is the callback owner's failure.
            }
        });
    }

    // Someone else deleted or re-created the key: the lock is gone. Our unlock is fenced by the create revision, so the
    // lease may lock the name again at once.
    private void KeyGone()
    {
        MarkLost();
        _claim.Release();
    }

    private async Task StopAsync()
    {
        _stopWatch.Cancel();
        await _leaseLost.DisposeAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(false);
    }

    // Follows the key from just after the read that proved it ours: a delete or a new incarnation ends the lock. Never throws.
    private async Task WatchKeyAsync(long fromRevision)
    {
        var token = _stopWatch.Token;
        var keyspace = _operations.Keyspace;
        try
        {
            // Yield first so the constructor returns before the watch starts.
            await Task.Yield();
            while (true)
            {
                try
                {
                    var options = new WatchOptions { StartRevision = fromRevision };
                    await foreach (var e in keyspace.WatchAsync(Key, options, token).ConfigureAwait(false))
                    {
                        if (e.Type == WatchEventType.Delete || e.Kv.CreateRevision != CreateRevision)
                        {
                            KeyGone();
                            return;
                        }
                        fromRevision = e.Revision + 1;
                    }
                }
                catch (EtcdCompactedException)
                {
                    // The history we needed is gone: look at the key now (retrying transient failures) and follow it from there.
                    var now = await TransientRetry.ReadAsync(
                        t => keyspace.GetAsync(Key, new GetOptions { KeysOnly = true }, t), CancellationToken.None, token).ConfigureAwait(false);
                    if (now.First is not { } kv || kv.CreateRevision != CreateRevision)
                    {
                        KeyGone();
                        return;
                    }
                    fromRevision = now.Header.Revision + 1;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped: unlocked, disposed or already lost.
        }
        catch (Exception)
        {
            // The watch ended for good (client disposed, watch cancelled by the server): nobody can vouch for the lock
            // any more, so report it lost rather than risk two holders.
            MarkLost();
        }
    }
}
