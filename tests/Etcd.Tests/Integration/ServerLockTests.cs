using System.Diagnostics;
using System.Globalization;
using Etcd.Operations;
using Etcd.Tests.Infrastructure;
using LockPb = Etcd.Protocol.Lock;

namespace Etcd.Tests.Integration;

public sealed class ServerLockTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private string Name => P + "lock";

    private async Task<Lease> NewLeaseAsync(int ttlSeconds = 10) => await Client.Leases.CreateAsync(TimeSpan.FromSeconds(ttlSeconds));

    private async Task<List<string>> KeysUnderNameAsync() =>
        (await Client.GetAsync(KeySet.Prefix(Name + "/"), new GetOptions { KeysOnly = true })).Kvs.Select(kv => kv.Key.ToStringUtf8()).ToList();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"{what} did not happen within {timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private static async Task AssertStillWaitingAsync(Task task, TimeSpan window)
    {
        var first = await Task.WhenAny(task, Task.Delay(window));
        Assert.NotSame(task, first);
    }

    private static string LeaseKey(string name, long leaseId) => $"{name}/{leaseId:x}";

    [Fact]
    public async Task Server_lock_and_etcdctl_lock_exclude_each_other_in_both_orders()
    {
        await using var lease = await NewLeaseAsync();
        var ours = await Client.Locks.LockAsync(Name, lease);
        Assert.Equal(LeaseKey(Name, lease.Id), ours.Key.ToStringUtf8());

        await using var ctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "lock", Name);
        Assert.False(await ctl.WritesLineWithinAsync(TimeSpan.FromSeconds(2)), "etcdctl got the lock while ours was held");

        await ours.DisposeAsync();
        var ctlKey = await ctl.ReadLineAsync(Long);
        Assert.StartsWith(Name + "/", ctlKey);
        Assert.NotEqual(ours.Key.ToStringUtf8(), ctlKey);

        // Now etcdctl holds it: ours waits until etcdctl lets go on SIGINT.
        var pending = Client.Locks.LockAsync(Name, lease);
        await AssertStillWaitingAsync(pending, TimeSpan.FromSeconds(1.5));
        Assert.Contains(ctlKey, await KeysUnderNameAsync());

        await ctl.InterruptAsync();
        await using var again = await pending.WaitAsync(Long);
        Assert.Equal([again.Key.ToStringUtf8()], await KeysUnderNameAsync());
    }

    [Fact]
    public async Task Second_lock_waits_for_the_first_unlock_and_a_revoked_lease_hands_it_over()
    {
        await using var leaseA = await NewLeaseAsync();
        await using var leaseB = await NewLeaseAsync();
        await using var leaseC = await NewLeaseAsync();

        var a = await Client.Locks.LockAsync(Name, leaseA);
        var bTask = Client.Locks.LockAsync(Name, leaseB);
        await AssertStillWaitingAsync(bTask, TimeSpan.FromSeconds(1));

        await a.UnlockAsync();
        var b = await bTask.WaitAsync(Long);
        Assert.Equal(LeaseKey(Name, leaseB.Id), b.Key.ToStringUtf8());
        Assert.True(b.CreateRevision > a.CreateRevision);
        Assert.False((await Client.Txn().If(a.Fence).CommitAsync()).Succeeded);
        Assert.True((await Client.Txn().If(b.Fence).CommitAsync()).Succeeded);

        var cTask = Client.Locks.LockAsync(Name, leaseC);
        await AssertStillWaitingAsync(cTask, TimeSpan.FromSeconds(1));

        await Client.Leases.RevokeAsync(leaseB.Id);
        await using var c = await cTask.WaitAsync(Long);
        Assert.Equal(LeaseKey(Name, leaseC.Id), c.Key.ToStringUtf8());
        Assert.False((await Client.Txn().If(b.Fence).CommitAsync()).Succeeded);
        Assert.True((await Client.Txn().If(c.Fence).CommitAsync()).Succeeded);
        await b.DisposeAsync(); // the key is gone already: disposal must not throw
    }

    [Fact]
    public async Task Cancelling_a_waiting_lock_leaves_no_key_behind()
    {
        await using var holderLease = await NewLeaseAsync();
        await using var waiterLease = await NewLeaseAsync();
        await using var holder = await Client.Locks.LockAsync(Name, holderLease);

        using var cts = new CancellationTokenSource();
        var waiter = Client.Locks.LockAsync(Name, waiterLease, cts.Token);
        var waiterKey = LeaseKey(Name, waiterLease.Id);
        await WaitUntilAsync(async () => (await KeysUnderNameAsync()).Contains(waiterKey), Long, "the server queuing the waiter's key");

        cts.Cancel();
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WaitAsync(Long));
        Assert.Equal(cts.Token, cancelled.CancellationToken);
        await WaitUntilAsync(async () => !(await KeysUnderNameAsync()).Contains(waiterKey), TimeSpan.FromSeconds(10), "the waiter's key disappearing");
        Assert.Equal([holder.Key.ToStringUtf8()], await KeysUnderNameAsync());

        // The lease can wait again afterwards (the client forgot the cancelled attempt), and a timeout cleans up the same way.
        await Assert.ThrowsAsync<TimeoutException>(() => Client.Locks.LockAsync(Name, waiterLease, TimeSpan.FromSeconds(1)));
        await WaitUntilAsync(async () => (await KeysUnderNameAsync()).Count == 1, TimeSpan.FromSeconds(10), "the timed-out waiter's key disappearing");
        Assert.Equal([holder.Key.ToStringUtf8()], await KeysUnderNameAsync());
    }

    [Fact]
    public async Task Server_itself_deletes_a_waiting_key_when_the_call_is_reset()
    {
        // Checks the server behaviour the clean-up relies on, without our clean-up: a raw Lock call, then a stream reset.
        await using var holderLease = await NewLeaseAsync();
        await using var waiterLease = await NewLeaseAsync();
        await using var holder = await Client.Locks.LockAsync(Name, holderLease);
        using var invoker = new EtcdCallInvoker(new EtcdClientOptions { Endpoints = [Etcd.ClientUrl] });

        using var cts = new CancellationTokenSource();
        var raw = invoker.BlockingUnaryAsync(EtcdMethods.LockAcquire, LockOperations.ToLockRequest(Name, waiterLease.Id), cts.Token);
        var waiterKey = LeaseKey(Name, waiterLease.Id);
        await WaitUntilAsync(async () => (await KeysUnderNameAsync()).Contains(waiterKey), Long, "the server queuing the raw waiter's key");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => raw.WaitAsync(Long));
        await WaitUntilAsync(async () => !(await KeysUnderNameAsync()).Contains(waiterKey), TimeSpan.FromSeconds(10), "the server deleting the reset waiter's key");
    }

    [Fact]
    public async Task Lock_lease_is_kept_alive_unlike_the_servers_lease_zero()
    {
        await using var lease = await NewLeaseAsync(ttlSeconds: 3);
        await using var held = await Client.Locks.LockAsync(Name, lease);

        // For comparison, a raw Lock with lease 0: the server grants a 60 s lease of its own and never renews it.
        using var invoker = new EtcdCallInvoker(new EtcdClientOptions { Endpoints = [Etcd.ClientUrl] });
        var zero = await invoker.BlockingUnaryAsync(EtcdMethods.LockAcquire, LockOperations.ToLockRequest(P + "zero", 0), CancellationToken.None);
        var zeroKey = zero.Key.ToStringUtf8();
        var zeroLease = long.Parse(zeroKey[(zeroKey.LastIndexOf('/') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        await Task.Delay(TimeSpan.FromSeconds(8));

        var kv = (await Client.GetAsync(held.Key)).First;
        Assert.NotNull(kv);
        Assert.Equal(lease.Id, kv.Lease);
        Assert.Equal(held.CreateRevision, kv.CreateRevision);
        Assert.False(held.Lost.IsCancellationRequested);

        var zeroTtl = await Client.Leases.TimeToLiveAsync(zeroLease);
        Assert.Equal(TimeSpan.FromSeconds(60), zeroTtl.GrantedTtl);
        Assert.True(zeroTtl.Ttl <= TimeSpan.FromSeconds(53), $"the server's lease-0 lease was renewed: {zeroTtl.Ttl} left");
        await Client.Leases.RevokeAsync(zeroLease);
    }

    [Fact]
    public async Task Losing_the_lease_while_waiting_is_lease_lost_and_leaves_no_key()
    {
        await using var holderLease = await NewLeaseAsync();
        var waiterLease = await NewLeaseAsync();
        await using var holder = await Client.Locks.LockAsync(Name, holderLease);

        var waiter = Client.Locks.LockAsync(Name, waiterLease);
        var waiterKey = LeaseKey(Name, waiterLease.Id);
        await WaitUntilAsync(async () => (await KeysUnderNameAsync()).Contains(waiterKey), Long, "the server queuing the waiter's key");

        await waiterLease.RevokeAsync();
        var lost = await Assert.ThrowsAsync<EtcdLeaseLostException>(() => waiter.WaitAsync(Long));
        Assert.Equal(waiterLease.Id, lost.LeaseId);
        Assert.Equal([holder.Key.ToStringUtf8()], await KeysUnderNameAsync());
    }

    private static Task WhenCancelled(CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => fired.TrySetResult());
        return fired.Task;
    }

    [Fact]
    public async Task Deleting_the_lock_key_elsewhere_fires_Lost_while_the_next_waiter_takes_the_lock()
    {
        await using var leaseA = await NewLeaseAsync();
        await using var leaseB = await NewLeaseAsync();
        var a = await Client.Locks.LockAsync(Name, leaseA);
        var lostA = WhenCancelled(a.Lost);
        var bTask = Client.Locks.LockAsync(Name, leaseB);
        await AssertStillWaitingAsync(bTask, TimeSpan.FromSeconds(1));
        Assert.False(a.IsLost);

        Assert.Equal(1, await Etcd.Ctl.DeleteAsync(a.Key.ToArray())); // etcdctl del
        await using var b = await bTask.WaitAsync(Long);
        await lostA.WaitAsync(Long);
        Assert.True(a.IsLost);
        Assert.False(b.IsLost);
        Assert.False(leaseA.IsLost);

        await a.UnlockAsync(); // stale: must leave B's lock alone
        Assert.Equal([b.Key.ToStringUtf8()], await KeysUnderNameAsync());
    }

    [Fact]
    public async Task Stale_unlock_leaves_a_later_lock_of_the_same_lease_alone_and_unlock_fires_Lost()
    {
        await using var lease = await NewLeaseAsync();
        var first = await Client.Locks.LockAsync(Name, lease);
        await Client.DeleteAsync(first.Key);
        await WhenCancelled(first.Lost).WaitAsync(Long);

        // Same lease, same key, a new incarnation: the first lock's unlock and disposal must not delete it.
        var second = await Client.Locks.LockAsync(Name, lease).WaitAsync(Long);
        Assert.Equal(first.Key, second.Key);
        Assert.True(second.CreateRevision > first.CreateRevision);
        await first.UnlockAsync();
        await first.DisposeAsync();
        var kv = (await Client.GetAsync(second.Key)).First;
        Assert.Equal(second.CreateRevision, kv?.CreateRevision);
        Assert.False(second.IsLost);

        var lostSecond = WhenCancelled(second.Lost);
        await second.UnlockAsync();
        await lostSecond.WaitAsync(Long);
        Assert.Empty(await KeysUnderNameAsync());
    }

    [Fact]
    public async Task Dispose_that_cannot_reach_the_server_keeps_the_lease_from_relocking_until_the_delete_goes_through()
    {
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var proxied = new EtcdClient(proxy.Url);
        await using var lease = await NewLeaseAsync(); // kept alive by the direct client
        var held = await proxied.Locks.LockAsync(Name, lease);

        proxy.Refusing = true;
        proxy.CutAll();
        await Assert.ThrowsAnyAsync<EtcdException>(() => held.UnlockAsync().WaitAsync(Long));
        await held.DisposeAsync();
        Assert.True(held.IsLost);
        Assert.Equal([held.Key.ToStringUtf8()], await KeysUnderNameAsync());
        // The delete's outcome is not known yet: the same lease must not lock the name again through this client.
        await Assert.ThrowsAsync<InvalidOperationException>(() => proxied.Locks.LockAsync(Name, lease).WaitAsync(Long));

        proxy.Refusing = false;
        await WaitUntilAsync(async () => (await KeysUnderNameAsync()).Count == 0, Long, "the background unlock deleting the key");
        await WaitUntilAsync(() => Task.FromResult(!proxied.Locks.Operations.Held.Contains(held.Key)), Long, "the claim being released");
        await using var again = await proxied.Locks.LockAsync(Name, lease).WaitAsync(Long);
        Assert.True(again.CreateRevision > held.CreateRevision);
    }

    [Fact]
    public async Task Lock_on_a_lease_revoked_elsewhere_is_lease_lost()
    {
        var lease = await NewLeaseAsync();
        await using (var other = new EtcdClient(Etcd.ClientUrl))
        {
            await other.Leases.RevokeAsync(lease.Id);
        }
        var lost = await Assert.ThrowsAsync<EtcdLeaseLostException>(() => Client.Locks.LockAsync(Name, lease).WaitAsync(Long));
        Assert.Equal(lease.Id, lost.LeaseId);
        Assert.Empty(await KeysUnderNameAsync());
        await lease.DisposeAsync();
    }

    [Fact]
    public async Task Clean_up_deletes_only_the_incarnation_of_the_key_it_was_given()
    {
        await using var lease = await NewLeaseAsync();
        await using var otherLease = await NewLeaseAsync();
        var key = (EtcdBytes)LeaseKey(Name, lease.Id);
        var old = (await Client.PutAsync(key, "1", new PutOptions { Lease = lease.Id })).Header.Revision;
        await Client.DeleteAsync(key);
        var current = (await Client.PutAsync(key, "2", new PutOptions { Lease = lease.Id })).Header.Revision;

        Assert.False(await CoordinationSupport.DeleteIfOursAsync(Client, key, lease.Id, old, CancellationToken.None));
        Assert.False(await CoordinationSupport.DeleteIfOursAsync(Client, key, otherLease.Id, 0, CancellationToken.None));
        Assert.False(await CoordinationSupport.DeleteIfOursAsync(Client, key, otherLease.Id, current, CancellationToken.None));
        Assert.Equal("2", await Client.GetStringAsync(key));

        Assert.True(await CoordinationSupport.DeleteIfOursAsync(Client, key, lease.Id, 0, CancellationToken.None));
        Assert.Empty(await KeysUnderNameAsync());
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_sending()
    {
        await using var lease = await NewLeaseAsync();
        await Assert.ThrowsAsync<ArgumentNullException>(() => Client.Locks.LockAsync((string?)null, lease));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.Locks.LockAsync("", lease));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Client.Locks.LockAsync(Name, null!));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Client.Locks.LockAsync(Name, lease, TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.Locks.UnlockAsync(""));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Client.Locks.UnlockAsync((byte[]?)null));

        // One lease holds a name once: a second attempt would share the first one's key.
        await using (var held = await Client.Locks.LockAsync(Name, lease))
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => Client.Locks.LockAsync(Name, lease));
        }
        await (await Client.Locks.LockAsync(Name, lease)).DisposeAsync();

        var lost = await NewLeaseAsync();
        await lost.RevokeAsync();
        Assert.Equal(lost.Id, (await Assert.ThrowsAsync<EtcdLeaseLostException>(() => Client.Locks.LockAsync(Name, lost))).LeaseId);
        Assert.Empty(await KeysUnderNameAsync());
    }
}
