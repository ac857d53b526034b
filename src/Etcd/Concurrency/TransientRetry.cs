using System.Runtime.ExceptionServices;

namespace Etcd.Concurrency;

/// <summary>
/// Retries an idempotent read through transient failures (unavailable, connection refused or reset, deadline), as the
/// watches it accompanies resume on their own after reconnects: a read that fails once must not end an observation or a
/// lock/leadership that is still perfectly valid.
/// </summary>
internal static class TransientRetry
{
    /// <summary>The first pause after a failure.</summary>
    public static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause between attempts.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs <paramref name="read"/> until it succeeds or fails for good. Transient failures are retried after a pause of
    /// 50 ms doubling to 1 s (plus up to a quarter of it as jitter) until <paramref name="cancellationToken"/> is cancelled
    /// (<see cref="OperationCanceledException"/>) or <paramref name="giveUp"/> fires (the last failure is rethrown).
    /// </summary>
    public static async Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken giveUp, CancellationToken cancellationToken)
    {
        var delay = MinDelay;
        while (true)
        {
            try
            {
                return await read(cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdException error) when (error.IsTransient && !giveUp.IsCancellationRequested)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, giveUp);
                var jitter = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * delay.TotalMilliseconds / 4);
                try
                {
                    await Task.Delay(delay + jitter, wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ExceptionDispatchInfo.Throw(error);
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }
}
