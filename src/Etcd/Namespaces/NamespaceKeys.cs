namespace Etcd;

/// <summary>
/// The pure key arithmetic of a namespaced view: maps keys and key sets of the view to the physical keyspace and strips
/// the prefix from what comes back. The namespace of prefix P is the set of keys P + k for every non-empty k, so the
/// bare key P itself (which would come back as an empty, unusable key) is never part of it.
/// </summary>
internal static class NamespaceKeys
{
    private static readonly byte[] s_zero = [0];

    /// <summary>The physical key of <paramref name="key"/> inside the namespace.</summary>
    public static EtcdBytes AddPrefix(EtcdBytes prefix, EtcdBytes key)
    {
        var result = new byte[prefix.Length + key.Length];
        prefix.Span.CopyTo(result);
        key.Span.CopyTo(result.AsSpan(prefix.Length));
        return result;
    }

    /// <summary>
    /// Maps a (validated) key set of the view to the physical set holding exactly the prefixed keys of its non-empty keys:
    /// a single key, range or prefix gets the prefix; an open end (from-key, all) stops at the end of the namespace; an
    /// empty start (range, from-key, all) starts right after the bare prefix.
    /// </summary>
    public static KeySet ToPhysical(EtcdBytes prefix, KeySet keys)
    {
        switch (keys.Kind)
        {
            case KeySetKind.Single:
                return KeySet.Single(AddPrefix(prefix, keys.Key));
            case KeySetKind.Prefix:
                return KeySet.Prefix(AddPrefix(prefix, keys.Key));
            case KeySetKind.Range:
                return KeySet.Range(Start(prefix, keys.Key), AddPrefix(prefix, keys.RangeEnd));
            case KeySetKind.FromKey:
            case KeySetKind.All:
                var start = Start(prefix, keys.Key);
                var end = KeySet.PrefixEnd(prefix);
                // A prefix of only 0xFF bytes has no end below etcd's "\0": every key from its first one on starts with it.
                return IsZero(end) ? KeySet.FromKey(start) : KeySet.Range(start, end);
            default:
                throw new ArgumentOutOfRangeException(nameof(keys), keys.Kind, "Unknown key set kind.");
        }
    }

    // An empty start means "the first key", which in the namespace is the first key after the bare prefix.
    private static EtcdBytes Start(EtcdBytes prefix, EtcdBytes key) => AddPrefix(prefix, key.IsEmpty ? s_zero : key);

    private static bool IsZero(EtcdBytes bytes) => bytes.Length == 1 && bytes.Span[0] == 0;

    /// <summary>The key as the view sees it: the physical key without the prefix (a key without the prefix is returned unchanged).</summary>
    public static EtcdBytes StripPrefix(EtcdBytes prefix, EtcdBytes key) =>
        key.StartsWith(prefix) ? new EtcdBytes(key.Memory[prefix.Length..]) : key;

    /// <summary>The pair with its key stripped.</summary>
    public static KeyValue Strip(EtcdBytes prefix, KeyValue kv) => kv with { Key = StripPrefix(prefix, kv.Key) };

    /// <summary>The pair with its key stripped, or null.</summary>
    public static KeyValue? StripOrNull(EtcdBytes prefix, KeyValue? kv) => kv is null ? null : Strip(prefix, kv);

    /// <summary>Every pair with its key stripped.</summary>
    public static IReadOnlyList<KeyValue> Strip(EtcdBytes prefix, IReadOnlyList<KeyValue> kvs)
    {
        if (kvs.Count == 0) return kvs;
        var result = new KeyValue[kvs.Count];
        for (int i = 0; i < result.Length; i++) result[i] = Strip(prefix, kvs[i]);
        return result;
    }

    /// <summary>A read's pairs stripped.</summary>
    public static GetResponse Strip(EtcdBytes prefix, GetResponse response) => response with { Kvs = Strip(prefix, response.Kvs) };

