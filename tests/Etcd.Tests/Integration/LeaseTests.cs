using System.Diagnostics;
using System.Globalization;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class LeaseTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"{what} did not happen within {timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Grant_time_to_live_list_keep_alive_once_and_revoke()
    {
        var granted = await Client.Leases.GrantAsync(TimeSpan.FromSeconds(60));
        Assert.True(granted.Id > 0);
        Assert.Equal(TimeSpan.FromSeconds(60), granted.Ttl);
        await Client.PutAsync(P + "a", "1", new PutOptions { Lease = granted.Id });
        await Client.PutAsync(P + "b", "2", new PutOptions { Lease = granted.Id });

        var ttl = await Client.Leases.TimeToLiveAsync(granted.Id, includeKeys: true);
        Assert.Equal(granted.Id, ttl.Id);
        Assert.Equal(TimeSpan.FromSeconds(60), ttl.GrantedTtl);
        Assert.InRange(ttl.Ttl, TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
        Assert.Equal([P + "a", P + "b"], ttl.Keys.Select(k => k.ToStringUtf8()).Order());

        Assert.Contains(granted.Id, (await Client.Leases.ListAsync()).Ids);
        var renewed = await Client.Leases.KeepAliveOnceAsync(granted.Id);
        Assert.Equal(TimeSpan.FromSeconds(60), renewed.Ttl);

        await Client.Leases.RevokeAsync(granted.Id);
        Assert.Null(await Client.GetValueAsync(P + "a"));
        Assert.DoesNotContain(granted.Id, (await Client.Leases.ListAsync()).Ids);
    }

    [Fact]
    public async Task Grant_with_a_chosen_id()
    {
        long id = 0x7000_0000_0000_0000 | (long)Random.Shared.Next();
        var granted = await Client.Leases.GrantAsync(TimeSpan.FromSeconds(30), id);
        Assert.Equal(id, granted.Id);
        await Client.Leases.RevokeAsync(id);
    }

    [Fact]
    public async Task Unknown_leases_are_lease_not_found_everywhere()
    {
        const long unknown = 0x1234_5678_9abc;
        Assert.Equal(unknown, (await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.RevokeAsync(unknown))).LeaseId);
        Assert.Equal(unknown, (await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.TimeToLiveAsync(unknown))).LeaseId);
        // etcd answers a keep-alive for an unknown lease with TTL 0: that must not look like a live lease.
        Assert.Equal(unknown, (await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.KeepAliveOnceAsync(unknown))).LeaseId);
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.KeepAliveAsync(unknown));
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_sending()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.GrantAsync(TimeSpan.Zero); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.GrantAsync(TimeSpan.FromSeconds(-1)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.CreateAsync(TimeSpan.FromSeconds(5), id: -3); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.RevokeAsync(0); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.KeepAliveOnceAsync(-1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = Client.Leases.TimeToLiveAsync(0); });
        Assert.Throws<ArgumentException>(() => { _ = Client.Leases.RegisterAsync("", "v", TimeSpan.FromSeconds(5)); });
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Session.CreateAsync(Client, new SessionOptions { Ttl = TimeSpan.Zero }));
    }

    [Fact]
    public async Task Keys_expire_when_nobody_renews_the_lease()
    {
        var granted = await Client.Leases.GrantAsync(TimeSpan.FromSeconds(2));
        await Client.PutAsync(P + "short", "x", new PutOptions { Lease = granted.Id });
        await WaitUntilAsync(async () => await Client.GetValueAsync(P + "short") is null, TimeSpan.FromSeconds(8), "expiry of the key");
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.TimeToLiveAsync(granted.Id));
    }

    [Fact]
    public async Task Keep_alive_holds_a_2_s_lease_for_20_s_and_dispose_revokes_it()
    {
        var lease = await Client.Leases.CreateAsync(TimeSpan.FromSeconds(2));
        await Client.PutAsync(P + "held", "x", new PutOptions { Lease = lease.Id });
        var firstRenewal = lease.LastRenewal;

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(500);
            Assert.False(lease.IsLost, $"lost after {clock.Elapsed}: {lease.LostReason}");
            Assert.NotNull(await Client.GetValueAsync(P + "held"));
        }
        Assert.True(lease.LastRenewal > firstRenewal);
        Assert.Equal(TimeSpan.FromSeconds(2), lease.Ttl);

        await lease.DisposeAsync();
        Assert.True(lease.IsLost);
        Assert.IsType<ObjectDisposedException>(lease.LostReason);
        Assert.Null(await Client.GetValueAsync(P + "held"));
        Assert.Equal(0, Client.Leases.KeptAliveCount);

        // A disposed lease: its own calls say so, and the server no longer knows its id.
        await lease.DisposeAsync(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => { _ = lease.RevokeAsync(); });
        var error = await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.PutAsync(P + "held", "y", new PutOptions { Lease = lease.Id }));
        Assert.Equal(lease.Id, error.LeaseId);
    }

    [Fact]
    public async Task Revoke_from_etcdctl_fires_Lost_within_one_renewal_period()
    {
        var lease = await Client.Leases.CreateAsync(TimeSpan.FromSeconds(6));
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.Lost.Register(() => lost.TrySetResult());

        await Etcd.Ctl.RunCheckedAsync(["lease", "revoke", lease.Id.ToString("x", CultureInfo.InvariantCulture)]);
        var clock = Stopwatch.StartNew();

        await lost.Task.WaitAsync(TimeSpan.FromSeconds(6)); // renewals every TTL/3 = 2 s
        Assert.IsType<EtcdLeaseNotFoundException>(lease.LostReason);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.Equal(0, Client.Leases.KeptAliveCount);
    }

    [Fact]
    public async Task Lease_survives_an_etcd_restart_shorter_than_its_ttl()
    {
        await using var server = await EtcdServer.StartAsync("--heartbeat-interval", "20", "--election-timeout", "200");
        await using var client = new EtcdClient(server.ClientUrl);
        var lease = await client.Leases.CreateAsync(TimeSpan.FromSeconds(10));
        await client.PutAsync("held", "x", new PutOptions { Lease = lease.Id });

        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await server.RestartAsync();

        // Stay alive well past the TTL: the keep-alive stream must have reconnected and renewed.
        await Task.Delay(TimeSpan.FromSeconds(12));
        Assert.False(lease.IsLost, $"lost: {lease.LostReason}");
        Assert.NotNull(await client.GetValueAsync("held"));
        Assert.True(lease.LastRenewal > DateTimeOffset.UtcNow - TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Lost_fires_when_etcd_is_down_longer_than_the_ttl()
    {
        await using var server = await EtcdServer.StartAsync("--heartbeat-interval", "20", "--election-timeout", "200");
        await using var client = new EtcdClient(server.ClientUrl);
        var lease = await client.Leases.CreateAsync(TimeSpan.FromSeconds(3));
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.Lost.Register(() => lost.TrySetResult());

        await server.KillAsync();
        var clock = Stopwatch.StartNew();
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(8));

        // Never later than the TTL after the last renewal (renewals happen every second), never much earlier.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        var reason = Assert.IsType<EtcdLeaseLostException>(lease.LostReason);
        Assert.Equal(lease.Id, reason.LeaseId);
        Assert.Equal(0, client.Leases.KeptAliveCount); // a lost lease is no longer renewed

        // After the restart the client works again and keeps new leases; the lost one stays lost.
        await server.RestartAsync();
        await using var fresh = await client.Leases.CreateAsync(TimeSpan.FromSeconds(3));
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.False(fresh.IsLost, $"lost: {fresh.LostReason}");
        Assert.True(lease.IsLost);
    }

    [Fact]
    public async Task Register_keeps_a_service_key_until_disposed()
    {
        var registration = await Client.Leases.RegisterAsync(P + "services/api/10.0.0.1:8080", "available", TimeSpan.FromSeconds(3));
        await Task.Delay(TimeSpan.FromSeconds(5)); // longer than the TTL: only the keep-alive keeps it
        var found = await Client.GetAsync(KeySet.Prefix(P + "services/api/"));
        Assert.Equal(registration.Id, Assert.Single(found.Kvs).Lease);

        await registration.DisposeAsync();
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(P + "services/"), new GetOptions { CountOnly = true })).Count);
    }

    [Fact]
    public async Task Revoke_on_a_kept_alive_lease_deletes_its_keys_and_marks_it_lost()
    {
        var lease = await Client.Leases.CreateAsync(TimeSpan.FromSeconds(30));
        await Client.PutAsync(P + "revoked", "x", new PutOptions { Lease = lease.Id });

        await lease.RevokeAsync();

        Assert.True(lease.IsLost);
        Assert.IsType<ObjectDisposedException>(lease.LostReason);
        Assert.Null(await Client.GetValueAsync(P + "revoked"));
        Assert.Equal(0, Client.Leases.KeptAliveCount);
        await lease.RevokeAsync(); // already gone on the server: not an error
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.TimeToLiveAsync(lease.Id));
    }

    [Fact]
    public async Task Keeping_the_same_lease_alive_twice_is_rejected_before_sending()
    {
        await using var lease = await Client.Leases.CreateAsync(TimeSpan.FromSeconds(10));
        var error = Assert.Throws<ArgumentException>(() => { _ = Client.Leases.KeepAliveAsync(lease.Id); });
        Assert.Equal("id", error.ParamName);
    }

    [Fact]
    public async Task Session_resumes_an_existing_lease_and_ends_it_on_dispose()
    {
        var granted = await Client.Leases.GrantAsync(TimeSpan.FromSeconds(10));
        await using (var session = await Session.CreateAsync(Client, new SessionOptions { LeaseId = granted.Id }))
        {
            Assert.Equal(granted.Id, session.LeaseId);
            await Client.PutAsync(P + "owned", "x", new PutOptions { Lease = session.LeaseId });
            Assert.False(session.Lost.IsCancellationRequested);
        }
        Assert.Null(await Client.GetValueAsync(P + "owned"));
        await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() => Client.Leases.TimeToLiveAsync(granted.Id));
    }

    [Fact]
    public async Task Disposing_the_client_fires_Lost_of_its_leases()
    {
        var own = new EtcdClient(Etcd.ClientUrl);
        var lease = await own.Leases.CreateAsync(TimeSpan.FromSeconds(30));
        await own.DisposeAsync();
        Assert.True(lease.IsLost);
        Assert.IsType<ObjectDisposedException>(lease.LostReason);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => own.Leases.GrantAsync(TimeSpan.FromSeconds(5)));
        await Client.Leases.RevokeAsync(lease.Id); // the lease itself still exists on the server until its TTL
    }

    [Fact]
    public async Task Ten_thousand_leases_share_one_stream()
    {
        await using var server = await EtcdServer.StartAsync(); // own server: count the streams it sees
        await using var client = new EtcdClient(server.ClientUrl);
        var leases = new List<Lease>();
        for (int i = 0; i < 10_000; i += 500)
            leases.AddRange(await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => client.Leases.CreateAsync(TimeSpan.FromSeconds(10)))));
        await Task.Delay(TimeSpan.FromSeconds(11)); // beyond the TTL: every lease needed renewals
        Assert.DoesNotContain(leases, l => l.IsLost);
        Assert.Equal(10_000, client.Leases.KeptAliveCount);
        Assert.All(leases, l => Assert.True(l.LastRenewal > DateTimeOffset.UtcNow - TimeSpan.FromSeconds(10)));
        Assert.Equal(1, await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "LeaseKeepAlive"));
        await Task.WhenAll(leases.Select(l => l.DisposeAsync().AsTask()));
        Assert.Equal(0, client.Leases.KeptAliveCount);
        Assert.Empty((await client.Leases.ListAsync()).Ids);
    }
}
