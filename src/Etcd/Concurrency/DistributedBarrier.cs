namespace Etcd.Concurrency;

/// <summary>
/// A barrier in etcd: while its key exists the barrier is held and <see cref="WaitAsync"/> blocks; deleting the key
/// (<see cref="ReleaseAsync"/>, or the end of the holder's session for <see cref="HoldAsync(Session, CancellationToken)"/>)
/// lets every waiter through. Waiters watch the key, they do not poll.
/// </summary>
public sealed class DistributedBarrier
{
    private readonly IEtcdKeyspace _keyspace;

    /// <summary>A barrier on <paramref name="key"/> in <paramref name="keyspace"/> (the client, or a namespace of it).</summary>
    public DistributedBarrier(IEtcdKeyspace keyspace, EtcdBytes key)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        if (key.IsNull) throw new ArgumentNullException(nameof(key));
        if (key.IsEmpty) throw new ArgumentException("A barrier key must not be empty.", nameof(key));
        _keyspace = keyspace;
        Key = key;
    }

    /// <summary>The barrier's key.</summary>
    public EtcdBytes Key { get; }

    /// <summary>Holds the barrier by creating its key; false when it was already held (by anyone).</summary>
    public Task<bool> HoldAsync(CancellationToken cancellationToken = default) => HoldCoreAsync(0, cancellationToken);

    /// <summary>Holds the barrier with a key on <paramref name="session"/>'s lease, so it is released when the session ends; false when it was already held.</summary>
    public Task<bool> HoldAsync(Session session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return HoldCoreAsync(session.LeaseId, cancellationToken);
    }

    private async Task<bool> HoldCoreAsync(long lease, CancellationToken cancellationToken)
    {
        var result = await _keyspace.Txn()
            .If(Compare.CreateRevision(Key).Equal(0))
            .Then(TxnOp.Put(Key, EtcdBytes.Empty, new PutOptions { Lease = lease }))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>Releases the barrier (deletes its key), letting every waiter through; false when it was not held.</summary>
    public async Task<bool> ReleaseAsync(CancellationToken cancellationToken = default)
    {
        var result = await _keyspace.DeleteAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Deleted > 0;
    }

    /// <summary>Returns once the barrier is not held: at once when its key does not exist, otherwise when the key is deleted.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken = default)
    {
        var now = await _keyspace.GetAsync(Key, new GetOptions { CountOnly = true }, cancellationToken).ConfigureAwait(false);
        if (now.Count == 0) return;
        await KeyWaits.WaitForDeleteAsync(_keyspace, Key, now.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"barrier {Key}";
}
