using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>Our <see cref="EtcdLock"/> and <c>etcdctl lock</c> exclude each other (same key layout and protocol).</summary>
public sealed partial class LockInteropTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [GeneratedRegex("^[0-9a-f]+$")]
    private static partial Regex LowerHex();

    private async Task WaitForKeyCountAsync(string prefix, long count)
    {
        var clock = Stopwatch.StartNew();
        while ((await Client.GetAsync(KeySet.Prefix(prefix), new GetOptions { CountOnly = true })).Count != count)
        {
            Assert.True(clock.Elapsed < Long, $"{prefix}* did not reach {count} keys within {Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private async Task AssertEtcdCtlKeyAsync(string line, string name, long ourLease)
    {
        Assert.StartsWith(name + "/", line);
        Assert.Matches(LowerHex(), line[(name.Length + 1)..]);
        var kv = (await Client.GetAsync(line)).First;
        Assert.NotNull(kv);
        Assert.NotEqual(ourLease, kv.Lease);
        Assert.Equal(kv.Lease.ToString("x", CultureInfo.InvariantCulture), line[(name.Length + 1)..]);
    }

    [Fact]
    public async Task Etcdctl_lock_waits_while_ours_is_held_and_gets_it_after_our_unlock()
    {
        var name = P + "L";
        await using var session = await Session.CreateAsync(Client, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        var held = await new EtcdLock(session, name).LockAsync();

        await using var etcdctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "lock", name);
        await WaitForKeyCountAsync(name + "/", 2); // etcdctl queued behind us
        Assert.False(await etcdctl.WritesLineWithinAsync(TimeSpan.FromSeconds(2)), "etcdctl acquired a lock we hold");

        await held.UnlockAsync();
        var line = await etcdctl.ReadLineAsync(Long);
        await AssertEtcdCtlKeyAsync(line, name, session.LeaseId);
        await etcdctl.InterruptAsync();
        await WaitForKeyCountAsync(name + "/", 0);
    }

    [Fact]
    public async Task Ours_waits_while_etcdctl_holds_and_gets_it_after_etcdctl_is_interrupted()
    {
        var name = P + "L";
        await using var etcdctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "lock", name);
        var line = await etcdctl.ReadLineAsync(Long);
        await using var session = await Session.CreateAsync(Client, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        await AssertEtcdCtlKeyAsync(line, name, session.LeaseId);
        var mutex = new EtcdLock(session, name);

        Assert.Null(await mutex.TryLockAsync());
        var waiting = mutex.LockAsync();
        await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(1.5)));
        Assert.False(waiting.IsCompleted, "our lock was acquired while etcdctl holds it");

        await etcdctl.InterruptAsync();
        await using var held = await waiting.WaitAsync(Long);
        Assert.False(held.IsLost);
        Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(name + "/"), new GetOptions { CountOnly = true })).Count);
    }

    [Fact]
    public async Task A_lock_in_a_namespace_and_etcdctl_lock_on_the_prefixed_name_exclude_each_other()
    {
        var physicalName = P + "ns/L";
        await using var session = await Session.CreateAsync(Client.WithNamespace(P + "ns/"), new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        var mutex = new EtcdLock(session, "L");
        var held = await mutex.LockAsync();

        await using (var etcdctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "lock", physicalName))
        {
            await WaitForKeyCountAsync(physicalName + "/", 2);
            Assert.False(await etcdctl.WritesLineWithinAsync(TimeSpan.FromSeconds(2)), "etcdctl acquired a lock we hold in a namespace");
            await held.UnlockAsync();
            var line = await etcdctl.ReadLineAsync(Long);
            await AssertEtcdCtlKeyAsync(line, physicalName, session.LeaseId);

            // And the other way round: while etcdctl holds it, ours (in the namespace) does not get it.
            Assert.Null(await mutex.TryLockAsync());
            await etcdctl.InterruptAsync();
        }
        await using var again = await mutex.LockAsync().WaitAsync(Long);
        Assert.NotNull((await Client.GetAsync(P + "ns/" + again.Key.ToString())).First);
    }
}
