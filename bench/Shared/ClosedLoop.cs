using System.Diagnostics;

namespace Etcd.Bench;

/// <summary>
/// N callers each running one operation after another until a deadline: the closed-loop load of every throughput row.
/// Shared by bench/Etcd.Bench and the .NET peer of ./run.sh compare (linked source).
/// </summary>
internal static class ClosedLoop
{
    /// <summary>Runs <paramref name="operation"/> (given a per-caller counter) for <paramref name="duration"/>; returns the operations completed.</summary>
    public static async Task<long> RunAsync(Func<long, Task> operation, int callers, TimeSpan duration, LatencyRecorder[]? latencies)
    {
        long count = 0;
        long stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task[callers];
        for (int c = 0; c < callers; c++)
        {
            int caller = c;
            workers[c] = Task.Run(async () =>
            {
                // Callers start at spread-out offsets so they do not hammer the same keys in step.
                long i = caller * 7919L;
                while (Stopwatch.GetTimestamp() < stopAt)
                {
                    long start = Stopwatch.GetTimestamp();
                    await operation(i++);
                    latencies?[caller].Record(Stopwatch.GetTimestamp() - start);
                    Interlocked.Increment(ref count);
                }
            });
        }
        await Task.WhenAll(workers);
        return count;
    }
}
