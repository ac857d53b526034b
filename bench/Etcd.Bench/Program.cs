// Load program: runs etcd workloads with N concurrent callers over ONE client and prints throughput, latency,
// client CPU per operation and allocated bytes per operation. Usage:
//   dotnet run -c Release --project bench/Etcd.Bench -- --endpoint http://127.0.0.1:2379 [--callers 1,64]
//       [--duration 10] [--warmup 2] [--workloads put,get-serializable,get-linearizable,txn-put-if-absent,lease-grant-revoke]
//       [--keepalive-leases 10000] [--keepalive-ttl 15] [--watch-writers 16] [--idle-watches 10000] [--recipes on|off] [--server-pid PID]
// With --server-pid (./run.sh bench passes it) the etcd process's CPU per operation is shown too.
using Etcd.Bench;

var settings = BenchSettings.Parse(args);
if (settings is null) return 2;

await using var client = new Etcd.EtcdClient(settings.Endpoint);
Console.WriteLine($"Etcd for .NET load bench: {settings.Endpoint}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, " +
                  $"{settings.Duration.TotalSeconds:0} s per row (+{settings.Warmup.TotalSeconds:0} s warm-up), 16 B keys, 256 B values");
Console.WriteLine();
Console.WriteLine(BenchResult.TableHeader);
foreach (var workload in settings.Workloads)
{
    foreach (var callers in settings.Callers)
    {
        var result = await LoadRunner.RunAsync(client, workload, callers, settings.Warmup, settings.Duration, ServerCpu.ForPid(settings.ServerPid));
        Console.WriteLine(result.ToTableRow());
    }
}
if (settings.WatchWriters > 0)
{
    Console.WriteLine();
    await WatchBench.RunThroughputAsync(client, settings.WatchWriters, settings.Duration, ServerCpu.ForPid(settings.ServerPid));
}
if (settings.IdleWatches > 0)
{
    await WatchBench.RunIdleWatchesAsync(client, settings.IdleWatches);
}
if (settings.KeepAliveLeases > 0)
{
    Console.WriteLine();
    await KeepAliveBench.RunAsync(client, settings.KeepAliveLeases, settings.KeepAliveTtl, settings.Duration, ServerCpu.ForPid(settings.ServerPid));
}
if (settings.Recipes)
{
    Console.WriteLine();
    await RecipeBench.RunAsync(client, settings.Duration, ServerCpu.ForPid(settings.ServerPid));
}
return 0;
