namespace Etcd.Bench;

/// <summary>Command-line settings of the load bench (hand-parsed: five flags do not need a parser library).</summary>
internal sealed record BenchSettings(
    string Endpoint, int[] Callers, TimeSpan Duration, TimeSpan Warmup, Workload[] Workloads, int? ServerPid, int KeepAliveLeases, TimeSpan KeepAliveTtl,
    int WatchWriters, int IdleWatches, bool Recipes)
{
    public static BenchSettings? Parse(string[] args)
    {
        string endpoint = "http://127.0.0.1:2379";
        int[] callers = [1, 64];
        double duration = 10, warmup = 2;
        Workload[] workloads = Enum.GetValues<Workload>();
        int? serverPid = null;
        int keepAliveLeases = 10_000;
        double keepAliveTtl = 15;
        int watchWriters = 16, idleWatches = 10_000;
        bool recipes = true;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--endpoint": endpoint = Next(); break;
                    case "--callers": callers = Next().Split(',').Select(int.Parse).ToArray(); break;
                    case "--duration": duration = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--workloads": workloads = Next().Split(',').Select(WorkloadNames.Parse).ToArray(); break;
                    case "--keepalive-leases": keepAliveLeases = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--keepalive-ttl": keepAliveTtl = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--watch-writers": watchWriters = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--idle-watches": idleWatches = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--recipes": recipes = Next() is "on" or "1" or "true"; break;
                    case "--server-pid": serverPid = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "-h" or "--help": PrintUsage(); return null;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }
            if (callers.Any(c => c <= 0) || duration <= 0 || warmup < 0 || keepAliveLeases < 0 || keepAliveTtl < 1 || watchWriters < 0 || idleWatches < 0) throw new ArgumentException("callers and duration must be positive");
        }
        catch (Exception error) when (error is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            PrintUsage();
            return null;
        }
        return new BenchSettings(endpoint, callers, TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(warmup), workloads, serverPid,
            keepAliveLeases, TimeSpan.FromSeconds(keepAliveTtl), watchWriters, idleWatches, recipes);
    }

    private static void PrintUsage() => Console.Error.WriteLine(
        "usage: Etcd.Bench [--endpoint URL] [--server-pid PID] [--callers 1,64] [--duration SECONDS] [--warmup SECONDS] " +
        "[--keepalive-leases 10000 (0: skip)] [--keepalive-ttl 15] [--watch-writers 16 (0: skip)] [--idle-watches 10000 (0: skip)] [--recipes on|off] [--workloads " +
        string.Join(",", Enum.GetValues<Workload>().Select(WorkloadNames.Name)) + "]");
}
