using System.Diagnostics;

namespace Etcd.Bench;

/// <summary>Holds N leases kept alive over one client and measures the client's memory and CPU per lease.</summary>
internal static class KeepAliveBench
{
    public static async Task RunAsync(EtcdClient client, int count, TimeSpan ttl, TimeSpan duration, ServerCpu? serverCpu)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long rssBefore = Environment.WorkingSet;

        var leases = new List<Lease>(count);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i += 500)
            leases.AddRange(await Task.WhenAll(Enumerable.Range(0, Math.Min(500, count - i)).Select(_ => client.Leases.CreateAsync(ttl))));
        var granting = clock.Elapsed;

        GC.Collect();
        long heapHeld = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var serverBefore = serverCpu?.Read();
        await Task.Delay(duration);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var serverUsed = serverCpu?.Read() - serverBefore;
        int lost = leases.Count(l => l.IsLost);
        long rssHeld = Environment.WorkingSet - rssBefore;

        await Task.WhenAll(leases.Select(l => l.DisposeAsync().AsTask()));

        double renewalsPerSecond = count / (ttl.TotalSeconds / 3);
        Console.WriteLine(FormattableString.Invariant(
            $"keep-alive: {count} leases, TTL {ttl.TotalSeconds:0} s (~{renewalsPerSecond:0} renewals/s), granted in {granting.TotalSeconds:0.0} s, held {duration.TotalSeconds:0} s, lost {lost}"));
        string server = serverUsed is { } used ? FormattableString.Invariant($", etcd CPU {used.TotalMilliseconds / duration.TotalSeconds:0.0} ms/s") : "";
        Console.WriteLine(FormattableString.Invariant(
            $"  client managed heap {heapHeld / (double)count:0} B/lease, RSS growth {rssHeld / (double)count:0} B/lease, client CPU {cpu.TotalMicroseconds / duration.TotalSeconds / count:0.00} us per lease-second ({cpu.TotalMilliseconds / duration.TotalSeconds:0.0} ms/s){server}"));
    }
}
