using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Etcd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Etcd.Tests.Integration;

/// <summary>
/// The 3-member cluster fixture against real etcd, and the client against a cluster: reads through every member, a
/// leader kill, and a killed member rejoining. Tests that kill members start a cluster of their own (about 1.3 s) so
/// the shared one stays whole whatever order xunit picks.
/// </summary>
public sealed class ClusterFixtureTests(EtcdClusterFixture fixture, ITestOutputHelper output) : IClassFixture<EtcdClusterFixture>
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Cluster_has_three_members_and_one_leader()
    {
        var cluster = fixture.Cluster;

        Assert.Equal(["m1", "m2", "m3"], cluster.Members.Select(m => m.Name));
        Assert.All(cluster.Members, m => Assert.True(m.IsRunning));
        Assert.Equal(6, cluster.Members.SelectMany(m => new[] { m.ClientPort, m.PeerPort }).Distinct().Count());
        Assert.Equal(3, cluster.Members.Select(m => m.DataDir).Distinct().Count());
        Assert.Equal(string.Join(',', cluster.Members.Select(m => m.ClientUrl)), cluster.ClientUrls);
        Assert.Equal(string.Join(',', cluster.Members.Select(m => $"{m.Name}={m.PeerUrl}")), cluster.InitialCluster);

        var leader = await cluster.FindLeaderAsync();
        var statuses = await Task.WhenAll(cluster.Members.Select(m => m.GetStatusAsync()));
        Assert.All(statuses, Assert.NotNull);
        var leaderId = Assert.Single(statuses, s => s!.IsLeader)!.MemberId;
        Assert.Equal(leaderId, statuses[cluster.Members.ToList().IndexOf(leader)]!.MemberId);
        Assert.All(statuses, s => Assert.Equal(leaderId, s!.Leader));
        Assert.Equal(3, statuses.Select(s => s!.MemberId).Distinct().Count());

        var list = await fixture.Ctl.RunCheckedAsync(["member", "list", "-w", "json"]);
        using var json = JsonDocument.Parse(list.StdOut);
        var members = json.RootElement.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(3, members.Count);
        Assert.Equal(["m1", "m2", "m3"], members.Select(m => m.GetProperty("name").GetString()).Order());
        Assert.Equal(
            cluster.Members.Select(m => m.ClientUrl).Order(),
            members.Select(m => Assert.Single(m.GetProperty("clientURLs").EnumerateArray().ToList()).GetString()).Order());
    }

    [Fact]
    public async Task A_put_through_all_urls_is_readable_through_each_member()
    {
        var key = fixture.UniquePrefix() + "k";
        await using var client = new EtcdClient(fixture.ClientUrls);
        var put = await client.PutAsync(key, "everywhere");
        Assert.Equal("everywhere", await client.GetStringAsync(key));

        foreach (var member in fixture.Cluster.Members)
        {
            await using var single = new EtcdClient(member.ClientUrl);
            // A linearizable read on the member waits until it has applied everything committed before it; after that
            // its local (serializable) state must hold the put.
            var linearizable = await single.GetAsync(key);
            var serializable = await single.GetAsync(key, new GetOptions { Serializable = true });

            Assert.Equal("everywhere", linearizable.First?.Value.ToStringUtf8());
            Assert.Equal("everywhere", serializable.First?.Value.ToStringUtf8());
            Assert.Equal(put.Header.Revision, serializable.First?.ModRevision);
            Assert.Equal((await member.GetStatusAsync())!.MemberId, serializable.Header.MemberId);
        }
    }

    [Fact]
    public async Task Killing_the_leader_elects_a_new_one_and_writes_resume()
    {
        var startClock = Stopwatch.StartNew();
        await using var cluster = await EtcdCluster.StartAsync();
        output.WriteLine($"cluster started in {startClock.ElapsedMilliseconds} ms");
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = cluster.ClientUrls.Split(','),
            ConnectTimeout = TimeSpan.FromSeconds(1),
            // A follower without a leader drops the proposal and answers only at etcd's own request timeout (about 6 s):
            // a short deadline lets the retry loop below try again soon after the election.
            RequestTimeout = TimeSpan.FromSeconds(1),
        });
        var key = $"t/{Guid.NewGuid():N}/after-failover";
        var before = await client.PutAsync(key, "before");

        var killed = await cluster.KillLeaderAsync();
        var clock = Stopwatch.StartNew();
        Assert.False(killed.IsRunning);

        // Write straight away, while the election runs. The client moves on from the refused endpoint by itself; the
        // election window shows up as EtcdException subtypes (deadline exceeded, unavailable), retried for at most 10 s.
        var writing = RetryAsync(() => client.PutAsync(key, "after"));
        var leader = await cluster.FindLeaderAsync(Recovery);
        var elected = clock.Elapsed;
        var (put, failures) = await writing;
        var resumed = clock.Elapsed;
        output.WriteLine($"killed {killed.Name}; new leader {leader.Name} after {elected.TotalMilliseconds:0} ms; put succeeded after {resumed.TotalMilliseconds:0} ms, "
            + $"{failures.Count} failed attempt(s): {string.Join("; ", failures.Select(f => $"{f.GetType().Name}: {f.Message}"))}");

        Assert.NotSame(killed, leader);
        Assert.True(leader.IsRunning);
        Assert.True(elected < Recovery, $"new leader after {elected}");
        Assert.True(resumed < Recovery, $"writes resumed after {resumed}");
        Assert.True(put.Header.Revision > before.Header.Revision);
        Assert.Equal("after", await client.GetStringAsync(key));
        var live = cluster.Members.Where(m => m != killed).ToList();
        Assert.All(live, m => Assert.True(m.IsRunning));
        Assert.Equal("after"u8.ToArray(), await new EtcdCtl(string.Join(',', live.Select(m => m.ClientUrl))).GetAsync(key));
    }

    [Fact]
    public async Task A_restarted_member_rejoins_and_catches_up()
    {
        var startClock = Stopwatch.StartNew();
        await using var cluster = await EtcdCluster.StartAsync();
        output.WriteLine($"cluster started in {startClock.ElapsedMilliseconds} ms");
        var killed = await cluster.KillLeaderAsync();
        await cluster.FindLeaderAsync(Recovery);
        var live = cluster.Members.Where(m => m != killed).ToList();
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [.. live.Select(m => m.ClientUrl)],
            ConnectTimeout = TimeSpan.FromSeconds(1),
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        var key = $"t/{Guid.NewGuid():N}/while-down";
        var putClock = Stopwatch.StartNew();
        var (put, failures) = await RetryAsync(() => client.PutAsync(key, "written-while-down"));
        output.WriteLine($"killed {killed.Name}; put on the other two succeeded after {putClock.ElapsedMilliseconds} ms, "
            + $"{failures.Count} failed attempt(s): {string.Join("; ", failures.Select(f => $"{f.GetType().Name}: {f.Message}"))}");

        var firstPid = killed.Pid;
        var restartClock = Stopwatch.StartNew();
        await killed.RestartAsync();
        output.WriteLine($"{killed.Name} healthy again {restartClock.ElapsedMilliseconds} ms after restart");
        Assert.True(killed.IsRunning);
        Assert.NotEqual(firstPid, killed.Pid);

        await using var rejoined = new EtcdClient(new EtcdClientOptions { Endpoints = [killed.ClientUrl], RequestTimeout = TimeSpan.FromSeconds(2) });
        var clock = Stopwatch.StartNew();
        KeyValue? seen = null;
        while (seen is null && clock.Elapsed < Recovery)
        {
            seen = (await rejoined.GetAsync(key, new GetOptions { Serializable = true })).First;
            if (seen is null)
            {
                await Task.Delay(20);
            }
        }
        output.WriteLine($"serializable read on {killed.Name} saw the write after {clock.ElapsedMilliseconds} ms");
        Assert.NotNull(seen);
        Assert.Equal("written-while-down", seen.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, seen.ModRevision);

        // Back to three members that agree on one leader.
        var leaderId = (await (await cluster.FindLeaderAsync(Recovery)).GetStatusAsync())!.MemberId;
        var statuses = await Task.WhenAll(cluster.Members.Select(m => m.GetStatusAsync()));
        Assert.All(statuses, s => Assert.Equal(leaderId, s!.Leader));
    }

    [Fact]
    public async Task A_taken_port_restarts_the_whole_attempt_on_new_ports()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var clock = Stopwatch.StartNew();
        await using var cluster = await EtcdCluster.StartCoreAsync(3, null, firstAttemptLastClientPort: taken, CancellationToken.None);
        output.WriteLine($"started in {clock.ElapsedMilliseconds} ms, {cluster.StartAttempts} attempts");

        Assert.Equal(2, cluster.StartAttempts);
        Assert.DoesNotContain(taken, cluster.Members.Select(m => m.ClientPort));
        Assert.All(cluster.Members, m => Assert.True(m.IsRunning));
        await cluster.FindLeaderAsync();
    }

    /// <summary>Runs <paramref name="call"/> until it succeeds, retrying on any <see cref="EtcdException"/> for up to 10 s.</summary>
    private static async Task<(T Result, List<EtcdException> Failures)> RetryAsync<T>(Func<Task<T>> call)
    {
        var failures = new List<EtcdException>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return (await call(), failures);
            }
            catch (EtcdException e) when (clock.Elapsed < Recovery)
            {
                failures.Add(e);
                await Task.Delay(50);
            }
        }
    }
}
