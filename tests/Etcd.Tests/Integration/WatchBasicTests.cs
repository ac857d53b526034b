using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class WatchBasicTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Watch_prefix_from_a_revision_sees_puts_and_deletes_in_order_with_prevKv()
    {
        var first = await Client.PutAsync(P + "a", "1");
        await Client.PutAsync(P + "b", "2");
        await Client.PutAsync(P + "a", "3");
        await Client.DeleteAsync(P + "b");

        var seen = new List<WatchEvent>();
        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (var e in Client.Watch.WatchAsync(KeySet.Prefix(P), new WatchOptions { StartRevision = first.Header.Revision, PrevKv = true }, cts.Token))
        {
            seen.Add(e);
            if (seen.Count == 4) break;
        }

        Assert.Equal([WatchEventType.Put, WatchEventType.Put, WatchEventType.Put, WatchEventType.Delete], seen.Select(e => e.Type));
        Assert.Equal([P + "a", P + "b", P + "a", P + "b"], seen.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal("1", seen[2].PrevKv!.Value.ToStringUtf8());
        Assert.Equal("2", seen[3].PrevKv!.Value.ToStringUtf8());
        Assert.Equal(Enumerable.Range(0, 4).Select(i => first.Header.Revision + i), seen.Select(e => e.Revision));
        await WaitForNoWatchesAsync();
    }

    [Fact]
    public async Task Callback_watch_from_now_and_transaction_events_stay_together()
    {
        var got = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var events = new List<WatchEvent>();
        await using var subscription = Client.Watch.Watch(KeySet.Prefix(P), e =>
        {
            lock (events) events.Add(e);
            if (events.Count == 3) got.TrySetResult();
        });
        await subscription.Started.WaitAsync(s_timeout);
        await Client.PutAsync(P + "probe", "p");

        var txn = await Client.Txn().Then(TxnOp.Put(P + "x", "1"), TxnOp.Put(P + "y", "2")).CommitAsync();
        await got.Task.WaitAsync(s_timeout);
        lock (events)
        {
            Assert.Equal(P + "probe", events[0].Kv.Key.ToStringUtf8());
            Assert.Equal(txn.Header.Revision, events[1].Revision);
            Assert.Equal(txn.Header.Revision, events[2].Revision);
        }
        var deadline = DateTime.UtcNow + s_timeout;
        while (subscription.SeenRevision < txn.Header.Revision)
        {
            Assert.True(DateTime.UtcNow < deadline, $"SeenRevision stuck at {subscription.SeenRevision}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Compacted_start_revision_ends_with_the_compact_revision()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var first = await client.PutAsync("k", "1");
        var second = await client.PutAsync("k", "2");
        await client.CompactAsync(second.Header.Revision);

        var error = await Assert.ThrowsAsync<EtcdCompactedException>(async () =>
        {
            await foreach (var _ in client.Watch.WatchAsync("k", new WatchOptions { StartRevision = first.Header.Revision })) { }
        }).WaitAsync(s_timeout);
        Assert.Equal(second.Header.Revision, error.CompactRevision);
        Assert.Equal(first.Header.Revision, error.RequestedRevision);
    }

    private async Task WaitForNoWatchesAsync()
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (Client.Watch.ActiveCount != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the watch was not removed");
            await Task.Delay(20);
        }
    }
}
