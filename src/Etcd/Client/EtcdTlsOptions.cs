using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Etcd;

/// <summary>
/// TLS settings of an <see cref="EtcdClient"/> (<see cref="EtcdClientOptions.Tls"/>): which CA to trust, the name the
/// server certificate must carry, and the client certificate for etcd's <c>--client-cert-auth</c>. Validated (files read
/// and parsed) when the client is created. Without a CA the system trust store is used.
/// </summary>
public sealed class EtcdTlsOptions
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    /// <summary>A PEM file with the CA certificate(s) to trust instead of the system store (etcdctl's <c>--cacert</c>).</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>CA certificates to trust instead of the system store; the alternative to <see cref="CaCertificateFile"/>.</summary>
    public X509Certificate2Collection? TrustedCertificates { get; init; }

    /// <summary>
    /// The name the server certificate is checked against and sent as SNI, instead of the endpoint's host (for example
    /// connect to <c>https://10.0.0.5:2379</c> but expect <c>etcd.internal</c>).
    /// </summary>
    public string? ServerName { get; init; }

    /// <summary>A client certificate with its private key, for servers started with <c>--client-cert-auth</c>.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>A PEM file with the client certificate (etcdctl's <c>--cert</c>); needs <see cref="ClientKeyFile"/>.</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>A PEM file with the client's unencrypted private key, PKCS#8, PKCS#1 or SEC1 (etcdctl's <c>--key</c>).</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>
    /// Accept any server certificate. Discouraged: anyone on the path can impersonate etcd. Only for tests; cannot be
    /// combined with a CA.
    /// </summary>
    public bool InsecureSkipVerify { get; init; }

    /// <summary>The TLS versions allowed; null leaves the choice to the operating system.</summary>
    public SslProtocols? EnabledProtocols { get; init; }

    /// <summary>Checks the settings and loads the files; the messages name files, never their content.</summary>
    internal SslClientAuthenticationOptions CreateSslOptions()
    {
        if (CaCertificateFile is not null && TrustedCertificates is not null)
            throw new ArgumentException("Set either CaCertificateFile or TrustedCertificates, not both.", nameof(EtcdClientOptions.Tls));
        if (InsecureSkipVerify && (CaCertificateFile is not null || TrustedCertificates is not null))
            throw new ArgumentException("InsecureSkipVerify cannot be combined with a CA (CaCertificateFile or TrustedCertificates): it would ignore it.", nameof(EtcdClientOptions.Tls));
        if (ServerName is not null && (string.IsNullOrWhiteSpace(ServerName) || Uri.CheckHostName(ServerName) == UriHostNameType.Unknown))
            throw new ArgumentException($"ServerName '{ServerName}' is not a valid host name.", nameof(EtcdClientOptions.Tls));
        if (ClientCertificate is not null && (ClientCertificateFile is not null || ClientKeyFile is not null))
            throw new ArgumentException("Set either ClientCertificate or ClientCertificateFile and ClientKeyFile, not both.", nameof(EtcdClientOptions.Tls));
        if ((ClientCertificateFile is null) != (ClientKeyFile is null))
            throw new ArgumentException("ClientCertificateFile and ClientKeyFile must be set together.", nameof(EtcdClientOptions.Tls));
        if (ClientCertificate is not null && !ClientCertificate.HasPrivateKey)
            throw new ArgumentException("ClientCertificate has no private key; the server could not verify it.", nameof(EtcdClientOptions.Tls));
        if (TrustedCertificates is { Count: 0 })
            throw new ArgumentException("TrustedCertificates is empty.", nameof(EtcdClientOptions.Tls));

        var roots = TrustedCertificates ?? (CaCertificateFile is null ? null : LoadCaFile(CaCertificateFile));
        var client = ClientCertificate ?? (ClientCertificateFile is null ? null : LoadClientPair(ClientCertificateFile, ClientKeyFile!));

        var ssl = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = CreateValidator(roots, ServerName, InsecureSkipVerify),
        };
        if (EnabledProtocols is { } protocols) ssl.EnabledSslProtocols = protocols;
        if (client is not null) ssl.ClientCertificates = [client];
        return ssl;
    }

    private static RemoteCertificateValidationCallback CreateValidator(X509Certificate2Collection? roots, string? serverName, bool insecure)
    {
        if (insecure) return static (_, _, _, _) => true;
        return (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
#if NET9_0_OR_GREATER
            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
#else
            var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate.GetRawCertData());
#endif
            // The platform checked the name against the connection's TLS host name, which is ServerName when set (the
            // channel sends it as the Host); checking again here keeps the override independent of that.
            bool nameOk = serverName is null
                ? (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                : leaf.MatchesHostname(serverName);
            if (!nameOk) return false;
            if (roots is null) return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;

            // A private CA: the platform's chain errors (unknown root) are expected; build the chain against these roots only.
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(s_serverAuth);
            return chain.Build(leaf);
        };
    }

    private static X509Certificate2Collection LoadCaFile(string path)
    {
        RequireFile(path, nameof(CaCertificateFile));
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (CryptographicException)
        {
            // The inner exception is left out on purpose: messages about PEM parsing may quote the file.
            throw new ArgumentException($"CaCertificateFile '{path}' is not a valid PEM certificate file.", nameof(EtcdClientOptions.Tls));
        }
        if (roots.Count == 0)
            throw new ArgumentException($"CaCertificateFile '{path}' contains no PEM certificate.", nameof(EtcdClientOptions.Tls));
        return roots;
    }

    private static X509Certificate2 LoadClientPair(string certificateFile, string keyFile)
    {
        RequireFile(certificateFile, nameof(ClientCertificateFile));
        RequireFile(keyFile, nameof(ClientKeyFile));
        try
        {
            return X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new ArgumentException(
                $"ClientCertificateFile '{certificateFile}' and ClientKeyFile '{keyFile}' are not a PEM certificate and its matching unencrypted private key.",
                nameof(EtcdClientOptions.Tls));
        }
    }

    private static void RequireFile(string path, string property)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ArgumentException($"{property} must not be empty.", nameof(EtcdClientOptions.Tls));
        if (!File.Exists(path))
            throw new ArgumentException($"{property} '{path}' does not exist.", nameof(EtcdClientOptions.Tls));
    }
}
