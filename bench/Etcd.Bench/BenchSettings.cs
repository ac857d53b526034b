namespace Etcd.Bench;

/// <summary>Command-line settings of the load bench (hand-parsed: five flags do not need a parser library).</summary>
internal sealed record BenchSettings(
    string Endpoint, int[] Callers, TimeSpan Duration, TimeSpan Warmup, Workload[] Workloads, int? ServerPid, int KeepAliveLeases, TimeSpan KeepAliveTtl)
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
                    case "--server-pid": serverPid = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "-h" or "--help": PrintUsage(); return null;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }
            if (callers.Any(c => c <= 0) || duration <= 0 || warmup < 0 || keepAliveLeases < 0 || keepAliveTtl < 1) throw new ArgumentException("callers and duration must be positive");
        }
        catch (Exception error) when (error is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"error: {error.Message}");
            PrintUsage();
            return null;
        }
        return new BenchSettings(endpoint, callers, TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(warmup), workloads, serverPid,
            keepAliveLeases, TimeSpan.FromSeconds(keepAliveTtl));
    }

    private static void PrintUsage() => Console.Error.WriteLine(
        "usage: Etcd.Bench [--endpoint URL] [--server-pid PID] [--callers 1,64] [--duration SECONDS] [--warmup SECONDS] " +
        "[--keepalive-leases 10000 (0: skip)] [--keepalive-ttl 15] [--workloads " +
        string.Join(",", Enum.GetValues<Workload>().Select(WorkloadNames.Name)) + "]");
}
