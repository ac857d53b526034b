using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class KvTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>, IAsyncLifetime
{
    private EtcdClient client = null!;
    private readonly string p = etcd.UniquePrefix();

    public Task InitializeAsync()
    {
        client = new EtcdClient(etcd.ClientUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await client.DisposeAsync();

    private async Task PutKeysAsync(params string[] suffixes)
    {
        foreach (var suffix in suffixes) await client.PutAsync(p + suffix, "v-" + suffix);
    }

    [Fact]
    public async Task Put_then_get_returns_value_and_metadata()
    {
        var put = await client.PutAsync(p + "k", "hello");
        var get = await client.GetAsync(p + "k");

        var kv = Assert.Single(get.Kvs);
        Assert.Equal(p + "k", kv.Key.ToStringUtf8());
        Assert.Equal("hello", kv.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, kv.CreateRevision);
        Assert.Equal(put.Header.Revision, kv.ModRevision);
        Assert.Equal(1, kv.Version);
        Assert.Equal(0, kv.Lease);
        Assert.Equal(1, get.Count);
        Assert.False(get.More);
        Assert.True(get.Header.Revision >= put.Header.Revision);
        Assert.NotEqual(0UL, get.Header.ClusterId);
        Assert.NotEqual(0UL, get.Header.MemberId);
    }

    [Fact]
    public async Task GetString_decodes_utf8_and_returns_null_for_missing_key()
    {
        await client.PutAsync(p + "s", "grüße ✓");
        Assert.Equal("grüße ✓", await client.GetStringAsync(p + "s"));
        Assert.Null(await client.GetStringAsync(p + "missing"));
    }

    [Fact]
    public async Task GetValue_returns_null_for_missing_key()
    {
        Assert.Null(await client.GetValueAsync(p + "missing"));
        await client.PutAsync(p + "present", "");
        var value = await client.GetValueAsync(p + "present");
        Assert.NotNull(value);
        Assert.True(value.Value.IsEmpty);
    }

    [Fact]
    public async Task Put_with_prevKv_returns_the_previous_pair()
    {
        var first = await client.PutAsync(p + "k", "one", new PutOptions { PrevKv = true });
        Assert.Null(first.PrevKv);
        var second = await client.PutAsync(p + "k", "two", new PutOptions { PrevKv = true });
        Assert.NotNull(second.PrevKv);
        Assert.Equal("one", second.PrevKv.Value.ToStringUtf8());
        Assert.Equal(2, (await client.GetAsync(p + "k")).Kvs[0].Version);
    }

    private async Task<long> GrantLeaseWithEtcdctlAsync(int ttlSeconds)
    {
        // Leases get their own API in a later issue; etcdctl grants one here ("lease 694d... granted with TTL(60s)").
        var result = await etcd.Ctl.RunCheckedAsync(["lease", "grant", ttlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return long.Parse(result.StdOutText.Split(' ')[1], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Put_with_lease_attaches_it_and_IgnoreValue_and_IgnoreLease_keep_what_they_say()
    {
        long lease = await GrantLeaseWithEtcdctlAsync(600);
        await client.PutAsync(p + "k", "kept", new PutOptions { Lease = lease });
        Assert.Equal(lease, (await client.GetAsync(p + "k")).Kvs[0].Lease);

        // IgnoreValue: the lease changes (to none), the value stays.
        await client.PutAsync(p + "k", EtcdBytes.Empty, new PutOptions { IgnoreValue = true });
        var afterIgnoreValue = (await client.GetAsync(p + "k")).Kvs[0];
        Assert.Equal("kept", afterIgnoreValue.Value.ToStringUtf8());
        Assert.Equal(0, afterIgnoreValue.Lease);

        // IgnoreLease: the value changes, the lease stays.
        await client.PutAsync(p + "k", "again", new PutOptions { Lease = lease });
        await client.PutAsync(p + "k", "changed", new PutOptions { IgnoreLease = true });
        var kv = (await client.GetAsync(p + "k")).Kvs[0];
        Assert.Equal("changed", kv.Value.ToStringUtf8());
        Assert.Equal(lease, kv.Lease);
        Assert.Equal(4, kv.Version);
        Assert.True((await client.TxnAsync(new Transaction().If(Compare.Lease(p + "k").Equal(lease)))).Succeeded);

        // The key goes away with its lease.
        await etcd.Ctl.RunCheckedAsync(["lease", "revoke", lease.ToString("x", System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Null(await client.GetValueAsync(p + "k"));

        // IgnoreValue on a missing key is refused by the server ("key not found").
        await Assert.ThrowsAsync<EtcdInvalidArgumentException>(() =>
            client.PutAsync(p + "absent", EtcdBytes.Empty, new PutOptions { IgnoreValue = true }));
    }

    [Fact]
    public async Task Range_prefix_fromKey_and_all()
    {
        await PutKeysAsync("a", "b", "c", "d");
        var range = await client.GetAsync(KeySet.Range(p + "b", p + "d"));
        Assert.Equal([p + "b", p + "c"], range.Kvs.Select(kv => kv.Key.ToStringUtf8()));

        var prefix = await client.GetAsync(KeySet.Prefix(p));
        Assert.Equal(4, prefix.Count);

        var fromKey = await client.GetAsync(KeySet.FromKey(p + "c"), new GetOptions { CountOnly = true });
        Assert.True(fromKey.Count >= 2); // c, d and anything sorted after this test's prefix
        Assert.Empty(fromKey.Kvs);

        var all = await client.GetAsync(KeySet.All, new GetOptions { CountOnly = true });
        Assert.True(all.Count >= 4);
    }

    [Fact]
    public async Task Limit_sort_keysOnly_and_countOnly()
    {
        await PutKeysAsync("a", "b", "c");
        await client.PutAsync(p + "a", "modified-last");

        var limited = await client.GetAsync(KeySet.Prefix(p), new GetOptions { Limit = 2 });
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal(3, limited.Count);

        var byKeyDesc = await client.GetAsync(KeySet.Prefix(p), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.Key });
        Assert.Equal([p + "c", p + "b", p + "a"], byKeyDesc.Kvs.Select(kv => kv.Key.ToStringUtf8()));

        var byModAsc = await client.GetAsync(KeySet.Prefix(p), new GetOptions { SortOrder = SortOrder.Ascending, SortTarget = SortTarget.ModRevision });
        Assert.Equal(p + "a", byModAsc.Kvs[^1].Key.ToStringUtf8());

        var byVersionDesc = await client.GetAsync(KeySet.Prefix(p), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.Version, Limit = 1 });
        Assert.Equal(p + "a", byVersionDesc.Kvs[0].Key.ToStringUtf8());

        var byValueAsc = await client.GetAsync(KeySet.Prefix(p), new GetOptions { SortOrder = SortOrder.Ascending, SortTarget = SortTarget.Value });
        Assert.Equal(p + "a", byValueAsc.Kvs[0].Key.ToStringUtf8()); // "modified-last" < "v-b" < "v-c"

        var byCreateDesc = await client.GetAsync(KeySet.Prefix(p), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.CreateRevision });
        Assert.Equal(p + "c", byCreateDesc.Kvs[0].Key.ToStringUtf8());

        var keysOnly = await client.GetAsync(KeySet.Prefix(p), new GetOptions { KeysOnly = true });
        Assert.Equal(3, keysOnly.Kvs.Count);
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));

        var countOnly = await client.GetAsync(KeySet.Prefix(p), new GetOptions { CountOnly = true });
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(3, countOnly.Count);
    }

    [Fact]
    public async Task Serializable_read_and_read_at_revision()
    {
        var first = await client.PutAsync(p + "k", "old");
        await client.PutAsync(p + "k", "new");

        var serializable = await client.GetAsync(p + "k", new GetOptions { Serializable = true });
        Assert.Equal("new", serializable.Kvs[0].Value.ToStringUtf8());

        var atRevision = await client.GetAsync(p + "k", new GetOptions { Revision = first.Header.Revision });
        Assert.Equal("old", atRevision.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Min_and_max_mod_and_create_revision_filters()
    {
        var a = await client.PutAsync(p + "a", "1");
        var b = await client.PutAsync(p + "b", "1");
        var a2 = await client.PutAsync(p + "a", "2"); // a: created at a, modified at a2

        string[] Keys(GetResponse r) => r.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToArray();

        Assert.Equal([p + "a"], Keys(await client.GetAsync(KeySet.Prefix(p), new GetOptions { MinModRevision = a2.Header.Revision })));
        Assert.Equal([p + "b"], Keys(await client.GetAsync(KeySet.Prefix(p), new GetOptions { MaxModRevision = b.Header.Revision })));
        Assert.Equal([p + "b"], Keys(await client.GetAsync(KeySet.Prefix(p), new GetOptions { MinCreateRevision = b.Header.Revision })));
        Assert.Equal([p + "a"], Keys(await client.GetAsync(KeySet.Prefix(p), new GetOptions { MaxCreateRevision = a.Header.Revision })));
    }

    [Fact]
    public async Task Delete_key_range_and_prefix_with_previous_pairs()
    {
        await PutKeysAsync("a", "b", "c", "d", "e");

        var single = await client.DeleteAsync(p + "a");
        Assert.Equal(1, single.Deleted);
        Assert.Empty(single.PrevKvs);

        var range = await client.DeleteAsync(KeySet.Range(p + "b", p + "d"), prevKv: true);
        Assert.Equal(2, range.Deleted);
        Assert.Equal([p + "b", p + "c"], range.PrevKvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal("v-b", range.PrevKvs[0].Value.ToStringUtf8());

        var prefix = await client.DeleteAsync(KeySet.Prefix(p), prevKv: true);
        Assert.Equal(2, prefix.Deleted);
        Assert.Equal(0, (await client.GetAsync(KeySet.Prefix(p), new GetOptions { CountOnly = true })).Count);

        Assert.Equal(0, (await client.DeleteAsync(p + "never")).Deleted);
    }

    [Fact]
    public async Task Prefix_ending_in_ff_bytes_selects_exactly_its_keys()
    {
        byte[] P(params byte[] tail) => [.. System.Text.Encoding.UTF8.GetBytes(p), .. tail];
        await client.PutAsync(P(0xFF), "1");
        await client.PutAsync(P(0xFF, 0xFF), "2");
        await client.PutAsync(P(0xFF, 0x00), "3");
        await client.PutAsync(P(0xFE), "outside");

        var result = await client.GetAsync(KeySet.Prefix(P(0xFF)));
        Assert.Equal(3, result.Count);
        Assert.All(result.Kvs, kv => Assert.True(kv.Key.StartsWith(P(0xFF))));
    }

    [Fact]
    public async Task Compact_makes_old_revisions_unreadable_with_the_compact_revision()
    {
        // Own server: compaction affects the whole store.
        await using var server = await EtcdServer.StartAsync();
        await using var own = new EtcdClient(server.ClientUrl);
        var first = await own.PutAsync("k", "1");
        await own.PutAsync("k", "2");
        var third = await own.PutAsync("k", "3");

        var compact = await own.CompactAsync(third.Header.Revision, physical: true);
        Assert.True(compact.Header.Revision >= third.Header.Revision);

        var error = await Assert.ThrowsAsync<EtcdCompactedException>(() => own.GetAsync("k", new GetOptions { Revision = first.Header.Revision }));
        Assert.Equal(first.Header.Revision, error.RequestedRevision);
        Assert.Equal(third.Header.Revision, error.CompactRevision);
        Assert.Equal(EtcdStatusCode.OutOfRange, error.StatusCode);

        var again = await Assert.ThrowsAsync<EtcdCompactedException>(() => own.CompactAsync(first.Header.Revision));
        Assert.Equal(third.Header.Revision, again.CompactRevision);
        Assert.Equal("3", (await own.GetAsync("k", new GetOptions { Revision = third.Header.Revision })).Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Compact_without_physical_returns_and_compacts()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var own = new EtcdClient(server.ClientUrl);
        var first = await own.PutAsync("k", "1");
        var second = await own.PutAsync("k", "2");

        await own.CompactAsync(second.Header.Revision);

        var error = await Assert.ThrowsAsync<EtcdCompactedException>(() => own.GetAsync("k", new GetOptions { Revision = first.Header.Revision }));
        Assert.Equal(second.Header.Revision, error.CompactRevision);
    }

    [Fact]
    public async Task Future_revision_is_a_typed_error()
    {
        var put = await client.PutAsync(p + "k", "v");
        var error = await Assert.ThrowsAsync<EtcdFutureRevisionException>(() =>
            client.GetAsync(p + "k", new GetOptions { Revision = put.Header.Revision + 1_000_000 }));
        Assert.Equal(put.Header.Revision + 1_000_000, error.RequestedRevision);
        await Assert.ThrowsAsync<EtcdFutureRevisionException>(() => client.CompactAsync(put.Header.Revision + 1_000_000));
    }
}
