using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class LockTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private Task<Session> NewSessionAsync(IEtcdKeyspace? keyspace = null) =>
        Session.CreateAsync(keyspace ?? Client, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });

    private async Task WaitUntilExistsAsync(EtcdBytes key)
    {
        var clock = Stopwatch.StartNew();
        while ((await Client.GetAsync(key, new GetOptions { CountOnly = true })).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, $"key {key} did not appear within {Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private async Task<long> CountAsync(string prefix) => (await Client.GetAsync(KeySet.Prefix(prefix), new GetOptions { CountOnly = true })).Count;

    private static async Task AssertStillPendingAsync(Task task, TimeSpan window)
    {
        await Task.WhenAny(task, Task.Delay(window));
        Assert.False(task.IsCompleted, $"completed although it should have waited ({task.Status}: {task.Exception?.InnerException?.Message})");
    }

    [Fact]
    public async Task Eight_workers_times_500_increments_end_at_4000_with_one_holder_at_a_time()
    {
        const int Workers = 8, Increments = 500;
        var counter = P + "counter";
        await Client.PutAsync(counter, "0");
        int holders = 0, overlaps = 0, staleFences = 0;
        long lastRevision = 0;
        var sessions = await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => NewSessionAsync()));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await Task.WhenAll(sessions.Select(session => Task.Run(async () =>
            {
                var mutex = new EtcdLock(session, P + "lock");
                for (int i = 0; i < Increments; i++)
                {
                    var held = await mutex.LockAsync(deadline.Token);
                    if (Interlocked.Increment(ref holders) != 1) Interlocked.Increment(ref overlaps);
                    if (held.Revision <= Interlocked.Exchange(ref lastRevision, held.Revision)) Interlocked.Increment(ref staleFences);
                    var value = int.Parse((await Client.GetStringAsync(counter, deadline.Token))!, CultureInfo.InvariantCulture);
                    await Client.PutAsync(counter, (value + 1).ToString(CultureInfo.InvariantCulture), cancellationToken: deadline.Token);
                    Interlocked.Decrement(ref holders);
                    await held.UnlockAsync(deadline.Token);
                }
            })));
        }
        finally
        {
            foreach (var session in sessions) await session.DisposeAsync();
        }
        Assert.Equal(0, overlaps);
        Assert.Equal(0, staleFences);
        Assert.Equal("4000", await Client.GetStringAsync(counter));
        Assert.Equal(0, await CountAsync(P + "lock/"));
    }

    [Fact]
    public async Task Key_is_name_slash_lease_hex_and_revision_is_its_create_revision()
    {
        await using var session = await NewSessionAsync();
        var mutex = new EtcdLock(session, P + "L");
        Assert.Equal(P + "L/" + session.LeaseId.ToString("x", CultureInfo.InvariantCulture), mutex.Key.ToString());
        await using var held = await mutex.LockAsync();
        var kv = (await Client.GetAsync(mutex.Key)).First!;
        Assert.Equal(held.Revision, kv.CreateRevision);
        Assert.Equal(session.LeaseId, kv.Lease);
        Assert.Equal(mutex.Key, held.Key);
        Assert.False(held.IsLost);
        await held.FencedTxn().Then(TxnOp.Put(P + "data", "x")).CommitOrThrowAsync();
        await held.UnlockAsync();
        await held.UnlockAsync(); // idempotent
        Assert.Equal(0, await CountAsync(P + "L/"));
        Assert.False(held.IsLost);
    }

    [Fact]
    public async Task Revoked_holder_loses_the_lock_to_the_next_waiter_and_its_fenced_write_fails()
    {
        await using var sessionA = await NewSessionAsync();
        await using var sessionB = await NewSessionAsync();
        var a = await new EtcdLock(sessionA, P + "L").LockAsync();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Lost.Register(() => lost.TrySetResult());
        var lockB = new EtcdLock(sessionB, P + "L");
        var waiting = lockB.LockAsync();
        await WaitUntilExistsAsync(lockB.Key);
        Assert.False(waiting.IsCompleted);

        await Client.Leases.RevokeAsync(sessionA.LeaseId);

        var b = await waiting.WaitAsync(Long);
        await lost.Task.WaitAsync(Long);
        Assert.True(a.IsLost);
        Assert.True(b.Revision > a.Revision);
        await Assert.ThrowsAsync<EtcdTransactionFailedException>(() => a.FencedTxn().Then(TxnOp.Put(P + "data", "stale")).CommitOrThrowAsync());
        Assert.False((await Client.Txn().If(a.Fence).Then(TxnOp.Put(P + "data", "stale")).CommitAsync()).Succeeded);
        Assert.Null(await Client.GetValueAsync(P + "data"));
        await b.FencedTxn().Then(TxnOp.Put(P + "data", "fresh")).CommitOrThrowAsync();
        await a.DisposeAsync(); // no throw although lost
        Assert.Equal("fresh", await Client.GetStringAsync(P + "data"));
        await b.UnlockAsync();
    }

    [Fact]
    public async Task Lost_fires_when_the_key_is_deleted_externally()
    {
        await using var session = await NewSessionAsync();
        var held = await new EtcdLock(session, P + "L").LockAsync();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held.Lost.Register(() => lost.TrySetResult());
        await Task.Delay(200);
        Assert.False(held.IsLost);

        Assert.Equal(1, await Etcd.Ctl.DeleteAsync(held.Key.ToArray()));

        await lost.Task.WaitAsync(Long);
        Assert.True(held.IsLost);
        Assert.False(session.Lost.IsCancellationRequested);
        await Assert.ThrowsAsync<EtcdTransactionFailedException>(() => held.FencedTxn().Then(TxnOp.Put(P + "data", "x")).CommitOrThrowAsync());
        await held.DisposeAsync();
    }

    [Fact]
    public async Task Lost_fires_when_the_session_is_lost_and_not_after_an_unlock()
    {
        await using var sessionA = await NewSessionAsync();
        await using var sessionB = await NewSessionAsync();
        var a = await new EtcdLock(sessionA, P + "A").LockAsync();
        var b = await new EtcdLock(sessionB, P + "B").LockAsync();
        var lostA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Lost.Register(() => lostA.TrySetResult());

        await b.UnlockAsync();
        await sessionA.DisposeAsync(); // revokes the lease: Lost must fire
        await lostA.Task.WaitAsync(Long);
        Assert.True(a.IsLost);

        await sessionB.DisposeAsync(); // the lock was released before: not a loss
        await Task.Delay(500);
        Assert.False(b.IsLost);
        Assert.False(b.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task Waiters_acquire_in_the_order_they_queued()
    {
        await using var holderSession = await NewSessionAsync();
        var holder = await new EtcdLock(holderSession, P + "L").LockAsync();
        var sessions = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => NewSessionAsync()));
        var order = new ConcurrentQueue<(int Index, long Revision)>();
        var waiters = new List<Task>();
        try
        {
            for (int i = 0; i < sessions.Length; i++)
            {
                int index = i;
                var mutex = new EtcdLock(sessions[i], P + "L");
                waiters.Add(Task.Run(async () =>
                {
                    await using var held = await mutex.LockAsync();
                    order.Enqueue((index, held.Revision));
                }));
                await WaitUntilExistsAsync(mutex.Key);
            }
            await AssertStillPendingAsync(Task.WhenAll(waiters), TimeSpan.FromSeconds(1));
            await holder.UnlockAsync();
            await Task.WhenAll(waiters).WaitAsync(Long);
        }
        finally
        {
            foreach (var session in sessions) await session.DisposeAsync();
        }
        Assert.Equal([0, 1, 2, 3, 4], order.Select(o => o.Index));
        Assert.True(order.Select(o => o.Revision).Zip(order.Skip(1).Select(o => o.Revision)).All(p => p.First < p.Second));
    }

    [Fact]
    public async Task Try_lock_miss_timeout_and_cancellation_leave_no_keys_and_block_nobody()
    {
        var name = P + "L";
        await using var holderSession = await NewSessionAsync();
        await using var sessionB = await NewSessionAsync();
        await using var sessionC = await NewSessionAsync();
        var holder = await new EtcdLock(holderSession, name).LockAsync();
        var b = new EtcdLock(sessionB, name);

        Assert.Null(await b.TryLockAsync());
        Assert.Equal(1, await CountAsync(name + "/"));

        Assert.Null(await b.TryLockAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(1, await CountAsync(name + "/"));

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => b.LockAsync(TimeSpan.FromSeconds(1)));
        Assert.Contains(name, timeout.Message);
        Assert.Equal(1, await CountAsync(name + "/"));

        using (var cancel = new CancellationTokenSource())
        {
            var waiting = b.LockAsync(cancel.Token);
            await WaitUntilExistsAsync(b.Key);
            cancel.Cancel();
            var canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
            Assert.Equal(cancel.Token, canceled.CancellationToken);
        }
        Assert.Equal(1, await CountAsync(name + "/"));

        var c = new EtcdLock(sessionC, name);
        var waitingC = c.LockAsync();
        await WaitUntilExistsAsync(c.Key);
        await holder.UnlockAsync();
        var heldC = await waitingC.WaitAsync(Long);

        // The same session can queue again after all of that.
        var waitingB = b.LockAsync();
        await WaitUntilExistsAsync(b.Key);
        await heldC.UnlockAsync();
        await using var heldB = await waitingB.WaitAsync(Long);
        Assert.True(heldB.Revision > heldC.Revision);
    }

    [Fact]
    public async Task Try_lock_takes_a_free_lock_and_zero_timeout_lock_fails_at_once_when_held()
    {
        await using var sessionA = await NewSessionAsync();
        await using var sessionB = await NewSessionAsync();
        await using var a = await new EtcdLock(sessionA, P + "L").TryLockAsync();
        Assert.NotNull(a);
        await Assert.ThrowsAsync<TimeoutException>(() => new EtcdLock(sessionB, P + "L").LockAsync(TimeSpan.Zero));
        Assert.Equal(1, await CountAsync(P + "L/"));
    }

    [Fact]
    public async Task Works_in_a_namespace_and_excludes_the_same_lock_taken_outside_it()
    {
        var ns = Client.WithNamespace(P + "ns/");
        await using var session = await NewSessionAsync(ns);
        await using var otherInNamespace = await NewSessionAsync(ns);
        await using var outside = await NewSessionAsync();
        var mutex = new EtcdLock(session, "L");
        var hex = session.LeaseId.ToString("x", CultureInfo.InvariantCulture);
        Assert.Equal("L/" + hex, mutex.Key.ToString());

        var held = await mutex.LockAsync();
        var physical = (await Client.GetAsync(P + "ns/L/" + hex)).First;
        Assert.NotNull(physical);
        Assert.Equal(held.Revision, physical.CreateRevision);
        Assert.Null(await new EtcdLock(otherInNamespace, "L").TryLockAsync());
        Assert.Null(await new EtcdLock(outside, P + "ns/L").TryLockAsync());

        await held.FencedTxn().Then(TxnOp.Put("data", "1")).CommitOrThrowAsync();
        Assert.Equal("1", await Client.GetStringAsync(P + "ns/data"));
        await held.UnlockAsync();
        await using var outsideHeld = await new EtcdLock(outside, P + "ns/L").TryLockAsync();
        Assert.NotNull(outsideHeld);
    }

    [Fact]
    public async Task Arguments_are_validated_before_anything_is_sent()
    {
        await using var session = await NewSessionAsync();
        Assert.Throws<ArgumentNullException>(() => new EtcdLock(null!, "x"));
        Assert.Throws<ArgumentNullException>(() => new EtcdLock(session, (string?)null));
        Assert.Throws<ArgumentException>(() => new EtcdLock(session, ""));
        Assert.Throws<ArgumentNullException>(() => new ReadWriteLock(null!, "x"));
        Assert.Throws<ArgumentException>(() => new ReadWriteLock(session, ""));
        var mutex = new EtcdLock(session, P + "L");
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = mutex.LockAsync(TimeSpan.FromSeconds(-2)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = mutex.TryLockAsync(TimeSpan.FromMilliseconds(-5)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = mutex.LockAsync(TimeSpan.FromDays(30)); });
        Assert.Equal(0, await CountAsync(P + "L/"));
        using var canceled = new CancellationTokenSource();
        canceled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => mutex.LockAsync(canceled.Token));
        Assert.Equal(0, await CountAsync(P + "L/"));
    }

    [Fact]
    public async Task A_session_takes_a_lock_at_most_once()
    {
        await using var session = await NewSessionAsync();
        var mutex = new EtcdLock(session, P + "L");
        await using var held = await mutex.LockAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => mutex.LockAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => new EtcdLock(session, P + "L").TryLockAsync());
        // A second Session object on the same lease is refused by the server-side check and must not delete the key.
        await using var otherClient = new EtcdClient(Etcd.ClientUrl);
        await using var sameLease = await Session.CreateAsync(otherClient, new SessionOptions { LeaseId = session.LeaseId });
        await Assert.ThrowsAsync<InvalidOperationException>(() => new EtcdLock(sameLease, P + "L").TryLockAsync());
        Assert.Equal(1, await CountAsync(P + "L/"));
        Assert.False(held.IsLost);
        await held.UnlockAsync();
        await using var again = await mutex.LockAsync();
        Assert.True(again.Revision > held.Revision);
    }

    [Fact]
    public async Task Lock_on_a_lost_session_fails_with_a_typed_error()
    {
        var disposed = await NewSessionAsync();
        await disposed.DisposeAsync();
        var error = await Assert.ThrowsAsync<EtcdLockLostException>(() => new EtcdLock(disposed, P + "A").LockAsync());
        Assert.Equal(P + "A", error.LockName.ToString());

        // Revoked elsewhere: the session may not have noticed yet, the server refuses the lease either way.
        await using var revoked = await NewSessionAsync();
        await Client.Leases.RevokeAsync(revoked.LeaseId);
        await Assert.ThrowsAsync<EtcdLockLostException>(() => new EtcdLock(revoked, P + "B").LockAsync());
        Assert.Equal(0, await CountAsync(P + "A/"));
        Assert.Equal(0, await CountAsync(P + "B/"));
    }

    [Fact]
    public async Task A_waiter_whose_session_dies_fails_promptly_with_a_typed_error()
    {
        await using var holderSession = await NewSessionAsync();
        await using var waiterSession = await NewSessionAsync();
        await using var holder = await new EtcdLock(holderSession, P + "L").LockAsync();
        var mutex = new EtcdLock(waiterSession, P + "L");
        var waiting = mutex.LockAsync();
        await WaitUntilExistsAsync(mutex.Key);

        await Client.Leases.RevokeAsync(waiterSession.LeaseId);

        var error = await Assert.ThrowsAsync<EtcdLockLostException>(() => waiting.WaitAsync(Long));
        Assert.Equal(mutex.Key, error.Key);
        Assert.False(holder.IsLost);
        Assert.Equal(1, await CountAsync(P + "L/"));
    }

    [Fact]
    public async Task Unlock_and_a_timed_out_attempt_are_bounded_when_the_network_stalls_and_the_session_recovers()
    {
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var proxied = new EtcdClient(proxy.Url);
        await using var session = await NewSessionAsync(proxied);
        var mutex = new EtcdLock(session, P + "L");
        var held = await mutex.LockAsync();

        proxy.Pause();
        var clock = Stopwatch.StartNew();
        await held.DisposeAsync(); // must neither hang nor throw
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        clock.Restart();
        await Assert.ThrowsAsync<TimeoutException>(() => mutex.LockAsync(TimeSpan.FromSeconds(1)));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        // Drop the stalled requests for good (reset, never forwarded), then let the client reconnect.
        proxy.Refusing = true;
        proxy.CutAll();
        proxy.Resume();
        Assert.Equal(1, await CountAsync(P + "L/"));
        Assert.Equal(held.Revision, (await Client.GetAsync(held.Key)).First!.CreateRevision);
        proxy.Refusing = false;

        // The key the stalled unlock could not delete is this session's own leftover, not a reason to refuse the lock.
        await using var again = await mutex.LockAsync().WaitAsync(Long);
        Assert.True(again.Revision > held.Revision);
        Assert.Equal(1, await CountAsync(P + "L/"));
        Assert.False(session.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task A_holder_cut_off_from_etcd_stops_renewing_loses_the_lock_to_the_next_waiter_and_its_fenced_write_fails()
    {
        // The holder reaches etcd only through a proxy; freezing the proxy freezes its keep-alives, as a paused process would.
        await using var proxy = await TcpProxy.StartAsync(Etcd.Server.ClientPort);
        await using var isolated = new EtcdClient(proxy.Url);
        await using var holderSession = await Session.CreateAsync(isolated, new SessionOptions { Ttl = TimeSpan.FromSeconds(2) });
        var held = await new EtcdLock(holderSession, P + "L").LockAsync().WaitAsync(Long);
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held.Lost.Register(() => lost.TrySetResult());

        await using var waiterSession = await NewSessionAsync();
        var waiting = new EtcdLock(waiterSession, P + "L").LockAsync();
        await WaitUntilExistsAsync(new EtcdLock(waiterSession, P + "L").Key);
        await AssertStillPendingAsync(waiting, TimeSpan.FromMilliseconds(300));

        proxy.Pause();
        // etcd expires the unrenewed lease (TTL 2 s), the waiter's turn comes; the holder's own deadline fires Lost.
        await using var next = await waiting.WaitAsync(Long);
        await lost.Task.WaitAsync(Long);
        Assert.True(held.IsLost);
        Assert.True(next.Revision > held.Revision);

        // Once it can talk again, the old holder's fenced write is refused: the fence names a key that is gone.
        proxy.Refusing = true;
        proxy.CutAll();
        proxy.Resume();
        proxy.Refusing = false;
        var fenced = await RetryUntilConnectedAsync(() => held.FencedTxn().Then(TxnOp.Put(P + "data", "stale holder")).CommitAsync());
        Assert.False(fenced.Succeeded);
        Assert.Null(await Client.GetValueAsync(P + "data"));
        var fresh = await next.FencedTxn().Then(TxnOp.Put(P + "data", "new holder")).CommitAsync();
        Assert.True(fresh.Succeeded);
    }

    [Fact]
    public async Task A_frozen_etcdctl_holder_stops_renewing_and_ours_gets_the_lock_when_its_lease_expires()
    {
        await using var etcdctl = EtcdCtlProcess.Start(Etcd.ClientUrl, "lock", "--ttl=2", P + "L");
        var line = await etcdctl.ReadLineAsync(Long);
        Assert.StartsWith(P + "L/", line);

        await using var session = await NewSessionAsync();
        var waiting = new EtcdLock(session, P + "L").LockAsync();
        await AssertStillPendingAsync(waiting, TimeSpan.FromSeconds(1));

        etcdctl.Freeze(); // SIGSTOP: it keeps its connection but sends no keep-alive
        await using var held = await waiting.WaitAsync(Long);
        Assert.Null((await Client.GetAsync(line)).First); // the frozen holder's key went with its lease
        Assert.Equal(1, await CountAsync(P + "L/"));
    }

    [Fact]
    public async Task A_holder_and_a_waiter_survive_a_reconnect_after_their_watches_resume_point_was_compacted()
    {
        // Its own server: the test compacts the store.
        await using var server = await EtcdServer.StartAsync();
        await using var proxy = await TcpProxy.StartAsync(server.ClientPort);
        await using var proxied = new EtcdClient(proxy.Url);
        await using var direct = new EtcdClient(server.ClientUrl);
        await using var s1 = await Session.CreateAsync(proxied, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        await using var s2 = await Session.CreateAsync(proxied, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        var held = await new EtcdLock(s1, "L").LockAsync().WaitAsync(Long);
        Assert.False(held.IsLost); // starts the holder's watch on its key
        var waiter = new EtcdLock(s2, "L");
        var waiting = waiter.LockAsync();
        await WaitUntilExistsOnAsync(direct, waiter.Key);
        await AssertStillPendingAsync(waiting, TimeSpan.FromMilliseconds(300));

        // Cut the client off, move the store on and compact it, so every watch resumes at a compacted revision.
        proxy.Refusing = true;
        proxy.CutAll();
        long last = 0;
        for (int i = 0; i < 5; i++) last = (await direct.PutAsync("other", i.ToString(CultureInfo.InvariantCulture))).Header.Revision;
        await direct.CompactAsync(last, physical: true);
        proxy.Refusing = false;

        // Both watches come back (a write through the proxied client proves it reconnected) and nothing was lost.
        await RetryUntilConnectedAsync(() => proxied.PutAsync("reconnected", "yes"));
        await AssertStillPendingAsync(waiting, TimeSpan.FromSeconds(1));
        Assert.False(held.IsLost);
        await held.UnlockAsync();
        await using var next = await waiting.WaitAsync(Long);
        Assert.True(next.Revision > held.Revision);
    }

    private static async Task WaitUntilExistsOnAsync(EtcdClient client, EtcdBytes key)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.GetAsync(key, new GetOptions { CountOnly = true })).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, $"key {key} did not appear within {Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>Runs a call until the client has reconnected (the first calls after a cut may fail as unavailable).</summary>
    private static async Task<T> RetryUntilConnectedAsync<T>(Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (EtcdException error) when (error is EtcdUnavailableException or EtcdConnectionException or EtcdDeadlineExceededException && clock.Elapsed < Long)
            {
                await Task.Delay(100);
            }
        }
    }
}
