namespace Etcd.Tests.Infrastructure;

/// <summary>
/// Base of integration test classes that share one etcd per class (<c>IClassFixture&lt;EtcdFixture&gt;</c>): a client per
/// test and a key prefix of the test's own.
/// </summary>
public abstract class ClientTestBase(EtcdFixture etcd) : IAsyncLifetime
{
    /// <summary>The class's etcd server and etcdctl.</summary>
    protected EtcdFixture Etcd { get; } = etcd;

    /// <summary>A client connected to <see cref="Etcd"/>, new for each test.</summary>
    protected EtcdClient Client { get; private set; } = null!;

    /// <summary>A key prefix no other test uses.</summary>
    protected string P { get; } = etcd.UniquePrefix();

    public Task InitializeAsync()
    {
        Client = new EtcdClient(Etcd.ClientUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Client.DisposeAsync();
}
