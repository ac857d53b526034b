namespace Etcd;

/// <summary>
/// When and how often a failed call is tried again, on the same or the next endpoint. Reads are retried on any transient
/// failure; writes only when etcd provably did not receive or did not propose them, so a retry never applies a write twice.
/// All attempts of a call share its deadline (<see cref="EtcdClientOptions.RequestTimeout"/>).
/// </summary>
/// <remarks>
/// A write is retried only when the request never left this process (the connection could not be made) or etcd rejected
/// it before proposing it to raft: "no leader", "too many requests", "not capable", "rpc not supported for learner"
/// (etcd's v3rpc interceptors and EtcdServer.processInternalRaftRequestOnce). Any other failure of a write, including
/// "request timed out" and "leader changed", is reported: etcd may still apply such a write later.
/// </remarks>
public sealed record EtcdRetryPolicy
{
    /// <summary>Up to 5 attempts, 25 ms doubling to 1 s, half jitter: rides over a leader election or a member restart.</summary>
    public static EtcdRetryPolicy Default { get; } = new();

    /// <summary>One attempt: every failure reaches the caller (a failed endpoint is still left for the next call).</summary>
    public static EtcdRetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Keeps retrying until the call's deadline, 50 ms doubling to 2 s: for batch jobs that prefer waiting to failing.</summary>
    public static EtcdRetryPolicy UntilDeadline { get; } = new()
    {
        MaxAttempts = int.MaxValue,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromSeconds(2),
    };

    /// <summary>Attempts of one call, the first included (at least 1).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The pause before the first retry.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The longest pause between attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How much each pause grows over the previous one (at least 1).</summary>
    public double BackoffMultiplier { get; init; } = 2.0;

    /// <summary>The fraction of each pause drawn at random (0 = none, 1 = anywhere from zero to the pause), so clients do not retry in step.</summary>
    public double Jitter { get; init; } = 0.5;

    /// <summary>Whether reads (ranges, read-only transactions, lease and member queries) are retried on transient failures.</summary>
    public bool RetryReads { get; init; } = true;

    /// <summary>The pause before retry number <paramref name="retry"/> (1 for the first retry).</summary>
    public TimeSpan GetBackoff(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);
        if (InitialBackoff <= TimeSpan.Zero) return TimeSpan.Zero;
        double growth = Math.Pow(BackoffMultiplier, Math.Min(retry - 1, 62));
        double ticks = Math.Min(InitialBackoff.Ticks * growth, MaxBackoff.Ticks); // infinity compares fine; 0 × ∞ cannot happen here
        ticks -= ticks * Jitter * Random.Shared.NextDouble();
        return TimeSpan.FromTicks((long)ticks);
    }

    internal void Validate(string paramName)
    {
        if (MaxAttempts < 1)
            throw new ArgumentOutOfRangeException(paramName, MaxAttempts, "RetryPolicy.MaxAttempts must be at least 1.");
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff || MaxBackoff > TimeSpan.FromHours(1))
            throw new ArgumentOutOfRangeException(paramName, "RetryPolicy backoffs must satisfy 0 <= InitialBackoff <= MaxBackoff <= 1 hour.");
        if (double.IsNaN(BackoffMultiplier) || BackoffMultiplier < 1)
            throw new ArgumentOutOfRangeException(paramName, BackoffMultiplier, "RetryPolicy.BackoffMultiplier must be at least 1.");
        if (double.IsNaN(Jitter) || Jitter is < 0 or > 1)
            throw new ArgumentOutOfRangeException(paramName, Jitter, "RetryPolicy.Jitter must be between 0 and 1.");
    }
}
