using System.Collections.Concurrent;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>DistributedPriorityQueue against a real etcd: lower number first, FIFO within a priority, exactly once.</summary>
public sealed class PriorityQueueTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private IEtcdKeyspace Ns => Client.WithNamespace(P);

    [Fact]
    public async Task A_single_consumer_gets_lower_numbers_first_and_fifo_within_a_priority()
    {
        var queue = new DistributedPriorityQueue(Ns, "pq");
        int[] priorities = [65535, 7, 0, 300, 1, 7, 0, 65535, 300, 1];
        var random = new Random(12345);
        var enqueued = new List<(int Priority, int Seq)>();
        for (int seq = 0; seq < 60; seq++)
        {
            int priority = priorities[random.Next(priorities.Length)];
            await queue.EnqueueAsync($"{priority}:{seq}", priority);
            enqueued.Add((priority, seq));
        }
        Assert.Equal(60, await queue.CountAsync());

        var got = new List<string>();
        for (int i = 0; i < 60; i++) got.Add((await queue.DequeueAsync()).ToStringUtf8());
        // OrderBy is stable: by priority, then in enqueue order.
        Assert.Equal(enqueued.OrderBy(x => x.Priority).Select(x => $"{x.Priority}:{x.Seq}"), got);
        Assert.Null(await queue.TryDequeueAsync());
    }

    [Fact]
    public async Task A_more_urgent_item_enqueued_later_is_served_first()
    {
        var queue = new DistributedPriorityQueue(Ns, "late");
        await queue.EnqueueAsync("low", 10);
        await queue.EnqueueAsync("urgent", 2);
        var key = await queue.EnqueueAsync("lowest number", 0);
        Assert.StartsWith("late/items/00000/", key.ToStringUtf8());
        Assert.Equal("lowest number", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal("urgent", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal("low", (await queue.DequeueAsync()).ToStringUtf8());
    }

    [Fact]
    public async Task Four_consumers_get_every_item_exactly_once()
    {
        const int total = 400;
        var queue = new DistributedPriorityQueue(Ns, "many");
        var random = new Random(7);
        for (int i = 0; i < total; i++) await queue.EnqueueAsync($"{i}", random.Next(0, 5));

        // Consumers each have their own client; they drain the queue with TryDequeue (no producer is running).
        var received = new ConcurrentDictionary<string, int>();
        var consumers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await using var client = new EtcdClient(Etcd.ClientUrl);
            var mine = new DistributedPriorityQueue(client.WithNamespace(P), "many");
            while (await mine.TryDequeueAsync() is { } value)
                received.AddOrUpdate(value.ToStringUtf8(), 1, (_, n) => n + 1);
        })).ToArray();
        var all = Task.WhenAll(consumers);
        Assert.True(await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))) == all, "draining took over 60 s");
        await all;

        Assert.Equal(total, received.Count);
        Assert.All(received, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task A_waiting_consumer_wakes_for_an_item_and_claimed_buckets_are_skipped()
    {
        var queue = new DistributedPriorityQueue(Ns, "claims");
        var waiting = queue.DequeueAsync();
        await Task.WhenAny(waiting, Task.Delay(1000));
        Assert.False(waiting.IsCompleted);
        await queue.EnqueueAsync("first", 5);
        Assert.True(await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(30))) == waiting);
        Assert.Equal("first", (await waiting).ToStringUtf8());

        await queue.EnqueueAsync("urgent", 0);
        await queue.EnqueueAsync("normal", 9);
        await using var session = await Session.CreateAsync(Ns);
        var claimed = await queue.TakeAsync(session);
        Assert.Equal("urgent", claimed.Value.ToStringUtf8());
        // The only item of bucket 0 is claimed: Dequeue moves on to the next bucket.
        Assert.Equal("normal", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Null(await queue.TryDequeueAsync());
        await claimed.ReleaseAsync();
        Assert.Equal("urgent", (await queue.DequeueAsync()).ToStringUtf8());
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_sending()
    {
        Assert.Throws<ArgumentNullException>(() => new DistributedPriorityQueue(null!, "q"));
        Assert.Throws<ArgumentException>(() => new DistributedPriorityQueue(Client, ""));
        var queue = new DistributedPriorityQueue(Ns, "args");
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = queue.EnqueueAsync("v", -1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = queue.EnqueueAsync("v", 65536); });
        Assert.Throws<ArgumentNullException>(() => { _ = queue.EnqueueAsync((string?)null, 1); });
        Assert.Throws<ArgumentNullException>(() => { _ = queue.TakeAsync(null!); });
    }
}
