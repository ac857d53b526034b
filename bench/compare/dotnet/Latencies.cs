using System.Diagnostics;

namespace Etcd.Bench.Peer;

/// <summary>Latencies of one caller (no locks); merged and sorted for percentiles.</summary>
internal sealed class Latencies
{
    private readonly List<long> _ticks = new(1 << 14);

    public int Count => _ticks.Count;

    public void Record(long ticks) => _ticks.Add(ticks);

    public static Latencies Merge(IEnumerable<Latencies> all)
    {
        var merged = new Latencies();
        foreach (var one in all) merged._ticks.AddRange(one._ticks);
        merged._ticks.Sort();
        return merged;
    }

    /// <summary>Milliseconds at quantile q of a merged set (element ceil(q n) - 1), null when empty.</summary>
    public double? Percentile(double q)
    {
        if (_ticks.Count == 0) return null;
        int index = Math.Clamp((int)Math.Ceiling(q * _ticks.Count) - 1, 0, _ticks.Count - 1);
        return _ticks[index] * 1000.0 / Stopwatch.Frequency;
    }
}
