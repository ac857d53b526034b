using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Etcd.Tests.Infrastructure;

/// <summary>
/// A throw-away PKI for TLS tests, made with .NET's <see cref="CertificateRequest"/> only (no openssl): a private CA, a
/// server certificate for <c>127.0.0.1</c>/<c>localhost</c> (SAN IP and DNS, EKU serverAuth, plus clientAuth: see
/// <see cref="ServerCertificate"/>) and a client certificate (EKU clientAuth), both signed by the CA. ECDSA P-256 keys (fast to generate; etcd, etcdctl and .NET all accept them).
/// The PEM files (certificate, and the key as PKCS#8 <c>PRIVATE KEY</c>) live in a temp dir that <see cref="Dispose"/> deletes
/// (a dir left by a crashed test host is removed by the next run's stale-dir sweep, as for <see cref="EtcdServer"/>).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private int disposed;

    private TestCertificates(string directory, X509Certificate2 ca, X509Certificate2 server, X509Certificate2 client)
    {
        Directory = directory;
        CaCertificate = ca;
        ServerCertificate = server;
        ClientCertificate = client;
        CaCertFile = Path.Combine(directory, "ca.pem");
        ServerCertFile = Path.Combine(directory, "server.pem");
        ServerKeyFile = Path.Combine(directory, "server-key.pem");
        ClientCertFile = Path.Combine(directory, "client.pem");
        ClientKeyFile = Path.Combine(directory, "client-key.pem");
    }

    /// <summary>The temp directory holding the PEM files; deleted by <see cref="Dispose"/>.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate (public part only; its key is discarded after signing).</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>
    /// The server certificate (CN=127.0.0.1, SAN IP:127.0.0.1 and DNS:localhost), with its private key. Its EKU is serverAuth
    /// and also clientAuth: etcd 3.4's JSON gateway (<c>/v3/...</c> over HTTP/1.1) connects to etcd's own gRPC port presenting
    /// <c>--cert-file</c> as a client certificate, and with <c>--client-cert-auth</c> etcd rejects it ("certificate specifies an
    /// incompatible key usage") unless it allows client authentication too.
    /// </summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The client certificate (CN=etcd-test-client, EKU clientAuth), with its private key, for <c>SslOptions.ClientCertificates</c>.</summary>
    public X509Certificate2 ClientCertificate { get; }

    /// <summary>PEM of the CA certificate (etcd's <c>--trusted-ca-file</c>, etcdctl's <c>--cacert</c>).</summary>
    public string CaCertFile { get; }

    /// <summary>PEM of the server certificate (etcd's <c>--cert-file</c>).</summary>
    public string ServerCertFile { get; }

    /// <summary>PKCS#8 PEM of the server key (etcd's <c>--key-file</c>).</summary>
    public string ServerKeyFile { get; }

    /// <summary>PEM of the client certificate (etcdctl's <c>--cert</c>).</summary>
    public string ClientCertFile { get; }

    /// <summary>PKCS#8 PEM of the client key (etcdctl's <c>--key</c>).</summary>
    public string ClientKeyFile { get; }

    /// <summary>Generates a fresh CA, server and client certificate, valid from an hour ago for one day, and writes the PEM files.</summary>
    public static TestCertificates Create()
    {
        var now = DateTimeOffset.UtcNow;
        var notBefore = now.AddHours(-1); // tolerate clock skew between "now" here and the TLS peer
        var notAfter = now.AddDays(1);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=etcd-test-ca, O=Etcd for .NET tests", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var caWithKey = caRequest.CreateSelfSigned(notBefore, notAfter.AddHours(1));

        var sans = new SubjectAlternativeNameBuilder();
        sans.AddIpAddress(IPAddress.Loopback);
        sans.AddDnsName("localhost");
        var (server, serverKeyPem) = Issue(caWithKey, "CN=127.0.0.1", [ServerAuth, ClientAuth], sans.Build(critical: false), notBefore, notAfter);
        var (client, clientKeyPem) = Issue(caWithKey, "CN=etcd-test-client", [ClientAuth], null, notBefore, notAfter);
        var ca = X509CertificateLoader.LoadCertificate(caWithKey.RawData);

        var directory = EtcdServer.CreateWorkDir("certs-");
        var result = new TestCertificates(directory, ca, server, client);
        try
        {
            File.WriteAllText(result.CaCertFile, ca.ExportCertificatePem() + "\n");
            File.WriteAllText(result.ServerCertFile, server.ExportCertificatePem() + "\n");
            File.WriteAllText(result.ServerKeyFile, serverKeyPem);
            File.WriteAllText(result.ClientCertFile, client.ExportCertificatePem() + "\n");
            File.WriteAllText(result.ClientKeyFile, clientKeyPem);
        }
        catch
        {
            result.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Server-certificate check that trusts this CA only: the chain is built with <see cref="X509ChainTrustMode.CustomRootTrust"/>
    /// and <see cref="CaCertificate"/> as the one trust root, and any error other than the (expected) "untrusted root"
    /// chain error reported by the platform, such as a name mismatch, rejects the certificate.
    /// </summary>
    public bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>
    /// A handler for <see cref="EtcdClientOptions.HttpHandler"/> or an <see cref="HttpClient"/> that trusts this CA only
    /// (<see cref="ValidateServerCertificate"/>) and, when <paramref name="presentClientCertificate"/>, presents
    /// <see cref="ClientCertificate"/>. The caller owns (and disposes) it.
    /// </summary>
    public SocketsHttpHandler CreateHttpHandler(bool presentClientCertificate = false, TimeSpan? connectTimeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5),
            UseProxy = false,
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => ValidateServerCertificate(certificate, errors),
            },
        };
        if (presentClientCertificate)
        {
            handler.SslOptions.ClientCertificates = [ClientCertificate];
        }
        return handler;
    }

    /// <summary>Deletes the PEM files and their directory and releases the certificates. Never throws.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        EtcdServer.TryDeleteDirectory(Directory);
        CaCertificate.Dispose();
        ServerCertificate.Dispose();
        ClientCertificate.Dispose();
    }

    private static (X509Certificate2 Certificate, string KeyPem) Issue(
        X509Certificate2 ca, string subject, Oid[] usages, X509Extension? subjectAlternativeNames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        // Not disposed here: the certificate returned by CopyWithPrivateKey keeps using this key.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (subjectAlternativeNames is not null)
        {
            request.CertificateExtensions.Add(subjectAlternativeNames);
        }
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // a positive serial number
        using var issued = request.Create(ca, notBefore, notAfter, serial);
        var withKey = issued.CopyWithPrivateKey(key);
        return (withKey, key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
