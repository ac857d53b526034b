using System.Diagnostics;
using System.Text.Json;

namespace Etcd.Bench.Compare;

/// <summary>What one peer run reported: its /proc samples at each mark and its result line.</summary>
internal sealed record PeerRun(IReadOnlyDictionary<string, ProcSample> Marks, JsonElement Result);

/// <summary>Starts one peer for one row, answers its marks with /proc samples, and stops it (by its PID) when it overstays.</summary>
internal static class PeerRunner
{
    public static async Task<PeerRun> RunAsync(Peer peer, IReadOnlyList<string> args, int? etcdPid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(peer.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in peer.LeadingArgs.Concat(args)) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {peer.FileName}");
        var stderr = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr)
            {
                stderr.Enqueue(e.Data);
                if (stderr.Count > 40) stderr.Dequeue();
            }
        };
        process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var marks = new Dictionary<string, ProcSample>();
        JsonElement? result = null;
        try
        {
            while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line.StartsWith("@mark ", StringComparison.Ordinal))
                {
                    marks[line[6..].Trim()] = ProcSample.Take(process.Id, etcdPid);
                    await process.StandardInput.WriteLineAsync();
                    await process.StandardInput.FlushAsync(deadline.Token);
                }
                else if (line.StartsWith("@result ", StringComparison.Ordinal))
                {
                    result = JsonDocument.Parse(line[8..]).RootElement.Clone();
                }
            }
            process.StandardInput.Close();
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PeerFailedException($"{peer.Name} did not finish within {timeout.TotalSeconds:0} s{Tail(stderr)}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        if (process.ExitCode != 0 || result is null)
            throw new PeerFailedException($"{peer.Name} exited with code {process.ExitCode}{(result is null ? " without a result" : "")}{Tail(stderr)}");
        return new PeerRun(marks, result.Value);
    }

    private static string Tail(Queue<string> stderr)
    {
        lock (stderr)
        {
            return stderr.Count == 0 ? "" : "; its stderr ends with:\n  " + string.Join("\n  ", stderr.TakeLast(12));
        }
    }
}

/// <summary>A peer run that failed; the driver reports it and goes on with the next run.</summary>
internal sealed class PeerFailedException(string message) : Exception(message);
