using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class TxnTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>, IAsyncLifetime
{
    private EtcdClient client = null!;
    private readonly string p = etcd.UniquePrefix();

    public Task InitializeAsync()
    {
        client = new EtcdClient(etcd.ClientUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await client.DisposeAsync();

    [Fact]
    public async Task Succeeding_transaction_runs_then_branch_with_typed_responses()
    {
        await client.PutAsync(p + "k1", "val1");
        var result = await client.Txn()
            .If(Compare.Value(p + "k1").Equal("val1"))
            .Then(TxnOp.Put(p + "k1", "val2", new PutOptions { PrevKv = true }), TxnOp.Get(p + "k1"), TxnOp.Delete(p + "none"))
            .Else(TxnOp.Put(p + "k2", "failure"))
            .CommitAsync();

        Assert.True(result.Succeeded);
        Assert.Equal(3, result.Responses.Count);
        Assert.Equal("val1", result.Response<PutResponse>(0).PrevKv!.Value.ToStringUtf8());
        Assert.Equal("val2", result.Response<GetResponse>(1).Kvs[0].Value.ToStringUtf8());
        Assert.Equal(0, result.Response<DeleteResponse>(2).Deleted);
        Assert.Null(await client.GetValueAsync(p + "k2"));
    }

    [Fact]
    public async Task Failing_transaction_runs_else_branch_and_can_throw_with_responses()
    {
        await client.PutAsync(p + "k1", "other");
        var failed = await Assert.ThrowsAsync<EtcdTransactionFailedException>(() => client.Txn()
            .If(Compare.Value(p + "k1").Equal("val1"))
            .Then(TxnOp.Put(p + "k2", "success"))
            .Else(TxnOp.Put(p + "k2", "failure"), TxnOp.Get(p + "k1"))
            .CommitOrThrowAsync());

        Assert.False(failed.Response.Succeeded);
        Assert.Equal(2, failed.Responses.Count);
        Assert.Equal("other", ((GetResponse)failed.Responses[1]).Kvs[0].Value.ToStringUtf8());
        Assert.Equal("failure", (await client.GetValueAsync(p + "k2"))!.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Compare_factories_each_decide_correctly()
    {
        var put = await client.PutAsync(p + "k", "m");
        await client.PutAsync(p + "k", "m"); // version 2

        async Task<bool> Holds(Compare compare) =>
            (await client.TxnAsync(new Transaction().If(compare))).Succeeded;

        Assert.True(await Holds(Compare.Value(p + "k").Equal("m")));
        Assert.True(await Holds(Compare.Value(p + "k").NotEqual("x")));
        Assert.True(await Holds(Compare.Value(p + "k").Greater("a")));
        Assert.True(await Holds(Compare.Value(p + "k").Less("z")));
        Assert.False(await Holds(Compare.Value(p + "k").Less("a")));
        Assert.True(await Holds(Compare.Version(p + "k").Equal(2)));
        Assert.False(await Holds(Compare.Version(p + "k").Greater(2)));
        Assert.True(await Holds(Compare.CreateRevision(p + "k").Equal(put.Header.Revision)));
        Assert.True(await Holds(Compare.ModRevision(p + "k").Greater(put.Header.Revision)));
        Assert.True(await Holds(Compare.Lease(p + "k").Equal(0)));
        Assert.True(await Holds(Compare.KeyExists(p + "k")));
        Assert.True(await Holds(Compare.KeyMissing(p + "missing")));
        Assert.False(await Holds(Compare.KeyMissing(p + "k")));
    }

    [Fact]
    public async Task Compare_over_a_prefix_must_hold_for_every_key()
    {
        await client.PutAsync(p + "r/a", "1");
        await client.PutAsync(p + "r/b", "1");
        Assert.True((await client.TxnAsync(new Transaction().If(Compare.Value(KeySet.Prefix(p + "r/")).Equal("1")))).Succeeded);
        await client.PutAsync(p + "r/c", "2");
        Assert.False((await client.TxnAsync(new Transaction().If(Compare.Value(KeySet.Prefix(p + "r/")).Equal("1")))).Succeeded);
        Assert.True((await client.TxnAsync(new Transaction().If(Compare.Version(KeySet.Range(p + "r/a", p + "r/c")).Equal(1)))).Succeeded);
    }

    [Fact]
    public async Task Nested_transaction_runs_inside_the_branch()
    {
        await client.PutAsync(p + "outer", "yes");
        var inner = new Transaction()
            .If(Compare.KeyMissing(p + "inner"))
            .Then(TxnOp.Put(p + "inner", "created"))
            .Else(TxnOp.Get(p + "inner"));
        var result = await client.Txn()
            .If(Compare.Value(p + "outer").Equal("yes"))
            .Then(TxnOp.Txn(inner), TxnOp.Get(p + "inner"))
            .CommitAsync();

        Assert.True(result.Succeeded);
        var nested = result.Response<TxnResponse>(0);
        Assert.True(nested.Succeeded);
        Assert.IsType<PutResponse>(Assert.Single(nested.Responses));
        Assert.Equal("created", result.Response<GetResponse>(1).Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Put_if_absent_only_writes_once()
    {
        Transaction PutIfAbsent(string value) => client.Txn().If(Compare.KeyMissing(p + "once")).Then(TxnOp.Put(p + "once", value));
        Assert.True((await PutIfAbsent("first").CommitAsync()).Succeeded);
        Assert.False((await PutIfAbsent("second").CommitAsync()).Succeeded);
        Assert.Equal("first", (await client.GetValueAsync(p + "once"))!.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Empty_transaction_succeeds_and_duplicate_keys_are_a_server_error()
    {
        Assert.True((await client.TxnAsync(new Transaction())).Succeeded);
        var error = await Assert.ThrowsAsync<EtcdInvalidArgumentException>(() =>
            client.Txn().Then(TxnOp.Put(p + "d", "1"), TxnOp.Put(p + "d", "2")).CommitAsync());
        Assert.Contains("duplicate key", error.ServerMessage);
    }
}