    /// <summary>A put's previous pair stripped.</summary>
    public static PutResponse Strip(EtcdBytes prefix, PutResponse response) => response with { PrevKv = StripOrNull(prefix, response.PrevKv) };

    /// <summary>A delete's previous pairs stripped.</summary>
    public static DeleteResponse Strip(EtcdBytes prefix, DeleteResponse response) => response with { PrevKvs = Strip(prefix, response.PrevKvs) };

    /// <summary>Every response of a transaction stripped, through nested transactions.</summary>
    public static TxnResponse Strip(EtcdBytes prefix, TxnResponse response)
    {
        if (response.Responses.Count == 0) return response;
        var result = new EtcdResponse[response.Responses.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = response.Responses[i] switch
            {
                GetResponse get => Strip(prefix, get),
                PutResponse put => Strip(prefix, put),
                DeleteResponse delete => Strip(prefix, delete),
                TxnResponse txn => Strip(prefix, txn),
                var other => other,
            };
        }
        return response with { Responses = result };
    }

    /// <summary>A watch event with its pair and previous pair stripped.</summary>
    public static WatchEvent Strip(EtcdBytes prefix, WatchEvent e) =>
        e with { Kv = Strip(prefix, e.Kv), PrevKv = StripOrNull(prefix, e.PrevKv) };

    /// <summary>A watch response with every event stripped.</summary>
    public static WatchResponse Strip(EtcdBytes prefix, WatchResponse response)
    {
        if (response.Events.Count == 0) return response;
        var events = new WatchEvent[response.Events.Count];
        for (int i = 0; i < events.Length; i++) events[i] = Strip(prefix, response.Events[i]);
        return response with { Events = events };
    }

    /// <summary>
    /// Rewrites a transaction tree of the view into an unbound transaction over the physical keyspace: every compare,
    /// operation and nested transaction gets the prefix. Throws <see cref="ArgumentException"/> when a transaction
    /// contains itself.
    /// </summary>
    public static Transaction ToPhysical(EtcdBytes prefix, Transaction transaction)
        => ToPhysical(prefix, transaction, new HashSet<Transaction>(ReferenceEqualityComparer.Instance));

    private static Transaction ToPhysical(EtcdBytes prefix, Transaction transaction, HashSet<Transaction> ancestors)
    {
        if (!ancestors.Add(transaction))
            throw new ArgumentException("A transaction must not contain itself, directly or through nested transactions.", nameof(transaction));
        var result = new Transaction();
        result.If(transaction.Compares.Select(c => ToPhysical(prefix, c)).ToArray());
        result.Then(transaction.SuccessOps.Select(op => ToPhysical(prefix, op, ancestors)).ToArray());
        result.Else(transaction.FailureOps.Select(op => ToPhysical(prefix, op, ancestors)).ToArray());
        ancestors.Remove(transaction);
        return result;
    }

    /// <summary>A compare over the prefixed keys.</summary>
    public static Compare ToPhysical(EtcdBytes prefix, Compare compare) =>
        new(ToPhysical(prefix, compare.Keys), compare.Target, compare.Operator, compare.NumberOperand, compare.ValueOperand);

    private static TxnOp ToPhysical(EtcdBytes prefix, TxnOp op, HashSet<Transaction> ancestors) => op switch
    {
        TxnOp.GetOp get => new TxnOp.GetOp(ToPhysical(prefix, get.Keys), get.Options),
        TxnOp.PutOp put => new TxnOp.PutOp(AddPrefix(prefix, put.Key), put.Value, put.Options),
        TxnOp.DeleteOp delete => new TxnOp.DeleteOp(ToPhysical(prefix, delete.Keys), delete.PrevKv),
        TxnOp.NestedTxnOp nested => new TxnOp.NestedTxnOp(ToPhysical(prefix, nested.Transaction, ancestors)),
        _ => throw new ArgumentException($"Unknown transaction operation {op.GetType().Name}.", "transaction"),
    };
}
