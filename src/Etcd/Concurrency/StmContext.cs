namespace Etcd.Concurrency;

/// <summary>
/// One attempt of an <see cref="Stm"/> transaction: reads go to etcd (or to what this attempt already read or wrote),
/// writes are buffered and sent in one etcd transaction when the function returns. Reads see the attempt's own writes.
/// </summary>
/// <remarks>
/// A context is valid only while the transaction function runs, and is not thread-safe: await each call before the
/// next one. Because a conflicting attempt is thrown away and the function run again with a fresh context, the
/// function must have no side effects other than through the context.
/// </remarks>
public sealed class StmContext
{
    private readonly IEtcdKeyspace _keyspace;
    private readonly StmIsolation _isolation;
    // Keys read by this attempt with what was read (null: the key did not exist). Guarded by the commit's compares.
    private readonly Dictionary<EtcdBytes, KeyValue?> _reads = [];
    // Buffered writes, one per key (a later put or delete of a key replaces the earlier one).
    private readonly Dictionary<EtcdBytes, PendingWrite> _writes = [];
    // Pairs fetched ahead (prefetch option, or the Else branch of the previous attempt's commit) and not read yet.
    private readonly Dictionary<EtcdBytes, KeyValue?> _prefetched;
    // For the serializable levels: the revision every read is made at (0 until the first read fixes it).
    private long _snapshotRevision;
    private int _busy;
    private bool _completed;

    internal StmContext(IEtcdKeyspace keyspace, StmIsolation isolation, StmPrefetch? prefetch)
    {
        _keyspace = keyspace;
        _isolation = isolation;
        _prefetched = prefetch is null ? [] : new Dictionary<EtcdBytes, KeyValue?>(prefetch.Pairs);
        if (prefetch is not null && IsSnapshotLevel) _snapshotRevision = prefetch.Revision;
    }

    /// <summary>The isolation level of the transaction.</summary>
    public StmIsolation Isolation => _isolation;

    /// <summary>The attempt number, 1 for the first run of the transaction function.</summary>
    public int Attempt { get; internal init; }

    /// <summary>True when a read found that this attempt cannot succeed (its snapshot revision was compacted); the attempt is rerun.</summary>
    internal bool Aborted { get; private set; }

    private bool IsSnapshotLevel => _isolation is StmIsolation.SerializableSnapshot or StmIsolation.Serializable;

    /// <summary>Reads a key's value as this transaction sees it (its own writes first); null when the key does not exist or was deleted by this transaction.</summary>
    public async ValueTask<EtcdBytes?> GetAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Enter();
        try
        {
            if (_writes.TryGetValue(key, out var write)) return write.IsDelete ? (EtcdBytes?)null : write.Value;
            var kv = await ReadAsync(key, cancellationToken).ConfigureAwait(false);
            return kv?.Value;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Reads a key's value decoded as UTF-8 as this transaction sees it; null when the key does not exist.</summary>
    public async ValueTask<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default)
        => (await GetAsync(key, cancellationToken).ConfigureAwait(false))?.ToStringUtf8();

    /// <summary>
    /// Reads a key's modification revision in the store as this transaction sees it (0 when absent). Writes buffered
    /// by this transaction have no revision yet and are not reflected.
    /// </summary>
    public async ValueTask<long> GetRevisionAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Enter();
        try
        {
            var kv = await ReadAsync(key, cancellationToken).ConfigureAwait(false);
            return kv?.ModRevision ?? 0;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Buffers a write of <paramref name="key"/>, optionally attached to a lease; it is sent when the transaction commits.</summary>
    public void Put(EtcdBytes key, EtcdBytes value, long lease = 0)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        if (lease < 0) throw new ArgumentOutOfRangeException(nameof(lease), lease, "A lease id must not be negative.");
        EnsureUsable();
        _writes[key] = new PendingWrite(false, value, lease);
    }

