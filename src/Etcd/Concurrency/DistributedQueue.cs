namespace Etcd.Concurrency;

/// <summary>
/// A multi-producer, multi-consumer FIFO queue in etcd. Items are keys <c>name/items/&lt;time&gt;-&lt;random&gt;</c>
/// whose key order is enqueue-time order, so a dequeue reads only the head of the queue however long it is. Consumers
/// wait on a watch, never by polling.
/// </summary>
/// <remarks>
/// <para><b>Delivery guarantees.</b> <see cref="DequeueAsync"/> and <see cref="TryDequeueAsync"/> are <i>at most
/// once</i>: an item is deleted by exactly one transaction (guarded on its mod revision and on having no claim), so no
/// two consumers ever receive the same item. If the take transaction was sent but its answer never arrived (a network
/// failure surfacing as an <see cref="EtcdException"/>), the item may be gone without anybody having received it.
/// Cancelling a consumer's token does not cause that: the token is not applied to the take transaction itself, so a
/// taken item is always returned.</para>
/// <para><see cref="TakeAsync"/> is <i>at least once</i>: it claims the item with a key on the consumer's session
/// lease; <see cref="QueueItem.AckAsync"/> removes it, <see cref="QueueItem.ReleaseAsync"/> hands it back, and if the
/// consumer's session ends first the item is delivered again (so it may be processed twice). Claimed items are skipped
/// by every consumer, of either kind. A claim's value is a random token of the attempt that made it: if the claim
/// transaction fails with an unknown outcome, the claim holding that token is deleted again (best effort, 5 s at most),
/// so the item is not hidden until the session ends.</para>
/// <para><b>Order.</b> Items are ordered by the time their enqueue started, on the producer's clock (UTC ticks, made
/// strictly increasing within a process). A single consumer therefore receives each producer's items in the order that
/// producer enqueued them, and items of different producers by time; producers on machines whose clocks disagree are
/// interleaved by their clocks (as etcd's Go recipe, which also names items by time). Concurrent consumers each take
/// the first item available when their transaction runs; a released or expired claim puts its item back at its
/// original place.</para>
/// <para>Items and claims live under <c>name/</c>: do not name another queue <c>name/items</c> or <c>name/claims</c>.</para>
/// </remarks>
public sealed class DistributedQueue
{
    private readonly QueueCore _core;

    /// <summary>A queue named <paramref name="name"/> in <paramref name="keyspace"/> (the client, or a namespace of it).</summary>
    public DistributedQueue(IEtcdKeyspace keyspace, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A queue name must not be empty.", nameof(name));
        _core = new QueueCore(keyspace, name);
    }

    /// <summary>The queue's name (its items are under <c>name/items/</c>).</summary>
    public EtcdBytes Name => _core.Name;

    /// <summary>Appends <paramref name="value"/> to the queue; returns the item's key.</summary>
    public Task<EtcdBytes> EnqueueAsync(EtcdBytes value, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        return _core.EnqueueAsync("", value, cancellationToken);
    }

    /// <summary>Removes and returns the oldest unclaimed item, waiting (by watch) while there is none. Exactly one consumer receives each item.</summary>
    public async Task<EtcdBytes> DequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await _core.TakeAsync(0, wait: true, cancellationToken).ConfigureAwait(false);
        return taken!.Item.Value;
    }

    /// <summary>Removes and returns the oldest unclaimed item; null when there is none (never waits).</summary>
    public async Task<EtcdBytes?> TryDequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await _core.TakeAsync(0, wait: false, cancellationToken).ConfigureAwait(false);
        return taken?.Item.Value;
    }

    /// <summary>The number of items in the queue, including items claimed by <see cref="TakeAsync"/> and not yet acknowledged.</summary>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) => _core.CountAsync(cancellationToken);

    /// <summary>
    /// Claims the oldest unclaimed item for <paramref name="session"/> (at-least-once delivery), waiting while there is
    /// none. The item stays in the queue until <see cref="QueueItem.AckAsync"/>; it is delivered again after
    /// <see cref="QueueItem.ReleaseAsync"/> or when the session ends.
    /// </summary>
    public Task<QueueItem> TakeAsync(Session session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return _core.ClaimAsync(session, cancellationToken);
    }

    /// <summary>Like <see cref="TakeAsync"/>, but returns null at once when no unclaimed item is available.</summary>
    public Task<QueueItem?> TryTakeAsync(Session session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return _core.TryClaimAsync(session, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"queue {Name}";
}
