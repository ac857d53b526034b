namespace Etcd.Concurrency;

/// <summary>
/// An item claimed with <see cref="DistributedQueueBase.TakeAsync"/> (of a <see cref="DistributedQueue"/> or a <see cref="DistributedPriorityQueue"/>):
/// it stays in the queue, invisible to other consumers, until <see cref="AckAsync"/> removes it for good or
/// <see cref="ReleaseAsync"/> (or disposing without an acknowledgement) hands it back. The claim is a key on the
/// consumer's session lease, so if the consumer dies the claim vanishes with the lease and the item is delivered again.
/// </summary>
public sealed class QueueItem : IAsyncDisposable
{
    // Open -> Pending (one acknowledgement or release in flight) -> Acked or Released; back to Open when that call
    // fails, so it can be retried: both are guarded on the claim's create revision, so a retry never does harm.
    private const int Open = 0, Acked = 1, Released = 2, Pending = 3;

    private readonly IEtcdKeyspace _keyspace;
    private int _state;

    internal QueueItem(IEtcdKeyspace keyspace, KeyValue item, EtcdBytes claimKey, long claimRevision, CancellationToken lost)
    {
        _keyspace = keyspace;
        Key = item.Key;
        Value = item.Value;
        CreateRevision = item.CreateRevision;
        ClaimKey = claimKey;
        ClaimRevision = claimRevision;
        Lost = lost;
    }

    /// <summary>The item's key.</summary>
    public EtcdBytes Key { get; }

    /// <summary>The item's value.</summary>
    public EtcdBytes Value { get; }

    /// <summary>The revision the item was enqueued at (its place in FIFO order).</summary>
    public long CreateRevision { get; }

    /// <summary>The claim key (<c>name/claims/&lt;item suffix&gt;</c>), attached to the consumer's session lease.</summary>
    public EtcdBytes ClaimKey { get; }

    /// <summary>The create revision of the claim key; acknowledging and releasing are guarded on it.</summary>
    public long ClaimRevision { get; }

    /// <summary>Fires when the claiming session is lost: the claim is gone (or about to be) and the item may be delivered again.</summary>
    public CancellationToken Lost { get; }

    /// <summary>True once acknowledged or released here.</summary>
    public bool IsSettled => Volatile.Read(ref _state) is Acked or Released;

    /// <summary>
    /// Removes the item and its claim in one transaction guarded by the claim's create revision. Throws
    /// <see cref="EtcdClaimLostException"/> when the claim is gone (the item may then be processed twice), and
    /// <see cref="InvalidOperationException"/> when the item was already acknowledged or released here, or an
    /// acknowledgement or release of it is in progress. After an error (the outcome unknown) it may be called again: a
    /// retry of an acknowledgement that did apply reports success.
    /// </summary>
    public async Task AckAsync(CancellationToken cancellationToken = default)
    {
        Begin();
        var settled = false;
        try
        {
            var result = await _keyspace.Txn()
                .If(Compare.CreateRevision(ClaimKey).Equal(ClaimRevision))
                .Then(TxnOp.Delete(Key), TxnOp.Delete(ClaimKey))
                .Else(TxnOp.Get(Key, new GetOptions { CountOnly = true }))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
            // The claim is gone. If the item is gone too while the session is still alive, the claim cannot have
            // expired (and releasing is excluded by the state): an earlier acknowledgement of ours applied although
            // its answer was lost. The session's Lost fires at the latest when the lease may have expired on the server.
            if (!result.Succeeded && (result.Response<GetResponse>(0).Count != 0 || Lost.IsCancellationRequested))
            {
                throw new EtcdClaimLostException(
                    $"The claim on queue item {Key} is gone (session lost or claim released); the item may be delivered to another consumer.", Key);
            }
            settled = true;
        }
        finally
        {
            Volatile.Write(ref _state, settled ? Acked : Open);
        }
    }

    /// <summary>
    /// Deletes the claim (guarded by its create revision) so the item is available again, at its original place in
    /// the order. A claim that is already gone is not an error: the item is available again either way. Throws
    /// <see cref="InvalidOperationException"/> when the item was already acknowledged or released here, or an
    /// acknowledgement or release of it is in progress.
    /// </summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        Begin();
        var settled = false;
        try
        {
            await _keyspace.Txn()
                .If(Compare.CreateRevision(ClaimKey).Equal(ClaimRevision))
                .Then(TxnOp.Delete(ClaimKey))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
            settled = true;
        }
        finally
        {
            Volatile.Write(ref _state, settled ? Released : Open);
        }
    }

    /// <summary>Releases the item unless it was acknowledged or released or one of those is in progress (waiting 10 s at most); a failed release is not thrown, the claim then ends with its session.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) != Open) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await ReleaseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Unreachable server, closed client, or settled concurrently: the claim ends with the session at the latest.
        }
    }

    /// <summary>Moves Open to Pending atomically, so only one acknowledgement or release is ever in flight.</summary>
    private void Begin()
    {
        var state = Interlocked.CompareExchange(ref _state, Pending, Open);
        if (state == Open) return;
        throw new InvalidOperationException(state switch
        {
            Acked => $"Queue item {Key} was already acknowledged.",
            Released => $"Queue item {Key} was already released.",
            _ => $"An acknowledgement or release of queue item {Key} is in progress.",
        });
    }

    /// <inheritdoc />
    public override string ToString() => $"queue item {Key} (claim rev {ClaimRevision})";
}
