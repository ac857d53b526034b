using System.Globalization;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// Starts the etcd process of a member that was just added to a running <see cref="EtcdCluster"/> (with the Cluster
/// API or <c>etcdctl member add</c>): <c>--initial-cluster-state existing</c>, its own ports and data dir, the cluster's
/// raft timings. It is an ordinary <see cref="EtcdServer"/>, so it is killed by PID when disposed.
/// </summary>
public static class EtcdMemberJoiner
{
    /// <summary>Pre-chosen ports for a member about to be added; pass <see cref="JoinPorts.PeerUrl"/> to the member add.</summary>
    public sealed record JoinPorts(int ClientPort, int PeerPort)
    {
        /// <summary>The peer URL the new member will listen on.</summary>
        public string PeerUrl => $"http://127.0.0.1:{PeerPort}";

        /// <summary>The client URL the new member will serve on.</summary>
        public string ClientUrl => $"http://127.0.0.1:{ClientPort}";
    }

    /// <summary>Two free loopback ports for a new member.</summary>
    public static JoinPorts AllocatePorts() => new(EtcdServer.AllocatePort(), EtcdServer.AllocatePort());

    /// <summary>
    /// Starts member <paramref name="name"/> on <paramref name="ports"/>, joining <paramref name="cluster"/>, whose members
    /// in <paramref name="existingMembers"/> (name and peer URL; default: the cluster's original members) form the rest of
    /// <c>--initial-cluster</c>. Returns once its <c>/health</c> answers true (it has a leader and serves reads).
    /// </summary>
    public static Task<EtcdServer> StartAsync(
        EtcdCluster cluster, string name, JoinPorts ports, IEnumerable<(string Name, string PeerUrl)>? existingMembers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var others = existingMembers ?? cluster.Members.Select(m => (m.Name, m.PeerUrl));
        var initialCluster = string.Join(',', others.Select(m => $"{m.Name}={m.PeerUrl}").Append($"{name}={ports.PeerUrl}"));
        return EtcdServer.StartAsync(
            new EtcdServerOptions
            {
                Name = name,
                ClientPort = ports.ClientPort,
                PeerPort = ports.PeerPort,
                InitialCluster = initialCluster,
                InitialClusterToken = cluster.InitialClusterToken,
                StartTimeout = TimeSpan.FromSeconds(30),
                // EtcdServer passes "--initial-cluster-state new"; etcd's flag parsing keeps the last value given.
                ExtraArgs =
                [
                    "--heartbeat-interval", EtcdCluster.HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture),
                    "--election-timeout", EtcdCluster.ElectionTimeoutMs.ToString(CultureInfo.InvariantCulture),
                    "--initial-cluster-state", "existing",
                ],
            },
            cancellationToken);
    }
}
