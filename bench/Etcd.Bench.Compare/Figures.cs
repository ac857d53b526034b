using System.Diagnostics;
using System.Text.Json;

namespace Etcd.Bench.Compare;

/// <summary>The figures of one peer run, derived the same way for every language from its marks and result line.</summary>
internal static class Figures
{
    public const string Rate = "rate", P50 = "p50", P99 = "p99", Cpu = "cpu_us", EtcdCpu = "etcd_us", Alloc = "alloc_b", PeakRss = "hwm_mb";
    public const string Lost = "lost", Duplicated = "dup", Reordered = "reord", RssPerItem = "rss_b", HeapPerItem = "heap_b";
    public const string HoldCpu = "hold_cpu_us", HoldEtcdCpu = "hold_etcd_us", Scans = "scans";

    /// <summary>Counts that are summed over the rounds (so a single lost event shows) instead of taking the median.</summary>
    public static readonly string[] Summed = [Lost, Duplicated, Reordered];

    public static Dictionary<string, double> From(Row row, PeerRun run)
    {
        var r = run.Result;
        var f = new Dictionary<string, double>();
        double ops = Number(r, "ops") ?? throw new PeerFailedException("result without ops");
        if (ops <= 0) throw new PeerFailedException("no operations");
        if (r.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String) throw new PeerFailedException(error.GetString()!);
        Add(f, Rate, ops / Number(r, "seconds"));
        Add(f, P50, Number(r, "p50_ms"));
        Add(f, P99, Number(r, "p99_ms"));
        Add(f, Alloc, Number(r, "alloc_bytes") / ops);
        foreach (var (key, name) in new[] { (Lost, "lost"), (Duplicated, "duplicated"), (Reordered, "reordered"), (Scans, "scans") })
            Add(f, key, Number(r, name));
        var end = Mark(run, "end");
        Add(f, PeakRss, end.PeerHwmBytes / 1048576.0);
        if (row.Kind == RowKind.Window)
        {
            var start = Mark(run, "start");
            Add(f, Cpu, (end.PeerCpu - start.PeerCpu).TotalMicroseconds / ops);
            Add(f, EtcdCpu, (end.EtcdCpu - start.EtcdCpu)?.TotalMicroseconds / ops);
        }
        else
        {
            ProcSample @base = Mark(run, "base"), created = Mark(run, "created"), held = Mark(run, "held");
            Add(f, Cpu, (created.PeerCpu - @base.PeerCpu).TotalMicroseconds / ops);
            Add(f, EtcdCpu, (created.EtcdCpu - @base.EtcdCpu)?.TotalMicroseconds / ops);
            Add(f, RssPerItem, (held.PeerRssBytes - @base.PeerRssBytes) / ops);
            Add(f, HeapPerItem, Number(r, "heap_bytes") / ops);
            double holdSeconds = (end.WallTicks - held.WallTicks) / (double)Stopwatch.Frequency;
            Add(f, HoldCpu, (end.PeerCpu - held.PeerCpu).TotalMicroseconds / ops / holdSeconds);
            Add(f, HoldEtcdCpu, (end.EtcdCpu - held.EtcdCpu)?.TotalMicroseconds / ops / holdSeconds);
        }
        return f;
    }

    private static ProcSample Mark(PeerRun run, string name) =>
        run.Marks.TryGetValue(name, out var sample) ? sample : throw new PeerFailedException($"no '{name}' mark");

    private static void Add(Dictionary<string, double> figures, string key, double? value)
    {
        if (value is double v && double.IsFinite(v)) figures[key] = v;
    }

    private static double? Number(JsonElement result, string name) =>
        result.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    public static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return null;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
