using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// The client against an etcd that serves clients over TLS (certificates from <see cref="TestCertificates"/>), with and
/// without <c>--client-cert-auth</c>. TLS is configured the way an application would: a SocketsHttpHandler passed as
/// <see cref="EtcdClientOptions.HttpHandler"/>. Each test starts its own server (about 0.3 s).
/// </summary>
public sealed class TlsTests
{
    /// <summary>A failure must surface well before this (a hang fails the test instead of blocking the run).</summary>
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Client_that_trusts_the_test_CA_round_trips_over_https_and_etcdctl_reads_it()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        Assert.Equal($"https://127.0.0.1:{server.ClientPort}", server.ClientUrl);
        Assert.True(await server.IsHealthyAsync());
        using var handler = TrustingOnly(certs.CaCertificate);
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], HttpHandler = handler });
        var key = $"t/{Guid.NewGuid():N}/tls";

        var put = await client.PutAsync(key, "over-tls");
        var read = await client.GetAsync(key);

        Assert.Equal("over-tls", read.First?.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, read.First?.ModRevision);
        Assert.Equal("over-tls"u8.ToArray(), await new EtcdCtl(server).GetAsync(key));

        // The SAN's DNS name is accepted too, and the other direction works: etcdctl writes, we read.
        await new EtcdCtl(server).PutAsync(key, "from-etcdctl");
        await using var byName = new EtcdClient(new EtcdClientOptions { Endpoints = [$"https://localhost:{server.ClientPort}"], HttpHandler = handler });
        Assert.Equal("from-etcdctl", await byName.GetStringAsync(key));
    }

    [Fact]
    public async Task With_client_cert_auth_the_client_certificate_is_required()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, ClientCertAuth = true });
        var key = $"t/{Guid.NewGuid():N}/mtls";

        using (var withCertificate = TrustingOnly(certs.CaCertificate, certs.ClientCertificate))
        await using (var client = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], HttpHandler = withCertificate }))
        {
            await client.PutAsync(key, "authenticated");
            Assert.Equal("authenticated", await client.GetStringAsync(key));
        }
        Assert.Equal("authenticated"u8.ToArray(), await new EtcdCtl(server).GetAsync(key)); // etcdctl with --cert --key
        Assert.True(await server.IsHealthyAsync()); // the harness presents the client certificate too
        Assert.NotNull(await server.GetStatusAsync()); // the JSON gateway reaches etcd's gRPC side (server cert allows clientAuth)

        using var withoutCertificate = TrustingOnly(certs.CaCertificate);
        await using var anonymous = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], HttpHandler = withoutCertificate });
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<EtcdException>(() => anonymous.PutAsync(key, "anonymous").WaitAsync(NoHang));
        clock.Stop();

        // TLS 1.3: the client's handshake completes before the server checks the (missing) certificate, so the server's
        // rejection breaks the connection before HTTP/2 is established: a TLS failure, not a transient one.
        var tls = Assert.IsType<EtcdTlsException>(error);
        Assert.Equal(EtcdStatusCode.Unavailable, tls.StatusCode);
        Assert.False(tls.IsTransient);
        Assert.Contains(Chain(error), e => e is IOException);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal("authenticated"u8.ToArray(), await new EtcdCtl(server).GetAsync(key)); // the anonymous put was not applied
    }

    [Fact]
    public async Task Client_that_does_not_trust_the_CA_fails_to_connect_and_sends_nothing()
    {
        using var certs = TestCertificates.Create();
        using var otherCa = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        var key = $"t/{Guid.NewGuid():N}/untrusted";

        // The system trust store (default handler) does not know the test CA; a handler that trusts another CA does not either.
        using var trustsOther = TrustingOnly(otherCa.CaCertificate);
        await using var systemTrust = new EtcdClient(server.ClientUrl);
        await using var otherTrust = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], HttpHandler = trustsOther });
        foreach (var client in new[] { systemTrust, otherTrust })
        {
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAnyAsync<EtcdException>(() => client.PutAsync(key, "never").WaitAsync(NoHang));
            clock.Stop();

            var tls = Assert.IsType<EtcdTlsException>(error);
            Assert.Equal(EtcdStatusCode.Unavailable, tls.StatusCode);
            Assert.False(tls.IsTransient);
            Assert.Contains(Chain(error), e => e is AuthenticationException);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        }
        Assert.Null(await new EtcdCtl(server).GetAsync(key));
    }

    [Fact]
    public void Test_certificates_are_what_they_claim_and_their_files_are_removed()
    {
        var certs = TestCertificates.Create();
        string[] files = [certs.CaCertFile, certs.ServerCertFile, certs.ServerKeyFile, certs.ClientCertFile, certs.ClientKeyFile];
        try
        {
            Assert.All(files, f => Assert.StartsWith(certs.Directory, f, StringComparison.Ordinal));
            Assert.All(files, f => Assert.True(File.Exists(f), f));
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(certs.ServerKeyFile), StringComparison.Ordinal); // PKCS#8
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(certs.ClientKeyFile), StringComparison.Ordinal);
            Assert.Equal(certs.ServerCertificate.RawData, X509Certificate2.CreateFromPemFile(certs.ServerCertFile, certs.ServerKeyFile).RawData);
            Assert.False(certs.CaCertificate.HasPrivateKey);
            Assert.True(certs.ServerCertificate.HasPrivateKey);
            Assert.True(certs.ClientCertificate.HasPrivateKey);
            Assert.True(certs.CaCertificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

            var serverSan = certs.ServerCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.Equal([System.Net.IPAddress.Loopback], serverSan.EnumerateIPAddresses());
            Assert.Equal(["localhost"], serverSan.EnumerateDnsNames());
            Assert.Contains("1.3.6.1.5.5.7.3.1", Usages(certs.ServerCertificate)); // serverAuth
            Assert.Equal(new[] { "1.3.6.1.5.5.7.3.2" }, Usages(certs.ClientCertificate)); // clientAuth only
            Assert.Equal(certs.CaCertificate.SubjectName.RawData, certs.ServerCertificate.IssuerName.RawData);
            Assert.Equal(certs.CaCertificate.SubjectName.RawData, certs.ClientCertificate.IssuerName.RawData);

            Assert.True(certs.ValidateServerCertificate(certs.ServerCertificate, SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.False(certs.ValidateServerCertificate(certs.ServerCertificate, SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.False(certs.ValidateServerCertificate(certs.ClientCertificate, SslPolicyErrors.None)); // not for servers
            using var other = TestCertificates.Create();
            Assert.False(other.ValidateServerCertificate(certs.ServerCertificate, SslPolicyErrors.RemoteCertificateChainErrors));
        }
        finally
        {
            certs.Dispose();
        }
        certs.Dispose(); // idempotent
        Assert.False(Directory.Exists(certs.Directory));

        static string[] Usages(X509Certificate2 certificate) =>
            [.. certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value!)];
    }

    /// <summary>
    /// What an application does to trust a private CA: build the chain with the CA as the only custom trust root
    /// (<see cref="X509ChainTrustMode.CustomRootTrust"/>); the platform's "untrusted root" chain error is expected and
    /// replaced by that check, any other error (name mismatch, no certificate) rejects.
    /// </summary>
    private static SocketsHttpHandler TrustingOnly(X509Certificate2 ca, X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is not X509Certificate2 leaf || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                    {
                        return false;
                    }
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(leaf);
                },
            },
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        return handler;
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
