using System.Diagnostics;
using System.Globalization;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// A real multi-member etcd cluster on loopback: members <c>m1..mN</c>, each an <see cref="EtcdServer"/> with its own
/// client and peer ports and data dir, one shared <c>--initial-cluster</c> and a <c>--initial-cluster-token</c> unique to
/// this cluster. Members are ordinary <see cref="EtcdServer"/>s, so they are killed by PID on dispose, on process exit,
/// on unhandled exceptions and on SIGTERM/SIGINT/SIGQUIT, and swept by a later run after a hard crash.
/// </summary>
/// <remarks>
/// Raft runs with <c>--heartbeat-interval 50 --election-timeout 500</c> (etcd's defaults are 100 and 1000 ms): a follower
/// notices a dead leader and campaigns after about half a second instead of a second or more, so leader-change tests
/// finish quickly. 500 ms is still 10 heartbeats, enough slack that a busy test machine does not trigger spurious
/// elections.
/// </remarks>
public sealed class EtcdCluster : IAsyncDisposable
{
    /// <summary>Raft heartbeat interval of every member, in milliseconds.</summary>
    public const int HeartbeatIntervalMs = 50;

    /// <summary>Raft election timeout of every member, in milliseconds.</summary>
    public const int ElectionTimeoutMs = 500;

    private const int MaxStartAttempts = 3;
    private static readonly TimeSpan DefaultLeaderTimeout = TimeSpan.FromSeconds(10);

    private readonly EtcdServer[] members;
    private int disposed;

    private EtcdCluster(EtcdServer[] members, string initialCluster, string token)
    {
        this.members = members;
        InitialCluster = initialCluster;
        InitialClusterToken = token;
    }

    /// <summary>The members, <c>m1..mN</c> in order.</summary>
    public IReadOnlyList<EtcdServer> Members => members;

    /// <summary>Every member's client URL, comma-separated, for <c>new EtcdClient(urls)</c> or <see cref="EtcdCtl"/>.</summary>
    public string ClientUrls => string.Join(',', members.Select(m => m.ClientUrl));

    /// <summary>The <c>--initial-cluster</c> value shared by the members.</summary>
    public string InitialCluster { get; }

    /// <summary>The <c>--initial-cluster-token</c>, unique to this cluster.</summary>
    public string InitialClusterToken { get; }

    /// <summary>
    /// Starts <paramref name="members"/> members concurrently (each launch only waits for the previous member's peer
    /// listener, see the comment inside) and waits until every one is healthy and a leader is agreed on. <paramref name="template"/> supplies the start timeout, TLS settings and extra flags (appended after the
    /// raft timing flags, so they can override them); its name, ports and initial cluster are replaced per member. When a
    /// pre-chosen port turns out to be taken, the whole attempt is torn down and retried on new ports (3 attempts).
    /// </summary>
    public static Task<EtcdCluster> StartAsync(int members = 3, EtcdServerOptions? template = null, CancellationToken ct = default) =>
        StartCoreAsync(members, template, firstAttemptLastClientPort: null, ct);

    /// <summary>How many attempts the start took (more than 1 when a port was taken).</summary>
    internal int StartAttempts { get; private init; }

