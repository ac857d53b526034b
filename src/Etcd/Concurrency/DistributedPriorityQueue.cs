using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>
/// A multi-producer, multi-consumer priority queue in etcd: the LOWER priority number is served first (like .NET's
/// <see cref="PriorityQueue{TElement, TPriority}"/>), FIFO (enqueue-time order, as in <see cref="DistributedQueue"/>) within one priority. Items are keys
/// <c>name/items/&lt;priority as 5 decimal digits&gt;/&lt;time&gt;-&lt;random&gt;</c> (the 5-digit bucket follows
/// etcd's Go contrib/recipes priority queue), so key order is delivery order and a dequeue reads only the head.
/// </summary>
/// <remarks>Delivery guarantees, claims and waiting are those of <see cref="DistributedQueue"/>.</remarks>
public sealed class DistributedPriorityQueue : DistributedQueueBase
{
    /// <summary>The largest priority number (the least urgent).</summary>
    public const int MaxPriority = ushort.MaxValue;

    /// <summary>A priority queue named <paramref name="name"/> in <paramref name="keyspace"/> (the client, or a namespace of it).</summary>
    public DistributedPriorityQueue(IEtcdKeyspace keyspace, EtcdBytes name)
        : base(keyspace, name)
    {
    }

    /// <summary>Adds <paramref name="value"/> with <paramref name="priority"/> (0 = most urgent … 65535); returns the item's key.</summary>
    public Task<EtcdBytes> EnqueueAsync(EtcdBytes value, int priority, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        if (priority is < 0 or > MaxPriority)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, $"A priority must be between 0 and {MaxPriority}.");
        return Core.EnqueueAsync(priority.ToString("D5", CultureInfo.InvariantCulture) + "/", value, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"priority queue {Name}";
}
