using System.Globalization;

namespace Etcd.Bench.Compare;

/// <summary>A /proc sample of a peer and of etcd at one mark.</summary>
internal sealed record ProcSample(long WallTicks, TimeSpan PeerCpu, long PeerRssBytes, long PeerHwmBytes, TimeSpan? EtcdCpu)
{
    public static ProcSample Take(int peerPid, int? etcdPid)
    {
        var (rss, hwm) = ReadMemory(peerPid);
        return new ProcSample(System.Diagnostics.Stopwatch.GetTimestamp(), ReadCpu(peerPid), rss, hwm, etcdPid is int e ? ReadCpu(e) : null);
    }

    /// <summary>User plus system CPU time of a process (all its threads) from /proc/PID/stat.</summary>
    public static TimeSpan ReadCpu(int pid)
    {
        // Fields 14 and 15 are utime and stime in clock ticks (USER_HZ = 100); the command (field 2) may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>VmRSS and VmHWM (peak RSS) of a process from /proc/PID/status, in bytes.</summary>
    private static (long Rss, long Hwm) ReadMemory(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kilobytes(line);
        }
        return (rss, hwm);

        static long Kilobytes(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
