using FsCheck;
using FsCheck.Fluent;

namespace Etcd.Tests.Unit;

/// <summary>The key arithmetic of namespaced views (<see cref="NamespaceKeys"/>) and the synchronous checks of <see cref="EtcdNamespace"/>.</summary>
public class NamespaceKeyTests
{
    private static readonly byte[] s_ff = [0xFF];
    private static readonly byte[] s_ffff = [0xFF, 0xFF];

    private static EtcdBytes B(params byte[] bytes) => bytes;

    private static EtcdBytes Cat(EtcdBytes a, EtcdBytes b) => (byte[])[.. a.Span, .. b.Span];

    // ---- The mapping, case by case -------------------------------------------------------------------------------

    [Fact]
    public void Single_key_gets_the_prefix()
    {
        Assert.Equal(KeySet.Single("app/k"), NamespaceKeys.ToPhysical("app/", "k"));
    }

    [Fact]
    public void Prefix_gets_the_prefix()
    {
        Assert.Equal(KeySet.Prefix("app/dir/"), NamespaceKeys.ToPhysical("app/", KeySet.Prefix("dir/")));
    }

    [Fact]
    public void Range_gets_the_prefix_on_both_ends()
    {
        Assert.Equal(KeySet.Range("app/a", "app/c"), NamespaceKeys.ToPhysical("app/", KeySet.Range("a", "c")));
    }

    [Fact]
    public void Range_from_the_first_key_starts_right_after_the_bare_prefix()
    {
        Assert.Equal(KeySet.Range("app/\0", "app/c"), NamespaceKeys.ToPhysical("app/", KeySet.Range("", "c")));
    }

    [Fact]
    public void From_key_stops_at_the_end_of_the_namespace()
    {
        Assert.Equal(KeySet.Range("app/m", "app0"), NamespaceKeys.ToPhysical("app/", KeySet.FromKey("m")));
        Assert.Equal(KeySet.Range("app/\0", "app0"), NamespaceKeys.ToPhysical("app/", KeySet.FromKey("")));
    }

    [Fact]
    public void All_is_every_key_inside_the_namespace_only()
    {
        var all = NamespaceKeys.ToPhysical("app", KeySet.All);
        Assert.Equal(KeySet.Range("app\0", "apq"), all);
        Assert.True(all.Contains("app/x"));
        Assert.True(all.Contains("appx"));
        Assert.False(all.Contains("app"));   // the bare prefix would come back as an empty key
        Assert.False(all.Contains("apq"));
        Assert.False(all.Contains("apo"));
    }

    [Fact]
    public void All_ff_prefix_leaves_open_ended_sets_open()
    {
        // PrefixEnd of 0xFF.. is "\0" (no end), and every key from the prefix on starts with it.
        Assert.Equal(B(0), KeySet.PrefixEnd(s_ff));
        Assert.Equal(KeySet.FromKey(B(0xFF, 0x61)), NamespaceKeys.ToPhysical(s_ff, KeySet.FromKey("a")));
        Assert.Equal(KeySet.FromKey(B(0xFF, 0x00)), NamespaceKeys.ToPhysical(s_ff, KeySet.All));
        Assert.Equal(KeySet.FromKey(B(0xFF, 0xFF, 0x00)), NamespaceKeys.ToPhysical(s_ffff, KeySet.FromKey("")));
        Assert.Equal(KeySet.Prefix(B(0xFF, 0xFF, 0xFF)), NamespaceKeys.ToPhysical(s_ffff, KeySet.Prefix(s_ff)));
        Assert.Equal(KeySet.Range(B(0xFF, 0x01), B(0xFF, 0xFF)), NamespaceKeys.ToPhysical(s_ff, KeySet.Range(B(1), s_ff)));
        // The wire form of an open end is etcd's "\0".
        Assert.Equal(B(0), NamespaceKeys.ToPhysical(s_ff, KeySet.All).WireRangeEnd);
    }

