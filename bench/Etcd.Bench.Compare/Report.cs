using System.Globalization;
using System.Text;

namespace Etcd.Bench.Compare;

/// <summary>Collects the figures of every run and prints the one table: medians per (row, client) and our ratio to Go.</summary>
internal sealed class Report(IReadOnlyList<Row> rows, IReadOnlyList<Peer> peers)
{
    private readonly Dictionary<(string Row, string Client), List<Dictionary<string, double>>> _runs = [];
    private readonly Dictionary<(string Row, string Client), List<string>> _failures = [];

    public void Add(Row row, Peer peer, Dictionary<string, double> figures) => Runs(row, peer).Add(figures);

    public void Fail(Row row, Peer peer, string message)
    {
        var key = (row.Id, peer.Name);
        if (!_failures.TryGetValue(key, out var list)) _failures[key] = list = [];
        list.Add(message);
    }

    private List<Dictionary<string, double>> Runs(Row row, Peer peer)
    {
        var key = (row.Id, peer.Name);
        if (!_runs.TryGetValue(key, out var list)) _runs[key] = list = [];
        return list;
    }

    /// <summary>The median of a figure over the rounds (or the sum for the lost/duplicated/reordered counts).</summary>
    public double? Figure(Row row, Peer peer, string key)
    {
        var values = Runs(row, peer).Where(f => f.ContainsKey(key)).Select(f => f[key]).ToArray();
        if (values.Length == 0) return null;
        return Figures.Summed.Contains(key) ? values.Sum() : Figures.Median(values);
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| row | client | rate | p50 ms | p99 ms | client CPU µs/op | etcd CPU µs/op | alloc B/op | peak RSS MB | rate ×Go | CPU ×Go | notes |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        var go = peers.FirstOrDefault(p => p.Name == "go");
        foreach (var row in rows)
        {
            foreach (var peer in peers)
            {
                int runs = Runs(row, peer).Count;
                string Cell(string key, string format) => Figure(row, peer, key) is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
                string ratioRate = "", ratioCpu = "";
                if (peer.Name == "ours" && go is not null)
                {
                    ratioRate = Ratio(Figure(row, peer, Figures.Rate), Figure(row, go, Figures.Rate));
                    ratioCpu = Ratio(Figure(row, peer, Figures.Cpu), Figure(row, go, Figures.Cpu));
                }
                var notes = new List<string>();
                if (row.Workload == "watch")
                    notes.Add($"lost {Cell(Figures.Lost, "0")}, duplicated {Cell(Figures.Duplicated, "0")}, reordered {Cell(Figures.Reordered, "0")} (all rounds)");
                if (row.Workload == "scan") notes.Add("p50/p99 per page");
                if (row.Kind == RowKind.Idle)
                {
                    string item = row.Workload == "leases" ? "lease" : "watch";
                    notes.Add($"RSS {Cell(Figures.RssPerItem, "#,0")} B/{item}, heap {Cell(Figures.HeapPerItem, "#,0")} B/{item}; " +
                              $"held: {Cell(Figures.HoldCpu, "0.00")} µs CPU per {item}·s (etcd {Cell(Figures.HoldEtcdCpu, "0.00")}); lost {Cell(Figures.Lost, "0")}");
                    if (peer.Name == "ours" && go is not null)
                        notes.Add($"RSS ×Go {Ratio(Figure(row, peer, Figures.RssPerItem), Figure(row, go, Figures.RssPerItem))}");
                }
                if (_failures.TryGetValue((row.Id, peer.Name), out var failed)) notes.Add($"{failed.Count} run(s) failed");
                if (runs == 0)
                {
                    text.AppendLine($"| {row.Label} ({row.Unit}) | {peer.Name} | – | – | – | – | – | – | – | | | no successful run |");
                    continue;
                }
                text.AppendLine(string.Join(" | ", [
                    $"| {row.Label} ({row.Unit})", peer.Name, Cell(Figures.Rate, "#,0"), Cell(Figures.P50, "0.000"), Cell(Figures.P99, "0.000"),
                    Cell(Figures.Cpu, "0.0"), Cell(Figures.EtcdCpu, "0.0"), Cell(Figures.Alloc, "#,0"), Cell(Figures.PeakRss, "0"),
                    ratioRate, ratioCpu, string.Join("; ", notes) + " |"]));
            }
        }
        return text.ToString();
    }

    private static string Ratio(double? ours, double? theirs) =>
        ours is double a && theirs is double b && b > 0 ? (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";

    public IEnumerable<string> Failures() =>
        _failures.SelectMany(kv => kv.Value.Select(m => $"{kv.Key.Row} / {kv.Key.Client}: {m}"));
}
