using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class KvTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private async Task PutKeysAsync(params string[] suffixes)
    {
        foreach (var suffix in suffixes) await Client.PutAsync(P + suffix, "v-" + suffix);
    }

    [Fact]
    public async Task Put_then_get_returns_value_and_metadata()
    {
        var put = await Client.PutAsync(P + "k", "hello");
        var get = await Client.GetAsync(P + "k");

        var kv = Assert.Single(get.Kvs);
        Assert.Equal(P + "k", kv.Key.ToStringUtf8());
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
        await Client.PutAsync(P + "s", "grüße ✓");
        Assert.Equal("grüße ✓", await Client.GetStringAsync(P + "s"));
        Assert.Null(await Client.GetStringAsync(P + "missing"));
    }

    [Fact]
    public async Task GetValue_returns_null_for_missing_key()
    {
        Assert.Null(await Client.GetValueAsync(P + "missing"));
        await Client.PutAsync(P + "present", "");
        var value = await Client.GetValueAsync(P + "present");
        Assert.NotNull(value);
        Assert.True(value.Value.IsEmpty);
    }

    [Fact]
    public async Task Put_with_prevKv_returns_the_previous_pair()
    {
        var first = await Client.PutAsync(P + "k", "one", new PutOptions { PrevKv = true });
        Assert.Null(first.PrevKv);
        var second = await Client.PutAsync(P + "k", "two", new PutOptions { PrevKv = true });
        Assert.NotNull(second.PrevKv);
        Assert.Equal("one", second.PrevKv.Value.ToStringUtf8());
        Assert.Equal(2, (await Client.GetAsync(P + "k")).Kvs[0].Version);
    }

    private async Task<long> GrantLeaseWithEtcdctlAsync(int ttlSeconds)
    {
        // Leases get their own API in a later issue; etcdctl grants one here ("lease 694d... granted with TTL(60s)").
        var result = await Etcd.Ctl.RunCheckedAsync(["lease", "grant", ttlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return long.Parse(result.StdOutText.Split(' ')[1], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Put_with_lease_attaches_it_and_IgnoreValue_and_IgnoreLease_keep_what_they_say()
    {
        long lease = await GrantLeaseWithEtcdctlAsync(600);
        await Client.PutAsync(P + "k", "kept", new PutOptions { Lease = lease });
        Assert.Equal(lease, (await Client.GetAsync(P + "k")).Kvs[0].Lease);

        // IgnoreValue: the lease changes (to none), the value stays.
        await Client.PutAsync(P + "k", EtcdBytes.Empty, new PutOptions { IgnoreValue = true });
        var afterIgnoreValue = (await Client.GetAsync(P + "k")).Kvs[0];
        Assert.Equal("kept", afterIgnoreValue.Value.ToStringUtf8());
        Assert.Equal(0, afterIgnoreValue.Lease);

        // IgnoreLease: the value changes, the lease stays.
        await Client.PutAsync(P + "k", "again", new PutOptions { Lease = lease });
        await Client.PutAsync(P + "k", "changed", new PutOptions { IgnoreLease = true });
        var kv = (await Client.GetAsync(P + "k")).Kvs[0];
        Assert.Equal("changed", kv.Value.ToStringUtf8());
        Assert.Equal(lease, kv.Lease);
        Assert.Equal(4, kv.Version);
        Assert.True((await Client.TxnAsync(new Transaction().If(Compare.Lease(P + "k").Equal(lease)))).Succeeded);

        // The key goes away with its lease.
        await Etcd.Ctl.RunCheckedAsync(["lease", "revoke", lease.ToString("x", System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Null(await Client.GetValueAsync(P + "k"));

        // IgnoreValue on a missing key is refused by the server ("key not found").
        await Assert.ThrowsAsync<EtcdInvalidArgumentException>(() =>
            Client.PutAsync(P + "absent", EtcdBytes.Empty, new PutOptions { IgnoreValue = true }));
    }

    [Fact]
    public async Task Range_prefix_fromKey_and_all()
    {
        await PutKeysAsync("a", "b", "c", "d");
        var range = await Client.GetAsync(KeySet.Range(P + "b", P + "d"));
        Assert.Equal([P + "b", P + "c"], range.Kvs.Select(kv => kv.Key.ToStringUtf8()));

        var prefix = await Client.GetAsync(KeySet.Prefix(P));
        Assert.Equal(4, prefix.Count);

        var fromKey = await Client.GetAsync(KeySet.FromKey(P + "c"), new GetOptions { CountOnly = true });
        Assert.True(fromKey.Count >= 2); // c, d and anything sorted after this test's prefix
        Assert.Empty(fromKey.Kvs);

        var all = await Client.GetAsync(KeySet.All, new GetOptions { CountOnly = true });
        Assert.True(all.Count >= 4);
    }

    [Fact]
    public async Task Limit_sort_keysOnly_and_countOnly()
    {
        await PutKeysAsync("a", "b", "c");
        await Client.PutAsync(P + "a", "modified-last");

        var limited = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { Limit = 2 });
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal(3, limited.Count);

        var byKeyDesc = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.Key });
        Assert.Equal([P + "c", P + "b", P + "a"], byKeyDesc.Kvs.Select(kv => kv.Key.ToStringUtf8()));

        var byModAsc = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { SortOrder = SortOrder.Ascending, SortTarget = SortTarget.ModRevision });
        Assert.Equal(P + "a", byModAsc.Kvs[^1].Key.ToStringUtf8());

        var byVersionDesc = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.Version, Limit = 1 });
        Assert.Equal(P + "a", byVersionDesc.Kvs[0].Key.ToStringUtf8());

        var byValueAsc = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { SortOrder = SortOrder.Ascending, SortTarget = SortTarget.Value });
        Assert.Equal(P + "a", byValueAsc.Kvs[0].Key.ToStringUtf8()); // "modified-last" < "v-b" < "v-c"

        var byCreateDesc = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.CreateRevision });
        Assert.Equal(P + "c", byCreateDesc.Kvs[0].Key.ToStringUtf8());

        var keysOnly = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { KeysOnly = true });
        Assert.Equal(3, keysOnly.Kvs.Count);
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));

        var countOnly = await Client.GetAsync(KeySet.Prefix(P), new GetOptions { CountOnly = true });
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(3, countOnly.Count);
    }

    [Fact]
    public async Task Serializable_read_and_read_at_revision()
    {
        var first = await Client.PutAsync(P + "k", "old");
        await Client.PutAsync(P + "k", "new");

        var serializable = await Client.GetAsync(P + "k", new GetOptions { Serializable = true });
        Assert.Equal("new", serializable.Kvs[0].Value.ToStringUtf8());

        var atRevision = await Client.GetAsync(P + "k", new GetOptions { Revision = first.Header.Revision });
        Assert.Equal("old", atRevision.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Min_and_max_mod_and_create_revision_filters()
    {
        var a = await Client.PutAsync(P + "a", "1");
        var b = await Client.PutAsync(P + "b", "1");
        var a2 = await Client.PutAsync(P + "a", "2"); // a: created at a, modified at a2

        string[] Keys(GetResponse r) => r.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToArray();

        Assert.Equal([P + "a"], Keys(await Client.GetAsync(KeySet.Prefix(P), new GetOptions { MinModRevision = a2.Header.Revision })));
        Assert.Equal([P + "b"], Keys(await Client.GetAsync(KeySet.Prefix(P), new GetOptions { MaxModRevision = b.Header.Revision })));
        Assert.Equal([P + "b"], Keys(await Client.GetAsync(KeySet.Prefix(P), new GetOptions { MinCreateRevision = b.Header.Revision })));
        Assert.Equal([P + "a"], Keys(await Client.GetAsync(KeySet.Prefix(P), new GetOptions { MaxCreateRevision = a.Header.Revision })));
    }

    [Fact]
    public async Task Delete_key_range_and_prefix_with_previous_pairs()
    {
        await PutKeysAsync("a", "b", "c", "d", "e");

        var single = await Client.DeleteAsync(P + "a");
        Assert.Equal(1, single.Deleted);
        Assert.Empty(single.PrevKvs);

        var range = await Client.DeleteAsync(KeySet.Range(P + "b", P + "d"), prevKv: true);
        Assert.Equal(2, range.Deleted);
        Assert.Equal([P + "b", P + "c"], range.PrevKvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal("v-b", range.PrevKvs[0].Value.ToStringUtf8());

        var prefix = await Client.DeleteAsync(KeySet.Prefix(P), prevKv: true);
        Assert.Equal(2, prefix.Deleted);
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(P), new GetOptions { CountOnly = true })).Count);

        Assert.Equal(0, (await Client.DeleteAsync(P + "never")).Deleted);
    }

    [Fact]
    public async Task Prefix_ending_in_ff_bytes_selects_exactly_its_keys()
    {
        byte[] Key(params byte[] tail) => [.. System.Text.Encoding.UTF8.GetBytes(P), .. tail];
        await Client.PutAsync(Key(0xFF), "1");
        await Client.PutAsync(Key(0xFF, 0xFF), "2");
        await Client.PutAsync(Key(0xFF, 0x00), "3");
        await Client.PutAsync(Key(0xFE), "outside");

        var result = await Client.GetAsync(KeySet.Prefix(Key(0xFF)));
        Assert.Equal(3, result.Count);
        Assert.All(result.Kvs, kv => Assert.True(kv.Key.StartsWith(Key(0xFF))));
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

        // Compacting at exactly the compact revision again is refused too, and names it without waiting out the probe's 2 s.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var same = await Assert.ThrowsAsync<EtcdCompactedException>(() => own.CompactAsync(third.Header.Revision));
        Assert.Equal(third.Header.Revision, same.CompactRevision);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"took {clock.Elapsed}");
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
        var put = await Client.PutAsync(P + "k", "v");
        var error = await Assert.ThrowsAsync<EtcdFutureRevisionException>(() =>
            Client.GetAsync(P + "k", new GetOptions { Revision = put.Header.Revision + 1_000_000 }));
        Assert.Equal(put.Header.Revision + 1_000_000, error.RequestedRevision);
        await Assert.ThrowsAsync<EtcdFutureRevisionException>(() => Client.CompactAsync(put.Header.Revision + 1_000_000));
    }
}
