using Etcd.Concurrency;

namespace Etcd.Tests.Unit;

/// <summary>Queue item suffixes: their byte order must be the order they were made in, even from many threads at once.</summary>
public sealed class QueueKeyOrderTests
{
    [Fact]
    public async Task Suffixes_made_concurrently_are_unique_and_sort_in_the_order_each_thread_made_them()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 5_000).Select(_ => QueueCore.NextSuffix()).ToList())));

        foreach (var made in perThread)
        {
            Assert.Equal(made.Order(StringComparer.Ordinal), made);
        }
        var all = perThread.SelectMany(x => x).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
        // Fixed width (16 hex digits of ticks, '-', 8 random hex digits), so byte order is numeric order of the ticks.
        Assert.All(all, s => Assert.Matches("^[0-9a-f]{16}-[0-9a-f]{8}$", s));
    }

    [Fact]
    public void A_later_suffix_sorts_after_an_earlier_one()
    {
        var first = QueueCore.NextSuffix();
        var second = QueueCore.NextSuffix();
        Assert.True(string.CompareOrdinal(first, second) < 0, $"{first} should sort before {second}");
    }
}
