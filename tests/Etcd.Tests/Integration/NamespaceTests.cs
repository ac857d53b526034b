using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// Namespaced views against a real etcd: every key goes in prefixed and comes back stripped, and nothing outside the
/// namespace (in particular the key that sorts right after it, and the bare prefix key) is ever read, deleted or watched.
/// </summary>
public sealed class NamespaceTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    /// <summary>The namespace of most tests: <c>{P}app/</c>.</summary>
    private string Ns => P + "app/";

    /// <summary>Raw keys just outside <see cref="Ns"/>: before it, the bare prefix, and right after it (<c>app0</c> is PrefixEnd of <c>app/</c>).</summary>
    private string[] Outside => [P + "apo", P + "app", P + "app.", P + "app/", P + "app0", P + "app0/x", P + "zzz"];

    private static string[] Keys(IEnumerable<KeyValue> kvs) => [.. kvs.Select(kv => kv.Key.ToStringUtf8())];

    private async Task PutOutsideAsync()
    {
        foreach (var key in Outside) await Client.PutAsync(key, "outside");
    }

    private async Task AssertOutsideUntouchedAsync()
    {
        var raw = await Client.GetAsync(KeySet.Prefix(P));
        foreach (var key in Outside)
            Assert.True(raw.Kvs.Any(kv => kv.Key.ToStringUtf8() == key && kv.Value.ToStringUtf8() == "outside"), $"{key} was changed");
    }

    [Fact]
    public async Task Put_get_and_delete_store_prefixed_keys_and_return_stripped_ones()
    {
        var ns = Client.WithNamespace(Ns);
        var put = await ns.PutAsync("k", "v1");
        Assert.Null(put.PrevKv);
        Assert.Equal("v1", await Client.GetStringAsync(P + "app/k"));
        Assert.Null(await Client.GetStringAsync("k"));

        var overwrite = await ns.PutAsync("k", "v2", new PutOptions { PrevKv = true });
        Assert.Equal("k", overwrite.PrevKv!.Key.ToStringUtf8());
        Assert.Equal("v1", overwrite.PrevKv.Value.ToStringUtf8());

        var get = await ns.GetAsync("k");
        Assert.Equal(["k"], Keys(get.Kvs));
        Assert.Equal("v2", get.First!.Value.ToStringUtf8());
        Assert.Equal(overwrite.Header.Revision, get.First.ModRevision);
        Assert.Equal("v2", await ns.GetStringAsync("k"));
        Assert.Equal("v2", (await ns.GetValueAsync("k"))!.Value.ToStringUtf8());
        Assert.Null(await ns.GetValueAsync("missing"));

        var delete = await ns.DeleteAsync("k", prevKv: true);
        Assert.Equal(1, delete.Deleted);
        Assert.Equal(["k"], Keys(delete.PrevKvs));
        Assert.Null(await Client.GetStringAsync(P + "app/k"));
    }

    [Fact]
    public async Task Prefix_range_from_key_and_all_stay_inside_the_namespace()
    {
        await PutOutsideAsync();
        var ns = Client.WithNamespace(Ns);
        foreach (var key in new[] { "a", "b/1", "b/2", "c" }) await ns.PutAsync(key, "in-" + key);

        Assert.Equal(["b/1", "b/2"], Keys((await ns.GetAsync(KeySet.Prefix("b/"))).Kvs));
        Assert.Equal(["a", "b/1", "b/2"], Keys((await ns.GetAsync(KeySet.Range("a", "c"))).Kvs));
        Assert.Equal(["a"], Keys((await ns.GetAsync(KeySet.Range("", "b"))).Kvs));
        Assert.Equal(["b/2", "c"], Keys((await ns.GetAsync(KeySet.FromKey("b/2"))).Kvs));
        Assert.Equal(["a", "b/1", "b/2", "c"], Keys((await ns.GetAsync(KeySet.FromKey(""))).Kvs));
        var all = await ns.GetAsync(KeySet.All);
        Assert.Equal(["a", "b/1", "b/2", "c"], Keys(all.Kvs));
        Assert.Equal(["in-a", "in-b/1", "in-b/2", "in-c"], all.Kvs.Select(kv => kv.Value.ToStringUtf8()));
        Assert.Equal(4, all.Count);
        Assert.Equal(4, (await ns.GetAsync(KeySet.All, new GetOptions { CountOnly = true })).Count);
        var last = await ns.GetAsync(KeySet.All, new GetOptions { SortOrder = SortOrder.Descending, SortTarget = SortTarget.Key, Limit = 1 });
        Assert.Equal(["c"], Keys(last.Kvs));
        Assert.True(last.More);

        // Stored prefixed.
        Assert.Equal(new[] { "", "a", "b/1", "b/2", "c" }.Select(k => Ns + k), Keys((await Client.GetAsync(KeySet.Prefix(Ns))).Kvs));

        var deleted = await ns.DeleteAsync(KeySet.All, prevKv: true);
        Assert.Equal(4, deleted.Deleted);
        Assert.Equal(["a", "b/1", "b/2", "c"], Keys(deleted.PrevKvs));
        Assert.Empty((await ns.GetAsync(KeySet.All)).Kvs);
        await AssertOutsideUntouchedAsync();
    }

    [Fact]
    public async Task Delete_of_a_range_and_from_key_never_reaches_past_the_namespace()
    {
        await PutOutsideAsync();
        var ns = Client.WithNamespace(Ns);
        foreach (var key in new[] { "a", "m", "z", "\u00ff" }) await ns.PutAsync(key, "v");

        Assert.Equal(1, (await ns.DeleteAsync(KeySet.Range("", "m"))).Deleted);
        Assert.Equal(["m", "z", "\u00ff"], Keys((await ns.DeleteAsync(KeySet.FromKey("m"), prevKv: true)).PrevKvs));
        Assert.Equal(0, (await ns.DeleteAsync(KeySet.All)).Deleted);
        await AssertOutsideUntouchedAsync();
    }

    [Fact]
    public async Task The_key_right_after_the_namespace_is_never_included()
    {
        // "app0" sorts right after every "app/..." key, and "app/" itself (the bare prefix) right before them.
        await Client.PutAsync(P + "app0", "after");
        await Client.PutAsync(P + "app/", "bare");
        var ns = Client.WithNamespace(Ns);
        await ns.PutAsync("\u00ff\u00ff", "last"); // bytes C3 BF C3 BF: near the top of the namespace

        Assert.Equal(["\u00ff\u00ff"], Keys((await ns.GetAsync(KeySet.All)).Kvs));
        Assert.Equal(["\u00ff\u00ff"], Keys((await ns.GetAsync(KeySet.FromKey("\u00ff"))).Kvs));
        Assert.Empty((await ns.GetAsync(KeySet.FromKey("\u00ff\u00ff\u00ff"))).Kvs);
        var scanned = new List<string>();
        await foreach (var kv in ns.ScanAsync(KeySet.All, new ScanOptions { PageSize = 1 })) scanned.Add(kv.Key.ToStringUtf8());
        Assert.Equal(["\u00ff\u00ff"], scanned);
        Assert.Equal(1, (await ns.DeleteAsync(KeySet.All)).Deleted);
        Assert.Equal("after", await Client.GetStringAsync(P + "app0"));
        Assert.Equal("bare", await Client.GetStringAsync(P + "app/"));

        // A namespace without a trailing separator does contain "app0" (and "app/"): both start with "app".
        var loose = Client.WithNamespace(P + "app");
        Assert.Equal(["/", "0"], Keys((await loose.GetAsync(KeySet.All)).Kvs));
    }

    [Fact]
    public async Task All_ff_namespace_has_no_end_and_still_sees_only_its_keys()
    {
        // PrefixEnd(0xFF 0xFF) is "\0": "all" and "from key" inside it are open-ended ranges from the prefix on.
        var prefix = new byte[] { 0xFF, 0xFF };
        await Client.PutAsync(new byte[] { 0xFF }, "outside");
        await Client.PutAsync(new byte[] { 0xFF, 0xFE, 0xFF }, "outside");
        await Client.PutAsync(prefix, "bare");
        var ns = Client.WithNamespace(prefix);
        await ns.PutAsync("a", "1");
        await ns.PutAsync(new byte[] { 0xFF }, "2");

        var all = await ns.GetAsync(KeySet.All);
        Assert.Equal([new byte[] { 0x61 }, new byte[] { 0xFF }], all.Kvs.Select(kv => kv.Key.ToArray()));
        Assert.Equal([new byte[] { 0xFF }], (await ns.GetAsync(KeySet.FromKey("b"))).Kvs.Select(kv => kv.Key.ToArray()));
        Assert.Equal(2, (await ns.DeleteAsync(KeySet.All)).Deleted);
        Assert.Equal("outside", await Client.GetStringAsync(new byte[] { 0xFF }));
        Assert.Equal("outside", await Client.GetStringAsync(new byte[] { 0xFF, 0xFE, 0xFF }));
        Assert.Equal("bare", await Client.GetStringAsync(prefix));
        await Client.DeleteAsync(KeySet.FromKey(new byte[] { 0xFF }));
    }

    [Fact]
    public async Task Scan_pages_through_the_namespace_only_with_stripped_keys()
    {
        await PutOutsideAsync();
        var ns = Client.WithNamespace(Ns);
        var txn = ns.Txn();
        for (int i = 0; i < 25; i++) txn.Then(TxnOp.Put($"s/{i:d2}", $"v{i}"));
        await txn.CommitAsync();
        await ns.PutAsync("t", "other");

        var all = new List<KeyValue>();
        await foreach (var kv in ns.ScanAsync(KeySet.All, new ScanOptions { PageSize = 4 })) all.Add(kv);
        Assert.Equal([.. Enumerable.Range(0, 25).Select(i => $"s/{i:d2}"), "t"], Keys(all));
        Assert.Equal("v7", all[7].Value.ToStringUtf8());

        var prefixed = new List<string>();
        await foreach (var kv in ns.ScanAsync(KeySet.Prefix("s/1"), new ScanOptions { PageSize = 3 })) prefixed.Add(kv.Key.ToStringUtf8());
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"s/{i}"), prefixed);

        var fromKey = new List<string>();
        await foreach (var kv in ns.ScanAsync(KeySet.FromKey("s/23"), new ScanOptions { PageSize = 1 })) fromKey.Add(kv.Key.ToStringUtf8());
        Assert.Equal(["s/23", "s/24", "t"], fromKey);
    }

    [Fact]
    public async Task Transaction_compares_operations_and_nested_transactions_are_namespaced()
    {
        var ns = Client.WithNamespace(Ns);
        await ns.PutAsync("cfg", "old");
        await ns.PutAsync("d/1", "x");
        await ns.PutAsync("d/2", "y");
        // Same names outside the namespace with values that would flip the compares if they were read.
        await Client.PutAsync(P + "cfg", "other");
        await Client.PutAsync("cfg", "other");

        var inner = new Transaction()
            .If(Compare.KeyMissing("lock"))
            .Then(TxnOp.Put("lock", "me"), TxnOp.Delete(KeySet.Prefix("d/"), prevKv: true))
            .Else(TxnOp.Get("lock"));
        var result = await ns.Txn()
            .If(Compare.Value("cfg").Equal("old"), Compare.Version(KeySet.Prefix("d/")).Equal(1), Compare.CreateRevision(KeySet.Range("d/", "d0")).Greater(0))
            .Then(TxnOp.Put("cfg", "new", new PutOptions { PrevKv = true }), TxnOp.Get(KeySet.Prefix("d/")), TxnOp.Txn(inner), TxnOp.Get(KeySet.All, new GetOptions { KeysOnly = true }))
            .Else(TxnOp.Get("cfg"))
            .CommitAsync();

        Assert.True(result.Succeeded);
        Assert.Equal("cfg", result.Response<PutResponse>(0).PrevKv!.Key.ToStringUtf8());
        Assert.Equal(["d/1", "d/2"], Keys(result.Response<GetResponse>(1).Kvs));
        var nested = result.Response<TxnResponse>(2);
        Assert.True(nested.Succeeded);
        Assert.Equal(["d/1", "d/2"], Keys(nested.Response<DeleteResponse>(1).PrevKvs));
        Assert.Equal(["cfg", "lock"], Keys(result.Response<GetResponse>(3).Kvs));

        Assert.Equal("new", await Client.GetStringAsync(Ns + "cfg"));
        Assert.Equal("me", await Client.GetStringAsync(Ns + "lock"));
        Assert.Empty((await Client.GetAsync(KeySet.Prefix(Ns + "d/"))).Kvs);
        Assert.Equal("other", await Client.GetStringAsync(P + "cfg"));
        Assert.Equal("other", await Client.GetStringAsync("cfg"));
        Assert.Null(await Client.GetStringAsync("lock"));
        await Client.DeleteAsync("cfg");
    }

    [Fact]
    public async Task Failed_transaction_returns_stripped_else_responses_through_nested_transactions()
    {
        var ns = Client.WithNamespace(Ns);
        await ns.PutAsync("cfg", "current");
        await ns.PutAsync("e/1", "1");
        await Client.PutAsync(P + "app0", "outside");

        var elseNested = new Transaction()
            .If(Compare.Value("cfg").Equal("nope"))
            .Then(TxnOp.Put("never", "1"))
            .Else(TxnOp.Get(KeySet.FromKey("e/")), TxnOp.Put("e/2", "2", new PutOptions { PrevKv = true }));
        var failed = await Assert.ThrowsAsync<EtcdTransactionFailedException>(() => ns.Txn()
            .If(Compare.Value("cfg").Equal("expected"))
            .Then(TxnOp.Put("never", "1"))
            .Else(TxnOp.Get("cfg"), TxnOp.Txn(elseNested), TxnOp.Delete(KeySet.Prefix("e/1"), prevKv: true))
            .CommitOrThrowAsync());

        var response = failed.Response;
        Assert.False(response.Succeeded);
        Assert.Equal(["cfg"], Keys(response.Response<GetResponse>(0).Kvs));
        var nested = response.Response<TxnResponse>(1);
        Assert.False(nested.Succeeded);
        Assert.Equal(["e/1"], Keys(nested.Response<GetResponse>(0).Kvs)); // FromKey stops at the namespace's end: no "app0"
        Assert.Null(nested.Response<PutResponse>(1).PrevKv);
        Assert.Equal(["e/1"], Keys(response.Response<DeleteResponse>(2).PrevKvs));
        Assert.Null(await ns.GetStringAsync("never"));
        Assert.Equal("2", await Client.GetStringAsync(Ns + "e/2"));

        // An unbound transaction passed to TxnAsync goes through the same rewrite.
        var unbound = await ns.TxnAsync(new Transaction().If(Compare.Value("cfg").Equal("current")).Then(TxnOp.Get(KeySet.Prefix("e/"))));
        Assert.True(unbound.Succeeded);
        Assert.Equal(["e/2"], Keys(unbound.Response<GetResponse>(0).Kvs));
    }

    [Fact]
    public async Task Watch_of_a_prefix_sees_only_namespaced_keys_stripped_with_prev_kv()
    {
        var ns = Client.WithNamespace(Ns);
        var start = await Client.PutAsync(P + "app0/w/x", "outside");
        await Client.PutAsync(P + "w/x", "outside");
        await ns.PutAsync("w/a", "1");
        await Client.PutAsync(P + "app/", "bare");
        await ns.PutAsync("other", "not watched");
        await ns.PutAsync("w/a", "2");
        await ns.DeleteAsync("w/a");
        await ns.PutAsync("w/end", "sentinel");

        var seen = new List<WatchEvent>();
        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (var e in ns.WatchAsync(KeySet.Prefix("w/"), new WatchOptions { StartRevision = start.Header.Revision, PrevKv = true }, cts.Token))
        {
            seen.Add(e);
            if (e.Kv.Key.ToStringUtf8() == "w/end") break;
        }

        Assert.Equal(["w/a", "w/a", "w/a", "w/end"], seen.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal([WatchEventType.Put, WatchEventType.Put, WatchEventType.Delete, WatchEventType.Put], seen.Select(e => e.Type));
        Assert.Null(seen[0].PrevKv);
        Assert.Equal("w/a", seen[1].PrevKv!.Key.ToStringUtf8());
        Assert.Equal("1", seen[1].PrevKv!.Value.ToStringUtf8());
        Assert.Equal("w/a", seen[2].PrevKv!.Key.ToStringUtf8());
        Assert.Equal("2", seen[2].PrevKv!.Value.ToStringUtf8());
        await WaitForNoWatchesAsync();
    }

    [Fact]
    public async Task Watch_responses_of_all_keep_transaction_events_together_and_skip_outside_keys()
    {
        var ns = Client.WithNamespace(Ns);
        var start = await Client.PutAsync(P + "app", "outside");
        await Client.PutAsync(P + "app0", "outside");
        await Client.PutAsync(P + "app/", "bare");
        var txn = await ns.Txn().Then(TxnOp.Put("x", "1"), TxnOp.Put("y", "2")).CommitAsync();
        await Client.PutAsync(P + "apo", "outside");
        var delete = await ns.DeleteAsync(KeySet.All);
        Assert.Equal(2, delete.Deleted);

        var responses = new List<WatchResponse>();
        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (var response in ns.WatchResponsesAsync(KeySet.All, new WatchOptions { StartRevision = start.Header.Revision, PrevKv = true }, cts.Token))
        {
            if (response.Events.Count == 0) continue;
            responses.Add(response);
            if (response.SeenRevision >= delete.Header.Revision) break;
        }

        var events = responses.SelectMany(r => r.Events).ToList();
        Assert.Equal(["x", "y", "x", "y"], events.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal([txn.Header.Revision, txn.Header.Revision, delete.Header.Revision, delete.Header.Revision], events.Select(e => e.Revision));
        Assert.Equal(["x", "y"], events.Skip(2).Select(e => e.PrevKv!.Key.ToStringUtf8()));
        // The events of one revision (one transaction) never straddle two responses.
        foreach (long revision in new[] { txn.Header.Revision, delete.Header.Revision })
            Assert.Single(responses, r => r.Events.Any(e => e.Revision == revision));
        await WaitForNoWatchesAsync();
    }

    [Fact]
    public async Task Callback_watches_of_all_see_namespaced_keys_stripped()
    {
        var ns = Client.WithNamespace(Ns);
        var asyncEvents = new List<WatchEvent>();
        var syncEvents = new List<WatchEvent>();
        var asyncDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var syncDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var asyncWatch = ns.Watch(KeySet.All, async (e, ct) =>
        {
            await Task.Yield();
            lock (asyncEvents) asyncEvents.Add(e);
            if (e.Kv.Key.ToStringUtf8() == "end") asyncDone.TrySetResult();
        }, new WatchOptions { PrevKv = true });
        await using var syncWatch = ns.Watch(KeySet.Prefix("k"), e =>
        {
            lock (syncEvents) syncEvents.Add(e);
            if (e.Kv.Key.ToStringUtf8() == "k2") syncDone.TrySetResult();
        }, new WatchOptions { PrevKv = true });
        await asyncWatch.Started.WaitAsync(s_timeout);
        await syncWatch.Started.WaitAsync(s_timeout);

        await Client.PutAsync(P + "app0", "outside");
        await Client.PutAsync(P + "app/", "bare");
        await ns.PutAsync("k1", "a");
        await Client.PutAsync(P + "k1", "outside");
        await ns.PutAsync("k1", "b");
        await ns.PutAsync("k2", "c");
        await ns.PutAsync("end", "sentinel");
        await asyncDone.Task.WaitAsync(s_timeout);
        await syncDone.Task.WaitAsync(s_timeout);

        lock (asyncEvents) Assert.Equal(["k1", "k1", "k2", "end"], asyncEvents.Select(e => e.Kv.Key.ToStringUtf8()));
        lock (syncEvents)
        {
            Assert.Equal(["k1", "k1", "k2"], syncEvents.Select(e => e.Kv.Key.ToStringUtf8()));
            Assert.Equal("k1", syncEvents[1].PrevKv!.Key.ToStringUtf8());
            Assert.Equal("a", syncEvents[1].PrevKv!.Value.ToStringUtf8());
        }
    }

    [Fact]
    public async Task Nested_namespaces_concatenate()
    {
        var outer = Client.WithNamespace(P + "a/");
        var nested = outer.WithNamespace("b/");
        var flat = Client.WithNamespace(P + "a/b/");
        Assert.Equal(flat.Prefix, nested.Prefix);

        await nested.PutAsync("k", "v");
        Assert.Equal("v", await Client.GetStringAsync(P + "a/b/k"));
        Assert.Equal("v", await flat.GetStringAsync("k"));
        Assert.Equal(["b/k"], Keys((await outer.GetAsync(KeySet.All)).Kvs));
        Assert.Equal(["k"], Keys((await nested.GetAsync(KeySet.All)).Kvs));
        await outer.PutAsync("c", "sibling");
        Assert.Equal(["k"], Keys((await nested.GetAsync(KeySet.All)).Kvs));

        var result = await nested.Txn().If(Compare.Value("k").Equal("v")).Then(TxnOp.Get(KeySet.All)).CommitAsync();
        Assert.Equal(["k"], Keys(result.Response<GetResponse>(0).Kvs));

        using var cts = new CancellationTokenSource(s_timeout);
        var put = await nested.PutAsync("k", "v2");
        await foreach (var e in nested.WatchAsync(KeySet.All, new WatchOptions { StartRevision = put.Header.Revision }, cts.Token))
        {
            Assert.Equal("k", e.Kv.Key.ToStringUtf8());
            break;
        }
        Assert.Equal(1, (await nested.DeleteAsync(KeySet.All)).Deleted);
        Assert.Equal("sibling", await Client.GetStringAsync(P + "a/c"));
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
