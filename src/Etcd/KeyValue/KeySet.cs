namespace Etcd;

/// <summary>What a <see cref="KeySet"/> selects.</summary>
public enum KeySetKind
{
    /// <summary>One key.</summary>
    Single,
    /// <summary>The keys in [from, to).</summary>
    Range,
    /// <summary>The keys that start with a prefix.</summary>
    Prefix,
    /// <summary>The keys greater than or equal to a key.</summary>
    FromKey,
    /// <summary>Every key.</summary>
    All,
}

/// <summary>
/// A set of keys: one key, a range [from, to), a prefix, every key from a key on, or all keys.
/// A string or byte array converts implicitly to a single-key set (the conversion never throws; the method that
/// receives the set rejects an empty or null key with an <see cref="ArgumentException"/>).
/// </summary>
public readonly struct KeySet : IEquatable<KeySet>
{
    // etcd's convention: a range_end of a single 0x00 byte means "to the end of the keyspace".
    private static readonly byte[] s_zero = [0];

    private KeySet(KeySetKind kind, EtcdBytes key, EtcdBytes rangeEnd)
    {
        Kind = kind;
        Key = key;
        RangeEnd = rangeEnd;
    }

    /// <summary>What this set selects.</summary>
    public KeySetKind Kind { get; }

    /// <summary>The key, the start of the range, or the prefix (for <see cref="KeySetKind.All"/>: empty).</summary>
    public EtcdBytes Key { get; }

    /// <summary>The exclusive end of the range for <see cref="KeySetKind.Range"/>; empty otherwise.</summary>
    public EtcdBytes RangeEnd { get; }

    /// <summary>A single key (must not be empty).</summary>
    public static KeySet Single(EtcdBytes key)
    {
        Guard.Key(key, nameof(key));
        return new KeySet(KeySetKind.Single, key, default);
    }

    /// <summary>
    /// The keys in [<paramref name="from"/>, <paramref name="to"/>) in byte order; an empty <paramref name="from"/> starts
    /// at the first key. <paramref name="to"/> must sort after <paramref name="from"/>.
    /// </summary>
    public static KeySet Range(EtcdBytes from, EtcdBytes to)
    {
        Guard.NotNull(from, nameof(from));
        Guard.NotNull(to, nameof(to));
        // etcd reads a range_end of "\0" as "no end", so [from, "\0") would silently mean FromKey(from).
        if (to.IsEmpty || to.Span.SequenceEqual(s_zero))
            throw new ArgumentException("The end of a range must be a real key; use KeySet.FromKey for an open-ended range.", nameof(to));
        if (to.CompareTo(from) <= 0)
            throw new ArgumentException($"The end of a range ({to}) must sort after its start ({from}).", nameof(to));
        return new KeySet(KeySetKind.Range, from, to);
    }

    /// <summary>The keys that start with <paramref name="prefix"/>; an empty prefix selects every key.</summary>
    public static KeySet Prefix(EtcdBytes prefix)
    {
        Guard.NotNull(prefix, nameof(prefix));
        return prefix.IsEmpty ? All : new KeySet(KeySetKind.Prefix, prefix, default);
    }

    /// <summary>The keys greater than or equal to <paramref name="key"/>.</summary>
    public static KeySet FromKey(EtcdBytes key)
    {
        Guard.NotNull(key, nameof(key));
        return new KeySet(KeySetKind.FromKey, key, default);
    }

    /// <summary>Every key in the store.</summary>
    public static KeySet All => new(KeySetKind.All, default, default);

    /// <summary>True when the set is one key.</summary>
    public bool IsSingleKey => Kind == KeySetKind.Single;

    /// <summary>Rejects a single-key set whose key is null or empty (what the implicit conversions and <c>default</c> can produce).</summary>
    internal void Validate(string paramName)
    {
        if (Kind == KeySetKind.Single) Guard.Key(Key, paramName);
    }

    /// <summary>
    /// The smallest key greater than every key that starts with <paramref name="prefix"/>: the prefix with its last
    /// byte below 0xFF incremented and what follows dropped; a prefix of only 0xFF bytes (or empty) yields "\0", etcd's "no end".
    /// </summary>
    public static EtcdBytes PrefixEnd(EtcdBytes prefix)
    {
        var span = prefix.Span;
        for (int i = span.Length - 1; i >= 0; i--)
        {
            if (span[i] < 0xFF)
            {
                var end = span[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }
        return s_zero;
    }

    /// <summary>The key as etcd's wire format wants it (all keys: "\0"; an empty range start: "\0").</summary>
    internal EtcdBytes WireKey => Key.IsEmpty && Kind != KeySetKind.Single ? s_zero : Key;

    /// <summary>The range_end as etcd's wire format wants it (empty for one key).</summary>
    internal EtcdBytes WireRangeEnd => Kind switch
    {
        KeySetKind.Single => default,
        KeySetKind.Range => RangeEnd,
        KeySetKind.Prefix => PrefixEnd(Key),
        _ => s_zero,
    };

    /// <summary>True when <paramref name="key"/> belongs to this set.</summary>
    public bool Contains(EtcdBytes key) => Kind switch
    {
        KeySetKind.Single => key == Key,
        KeySetKind.Range => key.CompareTo(Key) >= 0 && key.CompareTo(RangeEnd) < 0,
        KeySetKind.Prefix => key.StartsWith(Key),
        KeySetKind.FromKey => key.CompareTo(Key) >= 0,
        _ => true,
    };

    /// <inheritdoc />
    public bool Equals(KeySet other) => Kind == other.Kind && Key == other.Key && RangeEnd == other.RangeEnd;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is KeySet other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Key, RangeEnd);

    /// <summary>Equality of kind and bytes.</summary>
    public static bool operator ==(KeySet left, KeySet right) => left.Equals(right);

    /// <summary>Inequality of kind and bytes.</summary>
    public static bool operator !=(KeySet left, KeySet right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        KeySetKind.Single => Key.ToString(),
        KeySetKind.Range => $"[{Key}, {RangeEnd})",
        KeySetKind.Prefix => $"{Key}*",
        KeySetKind.FromKey => $"[{Key}, ...)",
        _ => "*",
    };

    /// <summary>A single key.</summary>
    public static implicit operator KeySet(EtcdBytes key) => new(KeySetKind.Single, key, default);

    /// <summary>A single key, UTF-8 encoded.</summary>
    public static implicit operator KeySet(string? key) => new(KeySetKind.Single, key, default);

    /// <summary>A single key.</summary>
    public static implicit operator KeySet(byte[]? key) => new(KeySetKind.Single, key, default);
}
