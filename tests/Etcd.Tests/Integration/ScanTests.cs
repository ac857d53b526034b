using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class ScanTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private async Task PutManyAsync(string prefix, int count)
    {
        for (int i = 0; i < count; i += 100)
        {
            var txn = Client.Txn();
            for (int j = i; j < Math.Min(count, i + 100); j++) txn.Then(TxnOp.Put($"{prefix}{j:d5}", $"value-{j}"));
            await txn.CommitAsync();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    [InlineData(5000)]
    public async Task Scan_returns_every_key_once_in_order_for_any_page_size(int pageSize)
    {
        string prefix = $"{P}{pageSize}/";
        await PutManyAsync(prefix, 2503);
        var keys = new List<string>();
        await foreach (var kv in Client.ScanAsync(KeySet.Prefix(prefix), new ScanOptions { PageSize = pageSize }))
        {
            keys.Add(kv.Key.ToStringUtf8());
            Assert.Equal($"value-{int.Parse(kv.Key.ToStringUtf8()[prefix.Length..])}", kv.Value.ToStringUtf8());
        }
        Assert.Equal(Enumerable.Range(0, 2503).Select(i => $"{prefix}{i:d5}"), keys);
    }

    [Fact]
    public async Task Scan_reads_every_page_at_the_first_pages_revision()
    {
        string prefix = P + "snap/";
        await PutManyAsync(prefix, 300);
        int seen = 0;
        long? revision = null;
        await foreach (var kv in Client.ScanAsync(KeySet.Prefix(prefix), new ScanOptions { PageSize = 50 }))
        {
            if (seen == 0)
            {
                // Writes after the first page: new keys, changed and deleted keys must not show in the scan.
                // "00299a" sorts into the last page, which is read after this write.
                revision = (await Client.PutAsync(prefix + "00299a", "x")).Header.Revision;
                await Client.PutAsync(prefix + "00299", "changed");
                await Client.DeleteAsync(prefix + "00150");
            }
            seen++;
            Assert.StartsWith("value-", kv.Value.ToStringUtf8());
            Assert.True(kv.ModRevision < revision!.Value);
        }
        Assert.Equal(300, seen);
    }

    [Fact]
    public async Task Scan_range_keys_only_and_fixed_revision()
    {
        string prefix = P + "r/";
        await PutManyAsync(prefix, 20);
        var before = (await Client.GetAsync(prefix + "00000")).Header.Revision;
        await Client.DeleteAsync(KeySet.Range(prefix + "00010", prefix + "00020"));

        var keysOnly = await ToListAsync(Client.ScanAsync(KeySet.Range(prefix + "00005", prefix + "00015"), new ScanOptions { PageSize = 3, KeysOnly = true }));
        Assert.Equal(5, keysOnly.Count);
        Assert.All(keysOnly, kv => Assert.True(kv.Value.IsEmpty));

        var old = await ToListAsync(Client.ScanAsync(KeySet.Prefix(prefix), new ScanOptions { PageSize = 4, Revision = before, Serializable = true }));
        Assert.Equal(20, old.Count);
    }

    [Fact]
    public async Task Scan_of_single_key_and_empty_range()
    {
        await Client.PutAsync(P + "single", "1");
        Assert.Single(await ToListAsync(Client.ScanAsync(P + "single")));
        Assert.Empty(await ToListAsync(Client.ScanAsync(KeySet.Prefix(P + "nothing/"))));
    }

    [Fact]
    public async Task Scan_honours_cancellation_between_pages()
    {
        string prefix = P + "c/";
        await PutManyAsync(prefix, 50);
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in Client.ScanAsync(KeySet.Prefix(prefix), new ScanOptions { PageSize = 10 }, cts.Token))
            {
                if (++seen == 10) cts.Cancel();
            }
        });
        Assert.Equal(10, seen);
        Assert.Equal(cts.Token, error.CancellationToken);
    }

    [Fact]
    public void Scan_rejects_bad_options_at_call_time()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Client.ScanAsync(KeySet.Prefix(P), new ScanOptions { PageSize = 0 }));
        Assert.Throws<ArgumentException>(() => Client.ScanAsync(default(KeySet)));
    }

    private static async Task<List<KeyValue>> ToListAsync(IAsyncEnumerable<KeyValue> source)
    {
        var list = new List<KeyValue>();
        await foreach (var item in source) list.Add(item);
        return list;
    }
}
