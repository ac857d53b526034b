using System.Diagnostics;
using System.Security.Authentication;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// <see cref="EtcdClientOptions.Tls"/> (no custom HttpHandler) against an etcd serving TLS, with and without
/// <c>--client-cert-auth</c>. Each test starts its own server.
/// </summary>
public sealed class TlsOptionsTests
{
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Custom_CA_file_connects_without_a_handler_and_bare_endpoints_default_to_https()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [$"127.0.0.1:{server.ClientPort}"],
            Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile },
        });
        Assert.Equal("https", client.Endpoints[0].Scheme);
        var key = $"t/{Guid.NewGuid():N}/ca";

        await client.PutAsync(key, "v");

        Assert.Equal("v"u8.ToArray(), await new EtcdCtl(server).GetAsync(key));
    }

    [Fact]
    public async Task Server_name_override_validates_against_that_name_and_a_wrong_name_is_a_tls_error()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        var key = $"t/{Guid.NewGuid():N}/name";
        var trusted = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(certs.CaCertificate);

        await using (var asLocalhost = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl], // https://127.0.0.1:port
            Tls = new EtcdTlsOptions { TrustedCertificates = trusted, ServerName = "localhost" },
        }))
        {
            await asLocalhost.PutAsync(key, "by-name");
        }

        await using var wrongName = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            Tls = new EtcdTlsOptions { TrustedCertificates = trusted, ServerName = "etcd.wrong.example" },
        });
        var error = await Assert.ThrowsAsync<EtcdTlsException>(() => wrongName.PutAsync(key, "never").WaitAsync(NoHang));
        Assert.False(error.IsTransient);
        Assert.Contains(Chain(error), e => e is AuthenticationException);
        Assert.Equal("by-name"u8.ToArray(), await new EtcdCtl(server).GetAsync(key));
    }

    [Fact]
    public async Task Mutual_TLS_works_with_PEM_files_and_with_an_X509Certificate2()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, ClientCertAuth = true });
        var key = $"t/{Guid.NewGuid():N}/mtls";

        await using (var fromFiles = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ClientKeyFile },
        }))
        {
            await fromFiles.PutAsync(key, "pem");
        }

        await using var fromObject = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, ClientCertificate = certs.ClientCertificate },
        });
        Assert.Equal("pem", await fromObject.GetStringAsync(key));
    }

    [Theory]
    [InlineData(null)] // TLS 1.3: the server's rejection arrives after the client's handshake completed
    [InlineData(SslProtocols.Tls12)] // TLS 1.2: the handshake itself fails
    public async Task Missing_client_certificate_is_a_quick_non_transient_tls_error_and_nothing_is_applied(SslProtocols? protocols)
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, ClientCertAuth = true });
        var key = $"t/{Guid.NewGuid():N}/anon";
        // Two endpoints, both the same server: a TLS failure may move on to the next endpoint once, never loops.
        await using var anonymous = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl, $"https://localhost:{server.ClientPort}"],
            Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, EnabledProtocols = protocols },
        });

        for (int i = 0; i < 2; i++) // the second call fails the same way, on a fresh connection attempt
        {
            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAnyAsync<EtcdException>(() => anonymous.PutAsync(key, "anonymous").WaitAsync(NoHang));
            clock.Stop();

            var tls = error as EtcdTlsException ?? throw new Xunit.Sdk.XunitException(error.ToString());
            Assert.False(tls.IsTransient);
            Assert.Equal(EtcdStatusCode.Unavailable, tls.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        }
        Assert.Null(await new EtcdCtl(server).GetAsync(key));
    }

    [Fact]
    public async Task Untrusted_CA_is_a_tls_error_within_the_connect_timeout_and_messages_hold_no_key_material()
    {
        using var certs = TestCertificates.Create();
        using var otherCa = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs });
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            ConnectTimeout = TimeSpan.FromSeconds(3),
            Tls = new EtcdTlsOptions { CaCertificateFile = otherCa.CaCertFile, ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ClientKeyFile },
        });

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<EtcdTlsException>(() => client.GetAsync("k").WaitAsync(NoHang));
        clock.Stop();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.False(error.IsTransient);
        Assert.Contains(Chain(error), e => e is AuthenticationException);
        AssertNoKeyMaterial(error.ToString(), certs);
    }

    [Fact]
    public async Task Watch_and_lease_keep_alive_streams_work_over_mutual_TLS()
    {
        using var certs = TestCertificates.Create();
        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certs, ClientCertAuth = true });
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            Tls = new EtcdTlsOptions { CaCertificateFile = certs.CaCertFile, ClientCertificateFile = certs.ClientCertFile, ClientKeyFile = certs.ClientKeyFile },
        });
        var key = $"t/{Guid.NewGuid():N}/watched";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var start = (await client.PutAsync(key, "before")).Header.Revision;
        await using var events = ((IEtcdWatch)client).WatchAsync(key, new WatchOptions { StartRevision = start + 1 }, timeout.Token).GetAsyncEnumerator(timeout.Token);
        await client.PutAsync(key, "after");
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("after", events.Current.Kv.Value.ToStringUtf8());

        await using var lease = await client.Leases.CreateAsync(TimeSpan.FromSeconds(3), cancellationToken: timeout.Token);
        var firstRenewal = lease.LastRenewal;
        while (lease.LastRenewal == firstRenewal) // the keep-alive stream renews about every second
        {
            Assert.False(lease.IsLost, lease.LostReason?.ToString());
            await Task.Delay(100, timeout.Token);
        }
        Assert.False(lease.IsLost);
    }

    internal static void AssertNoKeyMaterial(string text, TestCertificates certs)
    {
        foreach (var keyFile in new[] { certs.ClientKeyFile, certs.ServerKeyFile })
        {
            var base64 = File.ReadAllLines(keyFile).Where(l => !l.StartsWith("-----", StringComparison.Ordinal));
            Assert.All(base64, line => Assert.DoesNotContain(line, text, StringComparison.Ordinal));
        }
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
