using System.Diagnostics;

namespace Etcd.Bench;

/// <summary>
/// Collects latencies of one caller (no sharing, no locks) and answers percentiles after a merge.
/// Shared by bench/Etcd.Bench and the .NET peer of ./run.sh compare (linked source).
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly List<long> _ticks = new(1 << 14);

    public int Count => _ticks.Count;

    public void Record(long ticks) => _ticks.Add(ticks);

    public static LatencyRecorder Merge(IEnumerable<LatencyRecorder> recorders)
    {
        var merged = new LatencyRecorder();
        foreach (var recorder in recorders) merged._ticks.AddRange(recorder._ticks);
        merged._ticks.Sort();
        return merged;
    }

    /// <summary>The latency at quantile <paramref name="q"/> in milliseconds (element ceil(q n) - 1 after <see cref="Merge"/>); NaN when empty.</summary>
    public double Percentile(double q)
    {
        if (_ticks.Count == 0) return double.NaN;
        int index = Math.Clamp((int)Math.Ceiling(q * _ticks.Count) - 1, 0, _ticks.Count - 1);
        return _ticks[index] * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>As <see cref="Percentile"/>, but null when empty (for JSON output).</summary>
    public double? PercentileOrNull(double q) => _ticks.Count == 0 ? null : Percentile(q);
}
