using System.Diagnostics;
using System.Text.Json;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>The Cluster service against real etcd, checked with <c>etcdctl member list -w json</c>.</summary>
public sealed class ClusterTests(EtcdClusterFixture fixture) : IClassFixture<EtcdClusterFixture>
{
    /// <summary>One member as etcdctl sees it.</summary>
    private sealed record CtlMember(ulong Id, string Name, string[] PeerUrls, string[] ClientUrls, bool IsLearner);

    [Fact]
    public async Task ListMembers_matches_etcdctl_member_list()
    {
        await using var client = new EtcdClient(fixture.ClientUrls);

        var listed = await client.Cluster.ListMembersAsync();
        var expected = await CtlMembersAsync(fixture.Ctl);

        Assert.Equal(3, listed.Members.Count);
        Assert.Equal(
            expected.OrderBy(m => m.Id).Select(m => $"{m.Id:x} {m.Name} {string.Join(',', m.PeerUrls)} {string.Join(',', m.ClientUrls)} {m.IsLearner}"),
            listed.Members.OrderBy(m => m.Id).Select(m => $"{m.HexId} {m.Name} {string.Join(',', m.PeerUrls.Select(Trim))} {string.Join(',', m.ClientUrls.Select(Trim))} {m.IsLearner}"));
        Assert.Equal(fixture.Cluster.Members.Select(m => m.Name).Order(), listed.Members.Select(m => m.Name).Order());
        Assert.All(listed.Members, m => Assert.True(m.IsStarted));
        Assert.NotEqual(0UL, listed.Header.ClusterId);
    }

