using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Etcd.Tests.Integration;

/// <summary>
/// The client under member failures on a 3-member cluster (issue 6): many concurrent callers while the leader is killed
/// over and over, quorum loss, total outage, and the member the client talks to being killed. Every test has a cluster
/// of its own and uses only the public client API. The assertions hold for any correct client, with or without
/// failover and retries: they check what was acknowledged, what was applied and how long the client stalled, never a
/// particular number of failures.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The bound on any "should happen" wait.</summary>
    private static readonly TimeSpan s_eventually = TimeSpan.FromSeconds(30);

    // ---------------------------------------------------------------- 1. the flagship

    [Fact]
    public async Task Sixty_four_callers_survive_repeated_leader_kills()
    {
        const int Callers = 64;
        const int MinKills = 6;
        const int MinAckedWrites = 1000;
        var minChaos = TimeSpan.FromSeconds(25);
        var maxChaos = TimeSpan.FromSeconds(45);
        var calmTail = TimeSpan.FromSeconds(2); // the workload goes on this long after the last restart
        var hangLimit = TimeSpan.FromSeconds(30); // an operation still running after this is a hang (RequestTimeout is 5 s)
        var maxNoSuccessGap = TimeSpan.FromSeconds(10);

        await using var cluster = await EtcdCluster.StartAsync(3);
        await using var client = NewClient(cluster);
        var run = NewRunId();
        var prefix = $"chaos/{run}/";
        var leaseKey = $"chaos-lease/{run}";
        var sentinelKey = prefix + "~end";

        // Before the chaos: a kept-alive lease with a key, and a watch on the prefix from the current revision.
        var lease = await client.Leases.CreateAsync(TimeSpan.FromSeconds(5));
        int lostFired = 0;
        using var lostRegistration = lease.Lost.Register(() => Interlocked.Exchange(ref lostFired, 1));
        var leasePut = await client.PutAsync(leaseKey, "alive", new PutOptions { Lease = lease.Id });
        var events = new List<WatchEvent>();
        var sentinelSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var watch = client.Watch.Watch(KeySet.Prefix(prefix), e =>
        {
            lock (events) events.Add(e);
            if (e.Kv.Key == sentinelKey) sentinelSeen.TrySetResult();
        }, new WatchOptions { StartRevision = leasePut.Header.Revision + 1 });
        await watch.Started.WaitAsync(s_eventually);

        var recorder = new ChaosRecorder(Callers);
        var readViolations = new ConcurrentQueue<string>();
        var txnRepeats = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();

        async Task<ChaosOp> WriteAsync(int caller, ChaosOpKind kind, string key, string value)
        {
            var start = recorder.Now;
            using var watchdog = new CancellationTokenSource(hangLimit);
            try
            {
                if (kind == ChaosOpKind.Put)
                {
                    var put = await client.PutAsync(key, value, cancellationToken: watchdog.Token);
                    return new ChaosOp(caller, kind, key, value, start, recorder.Now, Acked: true, put.Header.Revision, Error: null);
                }
                var txn = await client.Txn().If(Compare.KeyMissing(key)).Then(TxnOp.Put(key, value)).CommitAsync(watchdog.Token);
                if (!txn.Succeeded)
                {
                    // The key is fresh: finding it present means an earlier attempt of this very request was applied.
                    txnRepeats.Enqueue($"{key} at revision {txn.Header.Revision}");
                    return new ChaosOp(caller, kind, key, value, start, recorder.Now, Acked: false, 0, new EtcdTransactionFailedException(txn));
                }
                return new ChaosOp(caller, kind, key, value, start, recorder.Now, Acked: true, txn.Header.Revision, Error: null);
            }
            catch (Exception error)
            {
                return new ChaosOp(caller, kind, key, value, start, recorder.Now, Acked: false, 0, error,
                    Hung: error is OperationCanceledException && watchdog.IsCancellationRequested);
            }
        }

        async Task<ChaosOp> ReadAsync(int caller, ChaosOpKind kind, string key, long ackedRevision)
        {
            var start = recorder.Now;
            using var watchdog = new CancellationTokenSource(hangLimit);
            try
            {
                var get = await client.GetAsync(key, new GetOptions { Serializable = kind == ChaosOpKind.SerializableGet }, watchdog.Token);
                var found = get.First;
                if (ackedRevision != 0)
                {
                    // Keys are written once, so any copy of it has the acknowledged revision; a linearizable read must see it.
                    if (found is null && kind == ChaosOpKind.LinearizableGet)
                        readViolations.Enqueue($"linearizable read of {key} (acked at {ackedRevision}) found nothing at revision {get.Header.Revision}");
                    else if (found is not null && found.ModRevision != ackedRevision)
                        readViolations.Enqueue($"{kind} of {key} (acked at {ackedRevision}) found mod revision {found.ModRevision}");
                }
                return new ChaosOp(caller, kind, key, null, start, recorder.Now, Acked: true, get.Header.Revision, Error: null);
            }
            catch (Exception error)
            {
                return new ChaosOp(caller, kind, key, null, start, recorder.Now, Acked: false, 0, error,
                    Hung: error is OperationCanceledException && watchdog.IsCancellationRequested);
            }
        }

        async Task CallerAsync(int caller)
        {
            string? lastKey = null;
            long lastRevision = 0;
            for (int seq = 0; !stop.IsCancellationRequested; seq++)
            {
                var key = $"{prefix}{caller:d2}/{seq:d5}";
                var write = await WriteAsync(caller, seq % 3 == 2 ? ChaosOpKind.TxnPutIfAbsent : ChaosOpKind.Put, key, $"{caller}:{seq}");
                recorder.Record(write);
                if (write.Acked)
                {
                    (lastKey, lastRevision) = (key, write.Revision);
                }
                else
                {
                    await Task.Delay(20);
                }
                // Read back the last acknowledged write (or the key just tried, when none was acknowledged yet).
                var read = await ReadAsync(caller, seq % 2 == 0 ? ChaosOpKind.LinearizableGet : ChaosOpKind.SerializableGet,
                    lastKey ?? key, lastKey is null ? 0 : lastRevision);
                recorder.Record(read);
                if (!read.Acked) await Task.Delay(20);
            }
        }

        // Kills the leader every 1.5-2.5 s of a healthy cluster, restarting it 0.5-1 s later, until both MinKills kills
        // and minChaos have passed (maxChaos at most).
        async Task<int> KillerAsync(TimeSpan chaosStart)
        {
            var random = new Random(6);
            int kills = 0;
            while (true)
            {
                var elapsed = recorder.Now - chaosStart;
                if ((kills >= MinKills && elapsed >= minChaos) || elapsed >= maxChaos) return kills;
                await Task.Delay(random.Next(1500, 2500));
                var leader = await cluster.FindLeaderAsync(s_eventually);
                await leader.KillAsync();
                recorder.RecordKill(leader.Name);
                kills++;
                await Task.Delay(random.Next(500, 1000));
                await leader.RestartAsync();
            }
        }

        var chaosStart = recorder.Now;
        var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(() => CallerAsync(c))).ToArray();
        int kills;
        TimeSpan stopAt;
        try
        {
            kills = await KillerAsync(chaosStart);
            await Task.Delay(calmTail);
        }
        finally
        {
            stopAt = recorder.Now;
            await stop.CancelAsync();
            await Task.WhenAll(callers).WaitAsync(hangLimit + s_eventually);
        }

        // The chaos is over: every member up, a leader agreed on. Then the whole prefix, linearizable.
        foreach (var member in cluster.Members.Where(m => !m.IsRunning)) await member.RestartAsync();
        await cluster.FindLeaderAsync(s_eventually);
        var final = await RetryTransientAsync(() => client.GetAsync(KeySet.Prefix(prefix)), s_eventually);
        long finalRevision = final.Header.Revision;
        // A sentinel after the final read: once the watch delivers it, it has delivered everything up to finalRevision.
        await PutIfAbsentAsync(client, sentinelKey, "end", s_eventually);
        bool caughtUp = await Task.WhenAny(sentinelSeen.Task, Task.Delay(s_eventually)) == sentinelSeen.Task;
        var ttl = await RetryTransientAsync(() => client.Leases.TimeToLiveAsync(lease.Id), s_eventually);
        var leaseKv = (await RetryTransientAsync(() => client.GetAsync(leaseKey), s_eventually)).First;

        var ops = recorder.Ops();
        var writes = ops.Where(o => o.IsWrite).ToList();
        var reads = ops.Where(o => !o.IsWrite).ToList();
        var acked = writes.Where(w => w.Acked).ToList();
        var failedNotSent = writes.Where(w => !w.Acked && w.FailedNotSent).ToList();
        var failedMaybeSent = writes.Where(w => !w.Acked && !w.FailedNotSent).ToList();
        var present = final.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8());
        var unknownApplied = failedMaybeSent.Count(w => present.ContainsKey(w.Key));
        List<WatchEvent> seen;
        lock (events) seen = [.. events];
        var readLatencies = reads.Select(r => r.Latency).ToList();
        var gap = ChaosRecorder.LongestGap(ops.Where(o => o.Acked).Select(o => o.End), chaosStart, stopAt);
        var writeGap = ChaosRecorder.LongestGap(acked.Select(o => o.End), chaosStart, stopAt); // a figure only: writes wait for elections
        var killLog = recorder.Kills;
        var ackedAfterKill = killLog.Select((kill, i) =>
        {
            var until = i + 1 < killLog.Count ? killLog[i + 1].At : stopAt;
            return acked.Count(w => w.Start >= kill.At && w.End <= until);
        }).ToList();
        bool leaseOk = !lease.IsLost && Volatile.Read(ref lostFired) == 0 && ttl.Ttl > TimeSpan.Zero && leaseKv?.Lease == lease.Id;

        output.WriteLine($"chaos {(stopAt - chaosStart).TotalSeconds:0.0} s, {Callers} callers, kills {kills}: " +
            string.Join(", ", killLog.Select(k => $"{k.Member}@{k.At.TotalSeconds:0.0}s")));
        output.WriteLine($"writes attempted {writes.Count}, acked {acked.Count}, failed {writes.Count - acked.Count} " +
            $"(may-have-been-sent {failedMaybeSent.Count}, of which applied {unknownApplied}; not-sent {failedNotSent.Count}); " +
            $"txn put-if-absent {writes.Count(w => w.Kind == ChaosOpKind.TxnPutIfAbsent)}");
        output.WriteLine($"write errors: {ChaosRecorder.ErrorSummary(writes)}");
        output.WriteLine($"acked writes per kill window: {string.Join(", ", ackedAfterKill)}");
        output.WriteLine($"reads {reads.Count} (ok {reads.Count(r => r.Acked)}, linearizable {reads.Count(r => r.Kind == ChaosOpKind.LinearizableGet)}), " +
            $"latency p50 {ChaosRecorder.Ms(ChaosRecorder.Percentile(readLatencies, 50))}, p99 {ChaosRecorder.Ms(ChaosRecorder.Percentile(readLatencies, 99))}, " +
            $"max {ChaosRecorder.Ms(readLatencies.DefaultIfEmpty().Max())}; read errors: {ChaosRecorder.ErrorSummary(reads)}");
        output.WriteLine($"write latency p50 {ChaosRecorder.Ms(ChaosRecorder.Percentile(writes.Select(w => w.Latency), 50))}, " +
            $"p99 {ChaosRecorder.Ms(ChaosRecorder.Percentile(writes.Select(w => w.Latency), 99))}, max {ChaosRecorder.Ms(writes.Select(w => w.Latency).DefaultIfEmpty().Max())}");
        output.WriteLine($"longest no-success gap {ChaosRecorder.Ms(gap.Length)} ({gap.From.TotalSeconds:0.0}s-{gap.To.TotalSeconds:0.0}s); " +
            $"longest without an acked write {ChaosRecorder.Ms(writeGap.Length)} ({writeGap.From.TotalSeconds:0.0}s-{writeGap.To.TotalSeconds:0.0}s)");
        output.WriteLine($"watch events {seen.Count} (caught up: {caughtUp}, ended: {watch.Completion.IsCompleted}); keys at the end {final.Kvs.Count} at revision {finalRevision}");
        output.WriteLine($"lease ok {leaseOk} (lost {lease.IsLost} {lease.LostReason?.GetType().Name}, Lost fired {lostFired == 1}, TTL left {ttl.Ttl.TotalSeconds:0} s, key lease {leaseKv?.Lease:x} of {lease.Id:x})");

        var problems = new List<string>();
        // a) every acknowledged write is there, with exactly the revision it was acknowledged with.
        Check(problems, "(a) acked write missing or at another revision", acked.Where(w =>
            !present.TryGetValue(w.Key, out var kv) || kv.ModRevision != w.Revision || kv.Value.ToStringUtf8() != w.Value)
            .Select(w => $"{w.Key} acked at {w.Revision}: found {(present.TryGetValue(w.Key, out var kv) ? $"mod {kv.ModRevision} '{kv.Value.ToStringUtf8()}'" : "nothing")}"));
        // b) no write applied twice.
        var puts = seen.Where(e => e.Type == WatchEventType.Put).ToList();
        Check(problems, "(b) value in more than one PUT event", puts.GroupBy(e => e.Kv.Value.ToStringUtf8()).Where(g => g.Count() > 1)
            .Select(g => $"'{g.Key}' at revisions {string.Join(",", g.Select(e => e.Revision))}"));
        Check(problems, "(b) key with version > 1", final.Kvs.Where(kv => kv.Version > 1).Select(kv => $"{kv.Key.ToStringUtf8()} version {kv.Version}"));
        Check(problems, "(b) put-if-absent of a fresh key found it present (sent twice)", txnRepeats);
        var attempted = writes.ToDictionary(w => w.Key, w => w.Value);
        Check(problems, "(b) key nobody wrote, or another value", final.Kvs.Where(kv =>
            !attempted.TryGetValue(kv.Key.ToStringUtf8(), out var value) || value != kv.Value.ToStringUtf8()).Select(kv => kv.Key.ToStringUtf8()));
        // c) a write that was provably never sent is not there.
        Check(problems, "(c) write failed as not sent but was applied", failedNotSent.Where(w => present.ContainsKey(w.Key))
            .Select(w => $"{w.Key}: {w.Error!.GetType().Name}: {w.Error.Message}"));
        // d) the watch: in revision order, no duplicates, exactly the keys present at the end.
        if (!caughtUp) problems.Add($"(d) the watch did not deliver the sentinel within {s_eventually.TotalSeconds} s; it saw {seen.Count} events, ended: {watch.Completion.Exception?.InnerException?.ToString() ?? watch.Completion.IsCompleted.ToString()}");
        if (watch.Completion.IsCompleted) problems.Add($"(d) the watch ended: {watch.Completion.Exception?.InnerException}");
        Check(problems, "(d) events out of revision order", seen.Zip(seen.Skip(1)).Where(p => p.Second.Revision <= p.First.Revision)
            .Select(p => $"{p.First.Kv.Key.ToStringUtf8()}@{p.First.Revision} then {p.Second.Kv.Key.ToStringUtf8()}@{p.Second.Revision}"));
        Check(problems, "(d) non-PUT events", seen.Where(e => e.Type != WatchEventType.Put).Select(e => $"{e.Type} {e.Kv.Key.ToStringUtf8()}@{e.Revision}"));
        var watched = puts.Where(e => e.Revision <= finalRevision).Select(e => (Key: e.Kv.Key.ToStringUtf8(), e.Revision)).ToHashSet();
        var stored = final.Kvs.Select(kv => (Key: kv.Key.ToStringUtf8(), Revision: kv.ModRevision)).ToHashSet();
        Check(problems, "(d) present at the end but no PUT event (lost)", stored.Except(watched).Select(k => $"{k.Key}@{k.Revision}"));
        Check(problems, "(d) PUT event for a key not present at the end", watched.Except(stored).Select(k => $"{k.Key}@{k.Revision}"));
        // e) the lease lived through it all.
        if (!leaseOk) problems.Add($"(e) lease not ok: lost {lease.IsLost} ({lease.LostReason?.Message}), Lost fired {lostFired == 1}, TTL {ttl.Ttl}, key lease {leaseKv?.Lease:x}");
        // f) reads and writes kept working; reads the same key coherently; typed failures only, no hangs.
        Check(problems, "(f) read saw a wrong state of an acknowledged key", readViolations);
        if (gap.Length >= maxNoSuccessGap)
            problems.Add($"(f) no operation succeeded for {ChaosRecorder.Ms(gap.Length)} ({gap.From.TotalSeconds:0.0}s-{gap.To.TotalSeconds:0.0}s), bound {maxNoSuccessGap.TotalSeconds} s");
        Check(problems, "(f) operation hung past the watchdog", ops.Where(o => o.Hung).Select(o => $"{o.Kind} {o.Key} after {ChaosRecorder.Ms(o.Latency)}"));
        Check(problems, "(f) failure that is not an EtcdException", ops.Where(o => o.Error is not null and not EtcdException)
            .Select(o => $"{o.Kind} {o.Key}: {o.Error!.GetType().Name}: {o.Error.Message}"));
        // g) the client recovered after every kill, and did real work.
        if (kills < MinKills) problems.Add($"(g) only {kills} kills, expected at least {MinKills}");
        Check(problems, "(g) no write acknowledged between a kill and the next", ackedAfterKill.Select((n, i) => (n, i)).Where(x => x.n == 0)
            .Select(x => $"kill {x.i + 1} ({killLog[x.i].Member} at {killLog[x.i].At.TotalSeconds:0.0}s)"));
        if (acked.Count < MinAckedWrites) problems.Add($"(g) only {acked.Count} writes acknowledged, expected at least {MinAckedWrites}");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    // ---------------------------------------------------------------- 2. quorum lost

    [Fact]
    public async Task Quorum_lost_writes_fail_typed_within_the_deadline_and_serializable_reads_still_work()
    {
        var requestTimeout = TimeSpan.FromSeconds(3);
        var bound = requestTimeout + TimeSpan.FromSeconds(3);
        await using var cluster = await EtcdCluster.StartAsync(3);
        await using var client = NewClient(cluster, requestTimeout);
        var p = $"chaos/{NewRunId()}/";
        var before = await client.PutAsync(p + "before", "v1");

        // The first two endpoints die: the client also has to find the survivor behind them.
        var dead = cluster.Members.Take(2).ToArray();
        await Task.WhenAll(dead.Select(m => m.KillAsync()));

        var put = await OutcomeAsync(ct => client.PutAsync(p + "during", "x", cancellationToken: ct), bound + s_eventually);
        var serializable = await OutcomeAsync(ct => client.GetAsync(p + "before", new GetOptions { Serializable = true }, ct), bound + s_eventually);
        var linearizable = await OutcomeAsync(ct => client.GetAsync(p + "before", cancellationToken: ct), bound + s_eventually);
        output.WriteLine($"without quorum: put {put}; serializable get {serializable}; linearizable get {linearizable}");

        AssertTypedFailureWithin(put, bound, "a put without quorum");
        Assert.True(serializable.Error is null, $"a serializable get on the surviving member failed: {serializable.Error}");
        Assert.Equal("v1", serializable.Result!.First?.Value.ToStringUtf8());
        Assert.Equal(before.Header.Revision, serializable.Result.First!.ModRevision);
        Assert.True(serializable.Elapsed < bound, $"the serializable get took {serializable.Elapsed}");
        AssertTypedFailureWithin(linearizable, bound, "a linearizable get without quorum");

        // Quorum back: the same client writes again.
        await Task.WhenAll(dead.Select(m => m.RestartAsync()));
        await cluster.FindLeaderAsync(s_eventually);
        int attempts = 0;
        var clock = Stopwatch.StartNew();
        await PutIfAbsentAsync(client, p + "after", "v2", s_eventually, () => attempts++);
        output.WriteLine($"after the restart: write succeeded after {attempts + 1} attempt(s), {ChaosRecorder.Ms(clock.Elapsed)}");
        var after = await RetryTransientAsync(() => client.GetAsync(p + "after"), s_eventually);
        Assert.Equal("v2", after.First?.Value.ToStringUtf8());
    }

    // ---------------------------------------------------------------- 3. every endpoint dead

    [Fact]
    public async Task All_endpoints_dead_fails_fast_with_a_connection_error_and_the_same_client_recovers()
    {
        var bound = s_requestTimeout + TimeSpan.FromSeconds(2);
        await using var cluster = await EtcdCluster.StartAsync(3);
        await using var client = NewClient(cluster);
        var p = $"chaos/{NewRunId()}/";
        var first = await client.PutAsync(p + "before", "b");
        var events = new List<WatchEvent>();
        await using var watch = client.Watch.Watch(KeySet.Prefix(p), e =>
        {
            lock (events) events.Add(e);
        }, new WatchOptions { StartRevision = first.Header.Revision });
        await watch.Started.WaitAsync(s_eventually);
        await EventuallyAsync(() => Count(events) >= 1, () => "the watch did not deliver the write made before the outage");

        await Task.WhenAll(cluster.Members.Select(m => m.KillAsync()));
        var put = await OutcomeAsync(ct => client.PutAsync(p + "during", "d", cancellationToken: ct), bound + s_eventually);
        var get = await OutcomeAsync(ct => client.GetAsync(p + "before", cancellationToken: ct), bound + s_eventually);
        output.WriteLine($"all members down: put {put}; get {get}");
        AssertUnavailableWithin(put, bound, "a put with every member down");
        AssertUnavailableWithin(get, bound, "a get with every member down");

        // Every member back (concurrently: each waits for a quorum to be healthy).
        await Task.WhenAll(cluster.Members.Select(m => m.RestartAsync()));
        await cluster.FindLeaderAsync(s_eventually);
        int attempts = 0;
        var clock = Stopwatch.StartNew();
        var afterRevision = await PutIfAbsentAsync(client, p + "after", "a", s_eventually, () => attempts++);
        output.WriteLine($"after the restart: write succeeded after {attempts + 1} attempt(s), {ChaosRecorder.Ms(clock.Elapsed)}");

        // The watch opened before the outage delivers the write made after it.
        await EventuallyAsync(() => Snapshot(events).Any(e => e.Kv.Key == p + "after") || watch.Completion.IsCompleted,
            () => $"the watch did not deliver the write made after the recovery; it saw {Count(events)} events");
        Assert.False(watch.Completion.IsCompleted, $"the watch ended: {watch.Completion.Exception?.InnerException}");
        var seen = Snapshot(events);
        Assert.Equal(afterRevision, seen.Single(e => e.Kv.Key == p + "after").Revision);
        Assert.Equal(seen.Select(e => e.Revision).Order(), seen.Select(e => e.Revision));
        if (put.Error is not null && ChaosRecorder.DefinitelyNotSent(put.Error))
        {
            // It said it was never sent, so it was not applied.
            var during = await RetryTransientAsync(() => client.GetAsync(p + "during"), s_eventually);
            Assert.Null(during.First);
            Assert.DoesNotContain(seen, e => e.Kv.Key == p + "during");
        }
    }

    // ---------------------------------------------------------------- 4. the client's own member killed

    [Fact]
    public async Task Watch_and_keepalive_follow_the_client_when_its_current_member_is_killed()
    {
        const int Rounds = 3;
        var downFor = TimeSpan.FromSeconds(6); // longer than the lease TTL: the keep-alive must renew through another member
        await using var cluster = await EtcdCluster.StartAsync(3);
        await using var client = NewClient(cluster);
        // Writes go through a client of their own, starting at the other end of the member list.
        await using var writer = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = cluster.Members.Select(m => m.ClientUrl).Reverse().ToList(),
            RequestTimeout = s_requestTimeout,
            ConnectTimeout = s_connectTimeout,
        });
        var p = $"chaos/{NewRunId()}/";
        var leaseKey = p + "lease";
        var watched = p + "w/";
        var sentinelKey = watched + "~end";

        var lease = await client.Leases.CreateAsync(TimeSpan.FromSeconds(5));
        int lostFired = 0;
        using var lostRegistration = lease.Lost.Register(() => Interlocked.Exchange(ref lostFired, 1));
        var leasePut = await client.PutAsync(leaseKey, "alive", new PutOptions { Lease = lease.Id });
        var events = new List<WatchEvent>();
        await using var watch = client.Watch.Watch(KeySet.Prefix(watched), e =>
        {
            lock (events) events.Add(e);
        }, new WatchOptions { StartRevision = leasePut.Header.Revision + 1 });
        await watch.Started.WaitAsync(s_eventually);

        // One sequential writer: seq -> (key, acknowledged revision or 0).
        var ackedRevisions = new ConcurrentDictionary<int, long>();
        int attempted = 0, failed = 0;
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(async () =>
        {
            for (int seq = 0; !stop.IsCancellationRequested; seq++)
            {
                Volatile.Write(ref attempted, seq + 1);
                try
                {
                    using var watchdog = new CancellationTokenSource(s_eventually);
                    var put = await writer.PutAsync($"{watched}{seq:d5}", $"w:{seq}", cancellationToken: watchdog.Token);
                    ackedRevisions[seq] = put.Header.Revision;
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failed);
                    await Task.Delay(20);
                }
            }
        });

        var rounds = new List<string>();
        try
        {
            for (int round = 0; round < Rounds; round++)
            {
                var victim = cluster.Members.Single(m => new Uri(m.ClientUrl) == client.CurrentEndpoint);
                int seqAtKill = Volatile.Read(ref attempted);
                var downClock = Stopwatch.StartNew();
                await victim.KillAsync();
                // While it is down, the watch delivers writes made after the kill.
                await EventuallyAsync(
                    () => Snapshot(events).Count(e => SeqOf(e, watched) >= seqAtKill && ackedRevisions.ContainsKey(SeqOf(e, watched))) >= 20 || watch.Completion.IsCompleted,
                    () => $"round {round + 1}: the watch delivered no writes made after {victim.Name} was killed");
                Assert.False(watch.Completion.IsCompleted, $"the watch ended: {watch.Completion.Exception?.InnerException}");
                var resumedAfter = downClock.Elapsed;
                if (downClock.Elapsed < downFor) await Task.Delay(downFor - downClock.Elapsed);
                Assert.False(lease.IsLost, $"round {round + 1}: the lease was lost while {victim.Name} was down: {lease.LostReason}");
                await victim.RestartAsync();
                await cluster.FindLeaderAsync(s_eventually);
                rounds.Add($"{victim.Name} (20 writes made after the kill delivered {ChaosRecorder.Ms(resumedAfter)} after it)");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writing.WaitAsync(s_eventually + s_eventually);
        }

        await PutIfAbsentAsync(writer, sentinelKey, "end", s_eventually);
        await EventuallyAsync(() => Snapshot(events).Any(e => e.Kv.Key == sentinelKey) || watch.Completion.IsCompleted,
            () => $"the watch did not deliver the sentinel; it saw {Count(events)} events");
        var ttl = await RetryTransientAsync(() => client.Leases.TimeToLiveAsync(lease.Id), s_eventually);
        var leaseKv = (await RetryTransientAsync(() => client.GetAsync(leaseKey), s_eventually)).First;
        var seen = Snapshot(events).Where(e => e.Kv.Key != sentinelKey).ToList();
        output.WriteLine($"killed {string.Join(", ", rounds)}; writes attempted {attempted}, acked {ackedRevisions.Count}, failed {failed}; " +
            $"watch events {seen.Count}; lease lost {lease.IsLost}, TTL left {ttl.Ttl.TotalSeconds:0} s");

        Assert.False(watch.Completion.IsCompleted, $"the watch ended: {watch.Completion.Exception?.InnerException}");
        Assert.Equal(seen.Select(e => e.Revision).Order(), seen.Select(e => e.Revision));
        Assert.Equal(seen.Count, seen.Select(e => e.Revision).Distinct().Count());
        Assert.All(seen, e => Assert.Equal(WatchEventType.Put, e.Type));
        Assert.All(seen, e => Assert.InRange(SeqOf(e, watched), 0, attempted - 1));
        Assert.Equal(seen.Count, seen.Select(e => e.Kv.Key).Distinct().Count());
        var delivered = seen.ToDictionary(e => SeqOf(e, watched), e => e.Revision);
        var lost = ackedRevisions.Where(a => !delivered.TryGetValue(a.Key, out var revision) || revision != a.Value).Select(a => $"{a.Key}@{a.Value}").ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes not delivered by the watch (or at another revision): {string.Join(", ", lost.Take(10))}");
        Assert.False(lease.IsLost, $"the lease was lost: {lease.LostReason}");
        Assert.Equal(0, Volatile.Read(ref lostFired));
        Assert.True(ttl.Ttl > TimeSpan.Zero, $"lease TTL left {ttl.Ttl}");
        Assert.Equal(lease.Id, leaseKv?.Lease);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>How a single call ended: its result or its exception, and how long it took.</summary>
    private sealed record Outcome<T>(T? Result, Exception? Error, TimeSpan Elapsed)
    {
        public override string ToString() => Error is null
            ? $"succeeded in {ChaosRecorder.Ms(Elapsed)}"
            : $"{Error.GetType().Name} in {ChaosRecorder.Ms(Elapsed)}" +
              (Error is EtcdException etcd ? $" (status {etcd.StatusCode}, transient {etcd.IsTransient}{(etcd is EtcdUnavailableException u ? $", may have been sent {u.RequestMayHaveBeenSent}" : "")}): {etcd.Message}" : $": {Error.Message}");
    }

    private static EtcdClient NewClient(EtcdCluster cluster, TimeSpan? requestTimeout = null) => new(new EtcdClientOptions
    {
        Endpoints = cluster.Members.Select(m => m.ClientUrl).ToList(),
        RequestTimeout = requestTimeout ?? s_requestTimeout,
        ConnectTimeout = s_connectTimeout,
    });

    private static string NewRunId() => Guid.NewGuid().ToString("N")[..12];

    /// <summary>Runs one call with a watchdog token (cancelled after <paramref name="watchdog"/>: a hang) and records how it ended.</summary>
    private static async Task<Outcome<T>> OutcomeAsync<T>(Func<CancellationToken, Task<T>> call, TimeSpan watchdog)
    {
        using var cts = new CancellationTokenSource(watchdog);
        var clock = Stopwatch.StartNew();
        try
        {
            var result = await call(cts.Token);
            return new Outcome<T>(result, null, clock.Elapsed);
        }
        catch (Exception error)
        {
            return new Outcome<T>(default, error, clock.Elapsed);
        }
    }

    private static void AssertTypedFailureWithin<T>(Outcome<T> outcome, TimeSpan bound, string what)
    {
        Assert.True(outcome.Error is not null, $"{what} succeeded ({outcome})");
        Assert.True(outcome.Error is EtcdException, $"{what} failed with {outcome}, not an EtcdException");
        // Quorum loss passes: the same request may succeed later, which is what IsTransient promises (and what a retry policy keys on).
        Assert.True(((EtcdException)outcome.Error).IsTransient, $"{what} failed with a non-transient error: {outcome}");
        Assert.True(outcome.Elapsed < bound, $"{what} took {ChaosRecorder.Ms(outcome.Elapsed)}, bound {ChaosRecorder.Ms(bound)}: {outcome}");
    }

    private static void AssertUnavailableWithin<T>(Outcome<T> outcome, TimeSpan bound, string what)
    {
        Assert.True(outcome.Error is not null, $"{what} succeeded ({outcome})");
        Assert.True(outcome.Error is EtcdUnavailableException, $"{what} failed with {outcome}, not an EtcdConnectionException/EtcdUnavailableException");
        Assert.True(outcome.Elapsed < bound, $"{what} took {ChaosRecorder.Ms(outcome.Elapsed)}, bound {ChaosRecorder.Ms(bound)}: {outcome}");
    }

    /// <summary>Retries <paramref name="call"/> on transient errors for up to <paramref name="limit"/> (test-side; reads and idempotent writes only).</summary>
    private static async Task<T> RetryTransientAsync<T>(Func<Task<T>> call, TimeSpan limit, Action? onRetry = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (EtcdException error) when (error.IsTransient && clock.Elapsed < limit)
            {
                onRetry?.Invoke();
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Puts a fresh key at most once, retrying on transient errors; returns the revision it was written at.</summary>
    private static Task<long> PutIfAbsentAsync(EtcdClient client, string key, string value, TimeSpan limit, Action? onRetry = null) =>
        RetryTransientAsync(async () =>
        {
            var txn = await client.Txn().If(Compare.KeyMissing(key)).Then(TxnOp.Put(key, value)).Else(TxnOp.Get(key)).CommitAsync();
            return txn.Succeeded ? txn.Header.Revision : txn.Response<GetResponse>(0).First!.ModRevision;
        }, limit, onRetry);

    private static async Task EventuallyAsync(Func<bool> condition, Func<string> describe)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > s_eventually) Assert.Fail($"Timed out after {s_eventually.TotalSeconds:0} s: {describe()}");
            await Task.Delay(20);
        }
    }

    private static List<WatchEvent> Snapshot(List<WatchEvent> events)
    {
        lock (events) return [.. events];
    }

    private static int Count(List<WatchEvent> events)
    {
        lock (events) return events.Count;
    }

    /// <summary>The writer's sequence number in a key <c>{prefix}{seq:d5}</c>; -1 for another key.</summary>
    private static int SeqOf(WatchEvent e, string prefix)
    {
        var key = e.Kv.Key.ToStringUtf8();
        return key.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : -1;
    }

    private static void Check(List<string> problems, string what, IEnumerable<string> violations)
    {
        var list = violations.ToList();
        if (list.Count > 0) problems.Add($"{what}: {list.Count}, e.g. {string.Join("; ", list.Take(5))}");
    }
}
