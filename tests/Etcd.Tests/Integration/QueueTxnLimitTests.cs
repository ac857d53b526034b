using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>An etcd whose --max-txn-ops (8) is below what a take of a full batch needs (2 per candidate: 32).</summary>
public sealed class SmallTxnEtcdFixture : EtcdFixture
{
    protected override EtcdServerOptions Options => new() { ExtraArgs = ["--max-txn-ops", "8"] };
}

/// <summary>Queues against a server that allows few operations per transaction.</summary>
public sealed class QueueTxnLimitTests(SmallTxnEtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<SmallTxnEtcdFixture>
{
    [Fact]
    public async Task Takes_shrink_their_batch_to_the_servers_operation_limit_and_keep_fifo_order()
    {
        var ns = Client.WithNamespace(P);
        var queue = new DistributedQueue(ns, "small");
        for (int i = 0; i < 20; i++) await queue.EnqueueAsync($"{i}");
        await using var session = await Session.CreateAsync(ns);

        var claimed = await queue.TakeAsync(session);
        Assert.Equal("0", claimed.Value.ToStringUtf8());
        var taken = new List<string>();
        for (int i = 1; i < 20; i++) taken.Add((await queue.DequeueAsync()).ToStringUtf8());
        Assert.Equal(Enumerable.Range(1, 19).Select(i => $"{i}"), taken);
        Assert.Null(await queue.TryDequeueAsync());
        await claimed.AckAsync();
        Assert.Equal(0, await queue.CountAsync());

        // A fresh queue object learns the limit again: a full batch is still rejected by the server, never applied.
        var fresh = new DistributedPriorityQueue(ns, "small-prio");
        for (int i = 0; i < 20; i++) await fresh.EnqueueAsync($"{i}", 1);
        Assert.Equal("0", (await fresh.DequeueAsync()).ToStringUtf8());
        Assert.Equal(19, await fresh.CountAsync());
    }
}
