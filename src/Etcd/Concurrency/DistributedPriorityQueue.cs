using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>
/// A multi-producer, multi-consumer priority queue in etcd: the LOWER priority number is served first (like .NET's
/// <see cref="PriorityQueue{TElement, TPriority}"/>), FIFO (enqueue-time order, as in <see cref="DistributedQueue"/>) within one priority. Items are keys
/// <c>name/items/&lt;priority as 5 decimal digits&gt;/&lt;time&gt;-&lt;random&gt;</c> (the 5-digit bucket follows
/// etcd's Go contrib/recipes priority queue), so key order is delivery order and a dequeue reads only the head.
/// </summary>
/// <remarks>Delivery guarantees, claims and waiting are those of <see cref="DistributedQueue"/>.</remarks>
public sealed class DistributedPriorityQueue
{
    /// <summary>The largest priority number (the least urgent).</summary>
    public const int MaxPriority = ushort.MaxValue;

    private readonly QueueCore _core;

    /// <summary>A priority queue named <paramref name="name"/> in <paramref name="keyspace"/> (the client, or a namespace of it).</summary>
    public DistributedPriorityQueue(IEtcdKeyspace keyspace, EtcdBytes name)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        if (name.IsNull) throw new ArgumentNullException(nameof(name));
        if (name.IsEmpty) throw new ArgumentException("A queue name must not be empty.", nameof(name));
        _core = new QueueCore(keyspace, name);
    }

    /// <summary>The queue's name (its items are under <c>name/items/</c>).</summary>
    public EtcdBytes Name => _core.Name;

    /// <summary>Adds <paramref name="value"/> with <paramref name="priority"/> (0 = most urgent … 65535); returns the item's key.</summary>
    public Task<EtcdBytes> EnqueueAsync(EtcdBytes value, int priority, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        if (priority is < 0 or > MaxPriority)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, $"A priority must be between 0 and {MaxPriority}.");
        return _core.EnqueueAsync(priority.ToString("D5", CultureInfo.InvariantCulture) + "/", value, cancellationToken);
    }

    /// <summary>Removes and returns the most urgent (then oldest) unclaimed item, waiting (by watch) while there is none.</summary>
    public async Task<EtcdBytes> DequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await _core.TakeAsync(0, wait: true, cancellationToken).ConfigureAwait(false);
        return taken!.Item.Value;
    }

    /// <summary>Removes and returns the most urgent (then oldest) unclaimed item; null when there is none (never waits).</summary>
    public async Task<EtcdBytes?> TryDequeueAsync(CancellationToken cancellationToken = default)
    {
        var taken = await _core.TakeAsync(0, wait: false, cancellationToken).ConfigureAwait(false);
        return taken?.Item.Value;
    }

    /// <summary>The number of items in the queue, including claimed ones not yet acknowledged.</summary>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) => _core.CountAsync(cancellationToken);

    /// <summary>Claims the most urgent unclaimed item for <paramref name="session"/> (at-least-once, see <see cref="DistributedQueue.TakeAsync"/>), waiting while there is none.</summary>
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
    public override string ToString() => $"priority queue {Name}";
}
