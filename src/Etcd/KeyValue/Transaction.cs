namespace Etcd;

/// <summary>
/// A transaction: if every compare holds, run the <c>Then</c> operations, otherwise the <c>Else</c> operations,
/// atomically at one revision. Build it fluently and commit it with <see cref="CommitAsync"/> (when it came from
/// <see cref="IEtcdKv.Txn"/>) or pass it to <see cref="IEtcdKv.TxnAsync"/>.
/// </summary>
/// <example><code>
/// var result = await client.Txn()
///     .If(Compare.Value("config/mode").Equal("old"))
///     .Then(TxnOp.Put("config/mode", "new"))
///     .Else(TxnOp.Get("config/mode"))
///     .CommitAsync();
/// </code></example>
public sealed class Transaction
{
    private readonly List<Compare> _compares = [];
    private readonly List<TxnOp> _success = [];
    private readonly List<TxnOp> _failure = [];
    private readonly IEtcdKv? _kv;

    /// <summary>Creates an empty transaction, to be passed to <see cref="IEtcdKv.TxnAsync"/> or nested with <see cref="TxnOp.Txn"/>.</summary>
    public Transaction() { }

    internal Transaction(IEtcdKv kv) => _kv = kv;

    /// <summary>The conditions, all of which must hold for the <c>Then</c> branch.</summary>
    public IReadOnlyList<Compare> Compares => _compares;

    /// <summary>The operations run when every compare holds.</summary>
    public IReadOnlyList<TxnOp> SuccessOps => _success;

    /// <summary>The operations run when a compare fails.</summary>
    public IReadOnlyList<TxnOp> FailureOps => _failure;

    /// <summary>Adds conditions (all must hold).</summary>
    public Transaction If(params Compare[] compares) => If((IEnumerable<Compare>)compares);

    /// <summary>Adds conditions (all must hold).</summary>
    public Transaction If(IEnumerable<Compare> compares)
    {
        AddAll(_compares, compares, nameof(compares));
        return this;
    }

    /// <summary>Adds operations to run when every compare holds.</summary>
    public Transaction Then(params TxnOp[] operations) => Then((IEnumerable<TxnOp>)operations);

    /// <summary>Adds operations to run when every compare holds.</summary>
    public Transaction Then(IEnumerable<TxnOp> operations)
    {
        AddAll(_success, operations, nameof(operations));
        return this;
    }

    /// <summary>Adds operations to run when a compare fails.</summary>
    public Transaction Else(params TxnOp[] operations) => Else((IEnumerable<TxnOp>)operations);

    /// <summary>Adds operations to run when a compare fails.</summary>
    public Transaction Else(IEnumerable<TxnOp> operations)
    {
        AddAll(_failure, operations, nameof(operations));
        return this;
    }

    /// <summary>Commits the transaction through the client (or namespaced view) that created it.</summary>
    /// <exception cref="InvalidOperationException">The transaction was created with <c>new Transaction()</c>.</exception>
    public Task<TxnResponse> CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_kv is null)
            throw new InvalidOperationException("This transaction is not bound to a client; create it with client.Txn() or pass it to client.TxnAsync().");
        return _kv.TxnAsync(this, cancellationToken);
    }

    /// <summary>Commits the transaction and throws <see cref="EtcdTransactionFailedException"/> (carrying the <c>Else</c> responses) when a compare failed.</summary>
    public async Task<TxnResponse> CommitOrThrowAsync(CancellationToken cancellationToken = default)
        => (await CommitAsync(cancellationToken).ConfigureAwait(false)).EnsureSucceeded();

    private static void AddAll<T>(List<T> target, IEnumerable<T> items, string paramName) where T : class
    {
        ArgumentNullException.ThrowIfNull(items, paramName);
        int count = target.Count;
        foreach (var item in items)
        {
            if (item is null)
            {
                target.RemoveRange(count, target.Count - count);
                throw new ArgumentNullException(paramName, "A transaction element must not be null.");
            }
            target.Add(item);
        }
    }
}
