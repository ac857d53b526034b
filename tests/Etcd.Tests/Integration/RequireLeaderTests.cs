using System.Diagnostics;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>etcd's hasleader metadata against a member that has lost its leader (quorum lost).</summary>
public sealed class RequireLeaderTests
{
    [Fact]
    public async Task A_leaderless_member_refuses_at_once_with_require_leader_and_holds_the_call_without_it()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var survivor = cluster.Members[0];
        await using (var setup = new EtcdClient(survivor.ClientUrl)) await setup.PutAsync("rl/k", "v");
        await cluster.Members[1].KillAsync();
        await cluster.Members[2].KillAsync();
        // Past a few election timeouts, the survivor knows it has no leader.
        await WaitUntilLeaderlessAsync(survivor);

        EtcdClient Client(bool requireLeader) => new(new EtcdClientOptions
        {
            Endpoints = [survivor.ClientUrl],
            RequireLeader = requireLeader,
            RetryPolicy = EtcdRetryPolicy.None,
            RequestTimeout = TimeSpan.FromSeconds(15),
        });
        await using var requiring = Client(requireLeader: true);
        await using var tolerant = Client(requireLeader: false);

        var watch = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<EtcdUnavailableException>(() => requiring.PutAsync("rl/k", "w"));
        var refusedIn = watch.Elapsed;
        Assert.Contains("no leader", refused.Message);
        Assert.True(refusedIn < TimeSpan.FromSeconds(2), $"refused after {refusedIn}");

        watch.Restart();
        await Assert.ThrowsAnyAsync<EtcdException>(() => tolerant.PutAsync("rl/k", "w"));
        var heldFor = watch.Elapsed;
        Assert.True(heldFor > TimeSpan.FromSeconds(4), $"without hasleader the member should hold the write until its own timeout, held {heldFor}");

        // Serializable reads never require a leader.
        Assert.Equal("v", (await requiring.GetAsync("rl/k", new GetOptions { Serializable = true })).Kvs.Single().Value.ToString());
    }

    private static async Task WaitUntilLeaderlessAsync(EtcdServer member)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await member.GetStatusAsync() is { Leader: 0 }) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{member} still reports a leader");
    }
}
