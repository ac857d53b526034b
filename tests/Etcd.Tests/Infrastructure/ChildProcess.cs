using System.Diagnostics;
using System.Text;

namespace Etcd.Tests.Infrastructure;

/// <summary>What a finished child process left behind: exit code, raw stdout bytes and stderr text.</summary>
public sealed record ChildProcessResult(int ExitCode, byte[] StdOut, string StdErr)
{
    /// <summary>Stdout decoded as UTF-8 (for messages and text output; use <see cref="StdOut"/> for bytes).</summary>
    public string StdOutText => Encoding.UTF8.GetString(StdOut);
}

/// <summary>Runs short-lived child processes (etcdctl, bash) with byte-exact stdin/stdout and a hard timeout.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> passed verbatim as argv (no shell),
    /// writes <paramref name="stdin"/> (then closes stdin), and collects stdout as bytes and stderr as text.
    /// On timeout or cancellation the whole process tree is killed and a <see cref="TimeoutException"/>
    /// (or <see cref="OperationCanceledException"/>) is thrown.
    /// </summary>
    public static async Task<ChildProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment,
        byte[]? stdin,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        ApplyEnvironment(psi, environment);

        using var process = new Process { StartInfo = psi };
        process.Start();

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var token = timeoutCts.Token;
        try
        {
            var stdoutTask = CopyToArrayAsync(process.StandardOutput.BaseStream, token);
            var stderrTask = process.StandardError.ReadToEndAsync(token);
            var stdinTask = WriteStdinAsync(process, stdin, token);

            await process.WaitForExitAsync(token);
            var stdout = await stdoutTask;
            var stderr = await stderrTask;
            await stdinTask;
            return new ChildProcessResult(process.ExitCode, stdout, stderr);
        }
        catch (OperationCanceledException)
        {
            TryKill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"'{fileName} {string.Join(' ', psi.ArgumentList)}' did not finish within {timeout.TotalSeconds:0.#} s; it was killed.");
        }
    }

    /// <summary>Removes variables that etcd/etcdctl would read as flags (ETCD_*, ETCDCTL_*), then applies <paramref name="environment"/>.</summary>
    internal static void ApplyEnvironment(ProcessStartInfo psi, IReadOnlyDictionary<string, string?>? environment)
    {
        foreach (var name in psi.Environment.Keys.ToList())
        {
            if (name.StartsWith("ETCD_", StringComparison.Ordinal) || name.StartsWith("ETCDCTL_", StringComparison.Ordinal))
            {
                psi.Environment.Remove(name);
            }
        }
        if (environment is null)
        {
            return;
        }
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }
    }

    internal static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Could not signal it (already reaped); nothing more to do.
        }
    }

    private static async Task<byte[]> CopyToArrayAsync(Stream stream, CancellationToken token)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, token);
        return buffer.ToArray();
    }

    private static async Task WriteStdinAsync(Process process, byte[]? stdin, CancellationToken token)
    {
        var input = process.StandardInput.BaseStream;
        try
        {
            if (stdin is { Length: > 0 })
            {
                await input.WriteAsync(stdin, token);
                await input.FlushAsync(token);
            }
        }
        catch (IOException)
        {
            // The child closed stdin early (broken pipe); its exit code and stderr tell the story.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Broken pipe on close: same as above.
            }
        }
    }
}
