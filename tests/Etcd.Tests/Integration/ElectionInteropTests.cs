using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;
using static Etcd.Tests.Infrastructure.ElectionTestHelpers;

namespace Etcd.Tests.Integration;

/// <summary>
/// Our elections against <c>etcdctl elect</c> (etcd's Go client): same key layout, same queue. etcdctl prints the
/// leader's key and then its value, one line each, when it is elected, and for each leader state in observe mode (-l).
/// </summary>
public sealed class ElectionInteropTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_notYet = TimeSpan.FromSeconds(2);

    private string Name => P + "election";

    [Fact]
    public async Task Etcdctl_waits_while_we_lead_and_takes_over_when_we_resign()
    {
        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        var ours = await election.CampaignAsync("ours").WaitAsync(Long);

        await using var ctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", Name, "ctl-proposal");
        await WaitForKeyCountAsync(Client, Name + "/", 2);
        Assert.False(await ctl.WritesLineWithinAsync(s_notYet), "etcdctl was elected while we led");

        await using var observer = Observe(election);
        Assert.Equal("ours", (await observer.NextAsync()).ValueString);
        await ours.ResignAsync();

        var printedKey = await ctl.ReadLineAsync(Long);
        Assert.Equal("ctl-proposal", await ctl.ReadLineAsync(Long));
        var leader = await election.GetLeaderAsync();
        Assert.Equal((printedKey, "ctl-proposal"), (leader!.Key.ToStringUtf8(), leader.ValueString));
        Assert.Equal(CandidateKey(Name, leader.LeaseId), printedKey);
        var seen = await observer.NextAsync();
        Assert.Equal((printedKey, "ctl-proposal"), (seen.Key.ToStringUtf8(), seen.ValueString));

        await ctl.InterruptAsync();
        Assert.Null(await election.GetLeaderAsync());
    }

    [Fact]
    public async Task We_wait_while_etcdctl_leads_and_take_over_when_it_is_interrupted()
    {
        await using var ctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", Name, "ctl-proposal");
        var ctlKey = await ctl.ReadLineAsync(Long);
        Assert.Equal("ctl-proposal", await ctl.ReadLineAsync(Long));

        await using var session = await Session.CreateAsync(Client);
        var election = new Election(session, Name);
        Assert.Equal(ctlKey, (await election.GetLeaderAsync())!.Key.ToStringUtf8());
        var campaign = election.CampaignAsync("ours");
        Assert.False(await CompletesWithinAsync(campaign, TimeSpan.FromSeconds(1.5)), "we were elected while etcdctl led");

        await ctl.InterruptAsync(); // etcdctl resigns on SIGINT
        await using var ours = await campaign.WaitAsync(Long);
        var leader = await election.GetLeaderAsync();
        Assert.Equal((ours.Key, "ours"), (leader!.Key, leader.ValueString));
    }

    [Fact]
    public async Task Etcdctl_observer_prints_our_campaign_and_proclaimed_values()
    {
        await using var observer = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", "-l", Name);
        await using var session = await Session.CreateAsync(Client);
        await using var ours = await new Election(session, Name).CampaignAsync("first").WaitAsync(Long);

        Assert.Equal(ours.Key.ToStringUtf8(), await observer.ReadLineAsync(Long));
        Assert.Equal("first", await observer.ReadLineAsync(Long));
        await ours.ProclaimAsync("second");
        Assert.Equal(ours.Key.ToStringUtf8(), await observer.ReadLineAsync(Long));
        Assert.Equal("second", await observer.ReadLineAsync(Long));
    }

    [Fact]
    public async Task Namespaced_election_uses_the_physical_layout_and_interoperates_with_etcdctl()
    {
        var ns = P + "ns/";
        await using var session = await Session.CreateAsync(Client.WithNamespace(ns));
        var election = new Election(session, "NAME");
        var ours = await election.CampaignAsync("ours").WaitAsync(Long);

        Assert.Equal(CandidateKey("NAME", session.LeaseId), ours.Key.ToStringUtf8());
        var physical = await Client.GetAsync(CandidateKey(ns + "NAME", session.LeaseId));
        Assert.Equal(("ours", session.LeaseId), (physical.First!.Value.ToStringUtf8(), physical.First.Lease));

        await using var ctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", ns + "NAME", "ctl-proposal");
        await WaitForKeyCountAsync(Client, ns + "NAME/", 2);
        Assert.False(await ctl.WritesLineWithinAsync(TimeSpan.FromSeconds(1.5)), "etcdctl was elected while we led");
        await ours.ResignAsync();

        var printedKey = await ctl.ReadLineAsync(Long);
        Assert.Equal("ctl-proposal", await ctl.ReadLineAsync(Long));
        var leader = await election.GetLeaderAsync();
        Assert.Equal(ns + leader!.Key.ToStringUtf8(), printedKey);
        Assert.Equal(CandidateKey("NAME", leader.LeaseId), leader.Key.ToStringUtf8());
        Assert.Equal("ctl-proposal", leader.ValueString);

        // And back: etcdctl resigns, our next campaign in the namespace leads at once.
        await ctl.InterruptAsync();
        await using var again = await election.CampaignAsync("again").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("again", await Client.GetStringAsync(CandidateKey(ns + "NAME", session.LeaseId)));
    }
}
