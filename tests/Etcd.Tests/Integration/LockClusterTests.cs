using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Etcd.Tests.Integration;

/// <summary>The lock on a 3-member cluster whose members (leader and followers) are killed and restarted during the run.</summary>
public sealed class LockClusterTests(EtcdClusterFixture fixture, ITestOutputHelper output) : IClassFixture<EtcdClusterFixture>
{
    private const int Workers = 8;
    private const int Increments = 500;
    private static readonly TimeSpan SessionTtl = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task Eight_workers_times_500_fenced_increments_end_at_4000_while_members_are_killed_and_restarted()
    {
        var p = fixture.UniquePrefix();
        var counter = p + "counter";
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = fixture.ClientUrls.Split(','),
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        await RetryAsync(() => client.PutAsync(counter, "0"), deadline.Token);

        // revisionAt[v] = the fencing revision of the holder whose increment produced value v.
        var revisionAt = new long[Workers * Increments + 1];
        var errors = new ConcurrentDictionary<string, int>();
        int holders = 0, overlaps = 0, lostHolds = 0, sessionsCreated = 0, unknownOutcomes = 0, unknownLanded = 0, foreignWrites = 0;

        async Task WorkerAsync(int worker)
        {
            var doneKey = p + "done/" + worker.ToString(CultureInfo.InvariantCulture);
            int done = 0;
            string doneValue = "0"; // what doneKey holds now: the count, or the count plus a barrier tag
            await RetryAsync(() => client.PutAsync(doneKey, doneValue), deadline.Token);
            Session? session = null;
            try
            {
                while (done < Increments)
                {
                    deadline.Token.ThrowIfCancellationRequested();
                    try
                    {
                        if (session is null || session.Lease.IsLost)
                        {
                            if (session is not null) await session.DisposeAsync();
                            session = null;
                            session = await Session.CreateAsync(client, new SessionOptions { Ttl = SessionTtl }, deadline.Token);
                            Interlocked.Increment(ref sessionsCreated);
                        }
                        await using var held = await new EtcdLock(session, p + "lock").LockAsync(TimeSpan.FromSeconds(30), deadline.Token);
                        if (Interlocked.Increment(ref holders) != 1) Interlocked.Increment(ref overlaps);
                        try
                        {
                            while (true)
                            {
                                var current = (await RetryAsync(() => client.GetAsync(counter), deadline.Token)).First!;
                                int value = int.Parse(current.Value.ToStringUtf8(), CultureInfo.InvariantCulture);
                                var increment = held.FencedTxn()
                                    .If(Compare.ModRevision(counter).Equal(current.ModRevision), Compare.Value(doneKey).Equal(doneValue))
                                    .Then(
                                        TxnOp.Put(counter, (value + 1).ToString(CultureInfo.InvariantCulture)),
                                        TxnOp.Put(doneKey, (done + 1).ToString(CultureInfo.InvariantCulture)))
                                    .Else(TxnOp.Get(held.Key));
                                bool landed;
                                bool fenceHeld = true;
                                try
                                {
                                    var result = await increment.CommitAsync(deadline.Token);
                                    landed = result.Succeeded;
                                    if (!landed) fenceHeld = result.Response<GetResponse>(0).First?.CreateRevision == held.Revision;
                                }
                                catch (EtcdException error) when (error.IsTransient)
                                {
                                    Interlocked.Increment(ref unknownOutcomes);
                                    (landed, doneValue) = await DecideAsync(client, doneKey, doneValue, done, deadline.Token);
                                    if (landed) Interlocked.Increment(ref unknownLanded);
                                    if (!landed) continue; // it never will now: read and try again (a lost fence shows then)
                                }
                                if (landed)
                                {
                                    revisionAt[value + 1] = held.Revision;
                                    done++;
                                    doneValue = done.ToString(CultureInfo.InvariantCulture);
                                    break;
                                }
                                if (!fenceHeld || held.IsLost)
                                {
                                    Interlocked.Increment(ref lostHolds);
                                    break;
                                }
                                // The fence held but the counter moved: someone wrote it while we held the lock.
                                Interlocked.Increment(ref foreignWrites);
                            }
                        }
                        finally
                        {
                            Interlocked.Decrement(ref holders);
                        }
                    }
                    catch (Exception error) when (error is EtcdException or TimeoutException)
                    {
                        errors.AddOrUpdate(error.GetType().Name, 1, (_, n) => n + 1);
                        if (error is EtcdLockLostException) Interlocked.Increment(ref lostHolds);
                        await Task.Delay(50, deadline.Token);
                    }
                }
            }
            finally
            {
                if (session is not null) await session.DisposeAsync();
            }
        }

        var clock = Stopwatch.StartNew();
        using var stopChaos = new CancellationTokenSource();
        var chaos = ChaosAsync(stopChaos.Token);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkerAsync(w))));
        }
        finally
        {
            await stopChaos.CancelAsync();
            var kills = await chaos;
            foreach (var member in fixture.Cluster.Members.Where(m => !m.IsRunning)) await member.RestartAsync();
            await fixture.Cluster.FindLeaderAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"{Workers}x{Increments} in {clock.Elapsed.TotalSeconds:0.0} s with {kills} member kills; sessions {sessionsCreated}, " +
                $"unknown outcomes {unknownOutcomes} ({unknownLanded} had landed), lost holds {lostHolds}, in-process overlaps {overlaps}, errors: " +
                string.Join(", ", errors.Select(e => $"{e.Key} x{e.Value}")));
        }

        var final = await RetryAsync(() => client.GetAsync(KeySet.Prefix(p)), deadline.Token);
        Assert.Equal("4000", final.Kvs.Single(kv => kv.Key == counter).Value.ToStringUtf8());
        Assert.DoesNotContain(0, revisionAt.Skip(1));
        var doneValues = final.Kvs.Where(kv => kv.Key.StartsWith(p + "done/")).Select(kv => kv.Value.ToStringUtf8()).ToList();
        Assert.Equal(Enumerable.Repeat("500", Workers), doneValues);
        Assert.Equal(0, foreignWrites);
        // Every increment was made by a later holder than the one before it.
        for (int v = 2; v < revisionAt.Length; v++) Assert.True(revisionAt[v] > revisionAt[v - 1], $"value {v} fenced by {revisionAt[v]}, value {v - 1} by {revisionAt[v - 1]}");
        // Two in-process holders at once is only possible when a hold was lost (expired) while its owner still ran.
        Assert.True(overlaps <= lostHolds, $"{overlaps} overlapping holds with only {lostHolds} lost holds");
        // No queue key outlives its worker (a revoke lost to a kill leaves it to the TTL at most).
        var leftClock = Stopwatch.StartNew();
        while ((await RetryAsync(() => client.GetAsync(KeySet.Prefix(p + "lock/"), new GetOptions { CountOnly = true }), deadline.Token)).Count > 0)
        {
            Assert.True(leftClock.Elapsed < TimeSpan.FromSeconds(30), "queue keys left behind 30 s after the run");
            await Task.Delay(200);
        }
    }

    /// <summary>Kills a member every 1.5-3 s (alternately the leader and a follower), restarting it about a second later; returns the number of kills.</summary>
    private async Task<int> ChaosAsync(CancellationToken stop)
    {
        var random = new Random(12345);
        int kills = 0;
        var cluster = fixture.Cluster;
        while (true)
        {
            try
            {
                await Task.Delay(random.Next(1500, 3000), stop);
            }
            catch (OperationCanceledException)
            {
                return kills;
            }
            var leader = await cluster.FindLeaderAsync(TimeSpan.FromSeconds(30));
            var victim = kills % 2 == 0 ? leader : cluster.Members.First(m => m.IsRunning && m != leader);
            await victim.KillAsync();
            kills++;
            await Task.Delay(random.Next(500, 1200));
            await victim.RestartAsync();
        }
    }

    /// <summary>
    /// Decides whether an increment whose outcome is unknown landed. A plain re-read is not enough: the timed-out request
    /// may still be committed later (its proposal can sit in the raft log across a leader change). So a barrier write on
    /// the worker's own done key (which the increment compares by value) closes the door first: if the barrier lands, the
    /// increment never can; if the key already shows the incremented count, the increment landed. Returns the decision
    /// and the done key's value from now on.
    /// </summary>
    private static async Task<(bool Landed, string DoneValue)> DecideAsync(EtcdClient client, string doneKey, string doneValue, int done, CancellationToken cancellationToken)
    {
        var incremented = (done + 1).ToString(CultureInfo.InvariantCulture);
        var barriers = new HashSet<string>();
        while (true)
        {
            var barrier = $"{done}/barrier-{barriers.Count}";
            barriers.Add(barrier);
            string now;
            try
            {
                var result = await client.Txn()
                    .If(Compare.Value(doneKey).Equal(doneValue))
                    .Then(TxnOp.Put(doneKey, barrier))
                    .Else(TxnOp.Get(doneKey))
                    .CommitAsync(cancellationToken);
                if (result.Succeeded) return (false, barrier);
                now = result.Response<GetResponse>(0).First!.Value.ToStringUtf8();
            }
            catch (EtcdException error) when (error.IsTransient)
            {
                now = (await RetryAsync(() => client.GetAsync(doneKey), cancellationToken)).First!.Value.ToStringUtf8();
                if (now == doneValue) continue; // neither the increment nor a barrier has landed yet: try another barrier
            }
            if (now == incremented) return (true, incremented);
            if (barriers.Contains(now)) return (false, now);
            throw new InvalidOperationException($"{doneKey} holds '{now}', expected '{doneValue}', '{incremented}' or one of our barriers");
        }
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await action();
            }
            catch (EtcdException error) when (error.IsTransient && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }
}
