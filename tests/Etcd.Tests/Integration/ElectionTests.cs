using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;
using static Etcd.Tests.Infrastructure.ElectionTestHelpers;

namespace Etcd.Tests.Integration;

/// <summary>Leader elections between our own sessions against a real etcd.</summary>
public sealed class ElectionTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_notYet = TimeSpan.FromSeconds(1.5);

    private string Name => P + "election";

    [Fact]
    public async Task First_candidate_leads_at_once_second_waits_until_first_resigns_and_observe_sees_each_state_once_in_order()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        var a = new Election(sessionA, Name);
        var b = new Election(sessionB, Name);
        await using var observer = Observe(a);

        await using var leaderA = await a.CampaignAsync("a").WaitAsync(Long);
        Assert.Equal(CandidateKey(Name, sessionA.LeaseId), leaderA.Key.ToStringUtf8());
        Assert.Equal("a", leaderA.Value.ToStringUtf8());
        Assert.False(leaderA.IsLost);
        var seenA = await observer.NextAsync();
        Assert.Equal(("a", leaderA.Key, leaderA.Revision, sessionA.LeaseId), (seenA.ValueString, seenA.Key, seenA.Revision, seenA.LeaseId));

        await leaderA.ProclaimAsync("a2");
        Assert.Equal("a2", leaderA.Value.ToStringUtf8());
        var seenA2 = await observer.NextAsync();
        Assert.Equal(("a2", leaderA.Revision), (seenA2.ValueString, seenA2.Revision));
        Assert.True(seenA2.ModRevision > seenA.ModRevision);

        var campaignB = b.CampaignAsync("b");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        Assert.False(await CompletesWithinAsync(campaignB, s_notYet), "the second candidate led while the first still did");
        Assert.Equal("a2", (await b.GetLeaderAsync())!.ValueString);

        var lostA = WhenCancelled(leaderA.Lost);
        await leaderA.ResignAsync();
        await leaderA.ResignAsync(); // idempotent
        await using var leaderB = await campaignB.WaitAsync(Long);
        await lostA.WaitAsync(Long);
        Assert.True(leaderA.IsLost);
        Assert.False(leaderB.IsLost);
        Assert.True(leaderB.Revision > leaderA.Revision);

        var seenB = await observer.NextAsync();
        Assert.Equal(("b", leaderB.Key, leaderB.Revision), (seenB.ValueString, seenB.Key, seenB.Revision));
        Assert.True(await observer.QuietForAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(leaderB.Key, (await a.GetLeaderAsync())!.Key);
    }

    [Fact]
    public async Task GetLeader_is_null_without_candidates_and_the_first_created_key_otherwise()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        var a = new Election(sessionA, Name);
        Assert.Null(await a.GetLeaderAsync());

        // The first-created key leads even when it sorts after the other (lease ids are not ordered by creation).
        await Client.PutAsync(Name + "/ffffffffffffffff", "first", new PutOptions { Lease = sessionB.LeaseId });
        await using var waiting = Observe(a);
        var leader = await a.GetLeaderAsync();
        Assert.Equal((Name + "/ffffffffffffffff", "first", sessionB.LeaseId), (leader!.Key.ToStringUtf8(), leader.ValueString, leader.LeaseId));
        Assert.Equal("first", (await waiting.NextAsync()).ValueString);
        using var cancel = new CancellationTokenSource();
        var second = a.CampaignAsync("second", cancel.Token);
        Assert.False(await CompletesWithinAsync(second, TimeSpan.FromSeconds(1)));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Long));
    }

    [Fact]
    public async Task Proclaim_after_the_key_was_deleted_throws_not_leader_and_Lost_fires()
    {
        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        var leadership = await election.CampaignAsync("v").WaitAsync(Long);
        var lost = WhenCancelled(leadership.Lost);

        await Client.DeleteAsync(leadership.Key);
        await lost.WaitAsync(Long);
        Assert.True(leadership.IsLost);
        var error = await Assert.ThrowsAsync<EtcdNotLeaderException>(() => leadership.ProclaimAsync("w"));
        Assert.Equal(leadership.Key, error.Key);
        Assert.Null((await Client.GetAsync(leadership.Key)).First);

        await leadership.ResignAsync(); // a no-op on a lost leadership
        await leadership.DisposeAsync();
        Assert.Null(await election.GetLeaderAsync());
    }

    [Fact]
    public async Task Proclaim_after_the_key_was_replaced_throws_not_leader_and_leaves_the_new_key_alone()
    {
        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        await using var leadership = await election.CampaignAsync("v").WaitAsync(Long);

        // Someone else deletes the key and writes it again: it exists, but it is not this leadership's any more.
        await Client.DeleteAsync(leadership.Key);
        await Client.PutAsync(leadership.Key, "other");
        await WhenCancelled(leadership.Lost).WaitAsync(Long);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => leadership.ProclaimAsync("w"));
        await leadership.ResignAsync();
        Assert.Equal("other", await Client.GetStringAsync(leadership.Key));
    }

    [Fact]
    public async Task Proclaim_after_the_session_was_revoked_throws_not_leader_and_Lost_fires()
    {
        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        await using var leadership = await election.CampaignAsync("v").WaitAsync(Long);
        var lost = WhenCancelled(leadership.Lost);

        await using (var other = new EtcdClient(Etcd.ClientUrl))
        {
            await other.Leases.RevokeAsync(session.LeaseId);
        }
        await lost.WaitAsync(Long);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => leadership.ProclaimAsync("w"));
        Assert.Null(await election.GetLeaderAsync());
        // A new campaign on the dead session fails at once (the server rejects the lease, or the session already knows)
        // instead of waiting forever.
        var error = await Assert.ThrowsAnyAsync<EtcdException>(() => election.CampaignAsync("again").WaitAsync(Long));
        Assert.True(error is EtcdLeaseNotFoundException or EtcdLeaseLostException, error.ToString());
        Assert.Null(await election.GetLeaderAsync());
    }

    [Fact]
    public async Task Campaign_of_a_resumed_session_is_leader_at_once_with_the_same_revision_and_the_new_value()
    {
        await using var original = await Session.CreateAsync(Client, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        await using var leadership = await new Election(original, Name).CampaignAsync("one").WaitAsync(Long);

        // Another client stands for a restarted process that kept the lease id.
        await using var otherClient = new EtcdClient(Etcd.ClientUrl);
        await using var resumed = await Session.CreateAsync(otherClient, new SessionOptions { LeaseId = original.LeaseId });
        var again = await new Election(resumed, Name).CampaignAsync("two").WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(leadership.Key, again.Key);
        Assert.Equal(leadership.Revision, again.Revision);
        Assert.Equal("two", again.Value.ToStringUtf8());
        var leader = await new Election(original, Name).GetLeaderAsync();
        Assert.Equal(("two", leadership.Revision), (leader!.ValueString, leader.Revision));
        Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(Name + "/"), new GetOptions { CountOnly = true })).Count);
        Assert.False(again.IsLost);

        // The first leadership watches the same key: it sees the new value and is still the leader.
        await EventuallyAsync(() => leadership.Value.ToStringUtf8() == "two", "the first leadership seeing the new value");
        Assert.False(leadership.IsLost);

        // Same value again: nothing is written.
        var same = await new Election(resumed, Name).CampaignAsync("two").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(leader.ModRevision, (await Client.GetAsync(again.Key)).First!.ModRevision);
        Assert.Equal(leadership.Revision, same.Revision);
        await again.ResignAsync();
    }

    [Fact]
    public async Task Cancelled_waiting_campaign_leaves_no_key_and_does_not_block_later_candidates()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        await using var sessionC = await Session.CreateAsync(Client);
        await using var leaderA = await new Election(sessionA, Name).CampaignAsync("a").WaitAsync(Long);
        var b = new Election(sessionB, Name);

        using var cancel = new CancellationTokenSource();
        var campaignB = b.CampaignAsync("b", cancel.Token);
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        cancel.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => campaignB.WaitAsync(Long));
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal(0, (await Client.GetAsync(b.Key, new GetOptions { CountOnly = true })).Count);

        var campaignC = new Election(sessionC, Name).CampaignAsync("c");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        await leaderA.ResignAsync();
        await using var leaderC = await campaignC.WaitAsync(Long);
        Assert.Equal("c", (await b.GetLeaderAsync())!.ValueString);

        // A campaign cancelled before it starts sends nothing.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b.CampaignAsync("b", cancel.Token));
        Assert.Equal(0, (await Client.GetAsync(b.Key, new GetOptions { CountOnly = true })).Count);
    }

    [Fact]
    public async Task Timed_out_campaign_throws_TimeoutException_leaves_no_key_and_does_not_block_later_candidates()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        await using var leaderA = await new Election(sessionA, Name).CampaignAsync("a").WaitAsync(Long);
        var b = new Election(sessionB, Name);

        await Assert.ThrowsAsync<TimeoutException>(() => b.CampaignAsync("b", TimeSpan.FromSeconds(1)).WaitAsync(Long));
        Assert.Equal(0, (await Client.GetAsync(b.Key, new GetOptions { CountOnly = true })).Count);
        Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(Name + "/"), new GetOptions { CountOnly = true })).Count);

        await leaderA.ResignAsync();
        await using var leaderB = await b.CampaignAsync("b", TimeSpan.FromSeconds(10)).WaitAsync(Long);
        Assert.Equal(leaderB.Key, (await b.GetLeaderAsync())!.Key);
    }

    [Fact]
    public async Task Campaign_whose_key_is_deleted_while_waiting_fails_with_not_leader_instead_of_waiting_on()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        await using var leaderA = await new Election(sessionA, Name).CampaignAsync("a").WaitAsync(Long);
        var b = new Election(sessionB, Name);

        var campaignB = b.CampaignAsync("b");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        await Client.DeleteAsync(b.Key);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => campaignB.WaitAsync(Long));
        Assert.False(leaderA.IsLost);
    }

    [Fact]
    public async Task Revoking_the_leaders_session_elsewhere_elects_the_next_candidate_and_observe_shows_it()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        var b = new Election(sessionB, Name);
        await using var leaderA = await new Election(sessionA, Name).CampaignAsync("a").WaitAsync(Long);
        await using var observer = Observe(b);
        Assert.Equal("a", (await observer.NextAsync()).ValueString);

        var campaignB = b.CampaignAsync("b");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        Assert.False(await CompletesWithinAsync(campaignB, TimeSpan.FromSeconds(1)));
        await using (var other = new EtcdClient(Etcd.ClientUrl))
        {
            await other.Leases.RevokeAsync(sessionA.LeaseId);
        }

        await using var leaderB = await campaignB.WaitAsync(Long);
        await WhenCancelled(leaderA.Lost).WaitAsync(Long);
        var seen = await observer.NextAsync();
        Assert.Equal(("b", leaderB.Key, leaderB.Revision), (seen.ValueString, seen.Key, seen.Revision));
        Assert.True(await observer.QuietForAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Leadership_and_observe_survive_connection_cuts_without_losing_or_repeating_a_state()
    {
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var proxied = new EtcdClient(proxy.Url);
        await using var session = await Session.CreateAsync(proxied);
        var election = new Election(session, Name);
        await using var leadership = await election.CampaignAsync("v1").WaitAsync(Long);
        await using var observer = Observe(election);
        Assert.Equal("v1", (await observer.NextAsync()).ValueString);

        // Values written while the proxied client's connections are cut must still reach the observer and the
        // leadership, each once, in order, once the watch stream resumes.
        foreach (var value in new[] { "v2", "v3" })
        {
            Assert.True(proxy.CutAll() > 0);
            await Client.PutAsync(leadership.Key, value, new PutOptions { Lease = session.LeaseId });
            var seen = await observer.NextAsync();
            Assert.Equal((value, leadership.Revision), (seen.ValueString, seen.Revision));
        }
        Assert.True(await observer.QuietForAsync(TimeSpan.FromSeconds(1)));
        await EventuallyAsync(() => leadership.Value.ToStringUtf8() == "v3", "the leadership seeing v3");
        Assert.False(leadership.IsLost, "a reconnecting watch must not end the leadership");

        // The client has reconnected (the watches saw v3): proclaiming through it works and is observed once.
        await leadership.ProclaimAsync("v4");
        Assert.Equal("v4", (await observer.NextAsync()).ValueString);
        Assert.False(leadership.IsLost);
    }

    [Fact]
    public async Task Second_concurrent_campaign_of_one_instance_is_refused_and_leaves_the_first_alone()
    {
        await using var sessionA = await Session.CreateAsync(Client);
        await using var sessionB = await Session.CreateAsync(Client);
        await using var leaderA = await new Election(sessionA, Name).CampaignAsync("a").WaitAsync(Long);
        var b = new Election(sessionB, Name);

        var first = b.CampaignAsync("b");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        using (var cancel = new CancellationTokenSource())
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => b.CampaignAsync("b2", cancel.Token).WaitAsync(Long));
            cancel.Cancel();
        }
        Assert.False(await CompletesWithinAsync(first, TimeSpan.FromSeconds(1)), "the first campaign ended");
        Assert.Equal("b", await Client.GetStringAsync(b.Key));

        await leaderA.ResignAsync();
        await using var leaderB = await first.WaitAsync(Long);
        Assert.False(leaderB.IsLost);
        Assert.Equal(leaderB.Key, (await b.GetLeaderAsync())!.Key);
    }

    [Fact]
    public async Task Campaign_on_a_session_whose_lease_was_revoked_elsewhere_is_lease_lost()
    {
        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        await using (var other = new EtcdClient(Etcd.ClientUrl))
        {
            await other.Leases.RevokeAsync(session.LeaseId);
        }
        // The session's keep-alive (every 20 s) has not noticed: the server's "lease not found" is reported as a lost lease.
        var lost = await Assert.ThrowsAsync<EtcdLeaseLostException>(() => election.CampaignAsync("v").WaitAsync(Long));
        Assert.Equal(session.LeaseId, lost.LeaseId);
        Assert.Null(await election.GetLeaderAsync());
    }

    [Fact]
    public async Task Observe_rides_out_a_refused_connection_and_delivers_the_leader_once_it_is_back()
    {
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var proxied = new EtcdClient(proxy.Url);
        await using var observerSession = await Session.CreateAsync(proxied);
        await using var leaderSession = await Session.CreateAsync(Client);
        await using var leader = await new Election(leaderSession, Name).CampaignAsync("a").WaitAsync(Long);

        proxy.Refusing = true;
        proxy.CutAll();
        var acceptedBefore = proxy.AcceptedCount;
        await using var observer = Observe(new Election(observerSession, Name));
        // Its first read fails (connection refused) again and again: the observation must wait, not end.
        await EventuallyAsync(() => proxy.AcceptedCount >= acceptedBefore + 3, "the observer's reads being refused");
        Assert.True(await observer.QuietForAsync(TimeSpan.FromSeconds(1)));

        proxy.Refusing = false;
        var seen = await observer.NextAsync();
        Assert.Equal(("a", leader.Key, leader.Revision), (seen.ValueString, seen.Key, seen.Revision));
    }

    [Fact]
    public async Task Fence_holds_while_leading_and_fails_once_resigned()
    {
        await using var session = await Session.CreateAsync(Client);
        var leadership = await new Election(session, Name).CampaignAsync("v").WaitAsync(Long);
        var fenced = await Client.Txn().If(leadership.Fence).Then(TxnOp.Put(P + "data", "1")).CommitAsync();
        Assert.True(fenced.Succeeded);

        await leadership.DisposeAsync();
        Assert.True(leadership.IsLost);
        var late = await Client.Txn().If(leadership.Fence).Then(TxnOp.Put(P + "data", "2")).CommitAsync();
        Assert.False(late.Succeeded);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => leadership.ProclaimAsync("w"));
        Assert.Equal("1", await Client.GetStringAsync(P + "data"));
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_anything_is_sent()
    {
        await using var session = await Session.CreateAsync(Client);
        Assert.Throws<ArgumentNullException>(() => new Election(null!, Name));
        Assert.Throws<ArgumentNullException>(() => new Election(session, (string)null!));
        Assert.Throws<ArgumentNullException>(() => new Election(session, (byte[])null!));
        Assert.Throws<ArgumentException>(() => new Election(session, ""));

        var election = new Election(session, Name);
        Assert.Throws<ArgumentNullException>(() => { _ = election.CampaignAsync((string)null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = election.CampaignAsync((byte[])null!, TimeSpan.FromSeconds(1)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = election.CampaignAsync("v", TimeSpan.Zero); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = election.CampaignAsync("v", TimeSpan.FromSeconds(-2)); });
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(Name), new GetOptions { CountOnly = true })).Count);

        await using var leadership = await election.CampaignAsync("v").WaitAsync(Long);
        Assert.Throws<ArgumentNullException>(() => { _ = leadership.ProclaimAsync((string)null!); });
        Assert.Equal("v", await Client.GetStringAsync(leadership.Key));
    }
}
