namespace Etcd;

/// <summary>One operation inside a transaction branch: a get, put, delete or nested transaction.</summary>
public abstract class TxnOp
{
    private protected TxnOp() { }

    /// <summary>Reads a key, range or prefix.</summary>
    public static TxnOp Get(KeySet keys, GetOptions? options = null)
    {
        keys.Validate(nameof(keys));
        options?.Validate(nameof(options));
        return new GetOp(keys, options ?? s_defaultGet);
    }

    /// <summary>Writes a key.</summary>
    public static TxnOp Put(EtcdBytes key, EtcdBytes value, PutOptions? options = null)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        options?.Validate(value, nameof(options));
        return new PutOp(key, value, options ?? s_defaultPut);
    }

    /// <summary>Deletes a key, range or prefix, optionally returning the deleted pairs.</summary>
    public static TxnOp Delete(KeySet keys, bool prevKv = false)
    {
        keys.Validate(nameof(keys));
        return new DeleteOp(keys, prevKv);
    }

    /// <summary>Runs a nested transaction (its compares are evaluated when the outer branch runs).</summary>
    public static TxnOp Txn(Transaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return new NestedTxnOp(transaction);
    }

    private static readonly GetOptions s_defaultGet = new();
    private static readonly PutOptions s_defaultPut = new();

    internal sealed class GetOp(KeySet keys, GetOptions options) : TxnOp
    {
        public KeySet Keys { get; } = keys;
        public GetOptions Options { get; } = options;
        public override string ToString() => $"Get({Keys})";
    }

    internal sealed class PutOp(EtcdBytes key, EtcdBytes value, PutOptions options) : TxnOp
    {
        public EtcdBytes Key { get; } = key;
        public EtcdBytes Value { get; } = value;
        public PutOptions Options { get; } = options;
        public override string ToString() => $"Put({Key}, {Value})";
    }

    internal sealed class DeleteOp(KeySet keys, bool prevKv) : TxnOp
    {
        public KeySet Keys { get; } = keys;
        public bool PrevKv { get; } = prevKv;
        public override string ToString() => $"Delete({Keys})";
    }

    internal sealed class NestedTxnOp(Transaction transaction) : TxnOp
    {
        public Transaction Transaction { get; } = transaction;
        public override string ToString() => "Txn(...)";
    }
}
