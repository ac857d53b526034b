using System.Diagnostics;
using System.Threading.Channels;
using Etcd.Concurrency;

namespace Etcd.Tests.Infrastructure;

/// <summary>Shared pieces of the election tests: a background observer, bounded waits, and leader keys.</summary>
internal static class ElectionTestHelpers
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    /// <summary>The candidate key of <paramref name="leaseId"/> in election <paramref name="name"/>, as etcd's Go client builds it.</summary>
    public static string CandidateKey(string name, long leaseId) => $"{name}/{leaseId:x}";

    /// <summary>Runs <see cref="Election.ObserveAsync"/> in the background into a channel (completed with the observer's fault, if any).</summary>
    public static Observer Observe(Election election) => new(election);

    /// <summary>Whether <paramref name="task"/> completes within <paramref name="within"/> (for "must not happen yet" checks).</summary>
    public static async Task<bool> CompletesWithinAsync(Task task, TimeSpan within) =>
        await Task.WhenAny(task, Task.Delay(within)) == task;

    /// <summary>Completes when <paramref name="token"/> is cancelled.</summary>
    public static Task WhenCancelled(CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => fired.TrySetResult());
        return fired.Task;
    }

    /// <summary>Waits (polling every 20 ms, 30 s at most) until <paramref name="condition"/> holds.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Long, $"{what} did not happen within {Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits (polling a count read) until exactly <paramref name="count"/> keys exist under <paramref name="prefix"/>.</summary>
    public static async Task WaitForKeyCountAsync(IEtcdKv kv, string prefix, long count)
    {
        var clock = Stopwatch.StartNew();
        while ((await kv.GetAsync(KeySet.Prefix(prefix), new GetOptions { CountOnly = true })).Count != count)
        {
            Assert.True(clock.Elapsed < Long, $"{prefix} did not reach {count} keys within {Long.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    public sealed class Observer : IAsyncDisposable
    {
        private readonly Channel<LeaderInfo> _seen = Channel.CreateUnbounded<LeaderInfo>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public Observer(Election election)
        {
            _run = Task.Run(async () =>
            {
                try
                {
                    await foreach (var leader in election.ObserveAsync(_stop.Token)) _seen.Writer.TryWrite(leader);
                    _seen.Writer.TryComplete(new InvalidOperationException("ObserveAsync ended on its own."));
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    _seen.Writer.TryComplete();
                }
                catch (Exception error)
                {
                    _seen.Writer.TryComplete(error);
                }
            });
        }

        /// <summary>The next leader state observed (fails after 30 s).</summary>
        public async Task<LeaderInfo> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Long);
            return await _seen.Reader.ReadAsync(timeout.Token);
        }

        /// <summary>True when nothing more is observed within <paramref name="within"/>.</summary>
        public async Task<bool> QuietForAsync(TimeSpan within)
        {
            using var timeout = new CancellationTokenSource(within);
            try
            {
                var extra = await _seen.Reader.ReadAsync(timeout.Token);
                Assert.Fail($"Unexpected observed leader state {extra}");
                return false;
            }
            catch (OperationCanceledException)
            {
                return true;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _run;
            _stop.Dispose();
        }
    }
}
