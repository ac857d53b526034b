using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class TxnTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Succeeding_transaction_runs_then_branch_with_typed_responses()
    {
        await Client.PutAsync(P + "k1", "val1");
        var result = await Client.Txn()
            .If(Compare.Value(P + "k1").Equal("val1"))
            .Then(TxnOp.Put(P + "k1", "val2", new PutOptions { PrevKv = true }), TxnOp.Get(P + "k1"), TxnOp.Delete(P + "none"))
            .Else(TxnOp.Put(P + "k2", "failure"))
            .CommitAsync();

        Assert.True(result.Succeeded);
        Assert.Equal(3, result.Responses.Count);
        Assert.Equal("val1", result.Response<PutResponse>(0).PrevKv!.Value.ToStringUtf8());
        Assert.Equal("val2", result.Response<GetResponse>(1).Kvs[0].Value.ToStringUtf8());
        Assert.Equal(0, result.Response<DeleteResponse>(2).Deleted);
        Assert.Null(await Client.GetValueAsync(P + "k2"));
    }

    [Fact]
    public async Task Failing_transaction_runs_else_branch_and_can_throw_with_responses()
    {
        await Client.PutAsync(P + "k1", "other");
        var failed = await Assert.ThrowsAsync<EtcdTransactionFailedException>(() => Client.Txn()
            .If(Compare.Value(P + "k1").Equal("val1"))
            .Then(TxnOp.Put(P + "k2", "success"))
            .Else(TxnOp.Put(P + "k2", "failure"), TxnOp.Get(P + "k1"))
            .CommitOrThrowAsync());

        Assert.False(failed.Response.Succeeded);
        Assert.Equal(2, failed.Responses.Count);
        Assert.Equal("other", ((GetResponse)failed.Responses[1]).Kvs[0].Value.ToStringUtf8());
        Assert.Equal("failure", (await Client.GetValueAsync(P + "k2"))!.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Compare_factories_each_decide_correctly()
    {
        var put = await Client.PutAsync(P + "k", "m");
        await Client.PutAsync(P + "k", "m"); // version 2

        async Task<bool> Holds(Compare compare) =>
            (await Client.TxnAsync(new Transaction().If(compare))).Succeeded;

        Assert.True(await Holds(Compare.Value(P + "k").Equal("m")));
        Assert.True(await Holds(Compare.Value(P + "k").NotEqual("x")));
        Assert.True(await Holds(Compare.Value(P + "k").Greater("a")));
        Assert.True(await Holds(Compare.Value(P + "k").Less("z")));
        Assert.False(await Holds(Compare.Value(P + "k").Less("a")));
        Assert.True(await Holds(Compare.Version(P + "k").Equal(2)));
        Assert.False(await Holds(Compare.Version(P + "k").Greater(2)));
        Assert.True(await Holds(Compare.CreateRevision(P + "k").Equal(put.Header.Revision)));
        Assert.True(await Holds(Compare.ModRevision(P + "k").Greater(put.Header.Revision)));
        Assert.True(await Holds(Compare.Lease(P + "k").Equal(0)));
        Assert.True(await Holds(Compare.KeyExists(P + "k")));
        Assert.True(await Holds(Compare.KeyMissing(P + "missing")));
        Assert.False(await Holds(Compare.KeyMissing(P + "k")));
    }

    [Fact]
    public async Task Compare_over_a_prefix_must_hold_for_every_key()
    {
        await Client.PutAsync(P + "r/a", "1");
        await Client.PutAsync(P + "r/b", "1");
        Assert.True((await Client.TxnAsync(new Transaction().If(Compare.Value(KeySet.Prefix(P + "r/")).Equal("1")))).Succeeded);
        await Client.PutAsync(P + "r/c", "2");
        Assert.False((await Client.TxnAsync(new Transaction().If(Compare.Value(KeySet.Prefix(P + "r/")).Equal("1")))).Succeeded);
        Assert.True((await Client.TxnAsync(new Transaction().If(Compare.Version(KeySet.Range(P + "r/a", P + "r/c")).Equal(1)))).Succeeded);
    }

    [Fact]
    public async Task Nested_transaction_runs_inside_the_branch()
    {
        await Client.PutAsync(P + "outer", "yes");
        var inner = new Transaction()
            .If(Compare.KeyMissing(P + "inner"))
            .Then(TxnOp.Put(P + "inner", "created"))
            .Else(TxnOp.Get(P + "inner"));
        var result = await Client.Txn()
            .If(Compare.Value(P + "outer").Equal("yes"))
            .Then(TxnOp.Txn(inner), TxnOp.Get(P + "inner"))
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
        Transaction PutIfAbsent(string value) => Client.Txn().If(Compare.KeyMissing(P + "once")).Then(TxnOp.Put(P + "once", value));
        Assert.True((await PutIfAbsent("first").CommitAsync()).Succeeded);
        Assert.False((await PutIfAbsent("second").CommitAsync()).Succeeded);
        Assert.Equal("first", (await Client.GetValueAsync(P + "once"))!.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Empty_transaction_succeeds_and_duplicate_keys_are_a_server_error()
    {
        Assert.True((await Client.TxnAsync(new Transaction())).Succeeded);
        var error = await Assert.ThrowsAsync<EtcdInvalidArgumentException>(() =>
            Client.Txn().Then(TxnOp.Put(P + "d", "1"), TxnOp.Put(P + "d", "2")).CommitAsync());
        Assert.Contains("duplicate key", error.ServerMessage);
    }
}
