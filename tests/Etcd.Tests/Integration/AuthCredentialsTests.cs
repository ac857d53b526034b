using System.Diagnostics;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>How the client gets its token: one shared attempt, wrong passwords fail fast and once, never printed.</summary>
public sealed class AuthCredentialsTests
{
    private const string WrongPassword = "Wr0ng-Secret-Password";

    private static string Chain(Exception error)
    {
        var text = error.ToString();
        for (var e = error.InnerException; e is not null; e = e.InnerException) text += "\n" + e;
        return text;
    }

    [Fact]
    public async Task A_wrong_password_fails_each_call_quickly_once_without_showing_the_password()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var client = etcd.NewClient("root", WrongPassword);
        var p = $"t/{Guid.NewGuid():N}/";

        var clock = Stopwatch.StartNew();
        var first = await Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.GetAsync(p + "a"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(1, client.TokenSource!.Authentications);
        Assert.Contains("'root'", first.Message);
        Assert.Contains("authentication failed", first.ServerMessage);

        var second = await Assert.ThrowsAsync<EtcdAuthenticationException>(() => client.PutAsync(p + "a", "x"));
        Assert.Equal(2, client.TokenSource.Authentications); // a failure is not kept, and not retried either

        // A watch cannot open its stream: it ends with the same error, and the stream is not retried in a loop.
        await using var watch = client.Watch.WatchAsync(KeySet.Prefix(p)).GetAsyncEnumerator();
        var watchError = await Assert.ThrowsAsync<EtcdAuthenticationException>(async () => await watch.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        long afterWatch = client.TokenSource.Authentications;
        Assert.Equal(3, afterWatch);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(afterWatch, client.TokenSource.Authentications);

        foreach (var error in new Exception[] { first, second, watchError })
            Assert.DoesNotContain(WrongPassword, Chain(error));
        Assert.DoesNotContain(WrongPassword, await File.ReadAllTextAsync(etcd.Server.LogPath));
    }

    [Fact]
    public async Task Concurrent_callers_share_one_authentication_and_one_cancelled_caller_does_not_fail_the_others()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var client = etcd.NewClient();
        var p = $"t/{Guid.NewGuid():N}/";

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.PutAsync($"{p}{i}", "v")));
        Assert.Equal(1, client.TokenSource!.Authentications);
        Assert.Equal(20, (await client.GetAsync(KeySet.Prefix(p))).Count);

        var source = client.TokenSource;
        var token = await source.GetTokenAsync(CancellationToken.None);
        source.Invalidate("some older token"); // not the current one: kept
        Assert.Same(token, await source.GetTokenAsync(CancellationToken.None));
        source.Invalidate(token);

        using var cancel = new CancellationTokenSource();
        var cancelled = source.GetTokenAsync(cancel.Token).AsTask();
        var patient = source.GetTokenAsync(CancellationToken.None).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        var fresh = await patient;
        Assert.NotEqual(token, fresh);
        Assert.Equal(2, source.Authentications);
        Assert.Same(fresh, await source.GetTokenAsync(CancellationToken.None));
        Assert.Equal(20, (await client.GetAsync(KeySet.Prefix(p))).Count);
    }

    [Fact]
    public async Task A_changed_password_ends_running_watches_with_an_authentication_error_once()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var root = etcd.NewClient();
        var p = $"t/{Guid.NewGuid():N}/";
        await root.Auth.AddRoleAsync("w");
        await root.Auth.GrantPermissionAsync("w", EtcdPermission.ReadWrite(KeySet.Prefix(p)));
        await root.Auth.AddUserAsync("carol", "first-pw");
        await root.Auth.GrantRoleAsync("carol", "w");

        await using var carol = etcd.NewClient("carol", "first-pw");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long start = (await carol.PutAsync(p + "0", "0")).Header.Revision;
        await using var running = carol.Watch.WatchAsync(KeySet.Prefix(p), new WatchOptions { StartRevision = start + 1 }, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var firstEvent = running.MoveNextAsync().AsTask();
        await carol.PutAsync(p + "a", "1");
        Assert.True(await firstEvent);

        // The new password drops carol's tokens. The running watch keeps working (etcd checks tokens only at watch
        // creation), until a new watch on the shared stream is refused: the stream is reopened, authenticating with
        // the old password fails, and every watch ends with that error.
        await root.Auth.ChangePasswordAsync("carol", "second-pw");
        await root.PutAsync(p + "b", "2");
        Assert.True(await running.MoveNextAsync());
        Assert.Equal(p + "b", running.Current.Kv.Key.ToStringUtf8());

        long before = carol.TokenSource!.Authentications;
        await using var added = carol.Watch.WatchAsync(p + "c", cancellationToken: timeout.Token).GetAsyncEnumerator(timeout.Token);
        await Assert.ThrowsAsync<EtcdAuthenticationException>(async () => await added.MoveNextAsync());
        await Assert.ThrowsAsync<EtcdAuthenticationException>(async () => await running.MoveNextAsync());
        Assert.Equal(before + 1, carol.TokenSource.Authentications);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(before + 1, carol.TokenSource.Authentications);
        Assert.Equal(0, carol.Watch.ActiveCount);
    }

    [Fact]
    public async Task Kept_alive_leases_are_lost_with_the_authentication_error_when_their_stream_cannot_reopen()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var root = etcd.NewClient();
        await root.Auth.AddUserAsync("dave", "first-pw");
        await using var dave = etcd.NewClient("dave", "first-pw");
        await using var lease = await dave.Leases.CreateAsync(TimeSpan.FromSeconds(30));

        await root.Auth.ChangePasswordAsync("dave", "second-pw");
        await Assert.ThrowsAsync<EtcdAuthenticationException>(() => dave.GetAsync("any"));
        Assert.False(lease.IsLost); // etcd 3.4 does not check the keep-alive stream's token: the stream goes on

        // The member restarts: the keep-alive stream must be reopened, which needs a token, which cannot be had.
        await etcd.Server.KillAsync();
        await etcd.Server.RestartAsync();
        var lost = new TaskCompletionSource();
        using var registration = lease.Lost.Register(() => lost.TrySetResult());
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(20)); // well before the 30 s TTL could run out
        var reason = Assert.IsType<EtcdAuthenticationException>(lease.LostReason);
        Assert.Contains($"{lease.Id:x}", reason.Message);
        Assert.DoesNotContain("first-pw", reason.ToString());

        long attempts = dave.TokenSource!.Authentications;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(attempts, dave.TokenSource.Authentications); // no re-authentication loop
        Assert.Equal(0, dave.Leases.KeptAliveCount);
    }
}
