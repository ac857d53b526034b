namespace Etcd.Tests.Infrastructure;

/// <summary>
/// xunit class fixture: one real etcd member for all tests of a class (<c>IClassFixture&lt;EtcdFixture&gt;</c>).
/// Tests share the server, so each should work under its own <see cref="UniquePrefix"/>.
/// Derive from it and override <see cref="Options"/> for a server with other flags.
/// </summary>
public class EtcdFixture : IAsyncLifetime
{
    private EtcdServer? server;
    private EtcdCtl? ctl;

    /// <summary>The running server (available once xunit has initialized the fixture).</summary>
    public EtcdServer Server => server ?? throw new InvalidOperationException("The etcd fixture is not initialized.");

    /// <summary>The server's client URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public string ClientUrl => Server.ClientUrl;

    /// <summary>etcdctl bound to the server.</summary>
    public EtcdCtl Ctl => ctl ?? throw new InvalidOperationException("The etcd fixture is not initialized.");

    /// <summary>How the server is started; override to add flags such as <c>--max-request-bytes</c>.</summary>
    protected virtual EtcdServerOptions Options => new();

    /// <summary>A fresh key prefix, <c>t/{guid}/</c>, so tests sharing the server do not collide.</summary>
    public string UniquePrefix() => $"t/{Guid.NewGuid():N}/";

    /// <summary>Starts the server.</summary>
    public async Task InitializeAsync()
    {
        server = await EtcdServer.StartAsync(Options);
        ctl = new EtcdCtl(server);
    }

    /// <summary>Kills the server and removes its temp dir. Never throws.</summary>
    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