    /// <summary>
    /// <see cref="StartAsync"/> with a test hook: on the first attempt the last member gets
    /// <paramref name="firstAttemptLastClientPort"/> as its client port (to exercise the "port already taken" retry).
    /// </summary>
    internal static async Task<EtcdCluster> StartCoreAsync(int members, EtcdServerOptions? template, int? firstAttemptLastClientPort, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        template ??= new EtcdServerOptions();
        for (var attempt = 1; ; attempt++)
        {
            var token = $"etcd-test-{Guid.NewGuid():N}";
            var ports = Enumerable.Range(0, members).Select(_ => (Client: EtcdServer.AllocatePort(), Peer: EtcdServer.AllocatePort())).ToArray();
            if (attempt == 1 && firstAttemptLastClientPort is int taken)
            {
                ports[^1].Client = taken;
            }
            var initialCluster = string.Join(',', ports.Select((p, i) => $"{MemberName(i)}=http://127.0.0.1:{p.Peer}"));
            var memberOptions = ports.Select((p, i) => template with
            {
                BeforeFirstLaunch = i == 0 ? null : gate => EtcdServer.WaitForPeerListenerAsync(ports[i - 1].Peer, template.StartTimeout, gate),
                Name = MemberName(i),
                ClientPort = p.Client,
                PeerPort = p.Peer,
                InitialCluster = initialCluster,
                InitialClusterToken = token,
                ExtraArgs =
                [
                    "--heartbeat-interval", HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture),
                    "--election-timeout", ElectionTimeoutMs.ToString(CultureInfo.InvariantCulture),
                    .. template.ExtraArgs,
                ],
            }).ToArray();

            // The members start concurrently (each waits for health, i.e. for a quorum, on its own), but each launch waits for
            // the previous member to serve peer traffic (some 50-100 ms). A new member first asks every other member's peer
            // URL whether it was bootstrapped already, with a 1 s timeout per peer; a peer whose listener is bound but not yet
            // served (because it is doing the same check) makes that wait the full second. Launched all at once, a 3-member
            // cluster took 0.2 s or 2.2 s at random; chained, each member finds the earlier ones serving and the later ones
            // not listening (refused at once).
            // A member that fails cancels the others' start: without a quorum they would wait out the whole start timeout.
            using var failFast = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var starts = memberOptions.Select(o => StartMemberAsync(o, failFast)).ToArray();
            try
            {
                await Task.WhenAll(starts);
            }
            catch
            {
                // Failed starts disposed their own server; dispose the ones that did start.
                await Task.WhenAll(starts.Where(s => s.IsCompletedSuccessfully).Select(s => s.Result.DisposeAsync().AsTask()));
                ct.ThrowIfCancellationRequested();
                var errors = starts.Where(s => s.IsFaulted).Select(s => s.Exception!.InnerException!).ToList();
                var rootCause = errors.FirstOrDefault(e => e is not OperationCanceledException) ?? errors.FirstOrDefault();
                if (rootCause is EtcdPortInUseException && attempt < MaxStartAttempts)
                {
                    continue;
                }
                if (rootCause is null)
                {
                    throw;
                }
                throw new InvalidOperationException($"The {members}-member etcd cluster did not start (attempt {attempt}): {rootCause.Message}", rootCause);
            }

            var cluster = new EtcdCluster([.. starts.Select(s => s.Result)], initialCluster, token) { StartAttempts = attempt };
            try
            {
                await cluster.FindLeaderAsync(template.StartTimeout, ct);
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// The current leader: a running member that reports itself as leader and that a majority of the cluster's members
    /// (counting only members that answer) also report as leader. Polls until <paramref name="timeout"/> (default 10 s),
    /// then throws <see cref="TimeoutException"/> with what each member said.
    /// </summary>
    public async Task<EtcdServer> FindLeaderAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultLeaderTimeout;
        var clock = Stopwatch.StartNew();
        var quorum = members.Length / 2 + 1;
        while (true)
        {
            var live = members.Where(m => m.IsRunning).ToArray();
            var statuses = await Task.WhenAll(live.Select(m => m.GetStatusAsync(cancellationToken)));
            for (var i = 0; i < live.Length; i++)
            {
                if (statuses[i] is { IsLeader: true } leader && statuses.Count(s => s?.Leader == leader.MemberId) >= quorum)
                {
                    return live[i];
                }
            }
            if (clock.Elapsed > limit)
            {
                var report = string.Join("; ", members.Select(m =>
                {
                    var index = Array.IndexOf(live, m);
                    return index < 0 ? $"{m.Name}: not running" : $"{m.Name}: {statuses[index]?.ToString() ?? "no answer"}";
                }));
                throw new TimeoutException($"No leader agreed on by {quorum} members within {limit.TotalSeconds:0.#} s: {report}");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>SIGKILLs the current leader (found with <see cref="FindLeaderAsync"/>) and returns it, for a later <see cref="EtcdServer.RestartAsync"/>.</summary>
    public async Task<EtcdServer> KillLeaderAsync(CancellationToken cancellationToken = default)
    {
        var leader = await FindLeaderAsync(cancellationToken: cancellationToken);
        await leader.KillAsync();
        return leader;
    }

    /// <summary>Kills every member by PID and deletes their dirs. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        // EtcdServer.DisposeAsync never throws; each member stays in the process-exit safety net until its dir is gone.
        await Task.WhenAll(members.Select(m => m.DisposeAsync().AsTask()));
    }

    /// <inheritdoc/>
    public override string ToString() => $"etcd cluster {InitialClusterToken}: {string.Join(", ", members.Select(m => m.ToString()))}";

    private static string MemberName(int index) => $"m{index + 1}";

    private static async Task<EtcdServer> StartMemberAsync(EtcdServerOptions options, CancellationTokenSource failFast)
    {
        try
        {
            return await EtcdServer.StartAsync(options, failFast.Token);
        }
        catch
        {
            await failFast.CancelAsync();
            throw;
        }
    }
}
