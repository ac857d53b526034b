namespace Etcd;

/// <summary>How a read orders its results.</summary>
public enum SortOrder
{
    /// <summary>No sorting asked for (etcd returns keys in ascending key order).</summary>
    None = 0,
    /// <summary>Ascending.</summary>
    Ascending = 1,
    /// <summary>Descending.</summary>
    Descending = 2,
}

/// <summary>The field a read sorts by.</summary>
public enum SortTarget
{
    /// <summary>The key bytes.</summary>
    Key = 0,
    /// <summary>The version.</summary>
    Version = 1,
    /// <summary>The create revision.</summary>
    CreateRevision = 2,
    /// <summary>The modification revision.</summary>
    ModRevision = 3,
    /// <summary>The value bytes.</summary>
    Value = 4,
}

/// <summary>Options of a read (every option etcd's Range has). Zero means "not set" for every number.</summary>
public sealed record GetOptions
{
    /// <summary>The most pairs to return; 0 for no limit.</summary>
    public long Limit { get; init; }

    /// <summary>The order of the results.</summary>
    public SortOrder SortOrder { get; init; }

    /// <summary>The field to sort by.</summary>
    public SortTarget SortTarget { get; init; }

    /// <summary>Return keys and metadata without values.</summary>
    public bool KeysOnly { get; init; }

    /// <summary>Return only the count of keys.</summary>
    public bool CountOnly { get; init; }

    /// <summary>Answer from the member's local state without a quorum round (faster, possibly stale).</summary>
    public bool Serializable { get; init; }

    /// <summary>Read at this store revision; 0 for the newest.</summary>
    public long Revision { get; init; }

    /// <summary>Only keys modified at or after this revision; 0 for no bound.</summary>
    public long MinModRevision { get; init; }

    /// <summary>Only keys modified at or before this revision; 0 for no bound.</summary>
    public long MaxModRevision { get; init; }

    /// <summary>Only keys created at or after this revision; 0 for no bound.</summary>
    public long MinCreateRevision { get; init; }

    /// <summary>Only keys created at or before this revision; 0 for no bound.</summary>
    public long MaxCreateRevision { get; init; }

    internal void Validate(string paramName)
    {
        Guard.NonNegative(Limit, paramName, nameof(Limit));
        Guard.NonNegative(Revision, paramName, nameof(Revision));
        Guard.NonNegative(MinModRevision, paramName, nameof(MinModRevision));
        Guard.NonNegative(MaxModRevision, paramName, nameof(MaxModRevision));
        Guard.NonNegative(MinCreateRevision, paramName, nameof(MinCreateRevision));
        Guard.NonNegative(MaxCreateRevision, paramName, nameof(MaxCreateRevision));
        Guard.Defined(SortOrder, paramName);
        Guard.Defined(SortTarget, paramName);
        if (KeysOnly && CountOnly)
            throw new ArgumentException("KeysOnly and CountOnly cannot both be set.", paramName);
    }
}

/// <summary>Options of a paged scan.</summary>
public sealed record ScanOptions
{
    /// <summary>The number of pairs fetched per round trip (default 1,000).</summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>Return keys and metadata without values.</summary>
    public bool KeysOnly { get; init; }

    /// <summary>Answer from the member's local state (faster, possibly stale; every page still reads at one revision).</summary>
    public bool Serializable { get; init; }

    /// <summary>Scan at this revision; 0 for the revision of the first page.</summary>
    public long Revision { get; init; }

    internal void Validate(string paramName)
    {
        if (PageSize <= 0) throw new ArgumentOutOfRangeException(paramName, PageSize, "ScanOptions.PageSize must be positive.");
        Guard.NonNegative(Revision, paramName, nameof(Revision));
    }
}

/// <summary>Options of a put.</summary>
public sealed record PutOptions
{
    /// <summary>Attach the key to this lease; 0 for none.</summary>
    public long Lease { get; init; }

    /// <summary>Return the pair as it was before the put.</summary>
    public bool PrevKv { get; init; }

    /// <summary>Keep the current value (only the lease changes); the value passed must be empty.</summary>
    public bool IgnoreValue { get; init; }

    /// <summary>Keep the current lease; <see cref="Lease"/> must be 0.</summary>
    public bool IgnoreLease { get; init; }

    internal void Validate(EtcdBytes value, string paramName)
    {
        Guard.NonNegative(Lease, paramName, nameof(Lease));
        if (IgnoreValue && !value.IsEmpty)
            throw new ArgumentException("A value must not be given with IgnoreValue.", paramName);
        if (IgnoreLease && Lease != 0)
            throw new ArgumentException("A lease must not be given with IgnoreLease.", paramName);
    }
}
