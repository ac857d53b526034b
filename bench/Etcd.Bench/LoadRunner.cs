using System.Diagnostics;

namespace Etcd.Bench;

/// <summary>Drives one workload with N callers for a fixed time and measures it.</summary>
internal static class LoadRunner
{
    private const int KeySpace = 10_000;
    private const int TxnKeys = 400_000; // distinct put-if-absent keys; beyond that the compares fail (still a txn)

    public static async Task<BenchResult> RunAsync(EtcdClient client, Workload workload, int callers, TimeSpan warmup, TimeSpan duration, ServerCpu? serverCpu)
    {
        var value = new byte[256];
        Random.Shared.NextBytes(value);
        string runId = Guid.NewGuid().ToString("n")[..5];
        // Keys are built before measuring so the bench's own string work is not counted: "b/" + 5 + "/" + 8 = 16 bytes.
        var keys = new EtcdBytes[workload == Workload.TxnPutIfAbsent ? TxnKeys : KeySpace];
        for (int i = 0; i < keys.Length; i++) keys[i] = $"b/{runId}/{i:d8}";
        var readOptions = new GetOptions { Serializable = workload == Workload.GetSerializable };
        if (workload is Workload.GetSerializable or Workload.GetLinearizable)
        {
            // etcd allows 128 operations per transaction by default.
            for (int i = 0; i < keys.Length; i += 100)
            {
                var txn = client.Txn();
                for (int j = i; j < Math.Min(i + 100, keys.Length); j++) txn.Then(TxnOp.Put(keys[j], value));
                await txn.CommitAsync();
            }
        }
        long txnCounter = 0;

        Task OperationAsync(long i) => workload switch
        {
            Workload.Put => client.PutAsync(keys[(int)(i % KeySpace)], value),
            Workload.GetSerializable or Workload.GetLinearizable => client.GetAsync(keys[(int)(i % KeySpace)], readOptions),
            Workload.LeaseGrantRevoke => GrantAndRevokeAsync(client),
            _ => PutIfAbsentAsync(client, keys[(int)(Interlocked.Increment(ref txnCounter) % TxnKeys)], value),
        };

        await ClosedLoop.RunAsync(OperationAsync, callers, warmup, null);

        var latencies = new LatencyRecorder[callers];
        for (int i = 0; i < callers; i++) latencies[i] = new LatencyRecorder();
        GC.Collect();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var serverCpuBefore = serverCpu?.Read();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        long operations = await ClosedLoop.RunAsync(OperationAsync, callers, duration, latencies);
        var elapsed = clock.Elapsed;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var serverCpuUsed = serverCpu?.Read() - serverCpuBefore;

        // Leave the server as we found it: no keys and no history, so one row does not slow the next.
        var cleanup = await client.DeleteAsync(KeySet.Prefix($"b/{runId}/"));
        try
        {
            await client.CompactAsync(cleanup.Header.Revision, physical: true);
        }
        catch (EtcdCompactedException)
        {
            // Nothing was written since the last compaction (the lease workload writes no keys).
        }
        var merged = LatencyRecorder.Merge(latencies);
        return new BenchResult(
            WorkloadNames.Name(workload), callers, operations, operations / elapsed.TotalSeconds,
            merged.Percentile(0.50), merged.Percentile(0.99),
            cpu.TotalMicroseconds / operations, serverCpuUsed is { } s ? s.TotalMicroseconds / operations : double.NaN,
            (double)allocated / operations,
            Environment.WorkingSet);
    }

    /// <summary>One operation = a grant and the revoke of that lease (two round trips).</summary>
    private static async Task GrantAndRevokeAsync(EtcdClient client)
    {
        var granted = await client.Leases.GrantAsync(TimeSpan.FromSeconds(60));
        await client.Leases.RevokeAsync(granted.Id);
    }

    private static Task PutIfAbsentAsync(EtcdClient client, EtcdBytes key, byte[] value) =>
        client.Txn().If(Compare.KeyMissing(key)).Then(TxnOp.Put(key, value)).CommitAsync();
}