    [Fact]
    public void Prefix_ending_in_ff_ends_at_the_incremented_byte_before_it()
    {
        Assert.Equal(KeySet.Range(B(0x61, 0xFF, 0x00), B(0x62)), NamespaceKeys.ToPhysical(B(0x61, 0xFF), KeySet.All));
    }

    [Fact]
    public void Mapping_does_not_touch_the_callers_bytes()
    {
        var prefix = new byte[] { 0x61, 0x2F };
        var key = new byte[] { 0x6B };
        var mapped = NamespaceKeys.AddPrefix(prefix, key);
        prefix[0] = 0x7A;
        key[0] = 0x7A;
        Assert.Equal("a/k", mapped.ToStringUtf8());
    }

    // ---- The mapping, exhaustively and at random: exactly the prefixed keys -------------------------------------------

    /// <summary>What etcd selects for a request's (key, range_end), for a non-empty key.</summary>
    private static bool OnWire(KeySet keys, EtcdBytes key)
    {
        var start = keys.WireKey;
        var end = keys.WireRangeEnd;
        if (end.IsEmpty) return key == start;
        if (key.CompareTo(start) < 0) return false;
        return (end.Length == 1 && end.Span[0] == 0) || key.CompareTo(end) < 0;
    }

    /// <summary>
    /// The namespaced set holds a physical key exactly when the key is the prefix followed by a non-empty key of the
    /// original set, both as etcd reads the wire form and by <see cref="KeySet.Contains"/>.
    /// </summary>
    private static void AssertExactlyThePrefixedKeys(EtcdBytes prefix, KeySet original, EtcdBytes physical)
    {
        if (physical.IsEmpty) return; // etcd has no empty key
        var mapped = NamespaceKeys.ToPhysical(prefix, original);
        bool expected = physical.Length > prefix.Length && physical.StartsWith(prefix)
            && OnWire(original, physical.Memory[prefix.Length..]);
        if (OnWire(mapped, physical) != expected || mapped.Contains(physical) != expected)
            Assert.Fail($"prefix {prefix}, set {original} -> {mapped}, key {physical}: expected {(expected ? "in" : "out")}, wire says {OnWire(mapped, physical)}, Contains says {mapped.Contains(physical)}");
    }

    private static readonly byte[] s_alphabet = [0x00, 0x01, 0x61, 0xFE, 0xFF];

    private static List<EtcdBytes> AllKeys(int maxLength)
    {
        var keys = new List<EtcdBytes> { EtcdBytes.Empty };
        var layer = new List<byte[]> { Array.Empty<byte>() };
        for (int length = 1; length <= maxLength; length++)
        {
            layer = [.. layer.SelectMany(k => s_alphabet.Select(b => (byte[])[.. k, b]))];
            keys.AddRange(layer.Select(k => (EtcdBytes)k));
        }
        return keys;
    }

    private static IEnumerable<KeySet> AllSets(IReadOnlyList<EtcdBytes> keys)
    {
        yield return KeySet.All;
        foreach (var k in keys)
        {
            yield return KeySet.FromKey(k);
            if (k.IsEmpty) continue;
            yield return KeySet.Single(k);
            yield return KeySet.Prefix(k);
            foreach (var end in keys)
            {
                if (end.CompareTo(k) > 0 && !(end.Length == 1 && end.Span[0] == 0)) yield return KeySet.Range(k, end);
            }
        }
        foreach (var end in keys)
        {
            if (end.Length > 0 && !(end.Length == 1 && end.Span[0] == 0)) yield return KeySet.Range(EtcdBytes.Empty, end);
        }
    }

    public static TheoryData<byte[]> Prefixes => new()
    {
        new byte[] { 0x61 },
        new byte[] { 0x61, 0x70, 0x70, 0x2F },
        new byte[] { 0x00 },
        new byte[] { 0x61, 0xFF },
        new byte[] { 0x01, 0xFF, 0xFF },
        new byte[] { 0xFE },
        new byte[] { 0xFF },
        new byte[] { 0xFF, 0xFF },
    };

