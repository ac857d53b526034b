using System.Buffers.Binary;
using System.Diagnostics;

namespace Etcd.Bench;

/// <summary>Watch throughput and put→event latency with one prefix watcher and N writers, and memory of idle watches.</summary>
internal static class WatchBench
{
    public static async Task RunThroughputAsync(EtcdClient client, int writers, TimeSpan duration, ServerCpu? serverCpu)
    {
        string prefix = $"w/{Guid.NewGuid().ToString("n")[..6]}/";
        var latencies = new LatencyRecorder();
        long received = 0, duplicated = 0, reordered = 0, lastRevision = 0;
        var lastSeq = new long[writers];
        Array.Fill(lastSeq, -1);
        var done = new CancellationTokenSource();

        await using var subscription = client.Watch.Watch(KeySet.Prefix(prefix), e =>
        {
            long now = Stopwatch.GetTimestamp();
            var value = e.Kv.Value.Span;
            int writer = BinaryPrimitives.ReadInt32LittleEndian(value);
            long seq = BinaryPrimitives.ReadInt64LittleEndian(value[4..]);
            long sentAt = BinaryPrimitives.ReadInt64LittleEndian(value[12..]);
            latencies.Record(now - sentAt);
            if (e.Revision <= lastRevision) reordered++;
            lastRevision = e.Revision;
            if (seq <= lastSeq[writer]) duplicated++;
            else lastSeq[writer] = seq;
            received++;
        });
        await subscription.Started;

        var written = new long[writers];
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var serverBefore = serverCpu?.Read();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            EtcdBytes key = $"{prefix}{w:d4}-0000000";
            for (long seq = 0; Stopwatch.GetTimestamp() < stopAt; seq++)
            {
                var value = new byte[256];
                BinaryPrimitives.WriteInt32LittleEndian(value, w);
                BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(4), seq);
                BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(12), Stopwatch.GetTimestamp());
                await client.PutAsync(key, value);
                written[w] = seq + 1;
            }
        })));
        long totalWritten = written.Sum();
        // Wait for the backlog: as long as events keep coming (a missing event shows as no progress for 10 s).
        var lastProgress = DateTime.UtcNow;
        for (long seen = Interlocked.Read(ref received); seen < totalWritten && DateTime.UtcNow - lastProgress < TimeSpan.FromSeconds(10); seen = Interlocked.Read(ref received))
        {
            await Task.Delay(50);
            if (Interlocked.Read(ref received) > seen) lastProgress = DateTime.UtcNow;
        }
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var serverUsed = serverCpu?.Read() - serverBefore;
        long lost = 0;
        for (int w = 0; w < writers; w++) lost += written[w] - (lastSeq[w] + 1);

        var sorted = LatencyRecorder.Merge([latencies]);
        string server = serverUsed is { } used ? FormattableString.Invariant($", etcd CPU {used.TotalMicroseconds / totalWritten:0.0} us/event") : "";
        Console.WriteLine(FormattableString.Invariant(
            $"watch: 1 watcher, {writers} writers, {received} events in {elapsed.TotalSeconds:0.0} s = {received / elapsed.TotalSeconds:0} events/s; put->event p50 {sorted.Percentile(0.5):0.000} ms, p99 {sorted.Percentile(0.99):0.000} ms; lost {lost}, duplicated {duplicated}, reordered {reordered}"));
        Console.WriteLine(FormattableString.Invariant(
            $"  client CPU {cpu.TotalMicroseconds / totalWritten:0.0} us per event (writers included), allocated {allocated / (double)totalWritten:0} B per event (writers included){server}"));
        await client.DeleteAsync(KeySet.Prefix(prefix));
    }

    public static async Task RunIdleWatchesAsync(EtcdClient client, int count)
    {
        string prefix = $"iw/{Guid.NewGuid().ToString("n")[..6]}/";
        GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long rssBefore = Environment.WorkingSet;
        var clock = Stopwatch.StartNew();
        var subscriptions = new WatchSubscription[count];
        for (int i = 0; i < count; i++) subscriptions[i] = client.Watch.Watch($"{prefix}{i:d6}", _ => { });
        await Task.WhenAll(subscriptions.Select(s => s.Started));
        var created = clock.Elapsed;
        GC.Collect();
        long heapHeld = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        long rssHeld = Environment.WorkingSet - rssBefore;
        Console.WriteLine(FormattableString.Invariant(
            $"idle watches: {count} on one stream created in {created.TotalSeconds:0.00} s; client managed heap {heapHeld / (double)count:0} B/watch, RSS growth {rssHeld / (double)count:0} B/watch"));
        await Task.WhenAll(subscriptions.Select(s => s.DisposeAsync().AsTask()));
    }
}
