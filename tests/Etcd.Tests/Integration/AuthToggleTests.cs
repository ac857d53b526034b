using System.Collections.Concurrent;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>A client with credentials follows the cluster as authentication is enabled and disabled under it.</summary>
public sealed class AuthToggleTests
{
    [Fact]
    public async Task A_client_with_credentials_works_before_during_and_after_auth_is_enabled()
    {
        await using var server = await EtcdServer.StartAsync("--bcrypt-cost", "4");
        await using var admin = new EtcdClient(server.ClientUrl);
        await admin.Auth.AddUserAsync("root", "root-pw");
        await admin.Auth.GrantRoleAsync("root", "root");
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], Credentials = new EtcdCredentials("root", "root-pw") });
        var seen = new ConcurrentQueue<string>();

        // Auth is off: like etcd's Go client, calls go without a token instead of failing.
        await client.PutAsync("toggle/a", "1");
        await using var early = client.Watch.Watch(KeySet.Prefix("toggle/"), e => seen.Enqueue(e.Kv.Value.ToString()));
        await early.Started.WaitAsync(TimeSpan.FromSeconds(30));

        await using (var root = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], Credentials = new EtcdCredentials("root", "root-pw") }))
        {
            await admin.Auth.EnableAsync();
            // Now etcd answers "user name is empty" to calls without a token: the client logs in and sends the call again.
            await client.PutAsync("toggle/b", "2");
            Assert.Equal("2", await client.GetStringAsync("toggle/b"));
            // A watch created now is refused without a token at first, and created once the client has logged in.
            var late = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var lateWatch = client.Watch.Watch(KeySet.Single("toggle/c"), e => late.TrySetResult(e.Kv.Value.ToString()));
            await lateWatch.Started.WaitAsync(TimeSpan.FromSeconds(30));
            await root.PutAsync("toggle/c", "3");
            Assert.Equal("3", await late.Task.WaitAsync(TimeSpan.FromSeconds(30)));

            await root.Auth.DisableAsync();
        }
        await client.PutAsync("toggle/d", "4");
        await admin.PutAsync("toggle/e", "5");

        // The watch created while auth was off saw every change, across both switches.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (seen.Count < 4 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(["2", "3", "4", "5"], seen);
    }
}

/// <summary>What the client logs while it logs in and renews expired tokens.</summary>
public sealed class AuthLoggingTests
{
    [Fact]
    public async Task Renewing_expired_tokens_is_logged_without_the_password_or_any_token()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Jwt, ttlSeconds: 1);
        var logs = new CapturingLoggerFactory();
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [etcd.ClientUrl],
            Credentials = new EtcdCredentials("root", AuthEtcd.RootPassword),
            LoggerFactory = logs,
        });

        await client.PutAsync("log/k", "v1");
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the JWT's TTL
        await client.PutAsync("log/k", "v2");

        Assert.Contains(logs.Entries, e => e.Text.Contains("auth token was rejected", StringComparison.Ordinal));
        Assert.DoesNotContain(AuthEtcd.RootPassword, logs.AllText);
        Assert.DoesNotContain("eyJ", logs.AllText); // every JWT starts with the base64 of '{"'
    }
}
