using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>DistributedBarrier and DoubleBarrier against a real etcd, in a namespace.</summary>
public sealed class BarrierTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_should = TimeSpan.FromSeconds(30);

    private IEtcdKeyspace Ns => Client.WithNamespace(P);

    private static async Task Within(Task task, string what)
    {
        var done = await Task.WhenAny(task, Task.Delay(s_should));
        Assert.True(done == task, $"{what} did not happen within {s_should.TotalSeconds} s");
        await task;
    }

    private static async Task AssertStillWaiting(string what, params Task[] tasks)
    {
        await Task.WhenAny(Task.WhenAny(tasks), Task.Delay(1000));
        Assert.All(tasks, t => Assert.False(t.IsCompleted, $"{what} completed but should still be waiting ({t.Status})."));
    }

    [Fact]
    public async Task Waiters_block_while_the_barrier_is_held_and_pass_when_it_is_released()
    {
        var barrier = new DistributedBarrier(Ns, "gate");
        await Within(barrier.WaitAsync(), "Wait on a barrier nobody holds");

        Assert.True(await barrier.HoldAsync());
        Assert.False(await barrier.HoldAsync());
        Assert.NotNull(await Client.GetValueAsync(P + "gate"));

        await using var other = new EtcdClient(Etcd.ClientUrl);
        var waiters = Enumerable.Range(0, 3).Select(_ => new DistributedBarrier(other.WithNamespace(P), "gate").WaitAsync()).ToArray();
        await AssertStillWaiting("Wait on a held barrier", waiters);

        Assert.True(await barrier.ReleaseAsync());
        await Within(Task.WhenAll(waiters), "waiters passing the released barrier");
        Assert.False(await barrier.ReleaseAsync());
    }

    [Fact]
    public async Task A_hold_on_a_session_is_released_when_the_lease_is_revoked()
    {
        var barrier = new DistributedBarrier(Ns, "leased");
        await using var session = await Session.CreateAsync(Ns);
        Assert.True(await barrier.HoldAsync(session));
        Assert.False(await barrier.HoldAsync());

        var waiter = barrier.WaitAsync();
        await AssertStillWaiting("Wait on a held barrier", waiter);
        await session.Lease.RevokeAsync(); // the holder "crashes"
        await Within(waiter, "the waiter passing after the holder's lease ended");
    }

    [Fact]
    public async Task A_cancelled_wait_throws_promptly()
    {
        var barrier = new DistributedBarrier(Ns, "cancel");
        Assert.True(await barrier.HoldAsync());
        using var cts = new CancellationTokenSource();
        var waiter = barrier.WaitAsync(cts.Token);
        await AssertStillWaiting("Wait on a held barrier", waiter);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Double_barrier_of_three_lets_nobody_in_before_the_third_and_nobody_out_before_the_last()
    {
        await using var s1 = await Session.CreateAsync(Ns);
        await using var s2 = await Session.CreateAsync(Ns);
        await using var otherClient = new EtcdClient(Etcd.ClientUrl);
        await using var s3 = await Session.CreateAsync(otherClient.WithNamespace(P));
        var p1 = new DoubleBarrier(s1, "db", 3);
        var p2 = new DoubleBarrier(s2, "db", 3);
        var p3 = new DoubleBarrier(s3, "db", 3);

        var enter1 = p1.EnterAsync();
        var enter2 = p2.EnterAsync();
        await AssertStillWaiting("Enter with two of three participants", enter1, enter2);
        var enter3 = p3.EnterAsync();
        await Within(Task.WhenAll(enter1, enter2, enter3), "all three entering");
        Assert.NotNull(await Client.GetValueAsync(P + "db/ready"));

        // A fourth participant is one too many.
        await using var s4 = await Session.CreateAsync(Ns);
        var full = await Assert.ThrowsAsync<EtcdBarrierFullException>(() => new DoubleBarrier(s4, "db", 3).EnterAsync());
        Assert.Equal(4, full.Participants);
        Assert.Equal(3, (await Client.GetAsync(KeySet.Prefix(P + "db/waiters/"), new GetOptions { CountOnly = true })).Count);

        var leave1 = p1.LeaveAsync();
        var leave3 = p3.LeaveAsync();
        await AssertStillWaiting("Leave with one participant still in", leave1, leave3);
        var leave2 = p2.LeaveAsync();
        await Within(Task.WhenAll(leave1, leave2, leave3), "all three leaving");
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(P + "db/"), new GetOptions { CountOnly = true })).Count);

        // The barrier is reusable: a second round works the same way.
        var again = new[] { p1.EnterAsync(), p2.EnterAsync(), p3.EnterAsync() };
        await Within(Task.WhenAll(again), "a second round entering");
        await Within(Task.WhenAll(p3.LeaveAsync(), p2.LeaveAsync(), p1.LeaveAsync()), "a second round leaving");
    }

    [Fact]
    public async Task Double_barrier_leave_is_not_blocked_by_a_crashed_participant()
    {
        await using var s1 = await Session.CreateAsync(Ns);
        await using var s2 = await Session.CreateAsync(Ns);
        await using var crashing = await Session.CreateAsync(Ns);
        var p1 = new DoubleBarrier(s1, "crash", 3);
        var p2 = new DoubleBarrier(s2, "crash", 3);
        var p3 = new DoubleBarrier(crashing, "crash", 3);
        await Within(Task.WhenAll(p1.EnterAsync(), p2.EnterAsync(), p3.EnterAsync()), "all three entering");

        var leaving = new[] { p1.LeaveAsync(), p2.LeaveAsync() };
        await AssertStillWaiting("Leave while the third participant is still in", leaving);
        await crashing.Lease.RevokeAsync();
        await Within(Task.WhenAll(leaving), "the others leaving after the third one's session ended");
    }

    [Fact]
    public async Task A_cancelled_enter_withdraws_the_participant()
    {
        await using var s1 = await Session.CreateAsync(Ns);
        await using var s2 = await Session.CreateAsync(Ns);
        using var cts = new CancellationTokenSource();
        var enter = new DoubleBarrier(s1, "withdraw", 2).EnterAsync(cts.Token);
        await AssertStillWaiting("Enter alone into a barrier of two", enter);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => enter).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, (await Client.GetAsync(KeySet.Prefix(P + "withdraw/waiters/"), new GetOptions { CountOnly = true })).Count);

        // The withdrawn participant does not count: one more alone still waits.
        using var stop = new CancellationTokenSource();
        var alone = new DoubleBarrier(s2, "withdraw", 2).EnterAsync(stop.Token);
        await AssertStillWaiting("Enter alone after a withdrawal", alone);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => alone).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task WaitForWaitersAsync(string barrier, long count)
    {
        var deadline = DateTime.UtcNow + s_should;
        while ((await Ns.GetAsync(KeySet.Prefix(barrier + "/waiters/"), new GetOptions { CountOnly = true })).Count != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{barrier} did not reach {count} waiters within {s_should.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Double_barrier_leave_ends_when_the_first_participant_vanishes_just_before_another_deletes_its_key()
    {
        var hooked = new HookedKeyspace(Ns);
        await using var sa = await Session.CreateAsync(Ns);
        await using var sb = await Session.CreateAsync(hooked);
        var a = new DoubleBarrier(sa, "vanish", 2);
        var b = new DoubleBarrier(sb, "vanish", 2);
        var enterA = a.EnterAsync();
        await WaitForWaitersAsync("vanish", 1); // A's key is the first one
        await Within(Task.WhenAll(enterA, b.EnterAsync()), "both entering");

        // B has read [A, B]; A's session ends right before B deletes its own key.
        hooked.BeforeDelete = async _ =>
        {
            hooked.BeforeDelete = null;
            await sa.Lease.RevokeAsync();
        };
        await Within(b.LeaveAsync(), "B leaving after A's key went between B's read and B's delete");
        Assert.Equal(0, (await Ns.GetAsync(KeySet.Prefix("vanish/waiters/"), new GetOptions { CountOnly = true })).Count);
    }

    [Fact]
    public async Task A_join_whose_answer_is_lost_is_withdrawn_so_a_retry_counts_once()
    {
        var hooked = new HookedKeyspace(Ns);
        await using var session = await Session.CreateAsync(hooked);
        var p = new DoubleBarrier(session, "lost-join", 2);
        hooked.AfterTxn = (_, _) =>
        {
            hooked.AfterTxn = null;
            throw new EtcdDeadlineExceededException("simulated: the answer of an applied join was lost");
        };
        await Assert.ThrowsAsync<EtcdDeadlineExceededException>(() => p.EnterAsync());
        Assert.Equal(0, (await Ns.GetAsync(KeySet.Prefix("lost-join/waiters/"), new GetOptions { CountOnly = true })).Count);

        // The retry is alone in a barrier of two: it must wait, not pass on its own stale key.
        using var stop = new CancellationTokenSource();
        var retry = p.EnterAsync(stop.Token);
        await AssertStillWaiting("a lone retry after a lost join", retry);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retry).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_cancellation_after_the_opening_put_applied_does_not_withdraw_the_last_participant()
    {
        var hooked = new HookedKeyspace(Ns);
        await using var s1 = await Session.CreateAsync(Ns);
        await using var s2 = await Session.CreateAsync(hooked);
        var first = new DoubleBarrier(s1, "late-cancel", 2);
        var last = new DoubleBarrier(s2, "late-cancel", 2);
        var enterFirst = first.EnterAsync();
        await WaitForWaitersAsync("late-cancel", 1);

        // The caller cancels just as the opening put applied (a client would then throw OperationCanceledException).
        using var cts = new CancellationTokenSource();
        hooked.AfterPut = (_, token) =>
        {
            hooked.AfterPut = null;
            cts.Cancel();
            token.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        };
        await Within(last.EnterAsync(cts.Token), "the last participant entering");
        await Within(enterFirst, "the first participant passing");
        Assert.Equal(2, (await Ns.GetAsync(KeySet.Prefix("late-cancel/waiters/"), new GetOptions { CountOnly = true })).Count);
        await Within(Task.WhenAll(first.LeaveAsync(), last.LeaveAsync()), "both leaving");
    }

    [Fact]
    public async Task An_opening_put_with_an_unknown_outcome_keeps_the_participant_entered()
    {
        var hooked = new HookedKeyspace(Ns);
        await using var s1 = await Session.CreateAsync(Ns);
        await using var s2 = await Session.CreateAsync(hooked);
        var first = new DoubleBarrier(s1, "unknown-put", 2);
        var last = new DoubleBarrier(s2, "unknown-put", 2);
        var enterFirst = first.EnterAsync();
        await WaitForWaitersAsync("unknown-put", 1);
        hooked.AfterPut = (_, _) =>
        {
            hooked.AfterPut = null;
            throw new EtcdUnavailableException("simulated: the answer of the applied opening put was lost");
        };
        await Assert.ThrowsAsync<EtcdUnavailableException>(() => last.EnterAsync());
        await Within(enterFirst, "the first participant passing");
        Assert.Equal(2, (await Ns.GetAsync(KeySet.Prefix("unknown-put/waiters/"), new GetOptions { CountOnly = true })).Count);
        await Within(Task.WhenAll(first.LeaveAsync(), last.LeaveAsync()), "both leaving");
    }

    [Fact]
    public async Task Bad_arguments_and_misuse_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => new DistributedBarrier(null!, "b"));
        Assert.Throws<ArgumentException>(() => new DistributedBarrier(Client, ""));
        Assert.Throws<ArgumentNullException>(() => { _ = new DistributedBarrier(Client, "b").HoldAsync(null!); });
        await using var session = await Session.CreateAsync(Ns);
        Assert.Throws<ArgumentNullException>(() => new DoubleBarrier(null!, "d", 2));
        Assert.Throws<ArgumentException>(() => new DoubleBarrier(session, "", 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DoubleBarrier(session, "d", 0));
        var single = new DoubleBarrier(session, "d", 1);
        await Assert.ThrowsAsync<InvalidOperationException>(() => single.LeaveAsync());
        await single.EnterAsync(); // a barrier of one passes at once
        await Assert.ThrowsAsync<InvalidOperationException>(() => single.EnterAsync());
        await single.LeaveAsync();
    }
}
