using Etcd.Bench;
using System.Buffers.Binary;
using System.Diagnostics;

namespace Etcd.Bench.Peer;

/// <summary>The workloads of the peer protocol with this library (mirrored by ../go/main.go and ../node/bench.js).</summary>
internal static class PeerWorkloads
{
    private const int KeySpace = 10_000;

    public static Task<Dictionary<string, object?>> RunAsync(EtcdClient client, PeerOptions o, Marks marks) => o.Workload switch
    {
        "watch" => WatchAsync(client, o, marks),
        "scan" => ScanAsync(client, o, marks),
        "idle-watches" => IdleWatchesAsync(client, o, marks),
        "leases" => LeasesAsync(client, o, marks),
        _ => LoadAsync(client, o, marks),
    };

    private static byte[] NewValue()
    {
        var value = new byte[256];
        Random.Shared.NextBytes(value);
        return value;
    }

    /// <summary>put, get-serializable, get-linearizable, txn-put-if-absent: N callers in a closed loop.</summary>
    private static async Task<Dictionary<string, object?>> LoadAsync(EtcdClient client, PeerOptions o, Marks marks)
    {
        var value = NewValue();
        // Keys are built before measuring; the txn keys are built per operation (as in the Go and Node peers).
        var keys = new EtcdBytes[KeySpace];
        for (int i = 0; i < keys.Length; i++) keys[i] = o.Key(i);
        if (o.Workload is "get-serializable" or "get-linearizable")
        {
            for (int i = 0; i < keys.Length; i += 100)
            {
                var txn = client.Txn();
                for (int j = i; j < i + 100; j++) txn.Then(TxnOp.Put(keys[j], value));
                await txn.CommitAsync();
            }
        }
        var readOptions = new GetOptions { Serializable = o.Workload == "get-serializable" };
        long txnCounter = 0;
        Func<long, Task> operation = o.Workload switch
        {
            "put" => i => client.PutAsync(keys[i % KeySpace], value),
            "get-serializable" or "get-linearizable" => i => client.GetAsync(keys[i % KeySpace], readOptions),
            "txn-put-if-absent" => _ =>
            {
                EtcdBytes key = o.Key(Interlocked.Increment(ref txnCounter));
                return client.Txn().If(Compare.KeyMissing(key)).Then(TxnOp.Put(key, value)).CommitAsync();
            },
            _ => throw new ArgumentException(o.Workload),
        };

        await ClosedLoop.RunAsync(operation, o.Callers, o.Warmup, null);
        var latencies = new LatencyRecorder[o.Callers];
        for (int c = 0; c < o.Callers; c++) latencies[c] = new LatencyRecorder();
        GC.Collect();
        marks.Mark("start");
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        long operations = await ClosedLoop.RunAsync(operation, o.Callers, o.Duration, latencies);
        var seconds = clock.Elapsed.TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        marks.Mark("end");
        var merged = LatencyRecorder.Merge(latencies);
        return new()
        {
            ["ops"] = operations, ["seconds"] = seconds, ["p50_ms"] = merged.PercentileOrNull(0.5), ["p99_ms"] = merged.PercentileOrNull(0.99),
            ["alloc_bytes"] = allocated,
        };
    }

    /// <summary>One prefix watcher, N writers each putting its own key; values carry writer, sequence and send time.</summary>
    private static async Task<Dictionary<string, object?>> WatchAsync(EtcdClient client, PeerOptions o, Marks marks)
    {
        if (o.Warmup > TimeSpan.Zero) await WatchPhaseAsync(client, o.Prefix + "w", o.Callers, o.Warmup, null);
        GC.Collect();
        marks.Mark("start");
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var result = await WatchPhaseAsync(client, o.Prefix + "r", o.Callers, o.Duration, marks);
        result["alloc_bytes"] = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return result;
    }

