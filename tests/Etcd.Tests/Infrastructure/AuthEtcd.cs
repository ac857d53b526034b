using System.Security.Cryptography;

namespace Etcd.Tests.Infrastructure;

/// <summary>The token kind an <see cref="AuthEtcd"/> issues.</summary>
public enum AuthTokenKind
{
    /// <summary>etcd's simple tokens (<c>--auth-token simple --auth-token-ttl N</c>): expire after N s without use.</summary>
    Simple,

    /// <summary>JWT tokens signed with a test RSA key (<c>--auth-token jwt,...,ttl=N</c>): expire N s after issue, used or not.</summary>
    Jwt,
}

/// <summary>
/// A single etcd member of its own with authentication enabled: the <c>root</c> user (password <see cref="RootPassword"/>,
/// role <c>root</c>) exists and auth is on. Tokens have a short TTL so tests can see them expire. bcrypt cost 4 keeps
/// Authenticate and user changes fast.
/// </summary>
public sealed class AuthEtcd : IAsyncDisposable
{
    public const string RootPassword = "r00t-secret-Pa55";

    private readonly string keyDir;

    private AuthEtcd(EtcdServer server, string keyDir)
    {
        Server = server;
        this.keyDir = keyDir;
        Ctl = new EtcdCtl(server);
    }

    public EtcdServer Server { get; }

    public string ClientUrl => Server.ClientUrl;

    /// <summary>etcdctl without credentials; add <see cref="AsRoot"/> to its arguments.</summary>
    public EtcdCtl Ctl { get; }

    /// <summary>etcdctl's <c>--user</c> argument for root.</summary>
    public static string AsRoot => $"--user=root:{RootPassword}";

    /// <summary>Starts the member, creates root and enables authentication (through the client without credentials).</summary>
    public static async Task<AuthEtcd> StartAsync(AuthTokenKind kind, int ttlSeconds)
    {
        var keyDir = Directory.CreateTempSubdirectory("etcd-auth-keys-").FullName;
        try
        {
            string[] tokenArgs;
            if (kind == AuthTokenKind.Jwt)
            {
                using var rsa = RSA.Create(2048);
                var priv = Path.Combine(keyDir, "jwt.key");
                var pub = Path.Combine(keyDir, "jwt.pub");
                await File.WriteAllTextAsync(priv, rsa.ExportRSAPrivateKeyPem());
                await File.WriteAllTextAsync(pub, rsa.ExportSubjectPublicKeyInfoPem());
                tokenArgs = ["--auth-token", $"jwt,pub-key={pub},priv-key={priv},sign-method=RS256,ttl={ttlSeconds}s"];
            }
            else
            {
                tokenArgs = ["--auth-token", "simple", "--auth-token-ttl", ttlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            }
            var server = await EtcdServer.StartAsync(new EtcdServerOptions { ExtraArgs = [.. tokenArgs, "--bcrypt-cost", "4"] });
            try
            {
                await using var setup = new EtcdClient(server.ClientUrl);
                await setup.Auth.AddUserAsync("root", RootPassword);
                await setup.Auth.GrantRoleAsync("root", "root");
                await setup.Auth.EnableAsync();
                return new AuthEtcd(server, keyDir);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
        catch
        {
            EtcdServer.TryDeleteDirectory(keyDir);
            throw;
        }
    }

    /// <summary>A client authenticating as <paramref name="user"/> (root by default).</summary>
    public EtcdClient NewClient(string user = "root", string password = RootPassword, TimeSpan? requestTimeout = null) =>
        new(new EtcdClientOptions
        {
            Endpoints = [ClientUrl],
            Credentials = new EtcdCredentials(user, password),
            RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
        });

    /// <summary>Runs etcdctl as root with <paramref name="args"/>; throws on a non-zero exit.</summary>
    public Task<ChildProcessResult> CtlAsRootAsync(params string[] args) => Ctl.RunCheckedAsync([AsRoot, .. args]);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        EtcdServer.TryDeleteDirectory(keyDir);
    }
}
