using System.Diagnostics;
using System.Threading.Channels;
using Etcd.Operations;
using Etcd.Tests.Infrastructure;
using ElectionPb = Etcd.Protocol.Election;

namespace Etcd.Tests.Integration;

public sealed class ServerElectionTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private string Name => P + "elect";

    private async Task<Lease> NewLeaseAsync() => await Client.Leases.CreateAsync(TimeSpan.FromSeconds(10));

    private static async Task AssertStillWaitingAsync(Task task, TimeSpan window)
    {
        var first = await Task.WhenAny(task, Task.Delay(window));
        Assert.NotSame(task, first);
    }

    /// <summary>Reads an observation stream into a channel in the background, so the test can await each item with a timeout.</summary>
    private static (ChannelReader<KeyValue> Items, Task Pump) Observe(IAsyncEnumerable<KeyValue> source)
    {
        var channel = Channel.CreateUnbounded<KeyValue>();
        var pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var kv in source) channel.Writer.TryWrite(kv);
                channel.Writer.TryComplete();
            }
            catch (Exception error)
            {
                channel.Writer.TryComplete(error);
            }
        });
        return (channel.Reader, pump);
    }

    private static async Task<KeyValue> NextAsync(ChannelReader<KeyValue> items)
    {
        using var timeout = new CancellationTokenSource(Long);
        return await items.ReadAsync(timeout.Token);
    }

    [Fact]
    public async Task Campaign_proclaim_observe_and_resign_hand_over_to_the_next_candidate()
    {
        Assert.Null(await Client.Elections.GetLeaderAsync(Name));

        using var stop = new CancellationTokenSource();
        var (observed, pump) = Observe(Client.Elections.ObserveAsync(Name, stop.Token));
        await using var leaseA = await NewLeaseAsync();
        await using var leaseB = await NewLeaseAsync();

        var a = await Client.Elections.CampaignAsync(Name, "a1", leaseA);
        Assert.Equal($"{Name}/{leaseA.Id:x}", a.Key.ToStringUtf8());
        Assert.Equal(Name, a.Name.ToStringUtf8());
        Assert.Equal(leaseA.Id, a.LeaseId);
        var bTask = Client.Elections.CampaignAsync(Name, "b1", leaseB);

        var first = await NextAsync(observed);
        Assert.Equal((a.Key, (EtcdBytes)"a1", a.Revision), (first.Key, first.Value, first.CreateRevision));
        await Client.Elections.ProclaimAsync(a, "a2");
        var second = await NextAsync(observed);
        Assert.Equal((a.Key, (EtcdBytes)"a2"), (second.Key, second.Value));
        var leader = await Client.Elections.GetLeaderAsync(Name);
        Assert.Equal((a.Key, (EtcdBytes)"a2"), (leader!.Key, leader.Value));
        await AssertStillWaitingAsync(bTask, TimeSpan.FromSeconds(1));

        await Client.Elections.ResignAsync(a);
        var b = await bTask.WaitAsync(Long);
        Assert.True(b.Revision > a.Revision);
        var third = await NextAsync(observed);
        Assert.Equal((b.Key, (EtcdBytes)"b1"), (third.Key, third.Value));

        // The old leader key is stale now: proclaiming with it is the typed error, resigning with it changes nothing.
        var notLeader = await Assert.ThrowsAsync<EtcdNotLeaderException>(() => Client.Elections.ProclaimAsync(a, "stale"));
        Assert.Contains("election: not leader", notLeader.ServerMessage);
        await Client.Elections.ResignAsync(a);
        Assert.Equal((EtcdBytes)"b1", (await Client.Elections.GetLeaderAsync(Name))!.Value);

        await Client.Elections.ResignAsync(b);
        Assert.Null(await Client.Elections.GetLeaderAsync(Name));
        stop.Cancel();
        await pump.WaitAsync(Long);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await observed.Completion);
    }

    [Fact]
    public async Task Cancelling_a_waiting_campaign_leaves_no_key_behind()
    {
        await using var leaseA = await NewLeaseAsync();
        await using var leaseB = await NewLeaseAsync();
        var a = await Client.Elections.CampaignAsync(Name, "a", leaseA);

        using var cts = new CancellationTokenSource();
        var waiter = Client.Elections.CampaignAsync(Name, "b", leaseB, cts.Token);
        var waiterKey = (EtcdBytes)$"{Name}/{leaseB.Id:x}";
        var clock = Stopwatch.StartNew();
        while ((await Client.GetAsync(waiterKey)).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, "the server did not queue the candidate");
            await Task.Delay(50);
        }

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WaitAsync(Long));
        clock.Restart();
        while ((await Client.GetAsync(waiterKey)).Count != 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the cancelled candidate's key stayed");
            await Task.Delay(50);
        }
        Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(Name + "/"))).Count);
        await Client.Elections.ResignAsync(a);
    }

    [Fact]
    public async Task Etcdctl_elect_and_our_campaign_interoperate_in_both_directions()
    {
        await using var lease = await NewLeaseAsync();

        // etcdctl leads first: ours waits, sees etcdctl's proposal as leader, and takes over on SIGINT.
        await using (var ctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", Name, "from-etcdctl"))
        {
            var ctlKey = await ctl.ReadLineAsync(Long);
            Assert.StartsWith(Name + "/", ctlKey);
            Assert.Equal("from-etcdctl", await ctl.ReadLineAsync(Long));

            var ours = Client.Elections.CampaignAsync(Name, "from-us", lease);
            await AssertStillWaitingAsync(ours, TimeSpan.FromSeconds(1.5));
            var leader = await Client.Elections.GetLeaderAsync(Name);
            Assert.Equal((ctlKey, "from-etcdctl"), (leader!.Key.ToStringUtf8(), leader.Value.ToStringUtf8()));

            await ctl.InterruptAsync();
            var elected = await ours.WaitAsync(Long);

            // etcdctl's observer sees our leadership and our proclamation.
            await using var observer = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", "-l", Name);
            Assert.Equal(elected.Key.ToStringUtf8(), await observer.ReadLineAsync(Long));
            Assert.Equal("from-us", await observer.ReadLineAsync(Long));
            await Client.Elections.ProclaimAsync(elected, "proclaimed");
            Assert.Equal(elected.Key.ToStringUtf8(), await observer.ReadLineAsync(Long));
            Assert.Equal("proclaimed", await observer.ReadLineAsync(Long));

            // A waiting etcdctl candidate is elected once we resign.
            await using var next = EtcdCtlProcess.Start(Etcd.ClientUrl, "elect", Name, "next");
            Assert.False(await next.WritesLineWithinAsync(TimeSpan.FromSeconds(2)), "etcdctl was elected while we led");
            await Client.Elections.ResignAsync(elected);
            Assert.StartsWith(Name + "/", await next.ReadLineAsync(Long));
            Assert.Equal("next", await next.ReadLineAsync(Long));
            await next.InterruptAsync();
        }
    }

    [Fact]
    public async Task Observe_ends_with_a_typed_exception_when_the_connection_breaks()
    {
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var viaProxy = new EtcdClient(proxy.Url);
        await using var lease = await NewLeaseAsync();
        var leader = await Client.Elections.CampaignAsync(Name, "v", lease);

        var (observed, pump) = Observe(viaProxy.Elections.ObserveAsync(Name));
        Assert.Equal(leader.Key, (await NextAsync(observed)).Key);
        Assert.True(proxy.CutAll() > 0);

        await pump.WaitAsync(Long);
        var error = await Assert.ThrowsAnyAsync<EtcdException>(async () => await observed.Completion);
        Assert.True(error.IsTransient, $"{error.GetType().Name}: {error.Message}");
        await Client.Elections.ResignAsync(leader);
    }

    [Fact]
    public async Task Server_errors_map_to_typed_exceptions()
    {
        // Raw calls, as another client or a stale process would send them, so the server's own answers are what is checked.
        using var invoker = new EtcdCallInvoker(new EtcdClientOptions { Endpoints = [Etcd.ClientUrl] });
        const long unknownLease = 0x1234_5678_9abc;
        var campaign = new ElectionPb.CampaignRequest { Name = Google.Protobuf.ByteString.CopyFromUtf8(Name), Lease = unknownLease };
        var notFound = await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(
            () => invoker.BlockingUnaryAsync(EtcdMethods.Campaign, campaign, CancellationToken.None, unknownLease));
        Assert.Equal(unknownLease, notFound.LeaseId);

        var leader = new LeaderKey(Name, $"{Name}/{unknownLease:x}", 1, unknownLease);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => Client.Elections.ProclaimAsync(leader, "x"));
        Assert.Null(await Client.Elections.GetLeaderAsync(Name));
    }

    private async Task WaitForKeyAsync(EtcdBytes key)
    {
        var clock = Stopwatch.StartNew();
        while ((await Client.GetAsync(key)).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, $"the server did not create {key}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Campaign_whose_key_was_deleted_while_waiting_fails_with_not_leader_instead_of_a_second_leader()
    {
        await using var leaseA = await NewLeaseAsync();
        await using var leaseB = await NewLeaseAsync();
        await using var leaseC = await NewLeaseAsync();
        var a = await Client.Elections.CampaignAsync(Name, "a", leaseA);
        var bTask = Client.Elections.CampaignAsync(Name, "b", leaseB);
        var bKey = (EtcdBytes)$"{Name}/{leaseB.Id:x}";
        await WaitForKeyAsync(bKey);

        // etcdctl del of the waiting candidate's key: the server's Campaign still answers once A resigns.
        Assert.Equal(1, await Etcd.Ctl.DeleteAsync(bKey.ToArray()));
        await Client.Elections.ResignAsync(a);
        var notLeader = await Assert.ThrowsAsync<EtcdNotLeaderException>(() => bTask.WaitAsync(Long));
        Assert.Equal(bKey, notLeader.Key);

        // C leads at once, alone; B's lease is free to campaign again (it queues behind C).
        var c = await Client.Elections.CampaignAsync(Name, "c", leaseC).WaitAsync(Long);
        var leaderNow = await Client.Elections.GetLeaderAsync(Name);
        Assert.Equal((c.Key, (EtcdBytes)"c"), (leaderNow!.Key, leaderNow.Value));
        Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(Name + "/"))).Count);
        var again = Client.Elections.CampaignAsync(Name, "b2", leaseB);
        await AssertStillWaitingAsync(again, TimeSpan.FromSeconds(1));
        await Client.Elections.ResignAsync(c);
        var b = await again.WaitAsync(Long);
        Assert.Equal("b2", (await Client.Elections.GetLeaderAsync(Name))!.Value.ToStringUtf8());
        await Client.Elections.ResignAsync(b);
    }

    [Fact]
    public async Task Proclaim_answered_not_leader_frees_the_lease_to_campaign_again_and_the_fence_fails()
    {
        await using var lease = await NewLeaseAsync();
        var first = await Client.Elections.CampaignAsync(Name, "one", lease);
        var fenced = await Client.Txn().If(first.Fence).Then(TxnOp.Put(P + "data", "1")).CommitAsync();
        Assert.True(fenced.Succeeded);

        await Client.DeleteAsync(first.Key);
        Assert.False((await Client.Txn().If(first.Fence).Then(TxnOp.Put(P + "data", "2")).CommitAsync()).Succeeded);
        await Assert.ThrowsAsync<EtcdNotLeaderException>(() => Client.Elections.ProclaimAsync(first, "late"));

        // No ResignAsync on the stale key needed: the not-leader answer released the client's claim.
        var second = await Client.Elections.CampaignAsync(Name, "two", lease).WaitAsync(Long);
        Assert.True(second.Revision > first.Revision);
        Assert.True((await Client.Txn().If(second.Fence).CommitAsync()).Succeeded);
        Assert.False((await Client.Txn().If(first.Fence).CommitAsync()).Succeeded);
        await Client.Elections.ResignAsync(first); // stale: a no-op that leaves the new leadership alone
        Assert.Equal("two", (await Client.Elections.GetLeaderAsync(Name))!.Value.ToStringUtf8());
        await Client.Elections.ResignAsync(second);
        Assert.Equal("1", await Client.GetStringAsync(P + "data"));
    }

    [Fact]
    public async Task Campaign_on_a_lease_revoked_elsewhere_is_lease_lost()
    {
        var lease = await NewLeaseAsync();
        await using (var other = new EtcdClient(Etcd.ClientUrl))
        {
            await other.Leases.RevokeAsync(lease.Id);
        }
        // The lease's keep-alive has not noticed yet (or just has): either way the documented type.
        var lost = await Assert.ThrowsAsync<EtcdLeaseLostException>(() => Client.Elections.CampaignAsync(Name, "v", lease).WaitAsync(Long));
        Assert.Equal(lease.Id, lost.LeaseId);
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(Name + "/"))).Count);
        await lease.DisposeAsync();
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_sending()
    {
        await using var lease = await NewLeaseAsync();
        var e = Client.Elections;
        await Assert.ThrowsAsync<ArgumentNullException>(() => e.CampaignAsync((string?)null, "v", lease));
        await Assert.ThrowsAsync<ArgumentException>(() => e.CampaignAsync("", "v", lease));
        await Assert.ThrowsAsync<ArgumentNullException>(() => e.CampaignAsync(Name, (string?)null, lease));
        await Assert.ThrowsAsync<ArgumentNullException>(() => e.CampaignAsync(Name, "v", null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => e.ProclaimAsync(null!, "v"));
        await Assert.ThrowsAsync<ArgumentException>(() => e.ProclaimAsync(new LeaderKey(default, default, 0, 0), "v"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => e.ProclaimAsync(new LeaderKey(Name, Name + "/1", 0, 1), "v"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => e.ResignAsync(new LeaderKey(Name, Name + "/1", 5, 0)));
        await Assert.ThrowsAsync<ArgumentNullException>(() => e.ProclaimAsync(new LeaderKey(Name, Name + "/1", 5, 1), (string?)null));
        await Assert.ThrowsAsync<ArgumentException>(() => e.GetLeaderAsync(""));
        Assert.Throws<ArgumentException>(() => e.ObserveAsync(""));

        var leader = await e.CampaignAsync(Name, "v", lease);
        await Assert.ThrowsAsync<InvalidOperationException>(() => e.CampaignAsync(Name, "again", lease));
        await e.ResignAsync(leader);
        await e.ResignAsync(await e.CampaignAsync(Name, "again", lease));

        var lost = await NewLeaseAsync();
        await lost.RevokeAsync();
        Assert.Equal(lost.Id, (await Assert.ThrowsAsync<EtcdLeaseLostException>(() => e.CampaignAsync(Name, "v", lost))).LeaseId);
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(Name + "/"))).Count);
    }
}
