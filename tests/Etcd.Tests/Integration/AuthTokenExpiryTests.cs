using System.Collections.Concurrent;
using System.Diagnostics;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// Token expiry is invisible: for about 11 s (more than three TTLs) a client as a non-root user makes bursts of puts and
/// reads separated by idle gaps longer than the token TTL, opens a new watch after each gap (a watch create on the
/// shared stream, which etcd refuses while the stream's token is expired), keeps a lease alive, and at the end takes a
/// snapshot as root after an idle gap. Nothing may reach the caller: every put arrives on the long-running watch in
/// order, none lost or repeated; the lease is never lost; and the token was renewed along the way.
/// </summary>
public abstract class AuthTokenExpiryTestsBase
{
    private const string AppPassword = "app-pw";

    protected static async Task RunAsync(AuthTokenKind kind, int ttlSeconds)
    {
        await using var etcd = await AuthEtcd.StartAsync(kind, ttlSeconds);
        var p = $"t/{Guid.NewGuid():N}/";
        await using var root = etcd.NewClient();
        // An election leader (campaigned before the auth changes below: the election service answers a JWT token
        // issued before them with status Unknown, which the client does not renew), and a client that will observe it
        // after sitting idle for the whole run.
        await using var leaderLease = await root.Leases.CreateAsync(TimeSpan.FromSeconds(30));
        var leader = await root.Elections.CampaignAsync(p + "election", "leader-1", leaderLease);
        await using var observer = etcd.NewClient();
        Assert.Equal("leader-1", (await observer.Elections.GetLeaderAsync(p + "election"))?.Value.ToStringUtf8());
        await root.Auth.AddRoleAsync("app");
        await root.Auth.GrantPermissionAsync("app", EtcdPermission.ReadWrite(KeySet.Prefix(p)));
        await root.Auth.AddUserAsync("app", AppPassword);
        await root.Auth.GrantRoleAsync("app", "app");

        await using var app = etcd.NewClient("app", AppPassword);
        var errors = new ConcurrentQueue<Exception>();
        long start = (await app.PutAsync(p + "start", "0")).Header.Revision;

        using var stopWatch = new CancellationTokenSource();
        var seen = new List<long>();
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in app.Watch.WatchAsync(KeySet.Prefix(p + "k/"), new WatchOptions { StartRevision = start + 1 }, stopWatch.Token))
                {
                    lock (seen) seen.Add(e.Kv.ModRevision);
                }
            }
            catch (OperationCanceledException) when (stopWatch.IsCancellationRequested)
            {
            }
            catch (Exception error)
            {
                errors.Enqueue(error);
            }
        });

        await using var lease = await app.Leases.CreateAsync(TimeSpan.FromSeconds(5));
        await app.PutAsync(p + "leased", "x", new PutOptions { Lease = lease.Id });

        var written = new List<long>();
        var gap = TimeSpan.FromSeconds(ttlSeconds + 1.5);
        var clock = Stopwatch.StartNew();
        int n = 0, rounds = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(11))
        {
            try
            {
                rounds++;
                for (int i = 0; i < 5; i++) written.Add((await app.PutAsync($"{p}k/{n++:D4}", $"v{n}")).Header.Revision);
                Assert.Equal(n, (await app.GetAsync(KeySet.Prefix(p + "k/"))).Kvs.Count);

                // A new watch: created on the shared stream, whose token may have expired during the last gap.
                var key = $"{p}k/{n++:D4}";
                long now = (await app.GetAsync(p + "start")).Header.Revision;
                using var oneEvent = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await using var extra = app.Watch.WatchAsync(key, new WatchOptions { StartRevision = now + 1 }, oneEvent.Token).GetAsyncEnumerator(oneEvent.Token);
                var next = extra.MoveNextAsync().AsTask();
                written.Add((await app.PutAsync(key, "extra")).Header.Revision);
                Assert.True(await next);
                Assert.Equal(key, extra.Current.Kv.Key.ToStringUtf8());
            }
            catch (Exception error)
            {
                errors.Enqueue(error);
            }
            await Task.Delay(gap);
        }

        // etcd ends an Observe whose token expired at once, with status OK: that one call fails, the next works.
        using (var observing = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await Assert.ThrowsAsync<EtcdUnavailableException>(async () =>
            {
                await foreach (var _ in observer.Elections.ObserveAsync(p + "election", observing.Token)) { }
            });
            await foreach (var current in observer.Elections.ObserveAsync(p + "election", observing.Token))
            {
                Assert.Equal(leader.Key, current.Key);
                break;
            }
        }

        // Root has been idle longer than the TTL too: its snapshot starts with a rejected token, refreshed inside.
        var snapshot = await root.Maintenance.SnapshotAsync(Stream.Null);
        Assert.True(snapshot.Size > 0);

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            lock (seen) if (seen.Count >= written.Count) break;
            if (deadline.Elapsed > TimeSpan.FromSeconds(30) || watching.IsCompleted) break;
            await Task.Delay(50);
        }
        stopWatch.Cancel();
        await watching;

        Assert.Empty(errors);
        lock (seen) Assert.Equal(written, seen);
        Assert.True(rounds >= 3, $"only {rounds} rounds");
        Assert.False(lease.IsLost, $"lease lost: {lease.LostReason}");
        Assert.True((await app.Leases.TimeToLiveAsync(lease.Id)).Ttl > TimeSpan.Zero);
        Assert.Equal("x", await app.GetStringAsync(p + "leased"));
        // One token per gap at least: the tokens really expired and were renewed.
        Assert.True(app.TokenSource!.Authentications >= rounds, $"{app.TokenSource.Authentications} authentications in {rounds} rounds");
    }
}

public sealed class AuthJwtExpiryTests : AuthTokenExpiryTestsBase
{
    [Fact]
    public Task Jwt_token_expiry_is_invisible_to_calls_watches_leases_and_snapshots() => RunAsync(AuthTokenKind.Jwt, ttlSeconds: 2);
}

public sealed class AuthSimpleTokenExpiryTests : AuthTokenExpiryTestsBase
{
    [Fact]
    public Task Simple_token_expiry_is_invisible_to_calls_watches_leases_and_snapshots() => RunAsync(AuthTokenKind.Simple, ttlSeconds: 2);
}
