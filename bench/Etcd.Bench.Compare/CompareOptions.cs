using System.Globalization;

namespace Etcd.Bench.Compare;

/// <summary>The driver's command line (hand-parsed, like bench/Etcd.Bench).</summary>
internal sealed record CompareOptions(
    string Endpoint, int? EtcdPid, IReadOnlyList<Peer> Peers, int Rounds, double Duration, double Warmup, IReadOnlyList<Row> Rows,
    int ScanKeys, int IdleCount, int LeaseTtl, string? RawPath)
{
    public static CompareOptions? Parse(string[] args)
    {
        string endpoint = "http://127.0.0.1:2379";
        int? etcdPid = null;
        string? dotnetPeer = null, goPeer = null, nodeScript = null, raw = null;
        string node = "node";
        int rounds = 3, scanKeys = 200_000, idleCount = 10_000, leaseTtl = 6;
        double duration = 3, warmup = 2;
        string[]? only = null, clients = null;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--endpoint": endpoint = Next(); break;
                    case "--etcd-pid": etcdPid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--dotnet-peer": dotnetPeer = Next(); break;
                    case "--go-peer": goPeer = Next(); break;
                    case "--node-peer": nodeScript = Next(); break;
                    case "--node": node = Next(); break;
                    case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--duration": duration = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--only": only = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                    case "--clients": clients = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                    case "--scan-keys": scanKeys = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--idle-count": idleCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--lease-ttl": leaseTtl = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--raw": raw = Next(); break;
                    case "-h" or "--help": PrintUsage(); return null;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }
            if (rounds < 1 || duration <= 0 || duration > 30 || warmup < 0 || scanKeys < 1 || idleCount < 1 || leaseTtl < 2)
                throw new ArgumentException("--rounds must be >= 1, --duration in (0, 30], --scan-keys, --idle-count >= 1, --lease-ttl >= 2");
            var peers = new List<Peer>();
            foreach (var name in clients ?? ["ours", "go", "node"])
            {
                peers.Add(name switch
                {
                    "ours" => new Peer("ours", dotnetPeer ?? throw new ArgumentException("--dotnet-peer PATH is required"), []),
                    "go" => new Peer("go", goPeer ?? throw new ArgumentException("--go-peer PATH is required"), []),
                    "node" => new Peer("node", node, ["--expose-gc", nodeScript ?? throw new ArgumentException("--node-peer SCRIPT is required")]),
                    _ => throw new ArgumentException($"unknown client {name} (ours, go, node)"),
                });
            }
            var rows = Row.All;
            if (only is not null)
            {
                rows = rows.Where(r => only.Any(o => o == r.Id || o == r.Workload)).ToArray();
                var unknown = only.Where(o => !Row.All.Any(r => o == r.Id || o == r.Workload)).ToArray();
                if (unknown.Length > 0) throw new ArgumentException($"unknown row(s) {string.Join(", ", unknown)}; rows: {string.Join(", ", Row.All.Select(r => r.Id))}");
            }
            return new CompareOptions(endpoint, etcdPid, peers, rounds, duration, warmup, rows, scanKeys, idleCount, leaseTtl, raw);
        }
        catch (Exception error) when (error is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            PrintUsage();
            return null;
        }
    }

    private static void PrintUsage() => Console.Error.WriteLine(
        "usage: Etcd.Bench.Compare --endpoint URL [--etcd-pid PID] --dotnet-peer PATH --go-peer PATH --node-peer SCRIPT [--node NODE]\n" +
        "         [--rounds 3] [--duration 3] [--warmup 2] [--only ROW,...] [--clients ours,go,node] [--scan-keys 200000]\n" +
        "         [--idle-count 10000] [--lease-ttl 6] [--raw FILE.jsonl]\n" +
        "rows: " + string.Join(", ", Row.All.Select(r => r.Id)) + " (or a workload name for all its rows)");
}

/// <summary>A peer program: its name in the table and how to start it.</summary>
internal sealed record Peer(string Name, string FileName, string[] LeadingArgs);
