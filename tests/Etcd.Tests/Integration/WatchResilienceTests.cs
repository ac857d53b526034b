using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// Watches across broken streams: etcd killed and restarted on the same data dir, connections reset by a proxy,
/// stalled connections, compaction while a watch is disconnected, and client disposal while disconnected. Every test
/// has its own etcd.
/// </summary>
public sealed class WatchResilienceTests
{
    private static readonly TimeSpan s_timeout = WatchKit.Timeout;

    // ---------------------------------------------------------------- 5. etcd killed and restarted

    [Fact]
    public async Task Etcd_killed_and_restarted_mid_stream_loses_and_repeats_no_acknowledged_write()
    {
        await using var server = await EtcdServer.StartAsync("--heartbeat-interval", "20", "--election-timeout", "200");
        await using var watchClient = new EtcdClient(server.ClientUrl);
        await using var writerClient = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [server.ClientUrl],
            RequestTimeout = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(1),
        });
        var start = await writerClient.PutAsync("start", "s");
        var seen = new Recorder();
        await using var subscription = watchClient.Watch.Watch(KeySet.Prefix("v/"), seen.Add, new WatchOptions { StartRevision = start.Header.Revision + 1 });
        await subscription.Started.WaitAsync(s_timeout);

        await using var writers = new Writers(writerClient, count: 4, prefix: "v/");
        await seen.WaitForCountAsync(150, subscription); // writes before

        for (int cycle = 0; cycle < 2; cycle++)
        {
            int failuresBefore = writers.Failures;
            await server.KillAsync();
            // Writes during: they fail while etcd is down (a write in flight at the kill has an unknown outcome).
            await WatchKit.EventuallyAsync(() => writers.Failures >= failuresBefore + 5, () => $"only {writers.Failures - failuresBefore} writes failed while etcd was down");
            await server.RestartAsync();
            // Writes after: the watch resumes and sees them.
            int ackedAtRestart = writers.AckedCount;
            await WatchKit.EventuallyAsync(() => writers.AckedCount >= ackedAtRestart + 100, () => "writes did not succeed after the restart");
            await seen.WaitForCountAsync(seen.Count + 50, subscription);
        }

        await writers.StopAsync();
        var final = await writerClient.PutAsync("v/final", "final");
        await seen.WaitForAsync(e => e.Value() == "final", subscription);

        Assert.False(subscription.Completion.IsCompleted, $"the watch ended: {subscription.Completion.Exception}");
        Assert.True(writers.Failures >= 10, "etcd being down made no write fail");
        AssertExactlyOnceInOrder(seen.Snapshot(), writers, final.Header.Revision);
    }

    [Fact]
    public async Task The_member_a_watch_is_on_killed_the_watch_moves_to_another_member_and_loses_nothing()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var urls = cluster.ClientUrls.Split(',');
        await using var watchClient = new EtcdClient(new EtcdClientOptions { Endpoints = urls });
        await using var writerClient = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [.. urls.Reverse()], // writes start on another member than the watch
            RequestTimeout = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(1),
        });
        var start = await writerClient.PutAsync("start", "s");
        var seen = new Recorder();
        await using var subscription = watchClient.Watch.Watch(KeySet.Prefix("v/"), seen.Add, new WatchOptions { StartRevision = start.Header.Revision + 1 });
        await subscription.Started.WaitAsync(s_timeout);

        await using var writers = new Writers(writerClient, count: 4, prefix: "v/");
        await seen.WaitForCountAsync(150, subscription);
        var member = cluster.Members.Single(m => new Uri(m.ClientUrl) == watchClient.CurrentEndpoint);
        await member.KillAsync();
        await seen.WaitForCountAsync(seen.Count + 150, subscription); // resumed on another member
        Assert.NotEqual(new Uri(member.ClientUrl), watchClient.CurrentEndpoint);
        await member.RestartAsync();
        await seen.WaitForCountAsync(seen.Count + 100, subscription);

        await writers.StopAsync();
        var final = await writerClient.PutAsync("v/final", "final");
        await seen.WaitForAsync(e => e.Value() == "final", subscription);
        Assert.False(subscription.Completion.IsCompleted, $"the watch ended: {subscription.Completion.Exception}");
        AssertExactlyOnceInOrder(seen.Snapshot(), writers, final.Header.Revision);
    }

    // ---------------------------------------------------------------- 6. connections reset by a proxy

    [Fact]
    public async Task Connections_reset_repeatedly_lose_and_repeat_nothing()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var proxy = await TcpProxy.StartAsync(server.ClientPort);
        await using var watchClient = new EtcdClient(proxy.Url);
        await using var writerClient = new EtcdClient(server.ClientUrl); // writes do not go through the proxy: all acknowledged
        var start = await writerClient.PutAsync("start", "s");

        var seen = new Recorder();
        await using var subscription = watchClient.Watch.Watch(KeySet.Prefix("v/"), seen.Add, new WatchOptions { StartRevision = start.Header.Revision + 1 });
        var responses = new ConcurrentQueue<WatchResponse>();
        using var stopEnumerable = new CancellationTokenSource();
        // The response shape on the same stream, through the same cuts.
        var enumerable = Task.Run(async () =>
        {
            try
            {
                await foreach (var r in watchClient.Watch.WatchResponsesAsync(KeySet.Prefix("v/"), new WatchOptions { StartRevision = start.Header.Revision + 1 }, stopEnumerable.Token))
                    responses.Enqueue(r);
            }
            catch (OperationCanceledException) when (stopEnumerable.IsCancellationRequested)
            {
            }
        });
        await subscription.Started.WaitAsync(s_timeout);

        await using var writers = new Writers(writerClient, count: 4, prefix: "v/");
        const int cuts = 5;
        int acceptedBefore = 0;
        for (int i = 0; i < cuts; i++)
        {
            // The client must be back on a new connection before the next cut: a callback that lags behind the stream
            // could otherwise reach "+150 events" from events buffered before the last cut, while the client is still
            // in its reconnect pause, and the cut would find nothing to reset.
            int expected = acceptedBefore;
            await WatchKit.EventuallyAsync(() => proxy.AcceptedCount > expected && proxy.LiveCount >= 1,
                () => $"the client did not reconnect after cut {i} (accepted {proxy.AcceptedCount}, live {proxy.LiveCount})");
            await seen.WaitForCountAsync(seen.Count + 150, subscription);
            acceptedBefore = proxy.AcceptedCount;
            Assert.True(proxy.CutAll() >= 1, "the watch had no live connection to cut");
        }
        await seen.WaitForCountAsync(seen.Count + 150, subscription); // and it resumed after the last cut
        await writers.StopAsync();
        var final = await writerClient.PutAsync("v/final", "final");
        await seen.WaitForAsync(e => e.Value() == "final", subscription);
        await WatchKit.EventuallyAsync(() => responses.Any(r => r.Events.Any(e => e.Value() == "final")), () => "the response enumeration did not reach the end");
        await stopEnumerable.CancelAsync();
        await enumerable.WaitAsync(s_timeout);

        Assert.Equal(0, writers.Failures); // writes go straight to etcd: only the ones cancelled at the stop are in doubt
        Assert.True(proxy.AcceptedCount >= cuts + 1, $"the client connected {proxy.AcceptedCount} times for {cuts} cuts");
        Assert.False(subscription.Completion.IsCompleted, $"the watch ended: {subscription.Completion.Exception}");
        var events = seen.Snapshot();
        AssertExactlyOnceInOrder(events, writers, final.Header.Revision);
        Assert.Equal(events, responses.SelectMany(r => r.Events));
    }

    [Fact]
    public async Task A_stalled_connection_is_detected_by_keepalive_and_the_watch_resumes_without_loss()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var proxy = await TcpProxy.StartAsync(server.ClientPort);
        await using var watchClient = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [proxy.Url],
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
        });
        await using var direct = new EtcdClient(server.ClientUrl);
        var first = await direct.PutAsync("k", "0");
        var seen = new Recorder();
        await using var subscription = watchClient.Watch.Watch("k", seen.Add, new WatchOptions { StartRevision = first.Header.Revision });
        await seen.WaitForCountAsync(1, subscription);

        int accepted = proxy.AcceptedCount;
        proxy.Pause(); // nothing flows; no connection is closed
        for (int i = 1; i <= 5; i++) await direct.PutAsync("k", i.ToString(CultureInfo.InvariantCulture));
        // The client notices the silent connection (no PING answer) and dials again.
        await WatchKit.EventuallyAsync(() => proxy.AcceptedCount > accepted, () => "the client never gave up on the stalled connection", TimeSpan.FromSeconds(20));
        proxy.CutAll();
        proxy.Resume();

        await seen.WaitForAsync(e => e.Value() == "5", subscription);
        Assert.Equal(["0", "1", "2", "3", "4", "5"], seen.Snapshot().Select(e => e.Value()));
    }

    // ---------------------------------------------------------------- 7. compaction while a watch is down

    [Fact]
    public async Task Compaction_while_a_watch_is_disconnected_ends_it_with_the_compact_revision_and_others_keep_running()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var proxy = await TcpProxy.StartAsync(server.ClientPort);
        await using var watchClient = new EtcdClient(proxy.Url);
        await using var direct = new EtcdClient(server.ClientUrl);
        var r0 = await direct.PutAsync("c/k", "0");
        var r1 = await direct.PutAsync("c/k", "1");

        var doomedEvents = new Recorder();
        var doomed = watchClient.Watch.Watch(KeySet.Prefix("c/"), doomedEvents.Add, new WatchOptions { StartRevision = r0.Header.Revision });
        var enumerated = new ConcurrentQueue<WatchEvent>();
        var doomedEnumerable = Task.Run(async () =>
        {
            await foreach (var e in watchClient.Watch.WatchAsync(KeySet.Prefix("c/"), new WatchOptions { StartRevision = r0.Header.Revision }))
                enumerated.Enqueue(e);
        });
        // A watch whose resume point lies beyond the compaction: it must survive the other's end.
        long survivorStart = r1.Header.Revision + 20;
        var survivorEvents = new Recorder();
        await using var survivor = watchClient.Watch.Watch("s/k", survivorEvents.Add, new WatchOptions { StartRevision = survivorStart });
        await Task.WhenAll(doomed.Started, survivor.Started).WaitAsync(s_timeout);
        await doomedEvents.WaitForCountAsync(2, doomed);
        await WatchKit.EventuallyAsync(() => enumerated.Count == 2, () => $"the enumerable saw {enumerated.Count} events");

        proxy.Refusing = true; // reconnects fail until we allow them
        Assert.True(proxy.CutAll() >= 1);
        long last = 0;
        for (int i = 2; i <= 5; i++) last = (await direct.PutAsync("c/k", i.ToString(CultureInfo.InvariantCulture))).Header.Revision;
        await direct.CompactAsync(last, physical: true);
        Assert.Equal(2, doomedEvents.Count); // nothing could have arrived meanwhile
        proxy.Refusing = false;

        var error = await Assert.ThrowsAsync<EtcdCompactedException>(() => doomed.Completion).WaitAsync(s_timeout);
        Assert.Equal(last, error.CompactRevision);
        Assert.Equal(r1.Header.Revision + 1, error.RequestedRevision);
        var enumerableError = await Assert.ThrowsAsync<EtcdCompactedException>(() => doomedEnumerable).WaitAsync(s_timeout);
        Assert.Equal(last, enumerableError.CompactRevision);
        Assert.Equal(r1.Header.Revision + 1, enumerableError.RequestedRevision);
        // Never a silent gap: what was delivered is exactly what came before the disconnect.
        Assert.Equal(["0", "1"], doomedEvents.Snapshot().Select(e => e.Value()));
        Assert.Equal(["0", "1"], enumerated.Select(e => e.Value()));

        // The other watch on the same stream keeps running and starts exactly at its start revision.
        var puts = new List<PutResponse>();
        do puts.Add(await direct.PutAsync("s/k", puts.Count.ToString(CultureInfo.InvariantCulture)));
        while (puts[^1].Header.Revision < survivorStart + 2);
        var expected = puts.Where(p => p.Header.Revision >= survivorStart).Select(p => p.Header.Revision).ToList();
        await survivorEvents.WaitForCountAsync(expected.Count, survivor);
        Assert.Equal(expected, survivorEvents.Snapshot().Select(e => e.Revision));
        Assert.False(survivor.Completion.IsCompleted);
        Assert.Equal(1, watchClient.Watch.ActiveCount);
    }

    // ---------------------------------------------------------------- a response the client cannot accept

    [Fact]
    public async Task An_event_larger_than_the_clients_receive_limit_ends_that_watch_with_a_typed_error_not_a_reconnect_loop()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var direct = new EtcdClient(server.ClientUrl);
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], MaxReceiveMessageSize = 64 * 1024 });
        var big = await direct.PutAsync("big", new string('x', 100 * 1024)); // one event: etcd cannot fragment it

        var otherEvents = new ConcurrentQueue<WatchEvent>();
        await using var other = client.Watch.Watch("other", e => otherEvents.Enqueue(e));
        await other.Started.WaitAsync(s_timeout);
        var doomed = client.Watch.Watch("big", _ => { }, new WatchOptions { StartRevision = big.Header.Revision });

        // The same event comes back after every reconnect: retrying cannot help, so the watch must end, typed.
        var ended = await Task.WhenAny(doomed.Completion, Task.Delay(TimeSpan.FromSeconds(10))) == doomed.Completion;
        double streams = await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "Watch");
        Assert.True(ended, $"the watch neither delivered nor ended in 10 s; etcd saw {streams} watch streams started meanwhile");
        var error = await Record.ExceptionAsync(() => doomed.Completion);
        Assert.True(error is EtcdException, $"ended with {error?.GetType().Name ?? "no error"}: {error?.Message}");

        var put = await direct.PutAsync("other", "still running");
        await WatchKit.EventuallyAsync(() => otherEvents.Any(e => e.Revision == put.Header.Revision), () => "the other watch stopped");
        Assert.False(other.Completion.IsCompleted);
    }

    // ---------------------------------------------------------------- 10. disposal while disconnected

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Disposing_the_client_while_disconnected_ends_every_watch_within_five_seconds(bool stalled)
    {
        await using var server = await EtcdServer.StartAsync();
        await using var proxy = await TcpProxy.StartAsync(server.ClientPort);
        var client = new EtcdClient(proxy.Url);
        var subscription = client.Watch.Watch("k", _ => { });
        await subscription.Started.WaitAsync(s_timeout);
        var enumeration = Task.Run(async () =>
        {
            await foreach (var _ in client.Watch.WatchAsync("k")) { }
        });
        await WatchKit.EventuallyAsync(() => client.Watch.ActiveCount == 2, () => $"ActiveCount {client.Watch.ActiveCount}");
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 2);

        if (stalled)
        {
            proxy.Pause(); // the stream hangs on a connection that neither answers nor closes
        }
        else
        {
            proxy.Refusing = true; // the stream breaks and every reconnect fails: the watch is in backoff
            proxy.CutAll();
            await WatchKit.EventuallyAsync(() => proxy.AcceptedCount >= 2, () => "the client did not try to reconnect");
        }

        var clock = Stopwatch.StartNew();
        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscription.Completion).WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => enumeration).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        proxy.Resume();
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>
    /// Checks the watch saw every acknowledged write exactly once, nothing twice, nothing that was never attempted,
    /// in strictly increasing revisions and in each writer's order. Writes whose outcome is unknown may or may not appear.
    /// </summary>
    private static void AssertExactlyOnceInOrder(IReadOnlyList<WatchEvent> events, Writers writers, long finalRevision)
    {
        for (int i = 1; i < events.Count; i++)
            Assert.True(events[i - 1].Revision < events[i].Revision, $"revision {events[i].Revision} came after {events[i - 1].Revision} (event {i})");
        // The closing write is seen once, at its revision. (A write cancelled in flight when the writers stopped may
        // still be applied by etcd after it: an unknown outcome, checked like the others below.)
        Assert.Equal(finalRevision, Assert.Single(events, e => e.Value() == "final").Revision);

        var values = events.Where(e => e.Value() != "final").Select(e => e.Value()).ToList();
        var duplicates = values.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key).Take(10).ToList();
        Assert.True(duplicates.Count == 0, $"seen twice: {string.Join(", ", duplicates)}");

        var seenSet = values.ToHashSet();
        var acked = writers.Acked.ToList();
        var lost = acked.Where(v => !seenSet.Contains(v)).Take(10).ToList();
        Assert.True(lost.Count == 0, $"{acked.Count(v => !seenSet.Contains(v))} acknowledged writes never seen, e.g. {string.Join(", ", lost)}");
        var possible = acked.Concat(writers.Unknown).ToHashSet();
        var invented = values.Where(v => !possible.Contains(v)).Take(10).ToList();
        Assert.True(invented.Count == 0, $"seen but never written: {string.Join(", ", invented)}");

        foreach (var writer in values.Select(Parse).GroupBy(p => p.Writer))
        {
            var seqs = writer.Select(p => p.Seq).ToList();
            for (int i = 1; i < seqs.Count; i++)
                Assert.True(seqs[i - 1] < seqs[i], $"writer {writer.Key}: {seqs[i]} after {seqs[i - 1]}");
        }
        Assert.True(acked.Count >= 300, $"only {acked.Count} writes were acknowledged");

        static (int Writer, int Seq) Parse(string value)
        {
            var parts = value.Split(':');
            return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Collects a callback watch's events (callbacks run one at a time) and waits on them.</summary>
    private sealed class Recorder
    {
        private readonly List<WatchEvent> _events = [];

        public int Count
        {
            get
            {
                lock (_events) return _events.Count;
            }
        }

        public void Add(WatchEvent e)
        {
            lock (_events) _events.Add(e);
        }

        public IReadOnlyList<WatchEvent> Snapshot()
        {
            lock (_events) return [.. _events];
        }

        public async Task WaitForCountAsync(int count, WatchSubscription subscription)
        {
            await WatchKit.EventuallyAsync(
                () => Count >= count || subscription.Completion.IsCompleted,
                () => $"saw {Count} of {count} events");
            Assert.True(Count >= count, $"the watch ended after {Count} events: {subscription.Completion.Exception}");
        }

        public async Task WaitForAsync(Func<WatchEvent, bool> match, WatchSubscription subscription)
        {
            await WatchKit.EventuallyAsync(
                () => Snapshot().Any(match) || subscription.Completion.IsCompleted,
                () => $"saw {Count} events, not the expected one; last: {WatchKit.Describe(Snapshot().TakeLast(5))}");
            Assert.True(Snapshot().Any(match), $"the watch ended: {subscription.Completion.Exception}");
        }
    }

    /// <summary>Writers that each put sequence-numbered, unique values ("writer:seq") until stopped.</summary>
    private sealed class Writers : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _tasks;
        private int _failures;

        public Writers(EtcdClient client, int count, string prefix)
        {
            _tasks = Enumerable.Range(0, count).Select(w => Task.Run(() => WriteAsync(client, w, prefix))).ToArray();
        }

        public ConcurrentQueue<string> Acked { get; } = new();

        public ConcurrentQueue<string> Unknown { get; } = new();

        public int AckedCount => Acked.Count;

        public int Failures => Volatile.Read(ref _failures);

        private async Task WriteAsync(EtcdClient client, int writer, string prefix)
        {
            for (int seq = 0; !_stop.IsCancellationRequested; seq++)
            {
                var value = $"{writer}:{seq}";
                try
                {
                    await client.PutAsync($"{prefix}{writer}/{seq % 4}", value, cancellationToken: _stop.Token);
                    Acked.Enqueue(value);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    Unknown.Enqueue(value); // cancelled in flight: it may have been applied
                    return;
                }
                catch (Exception)
                {
                    Unknown.Enqueue(value); // failed: it may still have been applied
                    Interlocked.Increment(ref _failures);
                    await Task.Delay(20);
                }
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_tasks).WaitAsync(s_timeout);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                try
                {
                    await StopAsync();
                }
                catch (Exception)
                {
                }
            }
            _stop.Dispose();
        }
    }
}
