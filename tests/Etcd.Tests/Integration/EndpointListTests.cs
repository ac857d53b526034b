using System.Collections.Concurrent;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>Endpoint discovery from the member list, and replacing the endpoint list while calls and streams run.</summary>
public sealed class EndpointListTests(EtcdClusterFixture fixture) : IClassFixture<EtcdClusterFixture>
{
    private static HashSet<Uri> UrlsOf(IEnumerable<EtcdServer> members) => members.Select(m => new Uri(m.ClientUrl)).ToHashSet();

    [Fact]
    public async Task SyncEndpointsAsync_lists_the_client_url_of_every_member()
    {
        var members = fixture.Cluster.Members;
        await using var client = new EtcdClient(members[0].ClientUrl);

        var endpoints = await client.SyncEndpointsAsync();

        Assert.Equal(UrlsOf(members), endpoints.ToHashSet());
        Assert.Equal(UrlsOf(members), client.Endpoints.ToHashSet());
    }

    [Fact]
    public async Task Removing_the_endpoint_a_watch_streams_from_moves_the_watch_without_losing_events()
    {
        var members = fixture.Cluster.Members;
        var prefix = fixture.UniquePrefix();
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [members[0].ClientUrl, members[1].ClientUrl],
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        var seen = new ConcurrentQueue<string>();
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var watch = client.Watch.Watch(KeySet.Prefix(prefix), e =>
        {
            seen.Enqueue(e.Kv.Key.ToString());
            if (seen.Count == 20) allSeen.TrySetResult();
        });
        await watch.Started.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new Uri(members[0].ClientUrl), client.CurrentEndpoint);
        for (int i = 0; i < 10; i++) await client.PutAsync($"{prefix}{i:d2}", "v");

        client.SetEndpoints([members[1].ClientUrl]);
        // Past the removed channel's grace period (the request timeout), its streams have moved.
        await Task.Delay(TimeSpan.FromSeconds(3));
        for (int i = 10; i < 20; i++) await client.PutAsync($"{prefix}{i:d2}", "v");

        await allSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{prefix}{i:d2}"), seen);
        Assert.Equal(new Uri(members[1].ClientUrl), client.CurrentEndpoint);
        Assert.Equal([new Uri(members[1].ClientUrl)], client.Endpoints);
    }
}

/// <summary>Background endpoint sync on a cluster of its own, whose seed member is killed.</summary>
public sealed class EndpointSyncTests
{
    [Fact]
    public async Task Periodic_sync_finds_every_member_and_calls_and_watches_survive_the_seed_member_dying()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        // A follower: killing the leader would also leave writes in flight with an unknown outcome, which is another test's subject.
        var leader = await cluster.FindLeaderAsync();
        var seed = cluster.Members.First(m => m != leader);
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [seed.ClientUrl],
            EndpointSyncInterval = TimeSpan.FromSeconds(1),
            RequestTimeout = TimeSpan.FromSeconds(3),
        });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (client.Endpoints.Count < 3 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(cluster.Members.Select(m => new Uri(m.ClientUrl)).ToHashSet(), client.Endpoints.ToHashSet());

        var events = new ConcurrentQueue<string>();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var watch = client.Watch.Watch(KeySet.Prefix("sync/"), e =>
        {
            events.Enqueue(e.Kv.Value.ToString());
            if (e.Kv.Value.ToString() == "after") received.TrySetResult();
        });
        await watch.Started.WaitAsync(TimeSpan.FromSeconds(30));
        await client.PutAsync("sync/k", "before");

        await seed.KillAsync();

        // The seed is gone for good: every call must now be served by the members the sync found.
        await client.PutAsync("sync/k", "after");
        Assert.Equal("after", await client.GetStringAsync("sync/k"));
        await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["before", "after"], events);
        Assert.NotEqual(new Uri(seed.ClientUrl), client.CurrentEndpoint);
    }
}
