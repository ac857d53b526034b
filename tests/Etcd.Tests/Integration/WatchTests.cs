using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>Helpers shared by the watch integration tests.</summary>
internal static class WatchKit
{
    /// <summary>The bound on any single wait in the watch tests: long enough for a loaded CI machine, short enough to fail fast.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>The value of an unlabelled gauge or counter on etcd's /metrics.</summary>
    public static async Task<double> MetricAsync(string clientUrl, string name)
    {
        var text = await s_http.GetStringAsync(clientUrl + "/metrics");
        var match = Regex.Match(text, $@"^{Regex.Escape(name)} (\S+)$", RegexOptions.Multiline);
        if (!match.Success) throw new InvalidOperationException($"etcd's /metrics has no {name}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>etcd 3.4's gauge of watchers (all streams): +1 per created watch, -1 per cancelled one.</summary>
    public static Task<double> WatchersAsync(string clientUrl) => MetricAsync(clientUrl, "etcd_debugging_mvcc_watcher_total");

    /// <summary>etcd 3.4's gauge of open watch streams.</summary>
    public static Task<double> WatchStreamsAsync(string clientUrl) => MetricAsync(clientUrl, "etcd_debugging_mvcc_watch_stream_total");

    /// <summary>How many watch create requests the client has sent (internals): more than its watches means pauses or reconnects.</summary>
    public static long CreatesSent(EtcdClient client)
    {
        var field = typeof(Etcd.Operations.WatchManager).GetField("_nextServerId", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        return field?.GetValue(client.Watch.Manager) is long n ? n : -1;
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails with <paramref name="describe"/> after the timeout.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s: {describe()}");
            await Task.Delay(20);
        }
    }

    public static Task EventuallyAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null) =>
        EventuallyAsync(() => Task.FromResult(condition()), describe, timeout);

    /// <summary>Waits until etcd's watcher gauge equals <paramref name="expected"/>.</summary>
    public static async Task WatchersBecomeAsync(string clientUrl, double expected, TimeSpan? timeout = null)
    {
        double last = double.NaN;
        await EventuallyAsync(async () => (last = await WatchersAsync(clientUrl)) == expected,
            () => $"etcd_debugging_mvcc_watcher_total is {last}, expected {expected}", timeout);
    }

    /// <summary>Enumerates until <paramref name="until"/> matches an event (included), bounded by the timeout.</summary>
    public static async Task<List<WatchEvent>> CollectAsync(
        Func<CancellationToken, IAsyncEnumerable<WatchEvent>> watch, Func<WatchEvent, bool> until, TimeSpan? timeout = null)
    {
        var seen = new List<WatchEvent>();
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            await foreach (var e in watch(cts.Token))
            {
                seen.Add(e);
                if (until(e)) return seen;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"Timed out; saw {seen.Count} events: {Describe(seen)}");
        }
        Assert.Fail($"The watch ended without an error before the expected event; saw {Describe(seen)}");
        return seen;
    }

    public static string Describe(IEnumerable<WatchEvent> events) =>
        string.Join(", ", events.Take(50).Select(e => $"{e.Type} {e.Kv.Key}={e.Kv.Value}@{e.Revision}"));

    public static string Key(this WatchEvent e) => e.Kv.Key.ToStringUtf8();

    public static string Value(this WatchEvent e) => e.Kv.Value.ToStringUtf8();
}

