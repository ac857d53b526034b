namespace Etcd.Bench;

/// <summary>Reads the CPU time a local server process has used, from /proc (Linux), so server-bound rows show as such.</summary>
internal sealed class ServerCpu(int pid)
{
    public static ServerCpu? ForPid(int? pid) => pid is int p && File.Exists($"/proc/{p}/stat") ? new ServerCpu(p) : null;

    /// <summary>User plus system CPU time of the process so far.</summary>
    public TimeSpan Read()
    {
        // Fields 14 and 15 of /proc/PID/stat are utime and stime in clock ticks; the command name (field 2) may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }
}
