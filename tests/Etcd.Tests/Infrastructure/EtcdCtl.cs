using System.Text;
using System.Text.Json;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// Runs etcdctl (API v3) against one endpoint, as an independent reference client for interop checks.
/// Byte-exact for keys and values:
/// <list type="bullet">
/// <item>Keys go through argv. argv cannot be built from arbitrary bytes in .NET (it is UTF-8 encoded),
/// so a key is rebuilt inside <c>/bin/bash -c</c> from <c>printf</c> octal escapes and passed as
/// <c>"$k"</c>; a sentinel character keeps trailing newlines that <c>$(...)</c> would strip. Keys may hold
/// any byte except NUL (argv is NUL-terminated).</item>
/// <item>Values go through stdin: etcdctl 3.4 <c>put KEY</c> reads ALL of stdin as the value, byte for byte,
/// keeping trailing newlines and NULs. Empty stdin is rejected by etcdctl ("put command needs 1 argument
/// and input from stdin or 2 arguments"), so an empty value is passed as an empty argv argument instead.</item>
/// <item>Reads use <c>-w json</c>, whose keys and values are base64.</item>
/// </list>
/// </summary>
public sealed class EtcdCtl
{
    /// <summary>Message of the exception thrown when the etcdctl binary cannot be found.</summary>
    public const string NotFoundMessage =
        "etcdctl not found: install it with `apt-get install etcd-server etcd-client` (or run ./run.sh test which installs it)";

    private const string Bash = "/bin/bash";

    private readonly string[] tlsArgs;

    /// <summary>Creates a runner for <paramref name="endpoints"/> (comma-separated client URLs).</summary>
    public EtcdCtl(string endpoints, TimeSpan? timeout = null)
        : this(endpoints, null, false, timeout)
    {
    }