/// <summary>
/// Watch options and shapes against a shared etcd (each test under its own prefix), plus dedicated servers where a test
/// needs special flags or exact server-side counts.
/// </summary>
public sealed class WatchTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_timeout = WatchKit.Timeout;

    // ---------------------------------------------------------------- 1. options

    [Fact]
    public async Task Single_key_watch_from_a_past_revision_sees_only_that_key_in_order()
    {
        var first = await Client.PutAsync(P + "a", "1");
        await Client.PutAsync(P + "ab", "not me");  // shares the key as a prefix
        await Client.PutAsync(P + "b", "not me");
        var second = await Client.PutAsync(P + "a", "2");
        var deleted = await Client.DeleteAsync(P + "a");
        await Client.PutAsync(P + "a", "end");

        var seen = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(P + "a", new WatchOptions { StartRevision = first.Header.Revision }, ct),
            e => e.Value() == "end");

        Assert.Equal([WatchEventType.Put, WatchEventType.Put, WatchEventType.Delete, WatchEventType.Put], seen.Select(e => e.Type));
        Assert.All(seen, e => Assert.Equal(P + "a", e.Key()));
        Assert.Equal(["1", "2", "", "end"], seen.Select(e => e.Value()));
        Assert.Equal(first.Header.Revision, seen[0].Revision);
        Assert.Equal(second.Header.Revision, seen[1].Revision);
        Assert.Equal(deleted.Header.Revision, seen[2].Revision);
        Assert.All(seen, e => Assert.Null(e.PrevKv)); // not asked for

        // A later start revision skips what came before it.
        var fromSecond = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(P + "a", new WatchOptions { StartRevision = second.Header.Revision }, ct),
            e => e.Value() == "end");
        Assert.Equal(["2", "", "end"], fromSecond.Select(e => e.Value()));
    }

    [Fact]
    public async Task Range_watch_sees_keys_in_from_inclusive_to_exclusive()
    {
        var start = await Client.PutAsync(P + "a", "out");
        await Client.PutAsync(P + "b", "in");
        await Client.PutAsync(P + "bz", "in");
        await Client.PutAsync(P + "c", "in");
        await Client.PutAsync(P + "d", "out"); // the end is exclusive
        await Client.PutAsync(P + "e", "out");
        await Client.PutAsync(P + "c", "end");

        var seen = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(KeySet.Range(P + "b", P + "d"), new WatchOptions { StartRevision = start.Header.Revision }, ct),
            e => e.Value() == "end");

        Assert.Equal([P + "b", P + "bz", P + "c", P + "c"], seen.Select(e => e.Key()));
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Revision < p.Second.Revision));
    }

    [Fact]
    public async Task Prefix_watch_sees_the_prefix_itself_and_keys_under_it_only()
    {
        var start = await Client.PutAsync(P + "x/1", "in");
        await Client.PutAsync(P + "x", "out");   // shorter than the prefix
        await Client.PutAsync(P + "y/1", "out");
        await Client.PutAsync(P + "x/", "in");   // the prefix itself
        await Client.PutAsync(P + "x/2/deep", "in");
        await Client.DeleteAsync(P + "x/1");
        await Client.PutAsync(P + "x0", "out");  // the byte after '/' is '0': just past the prefix range
        await Client.PutAsync(P + "x/z", "end");

        var seen = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(KeySet.Prefix(P + "x/"), new WatchOptions { StartRevision = start.Header.Revision }, ct),
            e => e.Value() == "end");

        Assert.Equal([P + "x/1", P + "x/", P + "x/2/deep", P + "x/1", P + "x/z"], seen.Select(e => e.Key()));
        Assert.Equal(WatchEventType.Delete, seen[3].Type);
    }

    [Fact]
    public async Task FromKey_watch_sees_keys_at_or_after_the_key()
    {
        var start = await Client.PutAsync(P + "l", "out");
        await Client.PutAsync(P + "m", "in");
        await Client.PutAsync(P + "a", "out");
        await Client.PutAsync(P + "z", "in");
        await Client.PutAsync(P + "zz", "end");

        // Other test classes use other servers, but this class's other keys sort after P too: keep to P.
        var seen = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(KeySet.FromKey(P + "m"), new WatchOptions { StartRevision = start.Header.Revision }, ct),
            e => e.Value() == "end");

        Assert.Equal([P + "m", P + "z", P + "zz"], seen.Where(e => e.Key().StartsWith(P, StringComparison.Ordinal)).Select(e => e.Key()));
    }

    [Fact]
    public async Task Watching_all_keys_sees_every_key_including_binary_edges()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        byte[] zero = [0x00];
        byte[] ff = [0xFF, 0xFF];
        var start = await client.PutAsync(zero, "zero");
        await client.PutAsync("a", "a");
        await client.PutAsync(ff, "ff");
        await client.DeleteAsync("a");
        await client.PutAsync("m", "end");

        var seen = await WatchKit.CollectAsync(
            ct => client.Watch.WatchAsync(KeySet.All, new WatchOptions { StartRevision = start.Header.Revision }, ct),
            e => e.Value() == "end");

        Assert.Equal([new EtcdBytes(zero), "a", new EtcdBytes(ff), "a", "m"], seen.Select(e => e.Kv.Key));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => start.Header.Revision + i), seen.Select(e => e.Revision));

        // KeySet.Prefix("") is also "all".
        var viaEmptyPrefix = await WatchKit.CollectAsync(
            ct => client.Watch.WatchAsync(KeySet.Prefix(""), new WatchOptions { StartRevision = start.Header.Revision }, ct),
            e => e.Value() == "end");
        Assert.Equal(seen.Select(e => e.Revision), viaEmptyPrefix.Select(e => e.Revision));
    }

    [Fact]
    public async Task Watch_from_now_sees_nothing_written_before_it_was_started_and_everything_after()
    {
        await Client.PutAsync(P + "k", "before");
        var events = new BlockingCollection<WatchEvent>();
        await using var subscription = Client.Watch.Watch(P + "k", e => events.Add(e));
        await subscription.Started.WaitAsync(s_timeout);

        var after = await Client.PutAsync(P + "k", "after");
        await Client.PutAsync(P + "k", "after2");

        Assert.True(events.TryTake(out var first, s_timeout), "no event after the watch started");
        Assert.Equal("after", first.Value());
        Assert.Equal(after.Header.Revision, first.Revision);
        Assert.True(events.TryTake(out var second, s_timeout));
        Assert.Equal("after2", second.Value());
    }

    [Fact]
    public async Task Enumerable_watch_from_now_sees_writes_made_after_its_first_response()
    {
        // An enumerable has no Started: a RequestProgress answer proves the watch exists on the server.
        using var cts = new CancellationTokenSource(s_timeout);
        await using var e = Client.Watch.WatchResponsesAsync(P + "k", cancellationToken: cts.Token).GetAsyncEnumerator();
        var moving = e.MoveNextAsync().AsTask();
        await WatchKit.EventuallyAsync(() => Client.Watch.ActiveCount == 1, () => "the watch was not added");
        // The create and the progress request travel in order on the one stream: the progress answer comes after creation.
        while (!moving.IsCompleted)
        {
            await Client.Watch.RequestProgressAsync();
            await Task.WhenAny(moving, Task.Delay(200));
        }
        Assert.True(await moving);
        Assert.True(e.Current.IsProgressNotify);
        var put = await Client.PutAsync(P + "k", "now");
        WatchResponse response;
        do
        {
            Assert.True(await e.MoveNextAsync());
            response = e.Current;
        }
        while (response.IsProgressNotify);
        Assert.Equal(put.Header.Revision, Assert.Single(response.Events).Revision);
    }

    [Fact]
    public async Task PrevKv_carries_the_previous_value_and_is_absent_without_the_option()
    {
        var created = await Client.PutAsync(P + "k", "1");
        await Client.PutAsync(P + "k", "2");
        await Client.DeleteAsync(P + "k");
        await Client.PutAsync(P + "k", "3");

        var seen = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(P + "k", new WatchOptions { StartRevision = created.Header.Revision, PrevKv = true }, ct),
            e => e.Value() == "3");

        Assert.Null(seen[0].PrevKv);                              // created: nothing before
        Assert.Equal("1", seen[1].PrevKv!.Value.ToStringUtf8());  // overwritten
        Assert.Equal(created.Header.Revision, seen[1].PrevKv!.ModRevision);
        Assert.Equal(WatchEventType.Delete, seen[2].Type);
        Assert.Equal("2", seen[2].PrevKv!.Value.ToStringUtf8());  // deleted: what was deleted
        Assert.Null(seen[3].PrevKv);                              // re-created after the delete

        var without = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(P + "k", new WatchOptions { StartRevision = created.Header.Revision }, ct),
            e => e.Value() == "3");
        Assert.All(without, e => Assert.Null(e.PrevKv));
    }

    [Fact]
    public async Task NoPut_delivers_only_deletes_and_NoDelete_only_puts()
    {
        var start = await Client.PutAsync(P + "a", "1");
        await Client.PutAsync(P + "b", "1");
        await Client.DeleteAsync(P + "a");
        await Client.PutAsync(P + "a", "2");
        await Client.DeleteAsync(P + "b");
        await Client.PutAsync(P + "end", "put-end");
        var lastDelete = await Client.DeleteAsync(P + "end");

        var deletes = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(KeySet.Prefix(P), new WatchOptions { StartRevision = start.Header.Revision, NoPut = true }, ct),
            e => e.Revision == lastDelete.Header.Revision);
        Assert.All(deletes, e => Assert.Equal(WatchEventType.Delete, e.Type));
        Assert.Equal([P + "a", P + "b", P + "end"], deletes.Select(e => e.Key()));

        var puts = await WatchKit.CollectAsync(
            ct => Client.Watch.WatchAsync(KeySet.Prefix(P), new WatchOptions { StartRevision = start.Header.Revision, NoDelete = true }, ct),
            e => e.Value() == "put-end");
        Assert.All(puts, e => Assert.Equal(WatchEventType.Put, e.Type));
        Assert.Equal(["1", "1", "2", "put-end"], puts.Select(e => e.Value()));
    }

    [Fact]
    public async Task ProgressNotify_sends_periodic_notifications_only_to_watches_that_asked()
    {
        // etcd's default interval is 10 minutes; 3.4.23 accepts the experimental flag to shorten it.
        await using var server = await EtcdServer.StartAsync("--experimental-watch-progress-notify-interval", "500ms");
        await using var client = new EtcdClient(server.ClientUrl);
        var write = await client.PutAsync("w/k", "v");
        await client.PutAsync("elsewhere", "moves the revision"); // not watched
        var last = await client.PutAsync("elsewhere", "again");

        using var cts = new CancellationTokenSource(s_timeout);
        var quiet = new ConcurrentQueue<WatchResponse>();
        var quietWatch = Task.Run(async () =>
        {
            try
            {
                await foreach (var r in client.Watch.WatchResponsesAsync("w/quiet", new WatchOptions { StartRevision = 1 }, cts.Token))
                    quiet.Enqueue(r);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
            }
        });

        var responses = new List<WatchResponse>();
        await foreach (var r in client.Watch.WatchResponsesAsync("w/k", new WatchOptions { StartRevision = write.Header.Revision, ProgressNotify = true }, cts.Token))
        {
            responses.Add(r);
            if (responses.Count(x => x.IsProgressNotify) == 2) break;
        }
        await cts.CancelAsync();
        await quietWatch.WaitAsync(s_timeout);

        Assert.False(responses[0].IsProgressNotify);
        Assert.Equal(write.Header.Revision, Assert.Single(responses[0].Events).Revision);
        var progress = responses.Where(r => r.IsProgressNotify).ToList();
        Assert.All(progress, p => Assert.Empty(p.Events));
        Assert.All(progress, p => Assert.True(p.Header.Revision >= last.Header.Revision, $"progress at {p.Header.Revision} < last write {last.Header.Revision}"));
        Assert.All(progress, p => Assert.Equal(p.Header.Revision, p.SeenRevision));
        Assert.Empty(quiet); // no ProgressNotify, no events: nothing at all
    }

    [Fact]
    public async Task ProgressNotify_moves_a_subscriptions_SeenRevision_past_unrelated_writes()
    {
        await using var server = await EtcdServer.StartAsync("--experimental-watch-progress-notify-interval", "500ms");
        await using var client = new EtcdClient(server.ClientUrl);
        await using var subscription = client.Watch.Watch("watched", _ => { }, new WatchOptions { ProgressNotify = true });
        await subscription.Started.WaitAsync(s_timeout);
        var unrelated = await client.PutAsync("unrelated", "x");

        await WatchKit.EventuallyAsync(() => subscription.SeenRevision >= unrelated.Header.Revision,
            () => $"SeenRevision {subscription.SeenRevision} never reached {unrelated.Header.Revision}");
    }

    [Fact]
    public async Task RequestProgress_answers_with_a_progress_response_at_or_after_the_last_write()
    {
        var watched = await Client.PutAsync(P + "k", "v");
        using var cts = new CancellationTokenSource(s_timeout);
        await using var e = Client.Watch.WatchResponsesAsync(P + "k", new WatchOptions { StartRevision = watched.Header.Revision }, cts.Token).GetAsyncEnumerator();
        Assert.True(await e.MoveNextAsync());
        Assert.False(e.Current.IsProgressNotify);
        Assert.Equal(watched.Header.Revision, Assert.Single(e.Current.Events).Revision);

        var last = await Client.PutAsync(P + "unwatched", "moves the revision");
        await Client.Watch.RequestProgressAsync(cts.Token);

        Assert.True(await e.MoveNextAsync());
        Assert.True(e.Current.IsProgressNotify);
        Assert.Empty(e.Current.Events);
        Assert.True(e.Current.Header.Revision >= last.Header.Revision, $"progress at {e.Current.Header.Revision}, last write {last.Header.Revision}");
    }

    /// <summary>Writes <paramref name="writes"/> revisions under h/ (the first and last returned), so a watch from the first catches up in batches.</summary>
    private static async Task<(PutResponse First, PutResponse Last)> WriteHistoryAsync(EtcdClient client, int writes)
    {
        var first = await client.PutAsync("h/0", "0");
        await Parallel.ForEachAsync(Enumerable.Range(1, writes - 2), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, ct) => await client.PutAsync($"h/{i % 10}", i.ToString(CultureInfo.InvariantCulture), cancellationToken: ct));
        var last = await client.PutAsync("h/end", "end");
        return (first, last);
    }

    [Fact]
    public async Task RequestProgress_right_after_the_first_watch_is_started_is_answered()
    {
        // The natural sequence: start a watch, then ask for progress. Nothing may swallow the request. (It races with
        // the client opening its stream, so try with several fresh clients.)
        for (int attempt = 1; attempt <= 20; attempt++)
        {
            await using var client = new EtcdClient(Etcd.ClientUrl);
            using var cts = new CancellationTokenSource(s_timeout);
            await using var e = client.Watch.WatchResponsesAsync(P + "k", cancellationToken: cts.Token).GetAsyncEnumerator();
            var next = e.MoveNextAsync().AsTask(); // adds the watch: the client's first, so it opens the stream
            await client.Watch.RequestProgressAsync(cts.Token);
            var answered = await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(3))) == next;
            Assert.True(answered, $"attempt {attempt}: no progress notification within 3 s: the request was lost");
            Assert.True(await next);
            Assert.True(e.Current.IsProgressNotify);
        }
    }

    [Fact]
    public async Task A_progress_notification_never_claims_a_revision_whose_events_are_still_to_come()
    {
        // The documented contract: a progress notification's SeenRevision says the watch has seen every change up to it
        // (its header revision is only the server's revision when it answered).
        // A watch catching up on a long history receives it in batches of 1,000 revisions, 100 ms apart, so a
        // RequestProgress sent right after the first batch is answered (by etcd 3.4) while events are still pending.
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        const int writes = 3000;
        var (first, last) = await WriteHistoryAsync(client, writes);

        var violations = new List<string>();
        long claimed = 0;
        int events = 0;
        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (var r in client.Watch.WatchResponsesAsync(KeySet.Prefix("h/"), new WatchOptions { StartRevision = first.Header.Revision }, cts.Token))
        {
            if (r.IsProgressNotify)
            {
                claimed = Math.Max(claimed, r.SeenRevision);
                continue;
            }
            if (events == 0) await client.Watch.RequestProgressAsync(cts.Token); // the watch exists and is catching up
            foreach (var e in r.Events)
            {
                events++;
                if (e.Revision <= claimed && violations.Count < 5)
                    violations.Add($"event at revision {e.Revision} arrived after a progress notification claimed {claimed}");
            }
            if (r.Events[^1].Revision == last.Header.Revision) break;
        }
        Assert.Equal(writes, events);
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public async Task A_subscriptions_SeenRevision_never_runs_ahead_of_the_events_passed_to_its_callback()
    {
        // WatchSubscription.SeenRevision: "every change up to this revision has been passed to the callback".
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var (first, last) = await WriteHistoryAsync(client, 3000);

        var violations = new ConcurrentQueue<string>();
        var self = new TaskCompletionSource<WatchSubscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int count = 0;
        await using var subscription = client.Watch.Watch(KeySet.Prefix("h/"), async (e, ct) =>
        {
            var me = await self.Task;
            if (count++ == 0) await client.Watch.RequestProgressAsync(ct);
            long seen = me.SeenRevision;
            if (seen >= e.Revision && violations.Count < 5)
                violations.Enqueue($"the callback got revision {e.Revision} while SeenRevision already said {seen}");
            if (e.Revision == last.Header.Revision) done.TrySetResult();
        }, new WatchOptions { StartRevision = first.Header.Revision });
        self.SetResult(subscription);
        await done.Task.WaitAsync(s_timeout);
        Assert.Equal(3000, count);
        Assert.True(violations.IsEmpty, string.Join("\n", violations));
    }

    [Fact]
    public async Task Fragmented_responses_are_reassembled_into_one_response_per_revision()
    {
        const int maxRequestBytes = 65536;
        await using var server = await EtcdServer.StartAsync("--max-request-bytes", maxRequestBytes.ToString(CultureInfo.InvariantCulture));
        await using var client = new EtcdClient(server.ClientUrl);
        const int keys = 40;
        var oldValue = new string('o', 1200);
        var newValue = new string('n', 1200);
        for (int i = 0; i < keys; i++) await client.PutAsync($"f/{i:D2}", oldValue + i);

        // One transaction (one revision) of ~49 KB; with PrevKv its watch response carries old and new values, ~98 KB:
        // more than --max-request-bytes, which etcd uses as its fragment size.
        var txn = await client.Txn().Then(Enumerable.Range(0, keys).Select(i => TxnOp.Put($"f/{i:D2}", newValue + i))).CommitAsync();
        await client.PutAsync("f/zz", "after");
        Assert.True(keys * (oldValue.Length + newValue.Length) > maxRequestBytes);

        using var cts = new CancellationTokenSource(s_timeout);
        var responses = new List<WatchResponse>();
        await foreach (var r in client.Watch.WatchResponsesAsync(KeySet.Prefix("f/"), new WatchOptions { StartRevision = txn.Header.Revision, PrevKv = true }, cts.Token))
        {
            responses.Add(r);
            if (r.Events.Any(e => e.Key() == "f/zz")) break;
        }

        // A watch from a past revision may get several revisions in one response; a revision is never split, even
        // when etcd had to send it in fragments.
        var big = Assert.Single(responses, r => r.Events.Any(e => e.Revision == txn.Header.Revision));
        var txnEvents = big.Events.Where(e => e.Revision == txn.Header.Revision).ToList();
        Assert.Equal(keys, txnEvents.Count);
        Assert.Equal(Enumerable.Range(0, keys).Select(i => $"f/{i:D2}"), txnEvents.Select(e => e.Key()));
        Assert.Equal(Enumerable.Range(0, keys).Select(i => newValue + i), txnEvents.Select(e => e.Value()));
        Assert.Equal(Enumerable.Range(0, keys).Select(i => oldValue + i), txnEvents.Select(e => e.PrevKv!.Value.ToStringUtf8()));
        Assert.Equal(keys + 1, responses.Sum(r => r.Events.Count));
        Assert.Equal("f/zz", responses[^1].Events[^1].Key());

        // Live, too: a watch from now receives the same big transaction as one response.
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 0); // the first watch is gone on the server
        var live = new TaskCompletionSource<WatchResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var liveWatch = Task.Run(async () =>
        {
            await foreach (var r in client.Watch.WatchResponsesAsync(KeySet.Prefix("f/"), new WatchOptions { PrevKv = true }, cts.Token))
            {
                if (r.IsProgressNotify) continue;
                live.TrySetResult(r);
                break;
            }
        });
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 1);
        var txn2 = await client.Txn().Then(Enumerable.Range(0, keys).Select(i => TxnOp.Put($"f/{i:D2}", oldValue + i))).CommitAsync();
        var liveResponse = await live.Task.WaitAsync(s_timeout);
        Assert.Equal(keys, liveResponse.Events.Count);
        Assert.All(liveResponse.Events, e => Assert.Equal(txn2.Header.Revision, e.Revision));
        Assert.Equal(Enumerable.Range(0, keys).Select(i => newValue + i), liveResponse.Events.Select(e => e.PrevKv!.Value.ToStringUtf8()));
        await liveWatch.WaitAsync(s_timeout);
    }

    // ---------------------------------------------------------------- 2. shapes and cancellation on the server

    [Fact]
    public async Task The_three_shapes_see_the_same_changes_and_responses_keep_a_transaction_together()
    {
        var start = await Client.PutAsync(P + "a", "1");
        var txn = await Client.Txn().Then(TxnOp.Put(P + "b", "2"), TxnOp.Put(P + "c", "3"), TxnOp.Delete(P + "a")).CommitAsync();
        await Client.PutAsync(P + "z", "end");
        var options = new WatchOptions { StartRevision = start.Header.Revision };

        var events = await WatchKit.CollectAsync(ct => Client.Watch.WatchAsync(KeySet.Prefix(P), options, ct), e => e.Value() == "end");

        var responses = new List<WatchResponse>();
        using (var cts = new CancellationTokenSource(s_timeout))
        {
            await foreach (var r in Client.Watch.WatchResponsesAsync(KeySet.Prefix(P), options, cts.Token))
            {
                responses.Add(r);
                if (r.Events.Any(e => e.Value() == "end")) break;
            }
        }

        var viaCallback = new List<WatchEvent>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var subscription = Client.Watch.Watch(KeySet.Prefix(P), e =>
        {
            viaCallback.Add(e); // callbacks run one at a time
            if (e.Value() == "end") done.TrySetResult();
        }, options))
        {
            await done.Task.WaitAsync(s_timeout);
        }

        Assert.Equal(5, events.Count);
        var flattened = responses.SelectMany(r => r.Events).ToList();
        Assert.Equal(events, flattened);
        Assert.Equal(events, viaCallback);
        // The transaction's three events are in one response, in the transaction's order. (A watch catching up from a
        // past revision may get several revisions per response; no revision is ever split across responses.)
        var txnResponse = Assert.Single(responses, r => r.Events.Any(e => e.Revision == txn.Header.Revision));
        Assert.Equal([P + "b", P + "c", P + "a"], txnResponse.Events.Where(e => e.Revision == txn.Header.Revision).Select(e => e.Key()));
        Assert.True(txnResponse.Header.Revision >= txn.Header.Revision);
        Assert.All(responses, r => Assert.Equal(r.Events[^1].Revision, r.SeenRevision));
        foreach (var revision in flattened.Select(e => e.Revision).Distinct())
            Assert.Single(responses, r => r.Events.Any(e => e.Revision == revision));
        Assert.Equal(0, Client.Watch.ActiveCount);
    }
}

