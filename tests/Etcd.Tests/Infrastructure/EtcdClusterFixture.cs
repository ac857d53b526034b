namespace Etcd.Tests.Infrastructure;

/// <summary>
/// xunit class fixture: one real etcd cluster (3 members by default) for all tests of a class
/// (<c>IClassFixture&lt;EtcdClusterFixture&gt;</c>). Tests share the cluster, so each should work under its own
/// <see cref="UniquePrefix"/>, and a test that kills a member should restart it (or use a cluster of its own).
/// Derive from it and override <see cref="MemberCount"/> or <see cref="Template"/> for another shape.
/// </summary>
public class EtcdClusterFixture : IAsyncLifetime
{
    private EtcdCluster? cluster;
    private EtcdCtl? ctl;

    /// <summary>The running cluster (available once xunit has initialized the fixture).</summary>
    public EtcdCluster Cluster => cluster ?? throw new InvalidOperationException("The etcd cluster fixture is not initialized.");

    /// <summary>Every member's client URL, comma-separated.</summary>
    public string ClientUrls => Cluster.ClientUrls;

    /// <summary>etcdctl bound to every member.</summary>
    public EtcdCtl Ctl => ctl ?? throw new InvalidOperationException("The etcd cluster fixture is not initialized.");

    /// <summary>How many members to start.</summary>
    protected virtual int MemberCount => 3;

    /// <summary>Options shared by every member (see <see cref="EtcdCluster.StartAsync"/>); null for the defaults.</summary>
    protected virtual EtcdServerOptions? Template => null;

    /// <summary>A fresh key prefix, <c>t/{guid}/</c>, so tests sharing the cluster do not collide.</summary>
    public string UniquePrefix() => $"t/{Guid.NewGuid():N}/";

    /// <summary>Starts the cluster.</summary>
    public async Task InitializeAsync()
    {
        var template = Template;
        cluster = await EtcdCluster.StartAsync(MemberCount, template);
        ctl = new EtcdCtl(cluster.ClientUrls, template?.Tls, template is { Tls: not null, ClientCertAuth: true });
    }

    /// <summary>Kills every member and removes their temp dirs. Never throws.</summary>
    public async Task DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }
}