    [Theory]
    [MemberData(nameof(Prefixes))]
    public void Every_set_over_short_keys_maps_to_exactly_its_prefixed_keys(byte[] prefixBytes)
    {
        EtcdBytes prefix = prefixBytes;
        var keys = AllKeys(2);
        // Candidates: keys inside the namespace, and keys around it (shorter, equal, and sorting right after or before).
        var candidates = new List<EtcdBytes>(AllKeys(3));
        candidates.AddRange(AllKeys(3).Select(k => Cat(prefix, k)));
        candidates.AddRange(AllKeys(1).Select(k => Cat(prefix.Memory[..^1], k)));
        candidates.AddRange(AllKeys(2).Select(k => Cat(KeySet.PrefixEnd(prefix), k)));
        int sets = 0;
        foreach (var set in AllSets(keys))
        {
            sets++;
            foreach (var candidate in candidates) AssertExactlyThePrefixedKeys(prefix, set, candidate);
        }
        Assert.True(sets > 500, $"only {sets} sets");
    }

    private static readonly Gen<byte[]> s_bytes =
        Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements<byte>(0x00, 0x01, 0x2F, 0x61, 0x7F, 0x80, 0xFE, 0xFF), n));

    private static readonly Gen<byte[]> s_prefixes = s_bytes.Where(b => b.Length > 0);

    private static KeySet MakeSet(int kind, EtcdBytes a, EtcdBytes b)
    {
        switch (kind)
        {
            case 0: return a.IsEmpty ? KeySet.Single("x") : KeySet.Single(a);
            case 1: return KeySet.Prefix(a);
            case 2: return KeySet.FromKey(a);
            case 3: return KeySet.All;
            default:
                var (lo, hi) = a.CompareTo(b) <= 0 ? (a, b) : (b, a);
                if (lo == hi || hi.IsEmpty || (hi.Length == 1 && hi.Span[0] == 0)) hi = Cat(hi, "a");
                return KeySet.Range(lo, hi);
        }
    }

    [Fact]
    public void Random_sets_map_to_exactly_their_prefixed_keys()
    {
        var gen =
            from prefix in s_prefixes
            from kind in Gen.Choose(0, 4)
            from a in s_bytes
            from b in s_bytes
            from inside in s_bytes
            from outside in s_bytes
            select (prefix, kind, a, b, inside, outside);
        Prop.ForAll(Arb.From(gen), t =>
        {
            EtcdBytes prefix = t.prefix;
            var set = MakeSet(t.kind, t.a, t.b);
            // A key inside the namespace (maybe in the set), a random key, and keys of the set's own bounds.
            foreach (var physical in new[] { Cat(prefix, t.inside), (EtcdBytes)t.outside, Cat(prefix, t.a), Cat(prefix, t.b), Cat(prefix, set.Key), t.a, Cat(KeySet.PrefixEnd(prefix), t.inside) })
                AssertExactlyThePrefixedKeys(prefix, set, physical);
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Strip_undoes_add_prefix_and_keeps_other_keys()
    {
        Prop.ForAll(Arb.From(Gen.Zip(s_prefixes, s_bytes)), pair =>
        {
            EtcdBytes prefix = pair.Item1, key = pair.Item2;
            return NamespaceKeys.StripPrefix(prefix, NamespaceKeys.AddPrefix(prefix, key)) == key;
        }).QuickCheckThrowOnFailure();
        Assert.Equal("other", NamespaceKeys.StripPrefix("app/", "other").ToStringUtf8());
    }

    // ---- Stripping responses -----------------------------------------------------------------------------------------

    private static readonly ResponseHeader s_header = new(1, 2, 10, 3);

    private static KeyValue Kv(string key, string value = "v") => new(key, value, 5, 6, 1, 0);

    [Fact]
    public void Get_put_and_delete_responses_are_stripped()
    {
        var get = NamespaceKeys.Strip("ns/", new GetResponse(s_header, [Kv("ns/a", "1"), Kv("ns/b", "2")], true, 7));
        Assert.Equal(["a", "b"], get.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal(["1", "2"], get.Kvs.Select(kv => kv.Value.ToStringUtf8()));
        Assert.True(get.More);
        Assert.Equal(7, get.Count);
        Assert.Same(s_header, get.Header);

        Assert.Equal("a", NamespaceKeys.Strip("ns/", new PutResponse(s_header, Kv("ns/a"))).PrevKv!.Key.ToStringUtf8());
        Assert.Null(NamespaceKeys.Strip("ns/", new PutResponse(s_header, null)).PrevKv);

        var delete = NamespaceKeys.Strip("ns/", new DeleteResponse(s_header, 2, [Kv("ns/x"), Kv("ns/y")]));
        Assert.Equal(2, delete.Deleted);
        Assert.Equal(["x", "y"], delete.PrevKvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Empty(NamespaceKeys.Strip("ns/", new DeleteResponse(s_header, 0, [])).PrevKvs);
    }

    [Fact]
    public void Transaction_responses_are_stripped_through_nested_transactions()
    {
        var inner = new TxnResponse(s_header, false, [new GetResponse(s_header, [Kv("ns/deep")], false, 1), new TxnResponse(s_header, true, [new PutResponse(s_header, Kv("ns/deeper"))])]);
        var outer = new TxnResponse(s_header, true,
        [
            new GetResponse(s_header, [Kv("ns/g")], false, 1),
            new PutResponse(s_header, Kv("ns/p")),
            new DeleteResponse(s_header, 1, [Kv("ns/d")]),
            inner,
        ]);
        var stripped = NamespaceKeys.Strip("ns/", outer);
        Assert.True(stripped.Succeeded);
        Assert.Equal("g", stripped.Response<GetResponse>(0).Kvs[0].Key.ToStringUtf8());
        Assert.Equal("p", stripped.Response<PutResponse>(1).PrevKv!.Key.ToStringUtf8());
        Assert.Equal("d", stripped.Response<DeleteResponse>(2).PrevKvs[0].Key.ToStringUtf8());
        var nested = stripped.Response<TxnResponse>(3);
        Assert.False(nested.Succeeded);
        Assert.Equal("deep", nested.Response<GetResponse>(0).Kvs[0].Key.ToStringUtf8());
        Assert.Equal("deeper", nested.Response<TxnResponse>(1).Response<PutResponse>(0).PrevKv!.Key.ToStringUtf8());
    }

    [Fact]
    public void Watch_events_and_responses_are_stripped_with_prev_kv()
    {
        var e = NamespaceKeys.Strip("ns/", new WatchEvent(WatchEventType.Put, Kv("ns/a", "2"), Kv("ns/a", "1")));
        Assert.Equal("a", e.Kv.Key.ToStringUtf8());
        Assert.Equal("a", e.PrevKv!.Key.ToStringUtf8());
        Assert.Equal("1", e.PrevKv.Value.ToStringUtf8());
        Assert.Null(NamespaceKeys.Strip("ns/", new WatchEvent(WatchEventType.Delete, Kv("ns/b", ""), null)).PrevKv);

        var response = NamespaceKeys.Strip("ns/", new WatchResponse(s_header, [new WatchEvent(WatchEventType.Put, Kv("ns/x"), null), new WatchEvent(WatchEventType.Delete, Kv("ns/y"), Kv("ns/y"))], false, 0));
        Assert.Equal(["x", "y"], response.Events.Select(ev => ev.Kv.Key.ToStringUtf8()));
        Assert.Equal("y", response.Events[1].PrevKv!.Key.ToStringUtf8());
        var progress = new WatchResponse(s_header, [], true, 0);
        Assert.Same(progress, NamespaceKeys.Strip("ns/", progress));
    }

    // ---- Rewriting transactions --------------------------------------------------------------------------------------

    [Fact]
    public void Transaction_tree_is_rewritten_with_the_prefix_and_the_original_is_untouched()
    {
        var getOptions = new GetOptions { Limit = 3 };
        var putOptions = new PutOptions { PrevKv = true };
        var nested = new Transaction()
            .If(Compare.Version(KeySet.Prefix("dir/")).Greater(1))
            .Then(TxnOp.Put("in", "1"))
            .Else(TxnOp.Get(KeySet.All));
        var original = new Transaction()
            .If(Compare.Value("a").Equal("x"), Compare.ModRevision(KeySet.Range("b", "c")).Less(9), Compare.KeyMissing("m"))
            .Then(TxnOp.Get(KeySet.Prefix("p/"), getOptions), TxnOp.Put("k", "v", putOptions), TxnOp.Txn(nested))
            .Else(TxnOp.Delete(KeySet.FromKey("f"), prevKv: true));

        var rewritten = NamespaceKeys.ToPhysical("ns/", original);

        Assert.NotSame(original, rewritten);
        Assert.Equal(
            [new { Keys = KeySet.Single("ns/a"), Target = CompareTarget.Value, Op = CompareOperator.Equal, N = 0L, V = "x" },
             new { Keys = KeySet.Range("ns/b", "ns/c"), Target = CompareTarget.ModRevision, Op = CompareOperator.Less, N = 9L, V = "" },
             new { Keys = KeySet.Single("ns/m"), Target = CompareTarget.CreateRevision, Op = CompareOperator.Equal, N = 0L, V = "" }],
            rewritten.Compares.Select(c => new { c.Keys, c.Target, Op = c.Operator, N = c.NumberOperand, V = c.ValueOperand.ToStringUtf8() }));

        var get = Assert.IsType<TxnOp.GetOp>(rewritten.SuccessOps[0]);
        Assert.Equal(KeySet.Prefix("ns/p/"), get.Keys);
        Assert.Same(getOptions, get.Options);
        var put = Assert.IsType<TxnOp.PutOp>(rewritten.SuccessOps[1]);
        Assert.Equal("ns/k", put.Key.ToStringUtf8());
        Assert.Equal("v", put.Value.ToStringUtf8());
        Assert.Same(putOptions, put.Options);
        var inner = Assert.IsType<TxnOp.NestedTxnOp>(rewritten.SuccessOps[2]).Transaction;
        Assert.NotSame(nested, inner);
        Assert.Equal(KeySet.Prefix("ns/dir/"), inner.Compares[0].Keys);
        Assert.Equal("ns/in", Assert.IsType<TxnOp.PutOp>(inner.SuccessOps[0]).Key.ToStringUtf8());
        Assert.Equal(KeySet.Range("ns/\0", "ns0"), Assert.IsType<TxnOp.GetOp>(inner.FailureOps[0]).Keys);
        var delete = Assert.IsType<TxnOp.DeleteOp>(rewritten.FailureOps[0]);
        Assert.Equal(KeySet.Range("ns/f", "ns0"), delete.Keys);
        Assert.True(delete.PrevKv);

        // The original still holds the view's keys.
        Assert.Equal(KeySet.Single("a"), original.Compares[0].Keys);
        Assert.Equal("k", Assert.IsType<TxnOp.PutOp>(original.SuccessOps[1]).Key.ToStringUtf8());
        Assert.Equal(KeySet.Prefix("dir/"), nested.Compares[0].Keys);
        // The rewritten transaction is not bound to anything: only the view sends it.
        Assert.Throws<InvalidOperationException>(() => { _ = rewritten.CommitAsync(); });
    }

    [Fact]
    public void Transaction_that_contains_itself_is_rejected_not_a_stack_overflow()
    {
        var loop = new Transaction();
        loop.Then(TxnOp.Txn(new Transaction().Then(TxnOp.Txn(loop))));
        Assert.Throws<ArgumentException>(() => NamespaceKeys.ToPhysical("ns/", loop));

        // The same transaction twice side by side is not a cycle.
        var shared = new Transaction().Then(TxnOp.Put("s", "1"));
        var twice = NamespaceKeys.ToPhysical("ns/", new Transaction().Then(TxnOp.Txn(shared)).Else(TxnOp.Txn(shared)));
        Assert.Equal(2, twice.SuccessOps.Count + twice.FailureOps.Count);
    }

    // ---- The view's synchronous checks (no server: nothing is sent) --------------------------------------------------

    private static EtcdClient Offline() => new("http://127.0.0.1:1");

    [Fact]
    public void Prefix_must_be_given_and_not_empty()
    {
        using var client = Offline();
        Assert.Equal("prefix", Assert.Throws<ArgumentNullException>(() => client.WithNamespace((string?)null)).ParamName);
        Assert.Equal("prefix", Assert.Throws<ArgumentNullException>(() => client.WithNamespace((byte[]?)null)).ParamName);
        Assert.Equal("prefix", Assert.Throws<ArgumentException>(() => client.WithNamespace("")).ParamName);
        var ns = client.WithNamespace("a/");
        Assert.Throws<ArgumentNullException>(() => ns.WithNamespace((string?)null));
        Assert.Throws<ArgumentException>(() => ns.WithNamespace(EtcdBytes.Empty));
    }

    [Fact]
    public void View_exposes_client_and_a_private_copy_of_the_prefix()
    {
        using var client = Offline();
        var bytes = new byte[] { 0x61, 0x2F };
        var ns = client.WithNamespace(bytes);
        bytes[0] = 0x7A;
        Assert.Equal("a/", ns.Prefix.ToStringUtf8());
        Assert.Same(client, ns.Client);
        Assert.Equal("EtcdNamespace(a/)", ns.ToString());
    }

    [Fact]
    public void Nested_namespaces_concatenate()
    {
        using var client = Offline();
        var nested = client.WithNamespace("a/").WithNamespace("b/");
        Assert.Equal("a/b/", nested.Prefix.ToStringUtf8());
        Assert.Same(client, nested.Client);
        Assert.Equal("a/b/c/", nested.WithNamespace("c/").Prefix.ToStringUtf8());
    }

    [Fact]
    public void Bad_input_throws_from_the_call_itself_before_anything_is_sent()
    {
        using var client = Offline();
        var ns = client.WithNamespace("app/");
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => { _ = ns.GetAsync(""); }).ParamName);
        Assert.Equal("keys", Assert.Throws<ArgumentNullException>(() => { _ = ns.GetAsync((string?)null); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => { _ = ns.GetValueAsync(""); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => { _ = ns.GetStringAsync(""); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => { _ = ns.PutAsync("", "v"); }).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => { _ = ns.PutAsync((string?)null, "v"); }).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentNullException>(() => { _ = ns.PutAsync("k", (byte[]?)null); }).ParamName);
        Assert.Throws<ArgumentException>(() => { _ = ns.PutAsync("k", "v", new PutOptions { IgnoreValue = true }); });
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => { _ = ns.DeleteAsync(default(KeySet)); }).ParamName);
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => ns.ScanAsync("")).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ns.ScanAsync(KeySet.All, new ScanOptions { PageSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ns.GetAsync(KeySet.All, new GetOptions { Limit = -1 }); });
        Assert.Throws<ArgumentNullException>(() => { _ = ns.TxnAsync(null!); });
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => ns.WatchAsync("")).ParamName);
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => ns.WatchResponsesAsync("")).ParamName);
        Assert.Throws<ArgumentException>(() => ns.WatchAsync(KeySet.All, new WatchOptions { NoPut = true, NoDelete = true }));
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => ns.Watch("", (_, _) => ValueTask.CompletedTask)).ParamName);
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => ns.Watch("", _ => { })).ParamName);
        Assert.Throws<ArgumentNullException>(() => ns.Watch("k", (Func<WatchEvent, CancellationToken, ValueTask>)null!));
        Assert.Throws<ArgumentNullException>(() => ns.Watch("k", (Action<WatchEvent>)null!));
        Assert.Equal(0, client.Watch.ActiveCount);
    }

    [Fact]
    public void Txn_is_bound_to_the_view()
    {
        using var client = Offline();
        var ns = client.WithNamespace("app/");
        var loop = ns.Txn();
        loop.Then(TxnOp.Txn(loop));
        // CommitAsync goes through the view, which rewrites (and here rejects) the tree before sending.
        Assert.Throws<ArgumentException>(() => { _ = loop.CommitAsync(); });
    }
}