    [Fact]
    public async Task Learner_is_added_started_promoted_and_removed_as_etcdctl_sees_it()
    {
        // Membership changes: a cluster of this test's own, not the shared fixture.
        await using var cluster = await EtcdCluster.StartAsync();
        var ctl = new EtcdCtl(cluster.ClientUrls);
        await using var client = new EtcdClient(cluster.ClientUrls);
        var ports = EtcdMemberJoiner.AllocatePorts();

        // Add as a learner. etcd refuses reconfiguration ("unhealthy cluster", before proposing anything) until the
        // member asked has been connected to every peer for 5 s (etcdserver.HealthInterval), so a fresh cluster retries.
        var added = await WhileUnhealthyAsync(() => client.Cluster.AddMemberAsync([new Uri(ports.PeerUrl)], isLearner: true), TimeSpan.FromSeconds(30));
        Assert.True(added.Member.IsLearner);
        Assert.False(added.Member.IsStarted);
        Assert.Equal(4, added.Members.Count);
        var learner = Assert.Single(await CtlMembersAsync(ctl), m => m.Id == added.Member.Id);
        Assert.True(learner.IsLearner);
        Assert.Equal([ports.PeerUrl], learner.PeerUrls);

        // A learner that has not started has replicated nothing: etcd refuses to promote it, with the typed error.
        var notReady = await Assert.ThrowsAsync<EtcdLearnerNotReadyException>(() => client.Cluster.PromoteMemberAsync(added.Member.Id));
        Assert.Equal(added.Member.Id, notReady.MemberId);
        Assert.True(notReady.IsTransient);

        await using var joined = await EtcdMemberJoiner.StartAsync(cluster, "m4", ports);
        await using (var learnerClient = new EtcdClient(joined.ClientUrl))
        {
            var status = await learnerClient.Maintenance.StatusAsync(new Uri(joined.ClientUrl));
            Assert.True(status.IsLearner);
            Assert.Equal(added.Member.Id, status.Header.MemberId);
        }

        // Promote, retrying while etcd says the learner has not caught up yet.
        var promoted = await PromoteWhenReadyAsync(client, added.Member.Id, TimeSpan.FromSeconds(30));
        Assert.False(promoted.Find(added.Member.Id)!.IsLearner);
        var voting = Assert.Single(await CtlMembersAsync(ctl), m => m.Id == added.Member.Id);
        Assert.False(voting.IsLearner);
        Assert.Equal("m4", voting.Name);
        Assert.Equal([ports.ClientUrl], voting.ClientUrls);

        // Remove it again.
        var removed = await client.Cluster.RemoveMemberAsync(added.Member.Id);
        Assert.Null(removed.Find(added.Member.Id));
        Assert.Equal(3, removed.Members.Count);
        var remaining = await CtlMembersAsync(ctl);
        Assert.DoesNotContain(remaining, m => m.Id == added.Member.Id);
        Assert.Equal(["m1", "m2", "m3"], remaining.Select(m => m.Name).Order());

        // Removing it twice: etcd's "member not found".
        var gone = await Assert.ThrowsAsync<EtcdException>(() => client.Cluster.RemoveMemberAsync(added.Member.Id));
        Assert.Equal(EtcdStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task UpdateMember_replaces_the_peer_urls_of_an_unstarted_member_as_etcdctl_sees_it()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var ctl = new EtcdCtl(cluster.ClientUrls);
        await using var client = new EtcdClient(cluster.ClientUrls);
        var before = EtcdMemberJoiner.AllocatePorts();
        var after = EtcdMemberJoiner.AllocatePorts();
        // A voting member that never starts: 3 of 4 still make a quorum.
        var added = await WhileUnhealthyAsync(() => client.Cluster.AddMemberAsync([new Uri(before.PeerUrl)]), TimeSpan.FromSeconds(30));
        Assert.False(added.Member.IsLearner);

        var updated = await client.Cluster.UpdateMemberAsync(added.Member.Id, [new Uri(after.PeerUrl), new Uri("http://localhost:" + after.ClientPort)]);

        string[] expected = [after.PeerUrl, $"http://localhost:{after.ClientPort}"];
        Assert.Equal(expected, updated.Find(added.Member.Id)!.PeerUrls.Select(Trim));
        Assert.Equal(expected, Assert.Single(await CtlMembersAsync(ctl), m => m.Id == added.Member.Id).PeerUrls);

        await client.Cluster.RemoveMemberAsync(added.Member.Id);
        Assert.DoesNotContain(await CtlMembersAsync(ctl), m => m.Id == added.Member.Id);
    }

    [Fact]
    public async Task Promoting_a_voting_member_is_refused_by_etcd()
    {
        await using var client = new EtcdClient(fixture.ClientUrls);
        var member = (await client.Cluster.ListMembersAsync()).Members[0];

        var error = await Assert.ThrowsAsync<EtcdException>(() => client.Cluster.PromoteMemberAsync(member.Id));

        Assert.Equal(EtcdStatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("can only promote a learner member", error.ServerMessage);
        Assert.IsNotType<EtcdLearnerNotReadyException>(error);
    }

    private static async Task<T> WhileUnhealthyAsync<T>(Func<Task<T>> call, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (EtcdUnavailableException e) when (e.ServerMessage == "etcdserver: unhealthy cluster" && clock.Elapsed < timeout)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<MemberListResponse> PromoteWhenReadyAsync(EtcdClient client, ulong id, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await client.Cluster.PromoteMemberAsync(id);
            }
            catch (EtcdLearnerNotReadyException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(200);
            }
        }
    }

    private static string Trim(Uri uri) => uri.ToString().TrimEnd('/');

    private static async Task<IReadOnlyList<CtlMember>> CtlMembersAsync(EtcdCtl ctl)
    {
        var result = await ctl.RunCheckedAsync(["member", "list", "-w", "json"]);
        using var doc = JsonDocument.Parse(result.StdOut);
        return doc.RootElement.GetProperty("members").EnumerateArray().Select(m => new CtlMember(
            m.GetProperty("ID").GetUInt64(),
            m.TryGetProperty("name", out var name) ? name.GetString()! : "",
            Strings(m, "peerURLs"),
            Strings(m, "clientURLs"),
            m.TryGetProperty("isLearner", out var learner) && learner.GetBoolean())).ToList();

        static string[] Strings(JsonElement member, string property) =>
            member.TryGetProperty(property, out var list) ? [.. list.EnumerateArray().Select(u => u.GetString()!)] : [];
    }
}
