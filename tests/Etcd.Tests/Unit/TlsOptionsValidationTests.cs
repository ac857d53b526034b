using System.Security.Cryptography.X509Certificates;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Unit;

/// <summary><see cref="EtcdTlsOptions"/> is checked when the client is created; messages name files, never their content.</summary>
public sealed class TlsOptionsValidationTests : IDisposable
{
    private readonly TestCertificates certs = TestCertificates.Create();

    public void Dispose() => certs.Dispose();

    private static ArgumentException Rejects(EtcdTlsOptions tls, string endpoint = "https://127.0.0.1:2379", HttpMessageHandler? handler = null) =>
        Assert.ThrowsAny<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint], Tls = tls, HttpHandler = handler }));

    [Fact]
    public void Valid_settings_create_a_client()
    {
        using var a = new EtcdClient(new EtcdClientOptions { Endpoints = ["https://127.0.0.1:2379"], Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ClientKeyFile } });
        using var b = new EtcdClient(new EtcdClientOptions { Endpoints = ["127.0.0.1:2379"], Tls = new EtcdTlsOptions { TrustedCertificates = [certs.CaCertificate], ClientCertificate = certs.ClientCertificate, ServerName = "localhost" } });
        using var c = new EtcdClient(new EtcdClientOptions { Endpoints = ["127.0.0.1:2379"], Tls = new EtcdTlsOptions() }); // system trust store
        Assert.Equal("https", b.Endpoints[0].Scheme);
        Assert.Equal("https", c.Endpoints[0].Scheme);
    }

    [Fact]
    public void Conflicting_or_incomplete_settings_are_rejected()
    {
        using var handler = new SocketsHttpHandler();
        Assert.Contains("HttpHandler", Rejects(new EtcdTlsOptions(), handler: handler).Message);
        Assert.Contains("http://", Rejects(new EtcdTlsOptions(), endpoint: "http://127.0.0.1:2379").Message);
        Assert.Contains("not both", Rejects(new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, TrustedCertificates = [certs.CaCertificate] }).Message);
        Assert.Contains("InsecureSkipVerify", Rejects(new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, InsecureSkipVerify = true }).Message);
        Assert.Contains("together", Rejects(new EtcdTlsOptions { ClientCertificateFile = certs.ClientCertFile }).Message);
        Assert.Contains("together", Rejects(new EtcdTlsOptions { ClientKeyFile = certs.ClientKeyFile }).Message);
        Assert.Contains("not both", Rejects(new EtcdTlsOptions { ClientCertificate = certs.ClientCertificate, ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ClientKeyFile }).Message);
        Assert.Contains("private key", Rejects(new EtcdTlsOptions { ClientCertificate = certs.CaCertificate }).Message);
        Assert.Contains("empty", Rejects(new EtcdTlsOptions { TrustedCertificates = [] }).Message);
        Assert.Contains("ServerName", Rejects(new EtcdTlsOptions { ServerName = "not a host" }).Message);
    }

    [Fact]
    public void Missing_or_wrong_files_are_rejected_naming_the_file_but_not_its_content()
    {
        var missing = Path.Combine(certs.Directory, "nope.pem");
        Assert.Contains(missing, Rejects(new EtcdTlsOptions { CaCertificateFile = missing }).Message);
        Assert.Contains(missing, Rejects(new EtcdTlsOptions { ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = missing }).Message);

        // A key file where the CA should be: no certificate in it.
        var keyAsCa = Rejects(new EtcdTlsOptions { CaCertificateFile = certs.ClientKeyFile });
        Assert.Contains(certs.ClientKeyFile, keyAsCa.Message);
        // A key that does not belong to the certificate, and the files swapped.
        var mismatched = Rejects(new EtcdTlsOptions { ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ServerKeyFile });
        var swapped = Rejects(new EtcdTlsOptions { ClientCertificateFile = certs.ClientKeyFile, ClientKeyFile = certs.ClientCertFile });
        foreach (var error in new[] { keyAsCa, mismatched, swapped })
        {
            Assert.Null(error.InnerException);
            Integration.TlsOptionsTests.AssertNoKeyMaterial(error.ToString(), certs);
        }
    }
}
