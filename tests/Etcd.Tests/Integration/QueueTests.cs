using System.Collections.Concurrent;
using System.Diagnostics;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Etcd.Tests.Integration;

/// <summary>DistributedQueue against a real etcd: exactly-once delivery, FIFO order, watch-based waiting, claims.</summary>
public sealed class QueueTests(EtcdFixture etcd, ITestOutputHelper output) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_should = TimeSpan.FromSeconds(30);

    /// <summary>Every test works in a namespace of its own, so the recipes are exercised through prefixing too.</summary>
    private IEtcdKeyspace Ns => Client.WithNamespace(P);

    private static async Task<T> Within<T>(Task<T> task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(s_should));
        Assert.True(done == task, $"{what} did not happen within {s_should.TotalSeconds} s");
        return await task;
    }

    private static async Task Within(Task task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(s_should));
        Assert.True(done == task, $"{what} did not happen within {s_should.TotalSeconds} s");
        await task;
    }

    private static async Task AssertStillWaiting(Task task, string what, int milliseconds = 1000)
    {
        await Task.WhenAny(task, Task.Delay(milliseconds));
        Assert.False(task.IsCompleted, $"{what} completed but should still be waiting ({task.Status}).");
    }

    [Fact]
    public async Task Four_producers_and_four_consumers_deliver_every_item_exactly_once_in_per_producer_order()
    {
        const int producers = 4, perProducer = 1000, total = producers * perProducer;
        // Producers share the test's client; every consumer has an EtcdClient of its own.
        var consumerClients = Enumerable.Range(0, 4).Select(_ => new EtcdClient(Etcd.ClientUrl)).ToArray();
        try
        {
            var received = new ConcurrentDictionary<string, int>();
            var perConsumer = Enumerable.Range(0, 4).Select(_ => new List<(int Producer, int Seq)>()).ToArray();
            int count = 0;
            using var allDone = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();

            var consumers = consumerClients.Select((client, c) => Task.Run(async () =>
            {
                var queue = new DistributedQueue(client.WithNamespace(P), "jobs");
                while (true)
                {
                    EtcdBytes value;
                    try
                    {
                        value = await queue.DequeueAsync(allDone.Token);
                    }
                    catch (OperationCanceledException) when (allDone.IsCancellationRequested)
                    {
                        return;
                    }
                    var text = value.ToStringUtf8();
                    received.AddOrUpdate(text, 1, (_, n) => n + 1);
                    var parts = text.Split('-');
                    perConsumer[c].Add((int.Parse(parts[0]), int.Parse(parts[1])));
                    if (Interlocked.Increment(ref count) == total) allDone.Cancel();
                }
            })).ToArray();

            var producerTasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
            {
                var queue = new DistributedQueue(Ns, "jobs");
                for (int i = 0; i < perProducer; i++) await queue.EnqueueAsync($"{p}-{i}");
            })).ToArray();

            await Within(Task.WhenAll(producerTasks), "producing");
            var produced = clock.Elapsed;
            var finished = Task.WhenAll(consumers);
            var winner = await Task.WhenAny(finished, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(winner == finished, $"only {Volatile.Read(ref count)} of {total} items were consumed within 60 s");
            await finished;
            var consumed = clock.Elapsed;
            output.WriteLine($"{total} items: produced in {produced.TotalSeconds:0.0} s, all consumed after {consumed.TotalSeconds:0.0} s " +
                             $"({total / consumed.TotalSeconds:0} items/s end to end, 4 producers and 4 consumers concurrently); " +
                             $"per consumer: {string.Join(", ", perConsumer.Select(l => l.Count))}");

            Assert.Equal(total, count);
            Assert.Equal(total, received.Count);
            Assert.All(received, pair => Assert.Equal(1, pair.Value));
            for (int p = 0; p < producers; p++)
                for (int i = 0; i < perProducer; i++)
                    Assert.True(received.ContainsKey($"{p}-{i}"), $"item {p}-{i} was lost");
            // A consumer only ever takes the oldest item still there, so what one consumer got from one producer is in order.
            foreach (var list in perConsumer)
                foreach (var group in list.GroupBy(x => x.Producer))
                    Assert.Equal(group.Select(x => x.Seq).Order(), group.Select(x => x.Seq));
            Assert.Equal(0, await new DistributedQueue(Ns, "jobs").CountAsync());
        }
        finally
        {
            foreach (var client in consumerClients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_single_consumer_gets_items_in_enqueue_order_across_producers()
    {
        var queue = new DistributedQueue(Ns, "fifo");
        var producers = Enumerable.Range(0, 3).Select(p => Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++) await queue.EnqueueAsync($"{p}-{i}");
        }));
        await Task.WhenAll(producers);
        Assert.Equal(300, await queue.CountAsync());

        // The global order is key order (enqueue time): compare with what etcd says.
        var expected = (await Client.GetAsync(KeySet.Prefix(P + "fifo/items/")))
            .Kvs.Select(kv => kv.Value.ToStringUtf8()).ToList();
        var got = new List<string>();
        for (int i = 0; i < 300; i++) got.Add((await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal(expected, got);
        for (int p = 0; p < 3; p++)
            Assert.Equal(Enumerable.Range(0, 100).Select(i => $"{p}-{i}"), got.Where(v => v.StartsWith($"{p}-")));
        Assert.Null(await queue.TryDequeueAsync());
    }

    [Fact]
    public async Task A_waiting_consumer_gets_a_later_item_promptly_without_polling()
    {
        var queue = new DistributedQueue(Ns, "wait");
        await using var consumerClient = new EtcdClient(Etcd.ClientUrl);
        var consumer = new DistributedQueue(consumerClient.WithNamespace(P), "wait").DequeueAsync();
        await AssertStillWaiting(consumer, "Dequeue on an empty queue");

        // While it waits the consumer sends no reads: etcd's own counters of Range and Txn calls stay put.
        async Task<double> Reads() =>
            await EtcdMetrics.GrpcServerCounterAsync(Etcd.ClientUrl, "handled", "Range") +
            await EtcdMetrics.GrpcServerCounterAsync(Etcd.ClientUrl, "handled", "Txn");
        var before = await Reads();
        Assert.True(before > 0, "etcd's metrics show no Range/Txn calls at all: the counter names are wrong");
        await Task.Delay(1500);
        Assert.Equal(before, await Reads());
        Assert.False(consumer.IsCompleted);

        var clock = Stopwatch.StartNew();
        await queue.EnqueueAsync("late");
        Assert.Equal("late", (await Within(consumer, "the waiting consumer getting the item")).ToStringUtf8());
        output.WriteLine($"item reached the waiting consumer {clock.Elapsed.TotalMilliseconds:0} ms after the enqueue");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task TryDequeue_on_empty_is_null_and_a_cancelled_wait_takes_nothing()
    {
        var queue = new DistributedQueue(Ns, "cancel");
        Assert.Null(await queue.TryDequeueAsync());

        using var cts = new CancellationTokenSource();
        var waiting = queue.DequeueAsync(cts.Token);
        await AssertStillWaiting(waiting, "Dequeue on an empty queue", 500);
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {clock.Elapsed}");

        // The cancelled consumer is gone: a later item stays for the next one.
        await queue.EnqueueAsync("kept");
        await Task.Delay(300);
        Assert.Equal(1, await queue.CountAsync());
        Assert.Equal("kept", (await queue.TryDequeueAsync())!.Value.ToStringUtf8());

        // An already-cancelled token fails before anything is taken.
        await queue.EnqueueAsync("kept too");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.DequeueAsync(cts.Token));
        Assert.Equal(1, await queue.CountAsync());
    }

    [Fact]
    public async Task Enqueue_never_overwrites_and_keys_live_under_the_name()
    {
        var queue = new DistributedQueue(Ns, "layout");
        var key = await queue.EnqueueAsync("v");
        Assert.StartsWith("layout/items/", key.ToStringUtf8());
        // Stored in the namespace: the raw key carries the prefix.
        Assert.Equal("v", await Client.GetStringAsync(P + key.ToStringUtf8()));
        var binary = new byte[] { 0, 0xff, 1 };
        await queue.EnqueueAsync(binary);
        await queue.EnqueueAsync(EtcdBytes.Empty);
        Assert.Equal(3, await queue.CountAsync());
        Assert.Equal("v", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal(binary, (await queue.DequeueAsync()).ToArray());
        Assert.True((await queue.DequeueAsync()).IsEmpty);
    }

    [Fact]
    public async Task A_claim_lost_with_its_session_redelivers_the_item_and_ack_removes_it_for_good()
    {
        var queue = new DistributedQueue(Ns, "alo");
        var key = await queue.EnqueueAsync("job");

        await using var crashing = await Session.CreateAsync(Ns);
        var first = await queue.TakeAsync(crashing);
        Assert.Equal(key, first.Key);
        Assert.Equal("job", first.Value.ToStringUtf8());
        Assert.Equal(1, await queue.CountAsync());

        await using var survivor = await Session.CreateAsync(Ns);
        var second = queue.TakeAsync(survivor);
        await AssertStillWaiting(second, "Take of a claimed-only queue");

        await crashing.Lease.RevokeAsync(); // the consumer "crashes": its lease and claim are gone
        var again = await Within(second, "redelivery after the claim's session ended");
        Assert.Equal(key, again.Key);
        Assert.Equal("job", again.Value.ToStringUtf8());

        await Assert.ThrowsAsync<EtcdClaimLostException>(() => first.AckAsync());
        await again.AckAsync();
        Assert.Equal(0, await queue.CountAsync());
        Assert.Null(await Client.GetValueAsync(P + again.ClaimKey.ToStringUtf8()));
        Assert.Null(await queue.TryTakeAsync(survivor));
        await Assert.ThrowsAsync<InvalidOperationException>(() => again.AckAsync());
    }

    [Fact]
    public async Task Release_makes_the_item_available_again_at_its_place()
    {
        var queue = new DistributedQueue(Ns, "release");
        var oldKey = await queue.EnqueueAsync("old");
        await queue.EnqueueAsync("new");
        await using var session = await Session.CreateAsync(Ns);

        var item = await queue.TakeAsync(session);
        Assert.Equal(oldKey, item.Key);
        await item.ReleaseAsync();
        Assert.True(item.IsSettled);

        var again = await queue.TakeAsync(session);
        Assert.Equal(oldKey, again.Key);
        // Disposing without an acknowledgement releases too.
        await again.DisposeAsync();
        Assert.Equal("old", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal("new", (await queue.DequeueAsync()).ToStringUtf8());
    }

    [Fact]
    public async Task Dequeue_skips_claimed_items_and_wakes_when_a_claim_is_released()
    {
        var queue = new DistributedQueue(Ns, "skip");
        await queue.EnqueueAsync("a");
        await queue.EnqueueAsync("b");
        await using var session = await Session.CreateAsync(Ns);
        var claimed = await queue.TakeAsync(session);
        Assert.Equal("a", claimed.Value.ToStringUtf8());

        Assert.Equal("b", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Null(await queue.TryDequeueAsync());
        Assert.Equal(1, await queue.CountAsync());

        var waiting = queue.DequeueAsync();
        await AssertStillWaiting(waiting, "Dequeue with only a claimed item");
        await claimed.ReleaseAsync();
        Assert.Equal("a", (await Within(waiting, "Dequeue after the claim was released")).ToStringUtf8());
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Dequeue_looks_past_a_batch_of_claimed_items()
    {
        var queue = new DistributedQueue(Ns, "deep");
        for (int i = 0; i < 20; i++) await queue.EnqueueAsync($"{i}");
        await using var session = await Session.CreateAsync(Ns);
        var claims = new List<QueueItem>();
        for (int i = 0; i < 18; i++) claims.Add(await queue.TakeAsync(session));
        Assert.Equal(Enumerable.Range(0, 18).Select(i => $"{i}"), claims.Select(c => c.Value.ToStringUtf8()));
        Assert.Equal("18", (await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal("19", (await queue.TryDequeueAsync())!.Value.ToStringUtf8());
        Assert.Null(await queue.TryDequeueAsync());
    }

    [Fact]
    public async Task A_claim_whose_answer_is_lost_is_taken_back_so_the_item_is_not_hidden()
    {
        var hooked = new HookedKeyspace(Ns);
        var queue = new DistributedQueue(hooked, "lost-claim");
        var key = await queue.EnqueueAsync("job");
        await using var session = await Session.CreateAsync(Ns);
        // The take transaction (the one with compares; the read has none) applies, then its answer is lost.
        hooked.AfterTxn = (txn, _) =>
        {
            if (txn.Compares.Count == 0) return Task.CompletedTask;
            hooked.AfterTxn = null;
            throw new EtcdUnavailableException("simulated: the answer of an applied claim was lost");
        };
        await Assert.ThrowsAsync<EtcdUnavailableException>(() => queue.TakeAsync(session));

        Assert.Equal(0, (await Ns.GetAsync(KeySet.Prefix("lost-claim/claims/"), new GetOptions { CountOnly = true })).Count);
        await using var other = await Session.CreateAsync(Ns);
        var item = await queue.TryTakeAsync(other);
        Assert.NotNull(item);
        Assert.Equal(key, item.Key);
        await item.AckAsync();
    }

    [Fact]
    public async Task Concurrent_ack_and_release_send_only_one_and_the_ack_is_not_overwritten()
    {
        var queue = new DistributedQueue(Ns, "settle");
        await queue.EnqueueAsync("job");
        await using var session = await Session.CreateAsync(Ns);
        var item = await queue.TakeAsync(session);

        // Both start before either answer arrives: the second must be refused, not sent.
        var ack = item.AckAsync();
        var release = item.ReleaseAsync();
        var dispose = item.DisposeAsync().AsTask();
        await Assert.ThrowsAsync<InvalidOperationException>(() => release);
        await ack;
        await dispose;
        Assert.True(item.IsSettled);
        Assert.Equal(0, await queue.CountAsync());
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => item.ReleaseAsync());
        Assert.Contains("acknowledged", again.Message);
    }

    [Fact]
    public async Task Retrying_an_ack_whose_answer_was_lost_reports_success()
    {
        var hooked = new HookedKeyspace(Ns);
        var queue = new DistributedQueue(hooked, "ack-retry");
        await queue.EnqueueAsync("job");
        await using var session = await Session.CreateAsync(Ns);
        var item = await queue.TakeAsync(session);
        hooked.AfterTxn = (_, _) =>
        {
            hooked.AfterTxn = null;
            throw new EtcdDeadlineExceededException("simulated: the answer of an applied acknowledgement was lost");
        };
        await Assert.ThrowsAsync<EtcdDeadlineExceededException>(() => item.AckAsync());
        Assert.False(item.IsSettled);
        Assert.Equal(0, await queue.CountAsync());

        await item.AckAsync();
        Assert.True(item.IsSettled);

        // A claim that really went (released elsewhere, the item still there) is still reported as lost.
        await queue.EnqueueAsync("next");
        var next = await queue.TakeAsync(session);
        await Ns.DeleteAsync(next.ClaimKey);
        await Assert.ThrowsAsync<EtcdClaimLostException>(() => next.AckAsync());
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_sending()
    {
        Assert.Throws<ArgumentNullException>(() => new DistributedQueue(null!, "q"));
        Assert.Throws<ArgumentException>(() => new DistributedQueue(Client, ""));
        Assert.Throws<ArgumentNullException>(() => new DistributedQueue(Client, (string?)null));
        var queue = new DistributedQueue(Ns, "args");
        Assert.Throws<ArgumentNullException>(() => { _ = queue.EnqueueAsync((byte[]?)null); });
        Assert.Throws<ArgumentNullException>(() => { _ = queue.TakeAsync(null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = queue.TryTakeAsync(null!); });
        Assert.Equal(0, await queue.CountAsync());
    }
}