    private static async Task<Dictionary<string, object?>> WatchPhaseAsync(EtcdClient client, string prefix, int writers, TimeSpan duration, Marks? marks)
    {
        var latencies = new LatencyRecorder();
        long received = 0, unique = 0, duplicated = 0, reordered = 0, lastRevision = 0, lastEventAt = 0;
        var lastSeq = new long[writers];
        Array.Fill(lastSeq, -1);
        long started = 0;

        await using var subscription = client.Watch.Watch(KeySet.Prefix(prefix), e =>
        {
            long now = Stopwatch.GetTimestamp();
            var value = e.Kv.Value.Span;
            int writer = BinaryPrimitives.ReadInt32LittleEndian(value);
            long seq = BinaryPrimitives.ReadInt64LittleEndian(value[4..]);
            latencies.Record(now - BinaryPrimitives.ReadInt64LittleEndian(value[12..]));
            if (e.Revision <= lastRevision) reordered++;
            lastRevision = e.Revision;
            if (seq <= lastSeq[writer])
            {
                duplicated++;
            }
            else
            {
                lastSeq[writer] = seq;
                Interlocked.Increment(ref unique);
            }
            Volatile.Write(ref lastEventAt, now);
            Interlocked.Increment(ref received);
        });
        await subscription.Started;

        var written = new long[writers];
        started = Stopwatch.GetTimestamp();
        long stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            EtcdBytes key = PeerOptions.Key(prefix, w);
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
        // Drain: wait while events keep coming (a missing event shows as 5 s without progress).
        long lastProgress = Stopwatch.GetTimestamp(), seen = Interlocked.Read(ref unique);
        while (seen < totalWritten && Stopwatch.GetElapsedTime(lastProgress) < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10);
            long now = Interlocked.Read(ref unique);
            if (now > seen) lastProgress = Stopwatch.GetTimestamp();
            seen = now;
        }
        double seconds = (Math.Max(Volatile.Read(ref lastEventAt), stopAt) - started) / (double)Stopwatch.Frequency;
        marks?.Mark("end");
        var merged = LatencyRecorder.Merge([latencies]);
        return new()
        {
            ["ops"] = Interlocked.Read(ref received), ["seconds"] = seconds, ["p50_ms"] = merged.PercentileOrNull(0.5), ["p99_ms"] = merged.PercentileOrNull(0.99),
            ["written"] = totalWritten, ["lost"] = totalWritten - Interlocked.Read(ref unique), ["duplicated"] = duplicated, ["reordered"] = reordered,
        };
    }

    /// <summary>Full paged scans of the keys under the prefix (loaded by the driver), repeated for the duration.</summary>
    private static async Task<Dictionary<string, object?>> ScanAsync(EtcdClient client, PeerOptions o, Marks marks)
    {
        var options = new ScanOptions { PageSize = o.PageSize };
        var keys = KeySet.Prefix(o.Prefix);
        if (o.Warmup > TimeSpan.Zero)
        {
            var warm = Stopwatch.StartNew();
            await foreach (var _ in client.ScanAsync(keys, options))
            {
                if (warm.Elapsed > o.Warmup) break;
            }
        }
        var pages = new LatencyRecorder();
        GC.Collect();
        marks.Mark("start");
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        long total = 0, bytes = 0, scans = 0;
        string? error = null;
        do
        {
            // A page is timed from the arrival of its first pair to the arrival of the next page's first pair (its
            // round trip and the consumption of its pairs), as the Go and Node peers time a call plus its pairs.
            long n = 0, pageStart = Stopwatch.GetTimestamp();
            await foreach (var kv in client.ScanAsync(keys, options))
            {
                if (n > 0 && n % o.PageSize == 0)
                {
                    long now = Stopwatch.GetTimestamp();
                    pages.Record(now - pageStart);
                    pageStart = now;
                }
                bytes += kv.Value.Length;
                n++;
            }
            pages.Record(Stopwatch.GetTimestamp() - pageStart);
            if (n != o.Count) error = $"scan returned {n} keys, expected {o.Count}";
            total += n;
            scans++;
        } while (clock.Elapsed < o.Duration);
        var seconds = clock.Elapsed.TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        marks.Mark("end");
        var merged = LatencyRecorder.Merge([pages]);
        return new()
        {
            ["ops"] = total, ["seconds"] = seconds, ["p50_ms"] = merged.PercentileOrNull(0.5), ["p99_ms"] = merged.PercentileOrNull(0.99),
            ["alloc_bytes"] = allocated, ["scans"] = scans, ["value_bytes"] = bytes, ["error"] = error,
        };
    }

    /// <summary>N watches on distinct keys over the one watch stream, created at once and held idle.</summary>
    private static async Task<Dictionary<string, object?>> IdleWatchesAsync(EtcdClient client, PeerOptions o, Marks marks)
    {
        if (o.Warmup > TimeSpan.Zero)
        {
            var warm = Enumerable.Range(0, 200).Select(i => client.Watch.Watch(PeerOptions.Key(o.Prefix + "w", i), _ => { })).ToArray();
            await Task.WhenAll(warm.Select(s => s.Started));
            await Task.WhenAll(warm.Select(s => s.DisposeAsync().AsTask()));
        }
        Marks.CollectGarbage();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        marks.Mark("base");
        var clock = Stopwatch.StartNew();
        var subscriptions = new WatchSubscription[o.Count];
        for (int i = 0; i < o.Count; i++) subscriptions[i] = client.Watch.Watch(o.Key(i), _ => { });
        await Task.WhenAll(subscriptions.Select(s => s.Started));
        var seconds = clock.Elapsed.TotalSeconds;
        marks.Mark("created");
        Marks.CollectGarbage();
        long heapHeld = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        marks.Mark("held");
        await Task.Delay(o.Duration);
        int canceled = subscriptions.Count(s => s.Completion.IsCompleted);
        marks.Mark("end");
        await Task.WhenAll(subscriptions.Select(s => s.DisposeAsync().AsTask()));
        return new()
        {
            ["ops"] = (long)o.Count, ["seconds"] = seconds, ["p50_ms"] = null, ["p99_ms"] = null, ["heap_bytes"] = heapHeld,
            ["hold_seconds"] = o.Duration.TotalSeconds, ["lost"] = canceled,
        };
    }

    /// <summary>N leases granted by the callers and kept alive by the client, held for the duration.</summary>
    private static async Task<Dictionary<string, object?>> LeasesAsync(EtcdClient client, PeerOptions o, Marks marks)
    {
        var ttl = TimeSpan.FromSeconds(o.LeaseTtlSeconds);
        if (o.Warmup > TimeSpan.Zero)
        {
            var warm = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => client.Leases.CreateAsync(ttl)));
            await Task.WhenAll(warm.Select(l => l.DisposeAsync().AsTask()));
        }
        Marks.CollectGarbage();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        marks.Mark("base");
        var clock = Stopwatch.StartNew();
        var leases = new Lease[o.Count];
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, o.Callers).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < leases.Length; i = Interlocked.Increment(ref next))
                leases[i] = await client.Leases.CreateAsync(ttl);
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        marks.Mark("created");
        Marks.CollectGarbage();
        long heapHeld = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        marks.Mark("held");
        await Task.Delay(o.Duration);
        int lost = leases.Count(l => l.IsLost);
        marks.Mark("end");
        // The driver revokes what is left; revoking 10,000 leases here would only slow the run down.
        return new()
        {
            ["ops"] = (long)o.Count, ["seconds"] = seconds, ["p50_ms"] = null, ["p99_ms"] = null, ["heap_bytes"] = heapHeld,
            ["hold_seconds"] = o.Duration.TotalSeconds, ["lost"] = lost,
        };
    }
}
