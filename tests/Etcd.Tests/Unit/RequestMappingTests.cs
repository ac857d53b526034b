using Etcd.Operations;
using Pb = Etcd.Protocol;

namespace Etcd.Tests.Unit;

public class RequestMappingTests
{
    [Fact]
    public void Get_options_map_to_every_range_field()
    {
        var request = ProtoMapping.ToRangeRequest(KeySet.Prefix("p/"), new GetOptions
        {
            Limit = 5, SortOrder = SortOrder.Descending, SortTarget = SortTarget.ModRevision, KeysOnly = true,
            Serializable = true, Revision = 9, MinModRevision = 1, MaxModRevision = 2, MinCreateRevision = 3, MaxCreateRevision = 4,
        });
        Assert.Equal("p/", request.Key.ToStringUtf8());
        Assert.Equal("p0", request.RangeEnd.ToStringUtf8());
        Assert.Equal(5, request.Limit);
        Assert.Equal(Pb.RangeRequest.Types.SortOrder.Descend, request.SortOrder);
        Assert.Equal(Pb.RangeRequest.Types.SortTarget.Mod, request.SortTarget);
        Assert.True(request.KeysOnly);
        Assert.True(request.Serializable);
        Assert.Equal(9, request.Revision);
        Assert.Equal((1, 2, 3, 4), (request.MinModRevision, request.MaxModRevision, request.MinCreateRevision, request.MaxCreateRevision));
    }

    [Fact]
    public void Transaction_maps_compares_and_nested_operations()
    {
        var inner = new Transaction().If(Compare.Version("b").Greater(2)).Then(TxnOp.Delete(KeySet.Prefix("x"), prevKv: true));
        var txn = new Transaction()
            .If(Compare.Value("a").Equal("1"), Compare.CreateRevision("c").Equal(0), Compare.ModRevision(KeySet.Prefix("m")).Less(10), Compare.Lease("l").NotEqual(7))
            .Then(TxnOp.Put("a", "2", new PutOptions { Lease = 3, PrevKv = true }), TxnOp.Txn(inner))
            .Else(TxnOp.Get("a"));

        var request = ProtoMapping.ToTxnRequest(txn);

        Assert.Equal(4, request.Compare.Count);
        Assert.Equal(Pb.Compare.Types.CompareTarget.Value, request.Compare[0].Target);
        Assert.Equal("1", request.Compare[0].Value.ToStringUtf8());
        Assert.Equal(Pb.Compare.Types.CompareResult.Equal, request.Compare[0].Result);
        Assert.Equal(Pb.Compare.TargetUnionOneofCase.CreateRevision, request.Compare[1].TargetUnionCase);
        Assert.Equal("n", request.Compare[2].RangeEnd.ToStringUtf8());
        Assert.Equal(Pb.Compare.Types.CompareResult.Less, request.Compare[2].Result);
        Assert.Equal(10, request.Compare[2].ModRevision);
        Assert.Equal(Pb.Compare.Types.CompareResult.NotEqual, request.Compare[3].Result);
        Assert.Equal(7, request.Compare[3].Lease);

        Assert.Equal(3, request.Success[0].RequestPut.Lease);
        Assert.True(request.Success[0].RequestPut.PrevKv);
        var nested = request.Success[1].RequestTxn;
        Assert.Equal(2, nested.Compare[0].Version);
        Assert.True(nested.Success[0].RequestDeleteRange.PrevKv);
        Assert.Equal("y", nested.Success[0].RequestDeleteRange.RangeEnd.ToStringUtf8());
        Assert.Equal("a", request.Failure[0].RequestRange.Key.ToStringUtf8());
    }

    [Fact]
    public void Transaction_response_maps_each_operation_typed()
    {
        var header = new Pb.ResponseHeader { Revision = 12, ClusterId = 1, MemberId = 2, RaftTerm = 3 };
        var response = new Pb.TxnResponse { Header = header, Succeeded = false };
        response.Responses.Add(new Pb.ResponseOp { ResponseRange = new Pb.RangeResponse { Header = header, Count = 1 } });
        response.Responses.Add(new Pb.ResponseOp { ResponsePut = new Pb.PutResponse { Header = header } });
        response.Responses.Add(new Pb.ResponseOp { ResponseDeleteRange = new Pb.DeleteRangeResponse { Header = header, Deleted = 4 } });
        response.Responses.Add(new Pb.ResponseOp { ResponseTxn = new Pb.TxnResponse { Header = header, Succeeded = true } });

        var result = ProtoMapping.ToTxn(response);

        Assert.False(result.Succeeded);
        Assert.Equal(new ResponseHeader(1, 2, 12, 3), result.Header);
        Assert.Equal(1, result.Response<GetResponse>(0).Count);
        Assert.IsType<PutResponse>(result.Responses[1]);
        Assert.Equal(4, result.Response<DeleteResponse>(2).Deleted);
        Assert.True(result.Response<TxnResponse>(3).Succeeded);
        Assert.Throws<InvalidCastException>(() => result.Response<PutResponse>(0));
        var failed = Assert.Throws<EtcdTransactionFailedException>(() => result.EnsureSucceeded());
        Assert.Same(result, failed.Response);
        Assert.Equal(4, failed.Responses.Count);
    }

    [Fact]
    public void Transaction_containing_itself_is_rejected_not_a_stack_overflow()
    {
        var self = new Transaction();
        self.Then(TxnOp.Txn(self));
        Assert.Throws<ArgumentException>(() => ProtoMapping.ToTxnRequest(self));

        var a = new Transaction();
        var b = new Transaction().Else(TxnOp.Txn(a));
        a.Then(TxnOp.Get("k"), TxnOp.Txn(b));
        Assert.Throws<ArgumentException>(() => ProtoMapping.ToTxnRequest(a));

        // The same transaction twice side by side is not a cycle.
        var leaf = new Transaction().Then(TxnOp.Get("k"));
        var diamond = new Transaction().Then(TxnOp.Txn(leaf)).Else(TxnOp.Txn(leaf));
        Assert.Single(ProtoMapping.ToTxnRequest(diamond).Failure);
    }

    [Fact]
    public void Null_elements_are_rejected_and_not_added()
    {
        var txn = new Transaction();
        Assert.Throws<ArgumentNullException>(() => txn.Then(TxnOp.Get("a"), null!));
        Assert.Empty(txn.SuccessOps);
        txn.If(new List<Compare> { Compare.KeyExists("a") });
        Assert.Single(txn.Compares);
    }

    [Fact]
    public void Unbound_transaction_cannot_commit()
    {
        Assert.Throws<InvalidOperationException>(() => { _ = new Transaction().CommitAsync(); });
    }
}
