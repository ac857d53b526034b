using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// A long-running etcdctl (<c>lock NAME</c>, <c>elect NAME PROPOSAL</c>, <c>elect -l NAME</c>, <c>watch</c>) started in
/// the background: its stdout arrives line by line, SIGINT makes it release cleanly (etcdctl unlocks or resigns and
/// exits), and disposal kills it by PID if it is still running.
/// </summary>
public sealed class EtcdCtlProcess : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigStop = 19;
    private const int SigCont = 18;

    private readonly Process process;
    private readonly Channel<string> lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder stderr = new();
    private readonly Task pump;

    private EtcdCtlProcess(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        pump = PumpAsync();
    }

    /// <summary>The process id (for logs; the process is stopped through this object).</summary>
    public int Pid => process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => process.HasExited;

    /// <summary>What the process wrote to stderr so far.</summary>
    public string StdErr
    {
        get { lock (stderr) return stderr.ToString(); }
    }

    /// <summary>Starts <c>etcdctl --endpoints=ENDPOINTS ARGS...</c> (API v3) in the background.</summary>
    public static EtcdCtlProcess Start(string endpoints, params string[] args)
    {
        var psi = new ProcessStartInfo(EtcdCtl.EtcdCtlBinary)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add($"--endpoints={endpoints}");
        foreach (var a in args) psi.ArgumentList.Add(a);
        ChildProcess.ApplyEnvironment(psi, new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" });
        var process = Process.Start(psi) ?? throw new InvalidOperationException("etcdctl did not start");
        return new EtcdCtlProcess(process);
    }

    /// <summary>The next stdout line; throws <see cref="TimeoutException"/> (with stderr) when none comes within <paramref name="timeout"/>.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await lines.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"etcdctl (pid {Pid}) wrote no line within {timeout.TotalSeconds:0.#} s; exited: {HasExited}; stderr: {StdErr}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"etcdctl (pid {Pid}) exited before writing a line; stderr: {StdErr}");
        }
    }

    /// <summary>Whether a stdout line arrives within <paramref name="within"/> (the line is consumed).</summary>
    public async Task<bool> WritesLineWithinAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            await lines.Reader.ReadAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Sends SIGINT (etcdctl then unlocks or resigns and exits) and waits for the exit.</summary>
    public async Task InterruptAsync(TimeSpan? timeout = null)
    {
        if (!process.HasExited) _ = kill(process.Id, SigInt);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        await process.WaitForExitAsync(cts.Token);
    }

    /// <summary>Freezes the process (SIGSTOP): it stops renewing its lease but keeps its connection.</summary>
    public void Freeze() => _ = kill(process.Id, SigStop);

    /// <summary>Thaws a frozen process (SIGCONT).</summary>
    public void Thaw() => _ = kill(process.Id, SigCont);

    /// <summary>Kills the process (SIGKILL): no clean release; its lease expires on its own.</summary>
    public void Kill() => ChildProcess.TryKill(process);

    /// <summary>Kills the process if it still runs and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited) Thaw();
        ChildProcess.TryKill(process);
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await pump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // Already signalled; nothing more to do.
        }
        process.Dispose();
    }

    private async Task PumpAsync()
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Writer.TryWrite(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process went away.
        }
        finally
        {
            lines.Writer.TryComplete();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
