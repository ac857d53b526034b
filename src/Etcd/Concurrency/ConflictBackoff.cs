namespace Etcd.Concurrency;

/// <summary>The pause before retrying after an optimistic-concurrency conflict: exponential with full jitter, capped.</summary>
internal static class ConflictBackoff
{
    /// <summary>
    /// Waits a random time in [0, min(<paramref name="max"/>, 2^<paramref name="conflicts"/> ms)] so contending writers
    /// spread out instead of colliding again in lockstep. The first retry waits at most 1 ms.
    /// </summary>
    public static Task DelayAsync(int conflicts, TimeSpan max, CancellationToken cancellationToken)
    {
        var capMs = Math.Min(max.TotalMilliseconds, Math.Pow(2, Math.Min(conflicts, 20)));
        var delayMs = (int)Math.Round(Random.Shared.NextDouble() * capMs);
        if (delayMs <= 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        }
        return Task.Delay(delayMs, cancellationToken);
    }
}
