using System.Collections.Concurrent;
using System.Text;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class CounterTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Concurrent_increments_are_never_lost_and_each_returns_a_distinct_value()
    {
        const int workers = 8, incrementsPerWorker = 250;
        var shared = new EtcdCounter(Client, P + "c");
        var returned = new ConcurrentBag<long>();
        // Half the workers share one instance (concurrent use of one counter), half have their own (separate processes).
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var counter = w % 2 == 0 ? shared : new EtcdCounter(Client, P + "c");
            for (var i = 0; i < incrementsPerWorker; i++) returned.Add(await counter.IncrementAsync());
        })));

        Assert.Equal(workers * incrementsPerWorker, await new EtcdCounter(Client, P + "c").GetAsync());
        Assert.Equal(Enumerable.Range(1, workers * incrementsPerWorker).Select(i => (long)i), returned.Order());
        Assert.Equal("2000", await Client.GetStringAsync(P + "c"));
    }

    [Fact]
    public async Task Add_negative_decrement_and_set_keep_decimal_text_readable_by_etcdctl()
    {
        var counter = new EtcdCounter(Client, P + "c");
        Assert.Equal(0, await counter.GetAsync());
        Assert.Equal(-7, await counter.AddAsync(-7));
        Assert.Equal(-8, await counter.DecrementAsync());
        Assert.Equal(-8, await counter.GetAsync());
        Assert.Equal("-8", Encoding.UTF8.GetString((await Etcd.Ctl.GetAsync(P + "c"))!));

        await Etcd.Ctl.PutAsync(P + "c", "41");
        // This instance remembers -8; the compare-and-swap finds the key changed and uses the stored value.
        Assert.Equal(42, await counter.IncrementAsync());
        await counter.SetAsync(100);
        Assert.Equal(95, await counter.AddAsync(-5));
        Assert.Equal("95", await Client.GetStringAsync(P + "c"));
        Assert.Equal(95, await counter.AddAsync(0));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("12x")]
    [InlineData(" 12")]
    [InlineData("")]
    [InlineData("99999999999999999999")]
    public async Task A_non_numeric_value_is_a_typed_error_and_nothing_is_written(string stored)
    {
        await Client.PutAsync(P + "c", stored);
        var counter = new EtcdCounter(Client, P + "c");

        var read = await Assert.ThrowsAsync<EtcdValueFormatException>(() => counter.GetAsync());
        Assert.Equal(P + "c", read.Key.ToStringUtf8());
        Assert.Equal(stored, read.Value.ToStringUtf8());
        var add = await Assert.ThrowsAsync<EtcdValueFormatException>(() => new EtcdCounter(Client, P + "c").IncrementAsync());
        Assert.Contains("not a decimal 64-bit integer", add.Message);
        Assert.Equal(stored, await Client.GetStringAsync(P + "c"));
    }

    [Fact]
    public async Task Overflow_is_an_error_and_nothing_is_written()
    {
        var counter = new EtcdCounter(Client, P + "c");
        await Client.PutAsync(P + "c", long.MaxValue.ToString());
        // A fresh instance guesses 0 first; the overflow is only reported against the stored value.
        await Assert.ThrowsAsync<OverflowException>(() => counter.IncrementAsync());
        await Assert.ThrowsAsync<OverflowException>(() => counter.IncrementAsync());
        Assert.Equal(long.MaxValue.ToString(), await Client.GetStringAsync(P + "c"));
        Assert.Equal(long.MaxValue - 1, await counter.DecrementAsync());
    }

    [Fact]
    public async Task Works_inside_a_namespace()
    {
        var ns = Client.WithNamespace(P + "ns/");
        var counter = new EtcdCounter(ns, "c");
        await Client.PutAsync(P + "ns/c", "10");
        Assert.Equal(13, await counter.AddAsync(3));
        Assert.Equal("13", await Client.GetStringAsync(P + "ns/c"));
        Assert.Null(await Client.GetStringAsync("c"));
        Assert.Equal(13, await counter.GetAsync());
    }

    [Fact]
    public async Task Bad_arguments_and_cancellation()
    {
        Assert.Throws<ArgumentNullException>(() => new EtcdCounter(null!, "c"));
        Assert.Throws<ArgumentException>(() => new EtcdCounter(Client, ""));
        Assert.Throws<ArgumentNullException>(() => new EtcdCounter(Client, (string)null!));

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var counter = new EtcdCounter(Client, P + "c");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => counter.IncrementAsync(cts.Token));
        Assert.Null(await Client.GetStringAsync(P + "c"));
    }
}
