namespace Etcd;

/// <summary>Base of every response: the header with the revision the request saw.</summary>
/// <param name="Header">The response header.</param>
public abstract record EtcdResponse(ResponseHeader Header);

/// <summary>The result of a read.</summary>
/// <param name="Header">The response header; its revision is the revision the read saw.</param>
/// <param name="Kvs">The key-value pairs read (empty with count-only).</param>
/// <param name="More">True when a limit cut the result short.</param>
/// <param name="Count">The number of keys in the range (not limited).</param>
public sealed record GetResponse(ResponseHeader Header, IReadOnlyList<KeyValue> Kvs, bool More, long Count) : EtcdResponse(Header)
{
    /// <summary>The first pair read, or null when nothing matched.</summary>
    public KeyValue? First => Kvs.Count > 0 ? Kvs[0] : null;
}

/// <summary>The result of a put.</summary>
/// <param name="Header">The response header; its revision is the revision of the write.</param>
/// <param name="PrevKv">The pair before the write, when asked for and the key existed.</param>
public sealed record PutResponse(ResponseHeader Header, KeyValue? PrevKv) : EtcdResponse(Header);

/// <summary>The result of a delete.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Deleted">The number of keys deleted.</param>
/// <param name="PrevKvs">The deleted pairs, when asked for.</param>
public sealed record DeleteResponse(ResponseHeader Header, long Deleted, IReadOnlyList<KeyValue> PrevKvs) : EtcdResponse(Header);

/// <summary>The result of a compaction.</summary>
/// <param name="Header">The response header.</param>
public sealed record CompactResponse(ResponseHeader Header) : EtcdResponse(Header);

/// <summary>The result of a transaction.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Succeeded">True when every compare held and the <c>Then</c> branch ran; false when the <c>Else</c> branch ran.</param>
/// <param name="Responses">One response per operation of the branch that ran, in order: <see cref="GetResponse"/>,
/// <see cref="PutResponse"/>, <see cref="DeleteResponse"/> or a nested <see cref="TxnResponse"/>.</param>
public sealed record TxnResponse(ResponseHeader Header, bool Succeeded, IReadOnlyList<EtcdResponse> Responses) : EtcdResponse(Header)
{
    /// <summary>Returns this response when the transaction succeeded; throws <see cref="EtcdTransactionFailedException"/> otherwise.</summary>
    public TxnResponse EnsureSucceeded() => Succeeded ? this : throw new EtcdTransactionFailedException(this);

    /// <summary>The response at <paramref name="index"/> as <typeparamref name="T"/>; throws <see cref="InvalidCastException"/> naming both types when it is another kind.</summary>
    public T Response<T>(int index) where T : EtcdResponse
        => Responses[index] as T ?? throw new InvalidCastException($"Transaction response {index} is a {Responses[index].GetType().Name}, not a {typeof(T).Name}.");
}
