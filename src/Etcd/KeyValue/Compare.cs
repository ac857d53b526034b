namespace Etcd;

/// <summary>What a transaction compare looks at.</summary>
public enum CompareTarget
{
    /// <summary>The key's version.</summary>
    Version = 0,
    /// <summary>The key's create revision (0 when the key does not exist).</summary>
    CreateRevision = 1,
    /// <summary>The key's modification revision.</summary>
    ModRevision = 2,
    /// <summary>The key's value.</summary>
    Value = 3,
    /// <summary>The key's lease id.</summary>
    Lease = 4,
}

/// <summary>How a compare relates the stored field to the given operand.</summary>
public enum CompareOperator
{
    /// <summary>Equal.</summary>
    Equal = 0,
    /// <summary>Greater than.</summary>
    Greater = 1,
    /// <summary>Less than.</summary>
    Less = 2,
    /// <summary>Not equal.</summary>
    NotEqual = 3,
}

/// <summary>
/// One condition of a transaction, built with the static factories:
/// <c>Compare.Value("k").Equal("v")</c>, <c>Compare.Version("k").Greater(0)</c>, <c>Compare.CreateRevision("k").Equal(0)</c>.
/// Over a range or prefix the condition must hold for every key in it.
/// </summary>
public sealed record Compare
{
    internal Compare(KeySet keys, CompareTarget target, CompareOperator op, long number, EtcdBytes value)
    {
        Keys = keys;
        Target = target;
        Operator = op;
        NumberOperand = number;
        ValueOperand = value;
    }

    /// <summary>The key or keys compared.</summary>
    public KeySet Keys { get; }

    /// <summary>The field compared.</summary>
    public CompareTarget Target { get; }

    /// <summary>The comparison.</summary>
    public CompareOperator Operator { get; }

    /// <summary>The operand for numeric targets.</summary>
    public long NumberOperand { get; }

    /// <summary>The operand for <see cref="CompareTarget.Value"/>.</summary>
    public EtcdBytes ValueOperand { get; }

    /// <summary>Compares the value of a key (or of every key of a range).</summary>
    public static ValueCompareBuilder Value(KeySet keys) => new(keys);

    /// <summary>Compares the version of a key.</summary>
    public static NumberCompareBuilder Version(KeySet keys) => new(keys, CompareTarget.Version);

    /// <summary>Compares the create revision of a key (0 when it does not exist).</summary>
    public static NumberCompareBuilder CreateRevision(KeySet keys) => new(keys, CompareTarget.CreateRevision);

    /// <summary>Compares the modification revision of a key.</summary>
    public static NumberCompareBuilder ModRevision(KeySet keys) => new(keys, CompareTarget.ModRevision);

    /// <summary>Compares the lease id of a key (0 when it has none).</summary>
    public static NumberCompareBuilder Lease(KeySet keys) => new(keys, CompareTarget.Lease);

    /// <summary>Holds when the key does not exist (create revision 0).</summary>
    public static Compare KeyMissing(EtcdBytes key) => CreateRevision(key).Equal(0);

    /// <summary>Holds when the key exists (create revision above 0).</summary>
    public static Compare KeyExists(EtcdBytes key) => CreateRevision(key).Greater(0);

    /// <inheritdoc />
    public override string ToString() => Target == CompareTarget.Value
        ? $"{Target}({Keys}) {Operator} {ValueOperand}"
        : $"{Target}({Keys}) {Operator} {NumberOperand}";
}

/// <summary>Completes a compare on a value: pick the operator and operand.</summary>
public readonly struct ValueCompareBuilder
{
    private readonly KeySet _keys;

    internal ValueCompareBuilder(KeySet keys)
    {
        keys.Validate(nameof(keys));
        _keys = keys;
    }

    /// <summary>The value equals <paramref name="value"/>.</summary>
    public Compare Equal(EtcdBytes value) => Make(CompareOperator.Equal, value);

    /// <summary>The value differs from <paramref name="value"/>.</summary>
    public Compare NotEqual(EtcdBytes value) => Make(CompareOperator.NotEqual, value);

    /// <summary>The value sorts after <paramref name="value"/> (byte order).</summary>
    public Compare Greater(EtcdBytes value) => Make(CompareOperator.Greater, value);

    /// <summary>The value sorts before <paramref name="value"/> (byte order).</summary>
    public Compare Less(EtcdBytes value) => Make(CompareOperator.Less, value);

    private Compare Make(CompareOperator op, EtcdBytes value)
    {
        Guard.NotNull(value, nameof(value));
        return new Compare(_keys, CompareTarget.Value, op, 0, value);
    }
}

/// <summary>Completes a compare on a numeric field: pick the operator and operand.</summary>
public readonly struct NumberCompareBuilder
{
    private readonly KeySet _keys;
    private readonly CompareTarget _target;

    internal NumberCompareBuilder(KeySet keys, CompareTarget target)
    {
        keys.Validate(nameof(keys));
        _keys = keys;
        _target = target;
    }

    /// <summary>The field equals <paramref name="number"/>.</summary>
    public Compare Equal(long number) => new(_keys, _target, CompareOperator.Equal, number, default);

    /// <summary>The field differs from <paramref name="number"/>.</summary>
    public Compare NotEqual(long number) => new(_keys, _target, CompareOperator.NotEqual, number, default);

    /// <summary>The field is greater than <paramref name="number"/>.</summary>
    public Compare Greater(long number) => new(_keys, _target, CompareOperator.Greater, number, default);

    /// <summary>The field is less than <paramref name="number"/>.</summary>
    public Compare Less(long number) => new(_keys, _target, CompareOperator.Less, number, default);
}