    /// <summary>Buffers a delete of <paramref name="key"/>; it is sent when the transaction commits.</summary>
    public void Delete(EtcdBytes key)
    {
        Guard.Key(key, nameof(key));
        EnsureUsable();
        _writes[key] = new PendingWrite(true, default, 0);
    }

    private async ValueTask<KeyValue?> ReadAsync(EtcdBytes key, CancellationToken cancellationToken)
    {
        if (_reads.TryGetValue(key, out var known)) return known;
        if (_prefetched.Remove(key, out var prefetched))
        {
            _reads[key] = prefetched;
            return prefetched;
        }

        var pinned = IsSnapshotLevel && _snapshotRevision > 0;
        GetResponse response;
        try
        {
            response = await _keyspace.GetAsync(key, pinned ? new GetOptions { Revision = _snapshotRevision } : null, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdCompactedException ex) when (pinned)
        {
            // The snapshot is gone; no read at it can succeed any more, so the attempt restarts from a new snapshot.
            Aborted = true;
            throw new StmAttemptAbortedException(ex);
        }
        if (IsSnapshotLevel && _snapshotRevision == 0) _snapshotRevision = response.Header.Revision;
        var kv = response.First;
        _reads[key] = kv;
        return kv;
    }

    /// <summary>
    /// The etcd transaction that commits this attempt: compares guarding the reads (and, for snapshot isolation, the
    /// writes), the buffered writes, and in the Else branch reads of every key read so a retry starts pre-fetched.
    /// </summary>
    internal (Transaction Transaction, List<EtcdBytes> ElseKeys) BuildCommit()
    {
        var txn = new Transaction();
        var elseKeys = new List<EtcdBytes>();
        if (_isolation != StmIsolation.ReadCommitted)
        {
            foreach (var (key, kv) in _reads)
            {
                // etcd compares a missing key's mod revision as 0.
                txn.If(Compare.ModRevision(key).Equal(kv?.ModRevision ?? 0));
                elseKeys.Add(key);
            }
        }
        if (_isolation == StmIsolation.SerializableSnapshot && _snapshotRevision > 0)
        {
            foreach (var key in _writes.Keys)
            {
                // A key both read and written is already guarded (equal to what was read implies at or before the snapshot).
                if (!_reads.ContainsKey(key)) txn.If(Compare.ModRevision(key).Less(_snapshotRevision + 1));
            }
        }
        foreach (var (key, write) in _writes)
        {
            txn.Then(write.IsDelete
                ? TxnOp.Delete(key)
                : TxnOp.Put(key, write.Value, write.Lease == 0 ? null : new PutOptions { Lease = write.Lease }));
        }
        foreach (var key in elseKeys) txn.Else(TxnOp.Get(key));
        return (txn, elseKeys);
    }

    /// <summary>Ends the attempt: any later use of this context throws.</summary>
    internal void Complete() => _completed = true;

    private void EnsureUsable()
    {
        if (_completed)
            throw new InvalidOperationException("This StmContext belongs to a finished attempt; use the context passed to the current run of the transaction function.");
        if (Volatile.Read(ref _busy) != 0)
            throw new InvalidOperationException("StmContext is not thread-safe: await each read before starting another call.");
    }

    private void Enter()
    {
        if (_completed)
            throw new InvalidOperationException("This StmContext belongs to a finished attempt; use the context passed to the current run of the transaction function.");
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("StmContext is not thread-safe: await each read before starting another call.");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    private readonly record struct PendingWrite(bool IsDelete, EtcdBytes Value, long Lease);
}

/// <summary>Pairs read ahead at one revision for the next attempt (null value: the key did not exist).</summary>
internal sealed record StmPrefetch(long Revision, Dictionary<EtcdBytes, KeyValue?> Pairs);

/// <summary>Thrown by a read of an attempt that cannot succeed; <see cref="Stm"/> reruns the attempt.</summary>
internal sealed class StmAttemptAbortedException(Exception innerException)
    : Exception("The STM attempt's snapshot revision was compacted; the attempt is rerun.", innerException);
