using Etcd.Operations;

namespace Etcd;

/// <summary>
/// A lock held through etcd's server-side Lock service (<see cref="LockService.LockAsync(EtcdBytes, Lease, CancellationToken)"/>).
/// It lasts while its lease lives (<see cref="Lost"/>); disposing unlocks it.
/// </summary>
public sealed class ServerLock : IAsyncDisposable
{
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(10);
    private readonly LockOperations _operations;
    private readonly Lease _lease;
    private readonly HeldKeys.Claim _claim;
    private int _released;

    internal ServerLock(LockOperations operations, EtcdBytes name, EtcdBytes key, ResponseHeader header, Lease lease, long createRevision, HeldKeys.Claim claim)
    {
        _operations = operations;
        _lease = lease;
        _claim = claim;
        Name = name;
        Key = key;
        Header = header;
        CreateRevision = createRevision;
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

    /// <summary>Fires when the lease is lost, and with it the lock.</summary>
    public CancellationToken Lost => _lease.Lost;

    /// <summary>Releases the lock (deletes its key); throws when the server cannot be reached. A second call does nothing.</summary>
    public async Task UnlockAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _released) != 0) return;
        await _operations.UnlockAsync(Key, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _released, 1);
        _claim.Release();
    }

    /// <summary>Releases the lock, waiting 10 s at most; never throws (an unreleased key goes with its lease).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(DisposeTimeout);
            await UnlockAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable server or closed client: the key is deleted when the lease ends.
        }
        finally
        {
            _claim.Release();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"server lock '{Name}' ({Key} at revision {CreateRevision})";
}
