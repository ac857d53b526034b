using System.Globalization;

namespace Etcd.Bench.Peer;

/// <summary>The peer protocol's arguments (bench/compare/README.md); the Go and Node peers take the same.</summary>
internal sealed record PeerOptions(
    string Endpoint, string Workload, int Callers, TimeSpan Duration, TimeSpan Warmup, string Prefix, int Count, int PageSize,
    int LeaseTtlSeconds, bool Sync)
{
    public static readonly string[] Workloads =
        ["put", "get-serializable", "get-linearizable", "txn-put-if-absent", "watch", "scan", "idle-watches", "leases"];

    public static PeerOptions Parse(string[] args)
    {
        string endpoint = "http://127.0.0.1:2379", workload = "put", prefix = "cmp/";
        int callers = 1, count = 10_000, pageSize = 1000, leaseTtl = 6;
        double duration = 5, warmup = 1;
        bool sync = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--endpoint": endpoint = Next(); break;
                case "--workload": workload = Next(); break;
                case "--callers": callers = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration": duration = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--prefix": prefix = Next(); break;
                case "--count": count = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--page-size": pageSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--lease-ttl": leaseTtl = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--sync": sync = true; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if (!Workloads.Contains(workload)) throw new ArgumentException($"unknown workload {workload}");
        if (callers < 1 || count < 1 || pageSize < 1 || leaseTtl < 1 || duration <= 0 || warmup < 0) throw new ArgumentException("numbers must be positive");
        if (prefix.Length > 10) throw new ArgumentException("--prefix must leave room for a 6-digit index in a 16-byte key");
        return new PeerOptions(endpoint, workload, callers, TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(warmup), prefix, count, pageSize, leaseTtl, sync);
    }

    /// <summary>A 16-byte key: the prefix and the zero-padded index.</summary>
    public string Key(long index) => Key(Prefix, index);

    public static string Key(string prefix, long index) => prefix + index.ToString(CultureInfo.InvariantCulture).PadLeft(16 - prefix.Length, '0');
}
