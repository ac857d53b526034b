namespace Etcd.Concurrency;

/// <summary>Settings of an <see cref="Stm"/> transaction, validated when set.</summary>
public sealed record StmOptions
{
    /// <summary>The longest <see cref="MaxBackoff"/> accepted.</summary>
    public static readonly TimeSpan MaxBackoffLimit = TimeSpan.FromMinutes(1);

    private readonly StmIsolation _isolation = StmIsolation.SerializableSnapshot;
    private readonly int _maxAttempts = 16;
    private readonly IReadOnlyList<EtcdBytes> _prefetch = [];
    private readonly TimeSpan _maxBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>The default settings: <see cref="StmIsolation.SerializableSnapshot"/>, 16 attempts, no prefetch, backoff up to 100 ms.</summary>
    public static StmOptions Default { get; } = new();

    /// <summary>The isolation level (default <see cref="StmIsolation.SerializableSnapshot"/>).</summary>
    public StmIsolation Isolation
    {
        get => _isolation;
        init
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(Isolation), value, "Unknown StmIsolation value.");
            _isolation = value;
        }
    }

    /// <summary>How many times the transaction function may run before <see cref="EtcdStmConflictException"/> is thrown (default 16, at least 1).</summary>
    public int MaxAttempts
    {
        get => _maxAttempts;
        init
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxAttempts), value, "StmOptions.MaxAttempts must be at least 1.");
            _maxAttempts = value;
        }
    }

    /// <summary>
    /// Keys read in one round trip (at one revision) before each attempt, so the function's first reads of them cost
    /// nothing (default none). Duplicates are ignored; keys must not be empty.
    /// </summary>
    public IReadOnlyList<EtcdBytes> Prefetch
    {
        get => _prefetch;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Prefetch));
            var keys = new List<EtcdBytes>(value.Count);
            var seen = new HashSet<EtcdBytes>();
            foreach (var key in value)
            {
                if (key.IsNull) throw new ArgumentNullException(nameof(Prefetch), "A prefetch key must not be null.");
                if (key.IsEmpty) throw new ArgumentException("A prefetch key must not be empty.", nameof(Prefetch));
                // Copied: the options may outlive the caller's arrays.
                var copy = EtcdBytes.CopyFrom(key.Span);
                if (seen.Add(copy)) keys.Add(copy);
            }
            _prefetch = keys.AsReadOnly();
        }
    }

    /// <summary>
    /// The longest pause between conflicting attempts (default 100 ms; zero retries at once). The pause is random,
    /// doubling its upper bound with each conflict from 1 ms up to this value.
    /// </summary>
    public TimeSpan MaxBackoff
    {
        get => _maxBackoff;
        init
        {
            if (value < TimeSpan.Zero || value > MaxBackoffLimit)
                throw new ArgumentOutOfRangeException(nameof(MaxBackoff), value, $"StmOptions.MaxBackoff must be between zero and {MaxBackoffLimit}.");
            _maxBackoff = value;
        }
    }
}