/// <summary>
/// Leaving or cancelling a watch cancels it on the server: checked with <see cref="WatchClient.ActiveCount"/> and with
/// etcd's own watcher gauge, on a server of the test's own so the gauge is exact.
/// </summary>
public sealed class WatchCancellationTests
{
    private static readonly TimeSpan s_timeout = WatchKit.Timeout;

    [Fact]
    public async Task Breaking_out_of_await_foreach_cancels_the_watch_on_the_server()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var before = await WatchKit.WatchersAsync(server.ClientUrl);
        var put = await client.PutAsync("k", "v");

        using var cts = new CancellationTokenSource(s_timeout);
        await foreach (var e in client.Watch.WatchAsync("k", new WatchOptions { StartRevision = put.Header.Revision }, cts.Token))
        {
            Assert.Equal(1, client.Watch.ActiveCount);
            Assert.Equal(before + 1, await WatchKit.WatchersAsync(server.ClientUrl));
            break;
        }

        Assert.Equal(0, client.Watch.ActiveCount); // removed synchronously by the enumerator's disposal
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before);
        Assert.Equal(1, await WatchKit.WatchStreamsAsync(server.ClientUrl)); // the stream stays for later watches
    }

    [Fact]
    public async Task Cancelling_the_token_of_a_response_enumeration_cancels_the_watch_on_the_server()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var before = await WatchKit.WatchersAsync(server.ClientUrl);
        var put = await client.PutAsync("k", "v");

        using var cts = new CancellationTokenSource();
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var enumeration = Task.Run(async () =>
        {
            await foreach (var r in client.Watch.WatchResponsesAsync("k", new WatchOptions { StartRevision = put.Header.Revision }, cts.Token))
                firstSeen.TrySetResult();
        });
        await firstSeen.Task.WaitAsync(s_timeout);
        Assert.Equal(before + 1, await WatchKit.WatchersAsync(server.ClientUrl));

        await cts.CancelAsync(); // the enumeration is now waiting for the next response
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => enumeration).WaitAsync(s_timeout);

        Assert.Equal(0, client.Watch.ActiveCount);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before);
    }

    [Fact]
    public async Task Cancelling_the_token_of_an_event_enumeration_cancels_the_watch_on_the_server()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var before = await WatchKit.WatchersAsync(server.ClientUrl);

        using var cts = new CancellationTokenSource();
        var enumeration = Task.Run(async () =>
        {
            await foreach (var _ in client.Watch.WatchAsync(KeySet.Prefix("p/"), cancellationToken: cts.Token)) { }
        });
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before + 1);
        Assert.Equal(1, client.Watch.ActiveCount);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => enumeration).WaitAsync(s_timeout);
        Assert.Equal(0, client.Watch.ActiveCount);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before);
    }

    [Fact]
    public async Task Disposing_or_cancelling_a_subscription_cancels_the_watch_on_the_server_and_completes_it()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var before = await WatchKit.WatchersAsync(server.ClientUrl);

        var disposed = client.Watch.Watch("a", _ => { });
        var cancelled = client.Watch.Watch("b", _ => { });
        await Task.WhenAll(disposed.Started, cancelled.Started).WaitAsync(s_timeout);
        Assert.Equal(before + 2, await WatchKit.WatchersAsync(server.ClientUrl));
        Assert.Equal(2, client.Watch.ActiveCount);

        await disposed.DisposeAsync();
        Assert.True(disposed.Completion.IsCompletedSuccessfully);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before + 1);

        cancelled.Cancel();
        await cancelled.Completion.WaitAsync(s_timeout); // a normal end, not a fault
        await WatchKit.EventuallyAsync(() => client.Watch.ActiveCount == 0, () => $"ActiveCount is {client.Watch.ActiveCount}");
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, before);
        await cancelled.DisposeAsync();

        // The stream is still good for new watches.
        var put = await client.PutAsync("c", "1");
        var seen = await WatchKit.CollectAsync(ct => client.Watch.WatchAsync("c", new WatchOptions { StartRevision = put.Header.Revision }, ct), _ => true);
        Assert.Single(seen);
    }

    [Fact]
    public async Task A_paused_watch_whose_resume_revision_is_compacted_delivers_its_buffer_then_ends_with_the_compact_revision()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        using var cts = new CancellationTokenSource(s_timeout);
        await using var e = client.Watch.WatchAsync("k", new WatchOptions { BufferSize = 2 }, cts.Token).GetAsyncEnumerator();
        var first = e.MoveNextAsync().AsTask(); // creates the watch; the consumer then stops reading
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 1);
        // From now, each put is one response: one goes to the waiting read, two fill the buffer, the fourth overflows it.
        var revisions = new List<long>();
        for (int i = 1; i <= 4; i++) revisions.Add((await client.PutAsync("k", i.ToString(CultureInfo.InvariantCulture))).Header.Revision);
        Assert.True(await first.WaitAsync(s_timeout));
        // Paused: the server-side watcher is cancelled (etcd's gauge shows it), nothing is lost yet.
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 0);
        long compactAt = 0;
        for (int i = 5; i <= 6; i++) compactAt = (await client.PutAsync("k", i.ToString(CultureInfo.InvariantCulture))).Header.Revision;
        await client.CompactAsync(compactAt, physical: true);

        var got = new List<string> { e.Current.Value() };
        var error = await Assert.ThrowsAsync<EtcdCompactedException>(async () =>
        {
            while (await e.MoveNextAsync()) got.Add(e.Current.Value());
        }).WaitAsync(s_timeout);
        Assert.Equal(["1", "2", "3"], got);                  // what was buffered before the pause
        Assert.Equal(revisions[3], error.RequestedRevision); // resume point: the first revision not buffered
        Assert.Equal(compactAt, error.CompactRevision);
    }

    [Fact]
    public async Task Many_slow_watches_with_tiny_buffers_pause_and_resume_under_load_without_loss_or_leak()
    {
        const int watchers = 20;
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        await using var writerClient = new EtcdClient(server.ClientUrl);
        var start = await client.PutAsync("s/start", "s");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        var seen = new List<long>[watchers];
        var consumers = Enumerable.Range(0, watchers).Select(w =>
        {
            seen[w] = [];
            return Task.Run(async () =>
            {
                int i = 0;
                await foreach (var e in client.Watch.WatchAsync(KeySet.Prefix("s/k"), new WatchOptions { StartRevision = start.Header.Revision + 1, BufferSize = 2 }, cts.Token))
                {
                    seen[w].Add(e.Revision);
                    if (e.Key() == "s/kend") break;
                    // Bursty consumers, each with its own rhythm: buffers of 2 fill, pause, drain and resume all the time.
                    if (++i % (4 + w % 7) == 0) await Task.Delay(2, cts.Token);
                    else await Task.Yield();
                }
            });
        }).ToArray();
        // Every watch is synced before the writes: then each write is its own response.
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, watchers);

        // Paced writers (about a second of traffic), so watches resume into live traffic again and again.
        var revisions = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 750; i++)
            {
                revisions.Add((await writerClient.PutAsync($"s/k{w}/{i % 4}", i.ToString(CultureInfo.InvariantCulture), cancellationToken: cts.Token)).Header.Revision);
                await Task.Delay(1, cts.Token);
            }
        })));
        revisions.Add((await writerClient.PutAsync("s/kend", "end")).Header.Revision);
        var expected = revisions.Order().ToList();

        var all = Task.WhenAll(consumers);
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(15)));
        var stuck = Enumerable.Range(0, watchers).Where(w => !consumers[w].IsCompleted).Select(w => $"#{w} at {seen[w].Count}/{expected.Count}").ToList();
        Assert.True(stuck.Count == 0, $"watches stalled: {string.Join(", ", stuck)}; creates sent {WatchKit.CreatesSent(client)}");
        await all;
        for (int w = 0; w < watchers; w++)
            Assert.Equal(expected, seen[w]);

        long creates = WatchKit.CreatesSent(client);
        Assert.True(creates < 0 || creates > watchers * 5, $"only {creates} creates for {watchers} watches: the buffers hardly overflowed");
        Assert.Equal(0, client.Watch.ActiveCount);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 0); // no paused/resumed incarnation left behind on the server
        Assert.Equal(1, await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "Watch")); // one stream
        Console.WriteLine($"pause/resume stress: {expected.Count} events, {creates} creates for {watchers} watches");
    }

    // ---------------------------------------------------------------- 3. many watches on one stream

    [Fact]
    public async Task A_thousand_watches_share_one_stream_and_each_sees_exactly_its_own_key()
    {
        const int callbacks = 500;
        const int enumerables = 500;
        const int total = callbacks + enumerables;
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        Assert.Equal(0, await WatchKit.WatchersAsync(server.ClientUrl));

        var received = new ConcurrentBag<string>[total];
        for (int i = 0; i < total; i++) received[i] = [];
        using var allReceived = new CountdownEvent(total);
        void Record(int i, WatchEvent e)
        {
            received[i].Add(e.Key());
            if (received[i].Count == 1) allReceived.Signal();
        }

        var subscriptions = new List<WatchSubscription>();
        for (int i = 0; i < callbacks; i++)
        {
            int index = i;
            subscriptions.Add(client.Watch.Watch($"k/{i:D4}", e => Record(index, e)));
        }
        using var stopEnumerables = new CancellationTokenSource();
        var pumps = new List<Task>();
        for (int i = callbacks; i < total; i++)
        {
            int index = i;
            pumps.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in client.Watch.WatchAsync($"k/{index:D4}", cancellationToken: stopEnumerables.Token))
                        Record(index, e);
                }
                catch (OperationCanceledException) when (stopEnumerables.IsCancellationRequested)
                {
                }
            }));
        }
        await Task.WhenAll(subscriptions.Select(s => s.Started)).WaitAsync(s_timeout);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, total);
        Assert.Equal(total, client.Watch.ActiveCount);
        Assert.Equal(1, await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "Watch"));
        Assert.Equal(1, await WatchKit.WatchStreamsAsync(server.ClientUrl));

        await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, ct) => await client.PutAsync($"k/{i:D4}", "v", cancellationToken: ct));
        Assert.True(allReceived.Wait(s_timeout), $"{allReceived.CurrentCount} watches received nothing");
        // A key nobody watches, written last, reaches no watcher; then every watcher has exactly its own key.
        await client.PutAsync("k/none", "v");
        await client.Watch.RequestProgressAsync();
        for (int i = 0; i < total; i++)
            Assert.Equal([$"k/{i:D4}"], received[i].ToArray());

        foreach (var s in subscriptions) await s.DisposeAsync();
        await stopEnumerables.CancelAsync();
        await Task.WhenAll(pumps).WaitAsync(s_timeout);
        Assert.Equal(0, client.Watch.ActiveCount);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 0);
        Assert.Equal(1, await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "Watch"));
        for (int i = 0; i < total; i++)
            Assert.Single(received[i]);
    }

    [Fact]
    public async Task Watches_come_and_go_while_others_run_on_the_same_stream()
    {
        await using var server = await EtcdServer.StartAsync();
        await using var client = new EtcdClient(server.ClientUrl);
        var steady = new ConcurrentQueue<string>();
        await using var long1 = client.Watch.Watch(KeySet.Prefix("steady/"), e => steady.Enqueue(e.Value()));
        await long1.Started.WaitAsync(s_timeout);

        int written = 0;
        for (int round = 0; round < 20; round++)
        {
            var put = await client.PutAsync("churn", round.ToString(CultureInfo.InvariantCulture));
            // A short-lived watch from a revision, left after its first event.
            var seen = await WatchKit.CollectAsync(ct => client.Watch.WatchAsync("churn", new WatchOptions { StartRevision = put.Header.Revision }, ct), _ => true);
            Assert.Equal(round.ToString(CultureInfo.InvariantCulture), Assert.Single(seen).Value());
            await client.PutAsync("steady/k", (written++).ToString(CultureInfo.InvariantCulture));
        }
        await WatchKit.EventuallyAsync(() => steady.Count == written, () => $"steady watch saw {steady.Count} of {written}");
        Assert.Equal(Enumerable.Range(0, written).Select(i => i.ToString(CultureInfo.InvariantCulture)), steady);
        Assert.Equal(1, client.Watch.ActiveCount);
        await WatchKit.WatchersBecomeAsync(server.ClientUrl, 1);
        Assert.Equal(1, await EtcdMetrics.GrpcServerCounterAsync(server.ClientUrl, "started", "Watch"));
    }
}

