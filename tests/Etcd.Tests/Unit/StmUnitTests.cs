using Etcd.Concurrency;

namespace Etcd.Tests.Unit;

public class StmUnitTests
{
    private static KeyValue Kv(string key, string value, long modRevision) => new(key, value, modRevision, modRevision, 1, 0);

    // Reads served from a prefetch need no server, so the commit a context builds can be checked offline.
    private static async Task<Transaction> CommitOfAsync(StmIsolation isolation)
    {
        using var client = new EtcdClient("http://127.0.0.1:1");
        var prefetch = new StmPrefetch(50, new Dictionary<EtcdBytes, KeyValue?>
        {
            ["read"] = Kv("read", "r", 40),
            ["absent"] = null,
            ["both"] = Kv("both", "b", 30),
            ["unread"] = Kv("unread", "u", 20),
        });
        var stm = new StmContext(client, isolation, prefetch);
        Assert.Equal("r", await stm.GetStringAsync("read"));
        Assert.Null(await stm.GetAsync("absent"));
        Assert.Equal(30, await stm.GetRevisionAsync("both"));
        stm.Put("both", "b2");
        stm.Put("written", "w", lease: 7);
        stm.Delete("deleted");
        stm.Put("deleted", "replaced");
        stm.Delete("deleted");
        return stm.BuildCommit().Transaction;
    }

    [Fact]
    public async Task Serializable_snapshot_guards_reads_by_equality_and_written_only_keys_by_the_snapshot_revision()
    {
        var txn = await CommitOfAsync(StmIsolation.SerializableSnapshot);
        Assert.Equal(
            ["ModRevision(read) Equal 40", "ModRevision(absent) Equal 0", "ModRevision(both) Equal 30",
             "ModRevision(written) Less 51", "ModRevision(deleted) Less 51"],
            txn.Compares.Select(c => c.ToString()));
        Assert.Equal(["Put(both, b2)", "Put(written, w)", "Delete(deleted)"], txn.SuccessOps.Select(o => o.ToString()));
        Assert.Equal(7, ((TxnOp.PutOp)txn.SuccessOps[1]).Options.Lease);
        // The Else branch re-reads exactly the keys read, for the next attempt; a prefetched key never read is not guarded.
        Assert.Equal(["Get(read)", "Get(absent)", "Get(both)"], txn.FailureOps.Select(o => o.ToString()));
    }

    [Theory]
    [InlineData(StmIsolation.Serializable)]
    [InlineData(StmIsolation.RepeatableReads)]
    public async Task Serializable_and_repeatable_reads_guard_only_the_reads(StmIsolation isolation)
    {
        var txn = await CommitOfAsync(isolation);
        Assert.Equal(["ModRevision(read) Equal 40", "ModRevision(absent) Equal 0", "ModRevision(both) Equal 30"], txn.Compares.Select(c => c.ToString()));
        Assert.Equal(3, txn.SuccessOps.Count);
        Assert.Equal(3, txn.FailureOps.Count);
    }

    [Fact]
    public async Task Read_committed_commits_without_compares()
    {
        var txn = await CommitOfAsync(StmIsolation.ReadCommitted);
        Assert.Empty(txn.Compares);
        Assert.Equal(3, txn.SuccessOps.Count);
        Assert.Empty(txn.FailureOps);
    }

    [Fact]
    public void Blind_writes_under_serializable_snapshot_have_no_snapshot_to_guard_against()
    {
        using var client = new EtcdClient("http://127.0.0.1:1");
        var stm = new StmContext(client, StmIsolation.SerializableSnapshot, null);
        stm.Put("k", "v");
        var txn = stm.BuildCommit().Transaction;
        Assert.Empty(txn.Compares);
        Assert.Single(txn.SuccessOps);
    }

    [Fact]
    public void Stm_options_have_the_documented_defaults_and_copy_and_deduplicate_prefetch_keys()
    {
        var defaults = new StmOptions();
        Assert.Equal(StmIsolation.SerializableSnapshot, defaults.Isolation);
        Assert.Equal(16, defaults.MaxAttempts);
        Assert.Empty(defaults.Prefetch);
        Assert.Equal(TimeSpan.FromMilliseconds(100), defaults.MaxBackoff);

        var key = "a"u8.ToArray();
        var options = new StmOptions { Prefetch = [key, "b", "a"] };
        key[0] = (byte)'z';
        Assert.Equal(["a", "b"], options.Prefetch.Select(k => k.ToStringUtf8()));
        Assert.Equal(1, (options with { MaxAttempts = 1 }).MaxAttempts);
        Assert.Throws<ArgumentOutOfRangeException>(() => options with { MaxAttempts = -1 });
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-17", -17L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Counter_values_round_trip_as_decimal_ascii(string text, long value)
    {
        Assert.True(EtcdCounter.TryParse(System.Text.Encoding.ASCII.GetBytes(text), out var parsed));
        Assert.Equal(value, parsed);
        Assert.Equal(text, EtcdCounter.Format(value).ToStringUtf8());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.0")]
    [InlineData("0x10")]
    [InlineData("9223372036854775808")]
    [InlineData("１２")]
    public void Counter_rejects_anything_but_a_decimal_64_bit_integer(string text)
        => Assert.False(EtcdCounter.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out _));

    [Fact]
    public void Sequence_options_default_to_one_id_per_round_trip()
    {
        Assert.Equal(1, new SequenceOptions().BlockSize);
        Assert.Equal(SequenceOptions.MaxBlockSize, new SequenceOptions { BlockSize = SequenceOptions.MaxBlockSize }.BlockSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceOptions { BlockSize = -1 });
    }
}
