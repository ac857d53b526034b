// Driver of ./run.sh compare: runs the same workloads with this library, etcd's Go client and Node's etcd3 (the peers in
// bench/compare, one process per run) in alternating rounds against one etcd, samples /proc for the peers' and
// etcd's CPU and the peers' memory at the marks the peers send, cleans etcd between runs and prints one table of
// medians with our ratio to Go. See bench/compare/README.md for the peer protocol.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Etcd;
using Etcd.Bench.Compare;

var options = Etcd.Bench.Compare.CompareOptions.Parse(args);
if (options is null) return 2;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

await using var client = new EtcdClient(options.Endpoint);
var janitor = new Janitor(client);
var status = await client.Maintenance.StatusAsync(stop.Token);
string loadBefore = LoadAverage();
var started = DateTimeOffset.UtcNow;
var clock = Stopwatch.StartNew();
Console.WriteLine($"./run.sh compare — {started:yyyy-MM-dd HH:mm} UTC, {OsName()}, {Environment.ProcessorCount} cores, etcd {status.Version} at {options.Endpoint}" +
                  (options.EtcdPid is int pid ? $" (pid {pid})" : " (no --etcd-pid: no etcd CPU column)"));
Console.WriteLine($"{options.Rounds} rounds ({string.Join(", ", options.Peers.Select(p => p.Name))} in turn), {options.Duration:0.#} s per run after {options.Warmup:0.#} s warm-up; " +
                  $"scan of {options.ScanKeys:#,0} keys; {options.IdleCount:#,0} idle watches / leases (TTL {options.LeaseTtl} s) held {options.Duration:0.#} s; load average {loadBefore}");

await using var raw = options.RawPath is null ? null : new StreamWriter(options.RawPath);
var report = new Report(options.Rows, options.Peers);
var versions = new Dictionary<string, string>();
int runNumber = 0;
try
{
    await janitor.CleanAsync(null, stop.Token);
    for (int round = 1; round <= options.Rounds; round++)
    {
        foreach (var row in options.Rows)
        {
            string? shared = null;
            if (row.Workload == "scan")
            {
                shared = $"s{round:d2}/";
                var took = await janitor.LoadAsync(shared, options.ScanKeys, stop.Token);
                Console.Error.WriteLine($"[round {round}] loaded {options.ScanKeys:#,0} keys for the scan in {took.TotalSeconds:0.0} s");
            }
            foreach (var peer in options.Peers)
            {
                runNumber++;
                string prefix = shared ?? $"c{runNumber:d4}/";
                int count = row.Workload == "scan" ? options.ScanKeys : options.IdleCount;
                var peerArgs = new List<string>
                {
                    "--endpoint", options.Endpoint, "--workload", row.Workload, "--callers", row.Callers.ToString(CultureInfo.InvariantCulture),
                    "--duration", options.Duration.ToString(CultureInfo.InvariantCulture), "--warmup", options.Warmup.ToString(CultureInfo.InvariantCulture),
                    "--prefix", prefix, "--count", count.ToString(CultureInfo.InvariantCulture), "--page-size", "1000",
                    "--lease-ttl", options.LeaseTtl.ToString(CultureInfo.InvariantCulture), "--sync",
                };
                var timeout = TimeSpan.FromSeconds(options.Warmup + options.Duration + (row.Kind == RowKind.Idle ? 180 : 90));
                var runClock = Stopwatch.StartNew();
                try
                {
                    var run = await PeerRunner.RunAsync(peer, peerArgs, options.EtcdPid, timeout, stop.Token);
                    var figures = Figures.From(row, run);
                    report.Add(row, peer, figures);
                    if (run.Result.TryGetProperty("versions", out var v) && v.GetString() is { } text) versions[peer.Name] = text;
                    Console.Error.WriteLine($"[round {round}] {row.Id,-21} {peer.Name,-4} {runClock.Elapsed.TotalSeconds,4:0.0} s: " + string.Join(" ", figures.Select(kv =>
                        FormattableString.Invariant($"{kv.Key}={kv.Value:0.###}"))));
                    if (raw is not null)
                    {
                        await raw.WriteLineAsync(JsonSerializer.Serialize(new { round, row = row.Id, client = peer.Name, figures, result = run.Result }));
                    }
                }
                catch (PeerFailedException error)
                {
                    report.Fail(row, peer, error.Message);
                    Console.Error.WriteLine($"[round {round}] {row.Id} {peer.Name} FAILED: {error.Message}");
                }
                finally
                {
                    var cleaning = Stopwatch.StartNew();
                    if (!stop.IsCancellationRequested) await janitor.CleanAsync(shared is null ? prefix : null, stop.Token);
                    if (cleaning.Elapsed > TimeSpan.FromSeconds(1)) Console.Error.WriteLine($"  (cleaning up took {cleaning.Elapsed.TotalSeconds:0.0} s)");
                }
            }
            if (shared is not null) await janitor.CleanAsync(shared, stop.Token);
            var defrag = Stopwatch.StartNew();
            await janitor.DefragmentAsync(stop.Token);
            if (defrag.Elapsed > TimeSpan.FromSeconds(1)) Console.Error.WriteLine($"  (defragmenting took {defrag.Elapsed.TotalSeconds:0.0} s)");
        }
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("interrupted: the table holds the runs finished so far");
}

Console.WriteLine($"load average before {loadBefore}, after {LoadAverage()}; {clock.Elapsed.TotalMinutes:0.0} min in all");
foreach (var (name, text) in versions.OrderBy(kv => options.Peers.ToList().FindIndex(p => p.Name == kv.Key)))
    Console.WriteLine($"  {name}: {text}");
Console.WriteLine();
Console.Write(report.ToMarkdown());
Console.WriteLine();
Console.WriteLine("Medians over the rounds. rate: per second as the row says; client CPU: the peer process's utime+stime over the measured window " +
                  "(/proc) per op; for idle watches/leases the CPU columns are per item created and 'held' is CPU per item-second while idle. " +
                  "alloc: bytes allocated per op (.NET GC.GetTotalAllocatedBytes, Go MemStats.TotalAlloc; – for Node). peak RSS: VmHWM.");
var failures = report.Failures().ToArray();
if (failures.Length > 0)
{
    Console.WriteLine();
    Console.WriteLine("Failed runs:");
    foreach (var failure in failures) Console.WriteLine("  " + failure);
}
return failures.Length > 0 || stop.IsCancellationRequested ? 1 : 0;

static string LoadAverage() => string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static string OsName()
{
    try
    {
        var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
        return (line?[12..].Trim('"') ?? "Linux") + ", kernel " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
    }
    catch (IOException)
    {
        return RuntimeInformation.OSDescription;
    }
}