/// <summary>Throughput, ordering, slow consumers, callbacks and disposal on a shared etcd.</summary>
public sealed class WatchDeliveryTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan s_timeout = WatchKit.Timeout;

    // ---------------------------------------------------------------- 4. 10,000 events from 16 writers

    [Fact]
    public async Task Ten_thousand_events_from_sixteen_writers_are_seen_exactly_once_in_revision_order()
    {
        const int writers = 16;
        const int perWriter = 625;
        const int total = writers * perWriter;
        var start = await Client.PutAsync(P + "start", "s");

        var seen = new List<WatchEvent>(total);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        var watch = Task.Run(async () =>
        {
            await foreach (var e in Client.Watch.WatchAsync(KeySet.Prefix(P + "w/"), new WatchOptions { StartRevision = start.Header.Revision + 1 }, cts.Token))
            {
                seen.Add(e);
                if (seen.Count == total) break;
            }
        });

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int seq = 0; seq < perWriter; seq++)
                await Client.PutAsync($"{P}w/{w:D2}/{seq % 8}", $"{w}:{seq}", cancellationToken: cts.Token);
        })));
        var writeTime = clock.Elapsed;
        await watch.WaitAsync(TimeSpan.FromSeconds(25));

        Assert.Equal(total, seen.Count);
        for (int i = 1; i < seen.Count; i++)
            Assert.True(seen[i - 1].Revision < seen[i].Revision, $"revision {seen[i].Revision} after {seen[i - 1].Revision} at {i}");
        var pairs = seen.Select(e => e.Value().Split(':')).Select(p => (Writer: int.Parse(p[0], CultureInfo.InvariantCulture), Seq: int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(total, pairs.Distinct().Count());
        foreach (var group in pairs.GroupBy(p => p.Writer))
            Assert.Equal(Enumerable.Range(0, perWriter), group.Select(p => p.Seq)); // each writer's order kept
        Assert.Equal(writers, pairs.Select(p => p.Writer).Distinct().Count());
        Assert.All(seen, e => Assert.Equal(e.Key(), $"{P}w/{e.Value().Split(':')[0].PadLeft(2, '0')}/{int.Parse(e.Value().Split(':')[1], CultureInfo.InvariantCulture) % 8}"));
        Assert.True(writeTime < TimeSpan.FromSeconds(25));
    }

    // ---------------------------------------------------------------- 8. a slow consumer beside a fast one

    [Fact]
    public async Task A_slow_consumer_gets_everything_in_order_without_stalling_a_fast_one()
    {
        const int n = 100;
        var perEvent = TimeSpan.FromMilliseconds(50); // the slow consumer needs >= 5 s in all
        var fast = new ConcurrentQueue<WatchEvent>();
        var slow = new ConcurrentQueue<WatchEvent>();
        var fastDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await using var slowWatch = Client.Watch.Watch(KeySet.Prefix(P), async (e, ct) =>
        {
            await Task.Delay(perEvent, ct);
            slow.Enqueue(e);
            if (slow.Count == n) slowDone.TrySetResult();
        }, new WatchOptions { BufferSize = 4 });
        await using var fastWatch = Client.Watch.Watch(KeySet.Prefix(P), e =>
        {
            fast.Enqueue(e);
            if (fast.Count == n) fastDone.TrySetResult();
        });
        await Task.WhenAll(slowWatch.Started, fastWatch.Started).WaitAsync(s_timeout);

        // Each put is its own revision and, for a watch from now, its own response: 100 responses into a buffer of 4.
        var clock = Stopwatch.StartNew();
        var revisions = new List<long>();
        for (int i = 0; i < n; i++) revisions.Add((await Client.PutAsync(P + "k" + (i % 5), i.ToString(CultureInfo.InvariantCulture))).Header.Revision);
        await fastDone.Task.WaitAsync(s_timeout);
        var fastTime = clock.Elapsed;
        int slowAtFastEnd = slow.Count;

        var slowTotal = perEvent * n;
        Assert.True(fastTime < slowTotal / 2, $"the fast watch took {fastTime.TotalMilliseconds:0} ms for {n} events; the slow one needs >= {slowTotal.TotalMilliseconds:0} ms");
        Assert.True(slowAtFastEnd < n, "the slow consumer was not slow");

        await slowDone.Task.WaitAsync(TimeSpan.FromSeconds(25));
        Assert.Equal(revisions, fast.Select(e => e.Revision));
        Assert.Equal(revisions, slow.Select(e => e.Revision));  // exactly once, in order, despite pauses
        Assert.Equal(Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)), slow.Select(e => e.Value()));
        await WatchKit.EventuallyAsync(() => slowWatch.SeenRevision >= revisions[^1], () => $"SeenRevision {slowWatch.SeenRevision}");
        Assert.False(slowWatch.Completion.IsCompleted);
        Assert.False(fastWatch.Completion.IsCompleted);
        long creates = WatchKit.CreatesSent(Client);
        Assert.True(creates < 0 || creates > 2, $"{creates} creates: the slow watch was never paused and resumed");
    }

    [Fact]
    public async Task A_slow_enumerable_with_a_tiny_buffer_gets_every_revision_once_and_bounded_buffering()
    {
        const int n = 60;
        var start = await Client.PutAsync(P + "start", "s");
        var seen = new List<WatchEvent>();
        int maxBuffered = 0;
        var watcherBuffer = new TaskCompletionSource<Func<int>>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        var consumer = Task.Run(async () =>
        {
            await foreach (var e in Client.Watch.WatchAsync(KeySet.Prefix(P + "k"), new WatchOptions { StartRevision = start.Header.Revision + 1, BufferSize = 2 }, cts.Token))
            {
                seen.Add(e);
                await Task.Delay(15, cts.Token);
                if (seen.Count == n) break;
            }
        });
        // Writes one at a time, so each is its own response; the consumer is 15 ms per event behind.
        for (int i = 0; i < n; i++)
        {
            await Client.PutAsync(P + "k", i.ToString(CultureInfo.InvariantCulture));
            var buffered = BufferedResponses(Client);
            if (buffered > maxBuffered) maxBuffered = buffered;
        }
        await consumer.WaitAsync(TimeSpan.FromSeconds(25));
        Assert.Equal(Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture)), seen.Select(e => e.Value()));
        Assert.True(maxBuffered <= 2, $"{maxBuffered} responses were buffered with BufferSize 2");
    }

    /// <summary>The largest number of responses any of the client's watches holds right now (internals).</summary>
    private static int BufferedResponses(EtcdClient client)
    {
        var field = typeof(Etcd.Operations.WatchManager).GetField("_watchers", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        if (field?.GetValue(client.Watch.Manager) is not ConcurrentDictionary<Etcd.Operations.Watcher, byte> watchers) return 0;
        return watchers.Keys.Select(w => w.BufferedCount).DefaultIfEmpty(0).Max();
    }

    // ---------------------------------------------------------------- 9. cancellation from inside a callback

    [Fact]
    public async Task A_callback_can_dispose_its_own_subscription_and_start_another_watch()
    {
        var firstSub = new TaskCompletionSource<WatchSubscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondSub = new TaskCompletionSource<WatchSubscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstEvents = new ConcurrentQueue<WatchEvent>();
        var secondEvents = new BlockingCollection<WatchEvent>();

        var first = Client.Watch.Watch(P + "one", async (e, ct) =>
        {
            firstEvents.Enqueue(e);
            var self = await firstSub.Task;
            // Start a new watch from here, then stop this one: neither may deadlock.
            var next = Client.Watch.Watch(P + "two", x => secondEvents.Add(x));
            secondSub.TrySetResult(next);
            await self.DisposeAsync();
        });
        firstSub.SetResult(first);
        await first.Started.WaitAsync(s_timeout);

        await Client.PutAsync(P + "one", "1");
        await first.Completion.WaitAsync(s_timeout); // stopped by its own callback: a normal end
        Assert.True(first.Completion.IsCompletedSuccessfully);

        await using var second = await secondSub.Task.WaitAsync(s_timeout);
        await second.Started.WaitAsync(s_timeout);
        await Client.PutAsync(P + "one", "2"); // after the first ended: not delivered
        var put = await Client.PutAsync(P + "two", "x");
        Assert.True(secondEvents.TryTake(out var got, s_timeout), "the watch started from the callback saw nothing");
        Assert.Equal(put.Header.Revision, got.Revision);
        Assert.Equal("1", Assert.Single(firstEvents).Value());
        Assert.Equal(1, Client.Watch.ActiveCount);
    }

    [Fact]
    public async Task A_callback_can_cancel_itself_synchronously_and_no_further_event_reaches_it()
    {
        var events = new ConcurrentQueue<WatchEvent>();
        var subscription = new TaskCompletionSource<WatchSubscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = await Client.PutAsync(P + "k", "0");
        for (int i = 1; i < 10; i++) await Client.PutAsync(P + "k", i.ToString(CultureInfo.InvariantCulture));

        // From a past revision: all ten events are there at once, in one or few responses.
        var sub = Client.Watch.Watch(P + "k", e =>
        {
            events.Enqueue(e);
            if (e.Value() == "2") subscription.Task.Result.Cancel();
        }, new WatchOptions { StartRevision = start.Header.Revision });
        subscription.SetResult(sub);
        await sub.Completion.WaitAsync(s_timeout);
        Assert.Equal(["0", "1", "2"], events.Select(e => e.Value()));
        await WatchKit.EventuallyAsync(() => Client.Watch.ActiveCount == 0, () => "the watch was not removed");
    }

    [Fact]
    public async Task A_callback_can_dispose_another_subscription_and_create_watches_without_deadlock()
    {
        var otherEvents = new ConcurrentQueue<WatchEvent>();
        await using var other = Client.Watch.Watch(P + "other", e => otherEvents.Enqueue(e));
        var created = new ConcurrentQueue<WatchSubscription>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var controller = Client.Watch.Watch(P + "ctl", async (e, ct) =>
        {
            if (e.Value() == "stop-other") await other.DisposeAsync(); // waits for the other's callback: must not deadlock
            if (e.Value() == "spawn") for (int i = 0; i < 10; i++) created.Enqueue(Client.Watch.Watch(P + "spawned", _ => { }));
            if (e.Value() == "done") done.TrySetResult();
        });
        await Task.WhenAll(other.Started, controller.Started).WaitAsync(s_timeout);

        await Client.PutAsync(P + "ctl", "spawn");
        await Client.PutAsync(P + "ctl", "stop-other");
        await Client.PutAsync(P + "ctl", "done");
        await done.Task.WaitAsync(s_timeout);
        await other.Completion.WaitAsync(s_timeout);
        Assert.Equal(10, created.Count);
        await Task.WhenAll(created.Select(s => s.Started)).WaitAsync(s_timeout);
        Assert.Equal(11, Client.Watch.ActiveCount); // controller + 10 spawned
        foreach (var s in created) await s.DisposeAsync();
        Assert.Empty(otherEvents);
    }

    [Fact]
    public async Task A_callback_that_throws_faults_only_its_own_subscription()
    {
        var healthy = new BlockingCollection<WatchEvent>();
        await using var good = Client.Watch.Watch(P + "good", e => healthy.Add(e));
        await using var bad = Client.Watch.Watch(P + "bad", e => throw new InvalidOperationException("boom"));
        await Task.WhenAll(good.Started, bad.Started).WaitAsync(s_timeout);

        await Client.PutAsync(P + "bad", "x");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bad.Completion).WaitAsync(s_timeout);
        Assert.Equal("boom", error.Message);
        var put = await Client.PutAsync(P + "good", "y");
        Assert.True(healthy.TryTake(out var e, s_timeout));
        Assert.Equal(put.Header.Revision, e.Revision);
        await WatchKit.EventuallyAsync(() => Client.Watch.ActiveCount == 1, () => $"ActiveCount {Client.Watch.ActiveCount}");
    }

    [Fact]
    public async Task DisposeAsync_from_a_task_the_callback_started_waits_for_the_callback_in_progress()
    {
        // "Stops the watch and waits for the callback in progress to return (from inside the callback: does not wait)."
        // A task started by an earlier callback is not inside the callback once that callback has returned.
        var self = new TaskCompletionSource<WatchSubscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var disposeReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool secondReturned = false;
        Task? spawned = null;
        var subscription = Client.Watch.Watch(P + "k", async (e, ct) =>
        {
            var me = await self.Task;
            if (e.Value() == "1")
            {
                spawned = Task.Run(async () =>
                {
                    await inSecond.Task;
                    await me.DisposeAsync();
                    disposeReturned.TrySetResult();
                });
            }
            else
            {
                inSecond.TrySetResult();
                await release.Task; // the callback in progress when DisposeAsync is called
                Volatile.Write(ref secondReturned, true);
            }
        });
        self.SetResult(subscription);
        await subscription.Started.WaitAsync(s_timeout);
        await Client.PutAsync(P + "k", "1");
        await Client.PutAsync(P + "k", "2");
        await inSecond.Task.WaitAsync(s_timeout);

        // Give DisposeAsync every chance to (wrongly) return while the second callback is still blocked.
        var early = await Task.WhenAny(disposeReturned.Task, Task.Delay(500)) == disposeReturned.Task;
        release.TrySetResult();
        await disposeReturned.Task.WaitAsync(s_timeout);
        await spawned!.WaitAsync(s_timeout);
        Assert.False(early, "DisposeAsync returned while the callback was still running (the task inherited the callback's 'inside' marker)");
        Assert.True(Volatile.Read(ref secondReturned));
    }

    // ---------------------------------------------------------------- 10. client disposal

    [Fact]
    public async Task Disposing_the_client_ends_every_watch_promptly_with_ObjectDisposedException()
    {
        var client = new EtcdClient(Etcd.ClientUrl);
        var put = await client.PutAsync(P + "k", "v");

        var idleEvents = Task.Run(async () =>
        {
            await foreach (var _ in client.Watch.WatchAsync(P + "idle")) { }
        });
        var responsesReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var responses = Task.Run(async () =>
        {
            await foreach (var _ in client.Watch.WatchResponsesAsync(P + "k", new WatchOptions { StartRevision = put.Header.Revision }))
                responsesReady.TrySetResult();
        });
        var subscription = client.Watch.Watch(KeySet.Prefix(P), _ => { });
        var pending = client.Watch.Watch(P + "pending", _ => { });
        await Task.WhenAll(subscription.Started, pending.Started, responsesReady.Task).WaitAsync(s_timeout);
        await WatchKit.EventuallyAsync(() => client.Watch.ActiveCount == 4, () => $"ActiveCount {client.Watch.ActiveCount}");

        var clock = Stopwatch.StartNew();
        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var limit = TimeSpan.FromSeconds(5);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => idleEvents).WaitAsync(limit);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => responses).WaitAsync(limit);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscription.Completion).WaitAsync(limit);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.Completion).WaitAsync(limit);
        Assert.True(clock.Elapsed < limit, $"took {clock.Elapsed}");
        await subscription.DisposeAsync(); // does not rethrow
        Assert.Equal(0, client.Watch.ActiveCount);

        // And afterwards nothing new starts.
        Assert.Throws<ObjectDisposedException>(() => client.Watch.WatchAsync(P + "k"));
        Assert.Throws<ObjectDisposedException>(() => client.Watch.WatchResponsesAsync(P + "k"));
        Assert.Throws<ObjectDisposedException>(() => client.Watch.Watch(P + "k", _ => { }));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.Watch.RequestProgressAsync());
    }

    [Fact]
    public async Task Disposing_the_client_synchronously_also_ends_watches()
    {
        var client = new EtcdClient(Etcd.ClientUrl);
        var subscription = client.Watch.Watch(P + "k", _ => { });
        await subscription.Started.WaitAsync(s_timeout);
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscription.Completion).WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_watch_started_but_never_created_ends_with_ObjectDisposedException_and_Started_faults()
    {
        // A subscription whose create has not been answered yet when the client goes away.
        var client = new EtcdClient(Etcd.ClientUrl);
        var subscription = client.Watch.Watch(P + "k", _ => { });
        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAnyAsync<Exception>(() => subscription.Completion).WaitAsync(TimeSpan.FromSeconds(5));
        var ended = await Record.ExceptionAsync(() => subscription.Completion);
        Assert.IsType<ObjectDisposedException>(ended);
        // Started either completed (created in time) or faults with the same reason; it never hangs.
        var started = await Record.ExceptionAsync(() => subscription.Started.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(started is null or ObjectDisposedException, $"Started ended with {started}");
    }

    // ---------------------------------------------------------------- 11. bad input

    [Fact]
    public async Task Bad_arguments_throw_synchronously()
    {
        var watch = Client.Watch;
        Action<WatchEvent> ignore = _ => { };

        Assert.ThrowsAny<ArgumentException>(() => watch.WatchAsync(""));
        Assert.ThrowsAny<ArgumentException>(() => watch.WatchAsync(default(KeySet)));
        Assert.Throws<ArgumentNullException>(() => watch.WatchAsync((string?)null));
        Assert.ThrowsAny<ArgumentException>(() => watch.WatchResponsesAsync(""));
        Assert.ThrowsAny<ArgumentException>(() => watch.WatchResponsesAsync(default(KeySet)));
        Assert.ThrowsAny<ArgumentException>(() => watch.Watch("", ignore));
        Assert.ThrowsAny<ArgumentException>(() => watch.Watch(default(KeySet), ignore));

        Assert.Throws<ArgumentOutOfRangeException>(() => watch.WatchAsync("k", new WatchOptions { BufferSize = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => watch.WatchAsync("k", new WatchOptions { BufferSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => watch.WatchResponsesAsync("k", new WatchOptions { BufferSize = -5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => watch.Watch("k", ignore, new WatchOptions { BufferSize = 1 }));
        Assert.ThrowsAny<ArgumentException>(() => watch.WatchAsync("k", new WatchOptions { NoPut = true, NoDelete = true }));
        Assert.ThrowsAny<ArgumentException>(() => watch.Watch("k", ignore, new WatchOptions { NoPut = true, NoDelete = true }));
        Assert.Throws<ArgumentOutOfRangeException>(() => watch.WatchAsync("k", new WatchOptions { StartRevision = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => watch.Watch("k", ignore, new WatchOptions { StartRevision = long.MinValue }));

        Assert.Throws<ArgumentNullException>(() => watch.Watch("k", (Action<WatchEvent>)null!));
        Assert.Throws<ArgumentNullException>(() => watch.Watch("k", (Func<WatchEvent, CancellationToken, ValueTask>)null!));

        // Nothing was started by any of these.
        Assert.Equal(0, watch.ActiveCount);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_watch_from_a_future_revision_waits_for_it()
    {
        var now = await Client.PutAsync(P + "k", "0");
        var events = new BlockingCollection<WatchEvent>();
        await using var sub = Client.Watch.Watch(P + "k", e => events.Add(e), new WatchOptions { StartRevision = now.Header.Revision + 3 });
        await sub.Started.WaitAsync(s_timeout);
        await Client.PutAsync(P + "k", "1");
        await Client.PutAsync(P + "k", "2");
        var third = await Client.PutAsync(P + "k", "3");
        // Another test class never writes on this server; this class's tests run one at a time.
        Assert.True(events.TryTake(out var e, s_timeout));
        Assert.True(e.Revision >= now.Header.Revision + 3);
        if (third.Header.Revision == now.Header.Revision + 3) Assert.Equal("3", e.Value());
    }
}
