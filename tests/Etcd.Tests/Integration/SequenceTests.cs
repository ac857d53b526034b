using System.Collections.Concurrent;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class SequenceTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static void AssertStrictlyIncreasing(IReadOnlyList<long> ids)
    {
        for (var i = 1; i < ids.Count; i++) Assert.True(ids[i] > ids[i - 1], $"id {ids[i]} after {ids[i - 1]}");
    }

    [Fact]
    public async Task Ids_of_eight_generators_are_exactly_one_to_n_and_increasing_per_worker()
    {
        const int workers = 8, idsPerWorker = 200;
        var perWorker = await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            var sequence = new EtcdSequence(Client, P + "seq");
            var ids = new List<long>(idsPerWorker);
            for (var i = 0; i < idsPerWorker; i++) ids.Add(await sequence.NextAsync());
            return ids;
        })));

        foreach (var ids in perWorker) AssertStrictlyIncreasing(ids);
        Assert.Equal(Enumerable.Range(1, workers * idsPerWorker).Select(i => (long)i), perWorker.SelectMany(ids => ids).Order());
        Assert.Equal("1600", await Client.GetStringAsync(P + "seq"));
    }

    [Fact]
    public async Task Blocks_give_unique_ids_increasing_per_generator()
    {
        const int workers = 8, idsPerWorker = 200, block = 50;
        var perWorker = await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            var sequence = new EtcdSequence(Client, P + "seq", new SequenceOptions { BlockSize = block });
            var ids = new List<long>(idsPerWorker);
            for (var i = 0; i < idsPerWorker; i++) ids.Add(await sequence.NextAsync());
            return ids;
        })));

        foreach (var ids in perWorker) AssertStrictlyIncreasing(ids);
        var all = perWorker.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        // Each generator used exactly four whole blocks, so together they issued 1..1600.
        Assert.Equal(Enumerable.Range(1, workers * idsPerWorker).Select(i => (long)i), all.Order());
        Assert.Equal("1600", await Client.GetStringAsync(P + "seq"));
    }

    [Fact]
    public async Task One_block_generator_is_safe_for_concurrent_callers()
    {
        var sequence = new EtcdSequence(Client, P + "seq", new SequenceOptions { BlockSize = 7 });
        var ids = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++) ids.Add(await sequence.NextAsync());
        })));

        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), ids.Order());
        // 400 ids need 58 blocks of 7 (406 reserved); the last 6 stay unused.
        Assert.Equal("406", await Client.GetStringAsync(P + "seq"));
        Assert.Equal(407, await new EtcdSequence(Client, P + "seq").NextAsync());
        Assert.Equal(401, await sequence.NextAsync());
    }

    [Fact]
    public async Task Works_inside_a_namespace_and_continues_after_an_existing_value()
    {
        var ns = Client.WithNamespace(P + "ns/");
        await Client.PutAsync(P + "ns/seq", "41");
        Assert.Equal(42, await new EtcdSequence(ns, "seq").NextAsync());
        var blocks = new EtcdSequence(ns, "seq", new SequenceOptions { BlockSize = 10 });
        Assert.Equal(43, await blocks.NextAsync());
        Assert.Equal(44, await blocks.NextAsync());
        Assert.Equal("52", await Client.GetStringAsync(P + "ns/seq"));
        Assert.Null(await Client.GetStringAsync("seq"));
    }

    [Fact]
    public async Task Bad_arguments_a_corrupt_key_and_cancellation()
    {
        Assert.Throws<ArgumentNullException>(() => new EtcdSequence(null!, "s"));
        Assert.Throws<ArgumentException>(() => new EtcdSequence(Client, ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceOptions { BlockSize = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceOptions { BlockSize = SequenceOptions.MaxBlockSize + 1 });

        await Client.PutAsync(P + "bad", "not a number");
        await Assert.ThrowsAsync<EtcdValueFormatException>(() => new EtcdSequence(Client, P + "bad").NextAsync());
        await Assert.ThrowsAsync<EtcdValueFormatException>(() => new EtcdSequence(Client, P + "bad", new SequenceOptions { BlockSize = 5 }).NextAsync());
        Assert.Equal("not a number", await Client.GetStringAsync(P + "bad"));

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EtcdSequence(Client, P + "seq", new SequenceOptions { BlockSize = 5 }).NextAsync(cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EtcdSequence(Client, P + "seq").NextAsync(cts.Token));
        Assert.Null(await Client.GetStringAsync(P + "seq"));
    }
}
