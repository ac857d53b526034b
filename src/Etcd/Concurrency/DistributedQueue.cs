namespace Etcd.Concurrency;

/// <summary>
/// A multi-producer, multi-consumer FIFO queue in etcd. Items are keys <c>name/items/&lt;time&gt;-&lt;random&gt;</c>
/// whose key order is enqueue-time order, so a dequeue reads only the head of the queue however long it is. Consumers
/// wait on a watch, never by polling.
/// </summary>
/// <remarks>
/// <para><b>Delivery guarantees.</b> <see cref="DistributedQueueBase.DequeueAsync"/> and <see cref="DistributedQueueBase.TryDequeueAsync"/> are <i>at most
/// once</i>: an item is deleted by exactly one transaction (guarded on its mod revision and on having no claim), so no
/// two consumers ever receive the same item. If the take transaction was sent but its answer never arrived (a network
/// failure surfacing as an <see cref="EtcdException"/>), the item may be gone without anybody having received it.
/// Cancelling a consumer's token does not cause that: the token is not applied to the take transaction itself, so a
/// taken item is always returned.</para>
/// <para><see cref="DistributedQueueBase.TakeAsync"/> is <i>at least once</i>: it claims the item with a key on the consumer's session
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
public sealed class DistributedQueue : DistributedQueueBase
{
    /// <summary>A queue named <paramref name="name"/> in <paramref name="keyspace"/> (the client, or a namespace of it).</summary>
    public DistributedQueue(IEtcdKeyspace keyspace, EtcdBytes name)
        : base(keyspace, name)
    {
    }

    /// <summary>Appends <paramref name="value"/> to the queue; returns the item's key.</summary>
    public Task<EtcdBytes> EnqueueAsync(EtcdBytes value, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        return Core.EnqueueAsync("", value, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"queue {Name}";
}
