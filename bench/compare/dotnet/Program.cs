// The .NET peer of ./run.sh compare: runs ONE workload with this library and prints "@result {json}".
// Arguments and output: bench/compare/README.md (the Go and Node peers implement the same protocol).
using System.Text.Json;
using Etcd.Bench.Peer;

PeerOptions options;
try
{
    options = PeerOptions.Parse(args);
}
catch (Exception error) when (error is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("usage: Etcd.Bench.Peer --endpoint URL --workload " + string.Join("|", PeerOptions.Workloads) +
                            " [--callers N] [--duration S] [--warmup S] [--prefix P] [--count N] [--page-size N] [--lease-ttl S] [--sync]");
    return 2;
}

Dictionary<string, object?> result;
await using (var client = new Etcd.EtcdClient(options.Endpoint))
{
    result = await PeerWorkloads.RunAsync(client, options, new Marks(options.Sync));
}
result["client"] = "ours";
result["versions"] = $"Etcd {typeof(Etcd.EtcdClient).Assembly.GetName().Version} on .NET {Environment.Version}";
result["workload"] = options.Workload;
result["callers"] = options.Callers;
Console.Out.Write("@result " + JsonSerializer.Serialize(result) + "\n");
Console.Out.Flush();
return 0;
