namespace Etcd.Concurrency;

/// <summary>
/// The consumer side that <see cref="DistributedQueue"/> and <see cref="DistributedPriorityQueue"/> share: dequeue
/// (exactly one consumer per item, waiting by watch), at-least-once takes with a session, and the count. The two
/// differ only in how items are enqueued (and so in their order).
/// </summary>
public abstract class DistributedQueueBase
{
    private protected DistributedQueueBase(IEtcdKeyspace keyspace, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A queue name must not be empty.", nameof(name));
        Core = new QueueCore(keyspace, name);
    }

    private protected QueueCore Core { get; }

    /// <summary>The queue's name (its items are under <c>name/items/</c>).</summary>
    public EtcdBytes Name => Core.Name;

    /// <summary>Removes and returns the first unclaimed item in delivery order, waiting (by watch) while there is none. Exactly one consumer receives each item.</summary>
    public async Task<EtcdBytes> DequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await Core.TakeAsync(0, wait: true, cancellationToken).ConfigureAwait(false);
        return taken!.Item.Value;
    }

    /// <summary>Removes and returns the first unclaimed item in delivery order; null when there is none (never waits).</summary>
    public async Task<EtcdBytes?> TryDequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await Core.TakeAsync(0, wait: false, cancellationToken).ConfigureAwait(false);
        return taken?.Item.Value;
    }

    /// <summary>The number of items in the queue, including items claimed by <see cref="TakeAsync"/> and not yet acknowledged.</summary>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) => Core.CountAsync(cancellationToken);

    /// <summary>
    /// Claims the first unclaimed item for <paramref name="session"/> (at-least-once delivery), waiting while there is
    /// none. The item stays in the queue until <see cref="QueueItem.AckAsync"/>; it is delivered again after
    /// <see cref="QueueItem.ReleaseAsync"/> or when the session ends.
    /// </summary>
    public Task<QueueItem> TakeAsync(Session session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Core.ClaimAsync(session, cancellationToken);
    }

    /// <summary>Like <see cref="TakeAsync"/>, but returns null at once when no unclaimed item is available.</summary>
    public Task<QueueItem?> TryTakeAsync(Session session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Core.TryClaimAsync(session, cancellationToken);
    }
}
