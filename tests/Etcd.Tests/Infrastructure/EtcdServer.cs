using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Etcd.Tests.Infrastructure;

/// <summary>How to start an <see cref="EtcdServer"/>.</summary>
public sealed record EtcdServerOptions
{
    /// <summary>Member name (<c>--name</c>); also the name in <c>--initial-cluster</c>.</summary>
    public string Name { get; init; } = "s1";

    /// <summary>Extra etcd flags appended after the standard ones, e.g. <c>["--max-request-bytes", "1024"]</c>.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>How long a start (or restart) may take until <c>/health</c> answers <c>"health":"true"</c>.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Test hook: client port to try first (to exercise the "port already taken" retry).</summary>
    internal int? FirstAttemptClientPort { get; init; }

    /// <summary>
    /// Serve clients over TLS with these certificates (<c>--cert-file --key-file</c>): client URLs become <c>https://</c>,
    /// and the health check and <see cref="EtcdCtl"/> trust <see cref="TestCertificates.CaCertificate"/> only. Peer
    /// traffic stays plain HTTP. The caller owns (and disposes) the certificates. Null (default): plain HTTP.
    /// </summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>
    /// With <see cref="Tls"/>: require a client certificate signed by the test CA (<c>--trusted-ca-file --client-cert-auth</c>);
    /// the health check and <see cref="EtcdCtl"/> then present <see cref="TestCertificates.ClientCertificate"/>.
    /// </summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>
    /// Pre-chosen client port (e.g. from a cluster that must know every port up front). When this or <see cref="PeerPort"/>
    /// is set, a port that turns out to be taken fails the start with <see cref="EtcdPortInUseException"/> instead of
    /// being retried on new ports. Null (default): a free port is chosen, and re-chosen if it is taken.
    /// </summary>
    public int? ClientPort { get; init; }

    /// <summary>Pre-chosen peer port; see <see cref="ClientPort"/>.</summary>
    public int? PeerPort { get; init; }

    /// <summary><c>--initial-cluster</c>; null (default) for a single member, <c>{Name}={PeerUrl}</c>.</summary>
    public string? InitialCluster { get; init; }

    /// <summary><c>--initial-cluster-token</c>; null (default) leaves etcd's default.</summary>
    public string? InitialClusterToken { get; init; }

    /// <summary>Awaited once before the first launch (used by <see cref="EtcdCluster"/> to chain member launches).</summary>
    internal Func<CancellationToken, Task>? BeforeFirstLaunch { get; init; }
}

/// <summary>etcd could not bind a pre-chosen port (<see cref="EtcdServerOptions.ClientPort"/>/<see cref="EtcdServerOptions.PeerPort"/>).</summary>
public sealed class EtcdPortInUseException(string message) : InvalidOperationException(message);

/// <summary>What <c>POST /v3/maintenance/status</c> told about a member (ids as etcd prints them, unsigned 64-bit).</summary>
/// <param name="MemberId">The answering member's id (<c>header.member_id</c>).</param>
/// <param name="Leader">The id of the leader as that member sees it (0: none known).</param>
/// <param name="RaftTerm">The member's raft term.</param>
/// <param name="Revision">The member's store revision.</param>
public sealed record EtcdMemberStatus(ulong MemberId, ulong Leader, ulong RaftTerm, long Revision)
{
    /// <summary>Whether the member considers itself the leader.</summary>
    public bool IsLeader => Leader != 0 && Leader == MemberId;
}

