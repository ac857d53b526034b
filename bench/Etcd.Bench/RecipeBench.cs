using System.Diagnostics;
using Etcd.Concurrency;

namespace Etcd.Bench;

/// <summary>Coordination recipes under load: uncontended lock cycles, lock handover between waiters, and queue throughput.</summary>
internal static class RecipeBench
{
    public static async Task RunAsync(EtcdClient client, TimeSpan duration, ServerCpu? serverCpu)
    {
        await RunUncontendedLockAsync(client, duration, serverCpu);
        await RunContendedLockAsync(client, waiters: 8, duration, serverCpu);
        await RunQueueAsync(client, producers: 4, consumers: 4, itemsPerProducer: 2_500, serverCpu);
    }

    /// <summary>One session locks and unlocks the same lock as fast as it can.</summary>
    private static async Task RunUncontendedLockAsync(EtcdClient client, TimeSpan duration, ServerCpu? serverCpu)
    {
        await using var session = await Session.CreateAsync(client);
        var mutex = new EtcdLock(session, $"bench/lock/{Guid.NewGuid():N}");
        var latencies = new LatencyRecorder();
        var meter = Meter.Start(serverCpu);
        var clock = Stopwatch.StartNew();
        long cycles = 0;
        while (clock.Elapsed < duration)
        {
            long start = Stopwatch.GetTimestamp();
            var held = await mutex.LockAsync();
            await held.DisposeAsync();
            latencies.Record(Stopwatch.GetTimestamp() - start);
            cycles++;
        }
        var merged = LatencyRecorder.Merge([latencies]);
        Console.WriteLine(FormattableString.Invariant(
            $"lock uncontended: {cycles / clock.Elapsed.TotalSeconds:0} acquire+release/s, cycle p50 {merged.Percentile(0.5):0.000} ms, p99 {merged.Percentile(0.99):0.000} ms{meter.PerOp(cycles)}"));
    }

    /// <summary>
    /// Several sessions take turns on one lock; the handover latency is the time from the holder starting its release
    /// to the next holder returning from LockAsync (all in this process, so one clock serves both).
    /// </summary>
    private static async Task RunContendedLockAsync(EtcdClient client, int waiters, TimeSpan duration, ServerCpu? serverCpu)
    {
        var name = $"bench/lock/{Guid.NewGuid():N}";
        var sessions = await Task.WhenAll(Enumerable.Range(0, waiters).Select(_ => Session.CreateAsync(client)));
        var handovers = new LatencyRecorder();
        long releasedAt = 0, acquisitions = 0, overlaps = 0;
        int holders = 0;
        var meter = Meter.Start(serverCpu);
        var clock = Stopwatch.StartNew();
        var stop = new CancellationTokenSource(duration);
        async Task Worker(Session session)
        {
            var mutex = new EtcdLock(session, name);
            while (!stop.IsCancellationRequested)
            {
                LockHandle held;
                try
                {
                    held = await mutex.LockAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (Interlocked.Increment(ref holders) != 1) Interlocked.Increment(ref overlaps);
                long previous = Interlocked.Read(ref releasedAt);
                // The handover list is written only by the holder, so one lock holder at a time touches it.
                if (previous != 0) handovers.Record(Stopwatch.GetTimestamp() - previous);
                acquisitions++;
                Interlocked.Decrement(ref holders);
                Interlocked.Exchange(ref releasedAt, Stopwatch.GetTimestamp());
                await held.DisposeAsync();
            }
        }
        await Task.WhenAll(sessions.Select(Worker));
        var elapsed = clock.Elapsed;
        var merged = LatencyRecorder.Merge([handovers]);
        Console.WriteLine(FormattableString.Invariant(
            $"lock contended ({waiters} sessions): {acquisitions / elapsed.TotalSeconds:0} handovers/s, handover p50 {merged.Percentile(0.5):0.000} ms, p90 {merged.Percentile(0.9):0.000} ms, p95 {merged.Percentile(0.95):0.000} ms, p99 {merged.Percentile(0.99):0.000} ms, max {merged.Percentile(1):0.0} ms, overlapping holders {overlaps}{meter.PerOp(acquisitions)}"));
        await Task.WhenAll(sessions.Select(s => s.DisposeAsync().AsTask()));
    }

    /// <summary>Producers enqueue, consumers dequeue until every item is taken; counts items/s and checks exactly-once.</summary>
    private static async Task RunQueueAsync(EtcdClient client, int producers, int consumers, int itemsPerProducer, ServerCpu? serverCpu)
    {
        var queue = new DistributedQueue(client, $"bench/queue/{Guid.NewGuid():N}");
        int total = producers * itemsPerProducer;
        var seen = new int[total];
        long consumed = 0;
        var latencies = new LatencyRecorder[consumers];
        var meter = Meter.Start(serverCpu);
        var clock = Stopwatch.StartNew();
        var producing = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (int i = 0; i < itemsPerProducer; i++)
            {
                await queue.EnqueueAsync(FormattableString.Invariant($"{p * itemsPerProducer + i} {Stopwatch.GetTimestamp()}"));
            }
        })).ToArray();
        using var done = new CancellationTokenSource();
        var consuming = Enumerable.Range(0, consumers).Select(c => Task.Run(async () =>
        {
            var recorder = latencies[c] = new LatencyRecorder();
            while (true)
            {
                EtcdBytes item;
                try
                {
                    item = await queue.DequeueAsync(done.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var parts = item.ToStringUtf8().Split(' ');
                recorder.Record(Stopwatch.GetTimestamp() - long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                Interlocked.Increment(ref seen[int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture)]);
                if (Interlocked.Increment(ref consumed) == total) done.Cancel();
            }
        })).ToArray();
        await Task.WhenAll(producing);
        await Task.WhenAll(consuming);
        var elapsed = clock.Elapsed;
        var merged = LatencyRecorder.Merge(latencies);
        int lost = seen.Count(n => n == 0), duplicated = seen.Count(n => n > 1);
        Console.WriteLine(FormattableString.Invariant(
            $"queue ({producers} producers, {consumers} consumers, {total} items): {total / elapsed.TotalSeconds:0} items/s, enqueue->dequeue p50 {merged.Percentile(0.5):0.0} ms, p99 {merged.Percentile(0.99):0.0} ms, lost {lost}, duplicated {duplicated}{meter.PerOp(total)}"));
    }

    /// <summary>Client and server CPU over a bench section, reported per operation.</summary>
    private sealed class Meter
    {
        private readonly ServerCpu? _server;
        private readonly TimeSpan _clientStart;
        private readonly TimeSpan? _serverStart;

        private Meter(ServerCpu? server)
        {
            _server = server;
            _clientStart = Process.GetCurrentProcess().TotalProcessorTime;
            _serverStart = server?.Read();
        }

        public static Meter Start(ServerCpu? server) => new(server);

        public string PerOp(long operations)
        {
            if (operations == 0) return "";
            var client = Process.GetCurrentProcess().TotalProcessorTime - _clientStart;
            var text = FormattableString.Invariant($", client CPU {client.TotalMicroseconds / operations:0} us/op");
            if (_server is not null && _serverStart is { } start)
                text += FormattableString.Invariant($", etcd CPU {(_server.Read() - start).TotalMicroseconds / operations:0} us/op");
            return text;
        }
    }
}
