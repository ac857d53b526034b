using System.Globalization;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Etcd.Tests.Integration;

public sealed class StmTests(EtcdFixture etcd, ITestOutputHelper output) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static long ParseLong(string? text) => text is null ? 0 : long.Parse(text, CultureInfo.InvariantCulture);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(StmIsolation.SerializableSnapshot)]
    [InlineData(StmIsolation.Serializable)]
    [InlineData(StmIsolation.RepeatableReads)]
    public async Task Concurrent_transfers_keep_the_total_and_every_balance_exact(StmIsolation isolation)
    {
        const int accounts = 5, workers = 8, transfersPerWorker = 60;
        const long initial = 1000;
        for (var a = 0; a < accounts; a++) await Client.PutAsync($"{P}acct/{a}", Text(initial));
        var options = new StmOptions { Isolation = isolation, MaxAttempts = 500, MaxBackoff = TimeSpan.FromMilliseconds(20) };
        var expected = new long[accounts];
        Array.Fill(expected, initial);
        var gate = new object();
        long retries = 0;

        async Task Worker(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < transfersPerWorker; i++)
            {
                // The intent is chosen outside the function so every attempt of one transfer does the same thing.
                var from = random.Next(accounts);
                var to = (from + 1 + random.Next(accounts - 1)) % accounts;
                var amount = random.Next(1, 300);
                var result = await Stm.RunAsync(Client, async (stm, ct) =>
                {
                    var fromBalance = ParseLong(await stm.GetStringAsync($"{P}acct/{from}", ct));
                    var toBalance = ParseLong(await stm.GetStringAsync($"{P}acct/{to}", ct));
                    if (fromBalance < amount) return 0L;
                    stm.Put($"{P}acct/{from}", Text(fromBalance - amount));
                    stm.Put($"{P}acct/{to}", Text(toBalance + amount));
                    return amount;
                }, options);
                lock (gate)
                {
                    expected[from] -= result.Value;
                    expected[to] += result.Value;
                    retries += result.Attempts - 1;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => Worker(1000 + w))));

        var balances = new long[accounts];
        for (var a = 0; a < accounts; a++) balances[a] = ParseLong(await Client.GetStringAsync($"{P}acct/{a}"));
        output.WriteLine($"{isolation}: {workers * transfersPerWorker} transfers, {retries} conflicting attempts retried; balances {string.Join(", ", balances)}");
        Assert.Equal(accounts * initial, balances.Sum());
        Assert.All(balances, b => Assert.True(b >= 0, $"negative balance {b}"));
        // Every committed transfer moved exactly what its function returned: no lost or doubled update anywhere.
        Assert.Equal(expected, balances);
    }

    [Fact]
    public async Task Reads_see_the_transactions_own_writes_and_the_commit_applies_them_at_one_revision()
    {
        await Client.PutAsync(P + "a", "old");
        await Client.PutAsync(P + "gone", "x");
        var storedRevision = (await Client.GetAsync(P + "a")).First!.ModRevision;
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            var seen = new List<string?> { await stm.GetStringAsync(P + "a", ct) };
            stm.Put(P + "a", "new");
            seen.Add(await stm.GetStringAsync(P + "a", ct));
            stm.Delete(P + "gone");
            seen.Add(await stm.GetStringAsync(P + "gone", ct));
            stm.Put(P + "b", "created");
            seen.Add(await stm.GetStringAsync(P + "b", ct));
            // Buffered writes have no revision yet: the revision is the stored one.
            seen.Add(Text(await stm.GetRevisionAsync(P + "a", ct)));
            seen.Add(Text(await stm.GetRevisionAsync(P + "missing", ct)));
            return seen;
        });

        Assert.Equal(["old", "new", null, "created", Text(storedRevision), "0"], result.Value);
        Assert.Equal(1, result.Attempts);
        Assert.Equal("new", await Client.GetStringAsync(P + "a"));
        Assert.Equal("created", await Client.GetStringAsync(P + "b"));
        Assert.Null(await Client.GetStringAsync(P + "gone"));
        Assert.Equal(result.Revision, (await Client.GetAsync(P + "a")).First!.ModRevision);
        Assert.Equal(result.Revision, (await Client.GetAsync(P + "b")).First!.ModRevision);
    }

    [Fact]
    public async Task A_put_with_a_lease_attaches_the_key_to_it()
    {
        var lease = await Client.Leases.GrantAsync(TimeSpan.FromSeconds(60));
        try
        {
            await Stm.RunAsync(Client, (stm, _) =>
            {
                stm.Put(P + "leased", "v", lease.Id);
                return ValueTask.CompletedTask;
            });
            Assert.Equal(lease.Id, (await Client.GetAsync(P + "leased")).First!.Lease);
        }
        finally
        {
            await Client.Leases.RevokeAsync(lease.Id);
        }
    }

    [Fact]
    public async Task A_user_exception_propagates_unchanged_and_commits_nothing()
    {
        await Client.PutAsync(P + "a", "1");
        var calls = 0;
        var thrown = new InvalidOperationException("business rule");
        var caught = await Assert.ThrowsAsync<InvalidOperationException>(() => Stm.RunAsync(Client, async (stm, ct) =>
        {
            calls++;
            await stm.GetStringAsync(P + "a", ct);
            stm.Put(P + "a", "2");
            stm.Put(P + "b", "2");
            throw thrown;
        }));

        Assert.Same(thrown, caught);
        Assert.Equal(1, calls);
        Assert.Equal("1", await Client.GetStringAsync(P + "a"));
        Assert.Null(await Client.GetStringAsync(P + "b"));
    }

    [Theory]
    [InlineData(StmIsolation.SerializableSnapshot)]
    [InlineData(StmIsolation.Serializable)]
    [InlineData(StmIsolation.RepeatableReads)]
    public async Task A_read_key_changed_on_every_attempt_exhausts_max_attempts(StmIsolation isolation)
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        await Client.PutAsync(P + "hot", "0");
        var calls = 0;
        var conflict = await Assert.ThrowsAsync<EtcdStmConflictException>(() => Stm.RunAsync(Client, async (stm, ct) =>
        {
            calls++;
            var value = await stm.GetStringAsync(P + "hot", ct);
            await other.PutAsync(P + "hot", Text(calls), cancellationToken: ct);
            stm.Put(P + "result", value!);
        }, new StmOptions { Isolation = isolation, MaxAttempts = 3, MaxBackoff = TimeSpan.Zero }));

        Assert.Equal(3, calls);
        Assert.Equal(3, conflict.Attempts);
        Assert.Equal(isolation, conflict.Isolation);
        Assert.Contains("3 attempt", conflict.Message);
        Assert.Null(await Client.GetStringAsync(P + "result"));
    }

    [Fact]
    public async Task Read_committed_never_conflicts()
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        await Client.PutAsync(P + "hot", "0");
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            var value = await stm.GetStringAsync(P + "hot", ct);
            await other.PutAsync(P + "hot", "changed", cancellationToken: ct);
            stm.Put(P + "result", value!);
        }, new StmOptions { Isolation = StmIsolation.ReadCommitted, MaxAttempts = 1 });

        Assert.Equal(1, result.Attempts);
        Assert.Equal("0", await Client.GetStringAsync(P + "result"));
    }

    [Theory]
    [InlineData(StmIsolation.SerializableSnapshot, 2)]
    [InlineData(StmIsolation.Serializable, 1)]
    public async Task Only_serializable_snapshot_detects_a_conflict_on_a_key_only_written(StmIsolation isolation, int expectedAttempts)
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        await Client.PutAsync(P + "read", "r");
        await Client.PutAsync(P + "written", "before");
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            await stm.GetStringAsync(P + "read", ct);
            if (stm.Attempt == 1) await other.PutAsync(P + "written", "theirs", cancellationToken: ct);
            stm.Put(P + "written", "mine");
        }, new StmOptions { Isolation = isolation, MaxBackoff = TimeSpan.Zero });

        Assert.Equal(expectedAttempts, result.Attempts);
        Assert.Equal("mine", await Client.GetStringAsync(P + "written"));
        Assert.Equal(result.Revision, (await Client.GetAsync(P + "written")).First!.ModRevision);
    }

    [Theory]
    [InlineData(StmIsolation.SerializableSnapshot, "before", 2)]
    [InlineData(StmIsolation.Serializable, "before", 2)]
    [InlineData(StmIsolation.RepeatableReads, "after", 1)]
    public async Task Snapshot_levels_read_every_key_at_the_first_reads_revision(StmIsolation isolation, string firstAttemptSees, int expectedAttempts)
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        await Client.PutAsync(P + "a", "a");
        await Client.PutAsync(P + "b", "before");
        var seen = new List<string?>();
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            await stm.GetStringAsync(P + "a", ct);
            if (stm.Attempt == 1) await other.PutAsync(P + "b", "after", cancellationToken: ct);
            seen.Add(await stm.GetStringAsync(P + "b", ct));
            stm.Put(P + "copy", (await stm.GetStringAsync(P + "b", ct))!);
        }, new StmOptions { Isolation = isolation, MaxBackoff = TimeSpan.Zero });

        Assert.Equal(firstAttemptSees, seen[0]);
        Assert.Equal(expectedAttempts, result.Attempts);
        // Whatever the first attempt saw, what commits is the current value.
        Assert.Equal("after", seen[^1]);
        Assert.Equal("after", await Client.GetStringAsync(P + "copy"));
    }

    [Fact]
    public async Task Prefetched_keys_are_read_at_one_revision_before_the_function_runs()
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        await Client.PutAsync(P + "x", "1");
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            // Written after the prefetch: a prefetched read still sees the value of the snapshot.
            if (stm.Attempt == 1) await other.PutAsync(P + "x", "2", cancellationToken: ct);
            return (await stm.GetStringAsync(P + "x", ct), await stm.GetStringAsync(P + "absent", ct), stm.Attempt);
        }, new StmOptions { Prefetch = [P + "x", P + "absent", P + "x"], MaxBackoff = TimeSpan.Zero });

        // Attempt 1 saw "1" from the prefetch, its commit found x changed, attempt 2 saw "2" carried over from the Else branch.
        Assert.Equal(("2", (string?)null, 2), result.Value);
        Assert.Equal(2, result.Attempts);
    }

    [Fact]
    public async Task An_attempt_whose_snapshot_was_compacted_is_rerun()
    {
        await Client.PutAsync(P + "a", "a");
        await Client.PutAsync(P + "b", "b1");
        var firstAttemptReadB = false;
        var result = await Stm.RunAsync(Client, async (stm, ct) =>
        {
            await stm.GetStringAsync(P + "a", ct);
            if (stm.Attempt == 1)
            {
                var put = await Client.PutAsync(P + "b", "b2", cancellationToken: ct);
                await Client.CompactAsync(put.Header.Revision, cancellationToken: ct);
            }
            var b = await stm.GetStringAsync(P + "b", ct);
            if (stm.Attempt == 1) firstAttemptReadB = true;
            return b;
        });

        // The first attempt's read at its compacted snapshot revision ended the attempt (it did not return stale data).
        Assert.False(firstAttemptReadB);
        Assert.Equal(2, result.Attempts);
        Assert.Equal("b2", result.Value);
    }

    [Fact]
    public async Task Works_inside_a_namespace_including_conflict_retries()
    {
        await using var other = new EtcdClient(Etcd.ClientUrl);
        var ns = Client.WithNamespace(P + "ns/");
        await ns.PutAsync("n", "5");
        var result = await Stm.RunAsync(ns, async (stm, ct) =>
        {
            var n = ParseLong(await stm.GetStringAsync("n", ct));
            if (stm.Attempt == 1) await other.PutAsync(P + "ns/n", "10", cancellationToken: ct);
            stm.Put("n", Text(n + 1));
            stm.Put("m", "new");
            return n;
        }, new StmOptions { Prefetch = ["m"], MaxBackoff = TimeSpan.Zero });

        Assert.Equal(10, result.Value);
        Assert.Equal(2, result.Attempts);
        Assert.Equal("11", await Client.GetStringAsync(P + "ns/n"));
        Assert.Equal("new", await Client.GetStringAsync(P + "ns/m"));
        Assert.Null(await Client.GetStringAsync("n"));
    }

    [Fact]
    public async Task Cancellation_during_an_attempt_propagates_and_commits_nothing()
    {
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Stm.RunAsync(Client, async (stm, ct) =>
        {
            stm.Put(P + "k", "v");
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }, cancellationToken: cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        cts.Cancel();

        var canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(cts.Token, canceled.CancellationToken);
        Assert.Null(await Client.GetStringAsync(P + "k"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Stm.RunAsync(Client, (_, _) => ValueTask.CompletedTask, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task Bad_arguments_and_misuse_are_rejected_before_sending()
    {
        Assert.Throws<ArgumentNullException>(() => { _ = Stm.RunAsync(null!, (_, _) => ValueTask.CompletedTask); });
        Assert.Throws<ArgumentNullException>(() => { _ = Stm.RunAsync(Client, (Func<StmContext, CancellationToken, ValueTask>)null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = Stm.RunAsync<int>(Client, null!); });
        Assert.Throws<ArgumentOutOfRangeException>(() => new StmOptions { MaxAttempts = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new StmOptions { Isolation = (StmIsolation)42 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new StmOptions { MaxBackoff = TimeSpan.FromMilliseconds(-1) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new StmOptions { MaxBackoff = TimeSpan.FromHours(1) });
        Assert.Throws<ArgumentNullException>(() => new StmOptions { Prefetch = null! });
        Assert.Throws<ArgumentException>(() => new StmOptions { Prefetch = ["ok", ""] });

        StmContext? leaked = null;
        await Stm.RunAsync(Client, async (stm, ct) =>
        {
            leaked = stm;
            Assert.Throws<ArgumentException>(() => stm.Put("", "v"));
            Assert.Throws<ArgumentNullException>(() => stm.Put(P + "k", (string)null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => stm.Put(P + "k", "v", lease: -1));
            Assert.Throws<ArgumentException>(() => stm.Delete(""));
            await Assert.ThrowsAsync<ArgumentException>(async () => await stm.GetAsync("", ct));
        });
        // A context outlives its attempt only by mistake: using it then is an error, not a silent no-op.
        Assert.Throws<InvalidOperationException>(() => leaked!.Put(P + "k", "v"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await leaked!.GetAsync(P + "k"));
        Assert.Null(await Client.GetStringAsync(P + "k"));
    }
}
