using System.Security.Cryptography.X509Certificates;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>Shared streams against members whose TLS the client refuses: watches end typed instead of retrying forever.</summary>
public sealed class TlsStreamTests
{
    [Fact]
    public async Task A_watch_ends_with_a_tls_error_once_every_endpoint_refused_tls_and_a_new_watch_tries_again()
    {
        using var certs = TestCertificates.Create();
        using var otherCa = TestCertificates.Create();
        await using var first = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, Name = "tls-a" });
        await using var second = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, Name = "tls-b" });
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [first.ClientUrl, second.ClientUrl],
            Tls = new EtcdTlsOptions { TrustedCertificates = new X509Certificate2Collection(otherCa.CaCertificate) },
        });

        await using var watch = client.Watch.Watch(KeySet.Prefix("tls/"), _ => { });
        var ended = await Assert.ThrowsAsync<EtcdTlsException>(() => watch.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("every endpoint", ended.Message);
        Assert.False(ended.IsTransient);

        // Nothing keeps reconnecting in the background; a new watch tries again and ends the same way.
        await using var again = client.Watch.Watch(KeySet.Prefix("tls/"), _ => { });
        await Assert.ThrowsAsync<EtcdTlsException>(() => again.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task With_credentials_a_login_refused_by_tls_ends_the_watch_typed_too()
    {
        using var certs = TestCertificates.Create();
        using var otherCa = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            Tls = new EtcdTlsOptions { TrustedCertificates = new X509Certificate2Collection(otherCa.CaCertificate) },
            Credentials = new EtcdCredentials("root", "pw"),
        });

        // The stream's first step is the login, which is where TLS fails.
        await using var watch = client.Watch.Watch(KeySet.Prefix("tls/"), _ => { });
        await Assert.ThrowsAsync<EtcdTlsException>(() => watch.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
    }
}