    /// <summary>
    /// Creates a runner for <paramref name="endpoints"/> that trusts <paramref name="tls"/>'s CA (<c>--cacert</c>) and, when
    /// <paramref name="presentClientCertificate"/>, presents its client certificate (<c>--cert --key</c>). A null
    /// <paramref name="tls"/> means plain HTTP.
    /// </summary>
    public EtcdCtl(string endpoints, TestCertificates? tls, bool presentClientCertificate, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoints);
        Endpoints = endpoints;
        Timeout = timeout ?? TimeSpan.FromSeconds(30);
        tlsArgs = tls is null
            ? []
            : presentClientCertificate
                ? [$"--cacert={tls.CaCertFile}", $"--cert={tls.ClientCertFile}", $"--key={tls.ClientKeyFile}"]
                : [$"--cacert={tls.CaCertFile}"];
    }

    /// <summary>Creates a runner for <paramref name="server"/>'s client URL, with its TLS settings when it has any.</summary>
    public EtcdCtl(EtcdServer server, TimeSpan? timeout = null)
        : this((server ?? throw new ArgumentNullException(nameof(server))).ClientUrl, server.Tls, server.ClientCertAuth, timeout)
    {
    }

    /// <summary>
    /// Path of etcdctl: <c>$ETCDCTL_BINARY</c> when set, else <c>/usr/bin/etcdctl</c>, else <c>etcdctl</c> on PATH.
    /// </summary>
    public static string EtcdCtlBinary => EtcdServer.ResolveBinary("ETCDCTL_BINARY", "etcdctl", NotFoundMessage);

    /// <summary>The <c>--endpoints</c> value.</summary>
    public string Endpoints { get; }

    /// <summary>Hard limit for one etcdctl run; the process tree is killed when it is exceeded.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// Runs <c>etcdctl --endpoints=… --command-timeout=10s [TLS FLAGS…] ARGS… [BINARY ARGS…]</c> with <paramref name="stdin"/>.
    /// <paramref name="binaryArgs"/> are appended as raw bytes (no NUL allowed); put <c>"--"</c> last in
    /// <paramref name="args"/> when they may start with '-'. Does not check the exit code.
    /// </summary>
    public Task<ChildProcessResult> RunAsync(
        IEnumerable<string> args,
        IReadOnlyList<byte[]>? binaryArgs = null,
        byte[]? stdin = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var environment = new Dictionary<string, string?> { ["ETCDCTL_API"] = "3", ["LC_ALL"] = "C" };
        string[] fixedArgs = [EtcdCtlBinary, $"--endpoints={Endpoints}", "--command-timeout=10s", .. tlsArgs, .. args];
        if (binaryArgs is not { Count: > 0 })
        {
            return ChildProcess.RunAsync(fixedArgs[0], fixedArgs[1..], environment, stdin, Timeout, cancellationToken);
        }
        // bash -c SCRIPT bash FIXED...  : the script rebuilds each binary argument and execs "$@" "$a0" "$a1" ...
        return ChildProcess.RunAsync(Bash, ["-c", BuildScript(binaryArgs), "bash", .. fixedArgs], environment, stdin, Timeout, cancellationToken);
    }

    /// <summary>Like <see cref="RunAsync"/>, but throws <see cref="InvalidOperationException"/> with stderr on a non-zero exit code.</summary>
    public async Task<ChildProcessResult> RunCheckedAsync(
        IEnumerable<string> args,
        IReadOnlyList<byte[]>? binaryArgs = null,
        byte[]? stdin = null,
        CancellationToken cancellationToken = default)
    {
        var argList = args.ToList();
        var result = await RunAsync(argList, binaryArgs, stdin, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"etcdctl {string.Join(' ', argList)} failed with exit code {result.ExitCode}: {result.StdErr.Trim()} {result.StdOutText.Trim()}");
        }
        return result;
    }

    /// <summary>Puts <paramref name="value"/> (any bytes, may be empty) at <paramref name="key"/> (any bytes but NUL).</summary>
    public async Task PutAsync(byte[] key, byte[] value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
        {
            // etcdctl refuses an empty stdin; an empty argument is an empty value.
            await RunCheckedAsync(["put", "--"], [key, []], null, cancellationToken);
        }
        else
        {
            await RunCheckedAsync(["put", "--"], [key], value, cancellationToken);
        }
    }

    /// <summary>UTF-8 convenience overload of <see cref="PutAsync(byte[], byte[], CancellationToken)"/>.</summary>
    public Task PutAsync(string key, string value, CancellationToken cancellationToken = default) =>
        PutAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), cancellationToken);

    /// <summary>The exact value bytes at <paramref name="key"/>, or null when the key does not exist.</summary>
    public async Task<byte[]?> GetAsync(byte[] key, CancellationToken cancellationToken = default)
    {
        var result = await RunCheckedAsync(["get", "-w", "json", "--"], [key], null, cancellationToken);
        var pairs = ParseKvs(result.StdOut);
        return pairs.Count == 0 ? null : pairs[0].Value;
    }

    /// <summary>UTF-8 convenience overload of <see cref="GetAsync(byte[], CancellationToken)"/>.</summary>
    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        GetAsync(Encoding.UTF8.GetBytes(key), cancellationToken);

    /// <summary>All (key, value) pairs whose key starts with <paramref name="prefix"/>, in key order.</summary>
    public async Task<IReadOnlyList<(byte[] Key, byte[] Value)>> GetPrefixAsync(byte[] prefix, CancellationToken cancellationToken = default)
    {
        var result = await RunCheckedAsync(["get", "--prefix", "-w", "json", "--"], [prefix], null, cancellationToken);
        return ParseKvs(result.StdOut);
    }

    /// <summary>Deletes <paramref name="key"/>; returns the number of keys deleted.</summary>
    public async Task<long> DeleteAsync(byte[] key, CancellationToken cancellationToken = default)
    {
        var result = await RunCheckedAsync(["del", "-w", "json", "--"], [key], null, cancellationToken);
        using var doc = JsonDocument.Parse(result.StdOut);
        return doc.RootElement.TryGetProperty("deleted", out var deleted) ? deleted.GetInt64() : 0;
    }

    /// <summary>Parses the <c>kvs</c> of etcdctl's <c>-w json</c> range output (base64 keys and values; empty values are omitted).</summary>
    internal static IReadOnlyList<(byte[] Key, byte[] Value)> ParseKvs(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("kvs", out var kvs))
        {
            return [];
        }
        var list = new List<(byte[] Key, byte[] Value)>(kvs.GetArrayLength());
        foreach (var kv in kvs.EnumerateArray())
        {
            var key = kv.GetProperty("key").GetBytesFromBase64();
            var value = kv.TryGetProperty("value", out var v) ? v.GetBytesFromBase64() : [];
            list.Add((key, value));
        }
        return list;
    }

    /// <summary>
    /// A bash script that rebuilds each argument from octal escapes, e.g. <c>a0="$(printf '\377\012X')"; a0="${a0%X}"</c>,
    /// then runs <c>exec "$@" "$a0" …</c>. Runs with LC_ALL=C so the sentinel removal works on bytes.
    /// </summary>
    internal static string BuildScript(IReadOnlyList<byte[]> binaryArgs)
    {
        var script = new StringBuilder();
        var execLine = new StringBuilder("exec \"$@\"");
        for (var i = 0; i < binaryArgs.Count; i++)
        {
            var arg = binaryArgs[i] ?? throw new ArgumentNullException(nameof(binaryArgs));
            if (Array.IndexOf(arg, (byte)0) >= 0)
            {
                throw new ArgumentException("A command-line argument cannot contain a NUL byte.", nameof(binaryArgs));
            }
            script.Append('a').Append(i).Append("=\"$(printf '");
            foreach (var b in arg)
            {
                script.Append('\\').Append((char)('0' + (b >> 6))).Append((char)('0' + ((b >> 3) & 7))).Append((char)('0' + (b & 7)));
            }
            script.Append("X')\"; a").Append(i).Append("=\"${a").Append(i).Append("%X}\"\n");
            execLine.Append(" \"$a").Append(i).Append('"');
        }
        return script.Append(execLine).Append('\n').ToString();
    }
}