/// <summary>
/// One real single-member etcd process on free loopback ports with a fresh temp data dir (tmpfs when
/// available), started by this process and killed by PID when disposed (or when the test host exits).
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    /// <summary>Message of the exception thrown when the etcd binary cannot be found.</summary>
    public const string NotFoundMessage =
        "etcd not found: install it with `apt-get install etcd-server etcd-client` (or run ./run.sh test which installs it)";

    private const string WorkDirPrefix = "etcd-test-";
    private const int MaxPortAttempts = 5;
    private const int RecentLineCount = 60;

    private static readonly ConcurrentDictionary<EtcdServer, byte> Live = new();
    private static readonly HashSet<int> HandedOutPorts = [];
    private static readonly Lock PortLock = new();
    private static readonly HttpClient HealthClient = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(1),
        PooledConnectionLifetime = TimeSpan.FromSeconds(1),
        UseProxy = false,
    });
    private static int swept;

    private readonly EtcdServerOptions options;
    private readonly string binary;
    private readonly Lock logLock = new();
    private readonly Queue<string> recentLines = new();
    private readonly SemaphoreSlim lifecycle = new(1, 1);
    private readonly HttpClient http;
    private readonly bool ownsHttp;
    private StreamWriter? log;
    private Process? process;
    private int pid;
    private int disposed;

    // Kept alive for the life of the process; the handlers do not cancel the signal, so it still ends the process.
    private static readonly PosixSignalRegistration[] SignalRegistrations = RegisterSignalHandlers();

    static EtcdServer()
    {
        // ProcessExit covers a normal exit; an unhandled exception and SIGTERM/SIGINT/SIGQUIT bypass it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllLive();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAllLive();
    }

    private EtcdServer(EtcdServerOptions options, string binary, string workDir)
    {
        this.options = options;
        this.binary = binary;
        WorkDir = workDir;
        DataDir = Path.Combine(workDir, "data");
        LogPath = Path.Combine(workDir, "etcd.log");
        log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        if (options.Tls is { } tls)
        {
            var handler = tls.CreateHttpHandler(presentClientCertificate: options.ClientCertAuth, connectTimeout: TimeSpan.FromSeconds(1));
            handler.PooledConnectionLifetime = TimeSpan.FromSeconds(1);
            http = new HttpClient(handler);
            ownsHttp = true;
        }
        else
        {
            http = HealthClient;
        }
    }

    /// <summary>
    /// Path of the etcd binary: <c>$ETCD_BINARY</c> when set, else <c>/usr/bin/etcd</c>, else <c>etcd</c> on PATH.
    /// Throws <see cref="InvalidOperationException"/> with <see cref="NotFoundMessage"/> when none exists.
    /// </summary>
    public static string EtcdBinary => ResolveBinary("ETCD_BINARY", "etcd", NotFoundMessage);

    /// <summary>Member name.</summary>
    public string Name => options.Name;

    /// <summary>Client URL, <c>http://127.0.0.1:PORT</c> (<c>https://</c> with <see cref="EtcdServerOptions.Tls"/>).</summary>
    public string ClientUrl => $"{(options.Tls is null ? "http" : "https")}://127.0.0.1:{ClientPort}";

    /// <summary>Client port on 127.0.0.1.</summary>
    public int ClientPort { get; private set; }

    /// <summary>Peer URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public string PeerUrl => $"http://127.0.0.1:{PeerPort}";

    /// <summary>Peer port on 127.0.0.1.</summary>
    public int PeerPort { get; private set; }

    /// <summary>The temp directory owned by this server (holds <see cref="DataDir"/> and <see cref="LogPath"/>); deleted on dispose.</summary>
    public string WorkDir { get; }

    /// <summary>etcd's <c>--data-dir</c>.</summary>
    public string DataDir { get; }

    /// <summary>File receiving etcd's stdout and stderr (appended across restarts).</summary>
    public string LogPath { get; }

    /// <summary>The extra flags this server was started with.</summary>
    public IReadOnlyList<string> ExtraArgs => options.ExtraArgs;

    /// <summary>The options this server was started with.</summary>
    public EtcdServerOptions Options => options;

    /// <summary>The certificates when the server speaks TLS to clients, else null.</summary>
    public TestCertificates? Tls => options.Tls;

    /// <summary>Whether clients must present a certificate signed by the test CA.</summary>
    public bool ClientCertAuth => options.Tls is not null && options.ClientCertAuth;

    /// <summary>PID of the current etcd process (or of the last one, after a kill or stop).</summary>
    public int Pid => pid;

    /// <summary>Whether the etcd process we started is still running.</summary>
    public bool IsRunning
    {
        get
        {
            var p = process;
            try
            {
                return p is not null && !p.HasExited;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>Starts a server with default options and the given extra etcd flags.</summary>
    public static Task<EtcdServer> StartAsync(params string[] extraArgs) =>
        StartAsync(new EtcdServerOptions { ExtraArgs = extraArgs });

    /// <summary>
    /// Starts a server and waits until it is healthy. A port taken between choosing it and etcd binding it
    /// is retried on new ports. Fails with etcd's output tail when it exits early or is not healthy in time.
    /// </summary>
    public static async Task<EtcdServer> StartAsync(EtcdServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ClientCertAuth && options.Tls is null)
        {
            throw new ArgumentException("ClientCertAuth needs Tls.", nameof(options));
        }
        var binary = EtcdBinary;
        if (Interlocked.Exchange(ref swept, 1) == 0)
        {
            SweepStaleWorkDirs();
        }

        var server = new EtcdServer(options, binary, CreateWorkDir());
        Live[server] = 0;
        try
        {
            if (options.BeforeFirstLaunch is { } gate)
            {
                await gate(cancellationToken);
            }
            var preChosen = options.ClientPort is not null || options.PeerPort is not null;
            for (var attempt = 1; ; attempt++)
            {
                server.ClientPort = options.ClientPort
                    ?? (attempt == 1 && options.FirstAttemptClientPort is int first ? first : AllocatePort());
                server.PeerPort = options.PeerPort ?? AllocatePort();
                if (Directory.Exists(server.DataDir))
                {
                    Directory.Delete(server.DataDir, recursive: true);
                }
                if (await server.LaunchAndWaitHealthyAsync(allowPortInUse: preChosen || attempt < MaxPortAttempts, cancellationToken))
                {
                    return server;
                }
                if (preChosen)
                {
                    throw new EtcdPortInUseException(
                        $"etcd could not bind its pre-chosen client port {server.ClientPort} or peer port {server.PeerPort} ({server}). Last output:\n{server.RecentOutput()}");
                }
                server.WriteLog($"=== test harness: port {server.ClientPort} or {server.PeerPort} was taken; retrying on new ports ===");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether <c>GET /health</c> over HTTP/1.1 answers <c>"health":"true"</c> right now.</summary>
    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{ClientUrl}/health")
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var response = await http.SendAsync(request, cts.Token);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }
            var body = await response.Content.ReadAsStringAsync(cts.Token);
            return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false; // disposed meanwhile
        }
    }

    /// <summary>
    /// Waits until an etcd serves peer traffic on <paramref name="peerPort"/> (<c>GET /members</c> answers 200). A peer
    /// listener is bound well before etcd serves it, and a request sent meanwhile waits in the accept queue and is answered
    /// once serving starts; a refused connection is retried every 20 ms. Throws <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/>.
    /// </summary>
    internal static async Task WaitForPeerListenerAsync(int peerPort, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using (var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                probe.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{peerPort}/members")
                    {
                        Version = HttpVersion.Version11,
                        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    };
                    using var response = await HealthClient.SendAsync(request, probe.Token);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Listening but not serving within the probe's second; ask again.
                }
            }
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"No etcd served peer traffic on 127.0.0.1:{peerPort} within {timeout.TotalSeconds:0.#} s.");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>
    /// The member's status from the JSON gateway (<c>POST /v3/maintenance/status</c> with <c>{}</c> over HTTP/1.1), or null
    /// when it does not answer within 2 s (not running, no such port, error status).
    /// </summary>
    public async Task<EtcdMemberStatus?> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{ClientUrl}/v3/maintenance/status")
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new StringContent("{}", Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request, cts.Token);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token);
            return ParseStatus(body);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or FormatException or ObjectDisposedException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Parses the gateway's status JSON: int64/uint64 fields are strings, fields with default values are omitted.</summary>
    internal static EtcdMemberStatus ParseStatus(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var header = root.GetProperty("header");
        return new EtcdMemberStatus(
            MemberId: UInt64Field(header, "member_id"),
            Leader: UInt64Field(root, "leader"),
            RaftTerm: UInt64Field(header, "raft_term"),
            Revision: (long)UInt64Field(header, "revision"));

        static ulong UInt64Field(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value)
                ? ulong.Parse(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText(), NumberStyles.None, CultureInfo.InvariantCulture)
                : 0;
    }

    /// <summary>SIGKILLs the etcd process (by the PID of the process object we started) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        await lifecycle.WaitAsync();
        try
        {
            await KillCoreAsync();
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>Stops etcd gracefully (SIGTERM), falling back to SIGKILL after <paramref name="timeout"/> (default 10 s).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        await lifecycle.WaitAsync();
        try
        {
            await StopCoreAsync(timeout ?? TimeSpan.FromSeconds(10));
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>
    /// Starts etcd again on the same data dir and ports (stopping it first if it still runs) and waits until healthy.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        await lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StopCoreAsync(TimeSpan.FromSeconds(10));
            var deadline = Stopwatch.StartNew();
            // The ports are part of the server's identity now: if one is briefly taken, wait for it.
            while (!await LaunchAndWaitHealthyAsync(allowPortInUse: deadline.Elapsed < options.StartTimeout, cancellationToken))
            {
                await Task.Delay(200, cancellationToken);
            }
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>The last lines etcd printed (stdout and stderr, interleaved).</summary>
    public string RecentOutput()
    {
        lock (logLock)
        {
            return string.Join('\n', recentLines);
        }
    }

    /// <summary>Kills etcd and deletes <see cref="WorkDir"/>. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await lifecycle.WaitAsync();
            try
            {
                await KillCoreAsync();
            }
            finally
            {
                lifecycle.Release();
            }
        }
        catch (Exception)
        {
            // Disposal must never throw; the ProcessExit safety net still holds this server.
        }
        lock (logLock)
        {
            log?.Dispose();
            log = null;
        }
        if (ownsHttp)
        {
            http.Dispose();
        }
        if (TryDeleteDirectory(WorkDir))
        {
            Live.TryRemove(this, out _);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"etcd {Name} pid {pid} at {ClientUrl} (dir {WorkDir})";

    internal static string ResolveBinary(string envVar, string name, string notFoundMessage)
    {
        var fromEnv = Environment.GetEnvironmentVariable(envVar);
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return File.Exists(fromEnv)
                ? fromEnv
                : throw new InvalidOperationException($"{notFoundMessage} ({envVar}={fromEnv} does not exist)");
        }
        var standard = Path.Combine("/usr/bin", name);
        if (File.Exists(standard))
        {
            return standard;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException(notFoundMessage);
    }

    /// <summary>A free loopback port, never handed out twice by this process.</summary>
    internal static int AllocatePort()
    {
        while (true)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (PortLock)
            {
                if (HandedOutPorts.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>Launches etcd and waits for health. False when etcd exited because a port was taken (and that is allowed).</summary>
    private async Task<bool> LaunchAndWaitHealthyAsync(bool allowPortInUse, CancellationToken cancellationToken)
    {
        lock (logLock)
        {
            recentLines.Clear();
        }
        var p = Launch();
        var exited = p.WaitForExitAsync(CancellationToken.None); // also drains the output pumps
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                // Race each probe against the exit: a probe of a port that someone else holds may hang until its timeout.
                using (var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var healthy = IsHealthyAsync(probe.Token);
                    if (await Task.WhenAny(healthy, exited) == healthy && await healthy)
                    {
                        return true;
                    }
                    await probe.CancelAsync();
                }
                if (exited.IsCompleted)
                {
                    await exited;
                    var output = RecentOutput();
                    if (allowPortInUse && output.Contains("address already in use", StringComparison.Ordinal))
                    {
                        return false;
                    }
                    throw new InvalidOperationException(
                        $"etcd exited early with code {p.ExitCode} ({this}). Last output:\n{output}");
                }
                if (clock.Elapsed > options.StartTimeout)
                {
                    ChildProcess.TryKill(p);
                    throw new TimeoutException(
                        $"etcd did not become healthy within {options.StartTimeout.TotalSeconds:0.#} s ({this}). Last output:\n{RecentOutput()}");
                }
                await Task.WhenAny(Task.Delay(50, cancellationToken), exited);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            ChildProcess.TryKill(p);
            throw;
        }
    }

    private Process Launch()
    {
        var psi = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] args =
        [
            "--name", Name,
            "--data-dir", DataDir,
            "--logger", "zap",
            "--listen-client-urls", ClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", options.InitialCluster ?? $"{Name}={PeerUrl}",
            "--initial-cluster-state", "new",
        ];
        var optional = new List<string>();
        if (options.InitialClusterToken is { } token)
        {
            optional.AddRange(["--initial-cluster-token", token]);
        }
        if (options.Tls is { } tls)
        {
            optional.AddRange(["--cert-file", tls.ServerCertFile, "--key-file", tls.ServerKeyFile]);
            if (options.ClientCertAuth)
            {
                optional.AddRange(["--trusted-ca-file", tls.CaCertFile, "--client-cert-auth"]);
            }
        }
        foreach (var a in args.Concat(optional).Concat(options.ExtraArgs))
        {
            psi.ArgumentList.Add(a);
        }
        ChildProcess.ApplyEnvironment(psi, null);

        WriteLog($"=== test harness: {binary} {string.Join(' ', psi.ArgumentList)} ===");
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => OnOutputLine(e.Data);
        p.ErrorDataReceived += (_, e) => OnOutputLine(e.Data);
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();

        var old = process;
        process = p;
        pid = p.Id;
        old?.Dispose();
        File.WriteAllText(Path.Combine(WorkDir, "etcd.pid"), pid.ToString(CultureInfo.InvariantCulture));
        return p;
    }

    private async Task KillCoreAsync()
    {
        var p = process;
        if (p is null)
        {
            return;
        }
        ChildProcess.TryKill(p);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await p.WaitForExitAsync(cts.Token);
    }

    private async Task StopCoreAsync(TimeSpan timeout)
    {
        var p = process;
        if (p is null || p.HasExited)
        {
            return;
        }
        if (!OperatingSystem.IsWindows() && !p.HasExited)
        {
            _ = SysKill(p.Id, SigTerm);
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await KillCoreAsync();
        }
    }

    private void OnOutputLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (logLock)
        {
            log?.WriteLine(line);
            recentLines.Enqueue(line);
            while (recentLines.Count > RecentLineCount)
            {
                recentLines.Dequeue();
            }
        }
    }

    private void WriteLog(string line)
    {
        lock (logLock)
        {
            log?.WriteLine(line);
        }
    }

    /// <summary>
    /// /dev/shm (tmpfs, faster) when it is writable and roomy, else the ordinary temp dir. Each member
    /// preallocates two 64 MB WAL files, so a small /dev/shm (Docker's default is 64 MB) would fail.
    /// </summary>
    private static string TempRoot()
    {
        const string shm = "/dev/shm";
        const long minimumFree = 2L << 30;
        try
        {
            if (Directory.Exists(shm) && new DriveInfo(shm).AvailableFreeSpace >= minimumFree)
            {
                var probe = Path.Combine(shm, $"{WorkDirPrefix}probe-{Guid.NewGuid():N}");
                Directory.CreateDirectory(probe);
                Directory.Delete(probe);
                return shm;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Not usable: fall back to the ordinary temp dir.
        }
        return Path.GetTempPath();
    }

    /// <summary>
    /// A new temp dir <c>etcd-test-{kind}{guid}</c> recording this process as its owner, so the stale-dir sweep of a
    /// later run removes it if this test host dies without cleaning up.
    /// </summary>
    internal static string CreateWorkDir(string kind = "")
    {
        var dir = Path.Combine(TempRoot(), $"{WorkDirPrefix}{kind}{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return dir;
    }

    private static PosixSignalRegistration[] RegisterSignalHandlers()
    {
        if (OperatingSystem.IsWindows())
        {
            return [];
        }
        return [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => KillAllLive()))];
    }

    /// <summary>Safety net for test runs that crashed: registered servers die with the test host.</summary>
    private static void KillAllLive()
    {
        foreach (var server in Live.Keys)
        {
            try
            {
                if (server.process is { } p)
                {
                    ChildProcess.TryKill(p);
                    p.WaitForExit(2000);
                }
                TryDeleteDirectory(server.WorkDir);
            }
            catch (Exception)
            {
                // Best effort while the process is exiting.
            }
        }
    }

    /// <summary>
    /// Second safety net, for a test host killed too hard for ProcessExit to run: work dirs left by a
    /// test host that is gone are removed, and the etcd recorded in them is killed if it is still that
    /// etcd (its command line names that dir).
    /// </summary>
    private static void SweepStaleWorkDirs()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        foreach (var root in new[] { "/dev/shm", Path.GetTempPath() }.Where(Directory.Exists).Distinct())
        {
            SweepStaleWorkDirs(root);
        }
    }

    private static void SweepStaleWorkDirs(string root)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(root, WorkDirPrefix + "*"))
            {
                var owner = ReadPid(Path.Combine(dir, "owner.pid"));
                if (owner is null || Directory.Exists($"/proc/{owner}"))
                {
                    continue;
                }
                if (ReadPid(Path.Combine(dir, "etcd.pid")) is int stale && CommandLineMentions(stale, dir))
                {
                    try
                    {
                        using var p = Process.GetProcessById(stale);
                        p.Kill();
                        p.WaitForExit(2000);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                        // Gone meanwhile.
                    }
                }
                TryDeleteDirectory(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    private static int? ReadPid(string file)
    {
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool CommandLineMentions(int processId, string text)
    {
        try
        {
            var cmdline = File.ReadAllBytes($"/proc/{processId}/cmdline");
            return Encoding.UTF8.GetString(cmdline).Contains(text, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static bool TryDeleteDirectory(string dir)
    {
        for (var i = 0; i < 3; i++)
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(50);
            }
        }
        return false;
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int processId, int signal);
}
