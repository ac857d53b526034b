using Google.Protobuf;
using Pb = Etcd.Protocol;
using Mvcc = Etcd.Protocol.Mvcc;

namespace Etcd.Operations;

/// <summary>Maps between the public records and etcd's protobuf messages, without copying key and value bytes.</summary>
internal static class ProtoMapping
{
    public static ByteString ToByteString(EtcdBytes bytes) =>
        bytes.IsEmpty ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(bytes.Memory);

    // ByteString is immutable, so its memory can be handed out as is.
    public static EtcdBytes ToBytes(ByteString bytes) => new(bytes.Memory);

    public static ResponseHeader ToHeader(Pb.ResponseHeader? header) => header is null
        ? new ResponseHeader(0, 0, 0, 0)
        : new ResponseHeader(header.ClusterId, header.MemberId, header.Revision, header.RaftTerm);

    public static KeyValue ToKeyValue(Mvcc.KeyValue kv) =>
        new(ToBytes(kv.Key), ToBytes(kv.Value), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    public static IReadOnlyList<KeyValue> ToKeyValues(Google.Protobuf.Collections.RepeatedField<Mvcc.KeyValue> kvs)
    {
        if (kvs.Count == 0) return [];
        var result = new KeyValue[kvs.Count];
        for (int i = 0; i < result.Length; i++) result[i] = ToKeyValue(kvs[i]);
        return result;
    }

    public static Pb.RangeRequest ToRangeRequest(KeySet keys, GetOptions? options)
    {
        var request = new Pb.RangeRequest
        {
            Key = ToByteString(keys.WireKey),
            RangeEnd = ToByteString(keys.WireRangeEnd),
        };
        if (options is not null)
        {
            request.Limit = options.Limit;
            request.SortOrder = (Pb.RangeRequest.Types.SortOrder)options.SortOrder;
            request.SortTarget = (Pb.RangeRequest.Types.SortTarget)options.SortTarget;
            request.KeysOnly = options.KeysOnly;
            request.CountOnly = options.CountOnly;
            request.Serializable = options.Serializable;
            request.Revision = options.Revision;
            request.MinModRevision = options.MinModRevision;
            request.MaxModRevision = options.MaxModRevision;
            request.MinCreateRevision = options.MinCreateRevision;
            request.MaxCreateRevision = options.MaxCreateRevision;
        }
        return request;
    }

    public static GetResponse ToGet(Pb.RangeResponse response) =>
        new(ToHeader(response.Header), ToKeyValues(response.Kvs), response.More, response.Count);

    public static Pb.PutRequest ToPutRequest(EtcdBytes key, EtcdBytes value, PutOptions? options)
    {
        var request = new Pb.PutRequest { Key = ToByteString(key), Value = ToByteString(value) };
        if (options is not null)
        {
            request.Lease = options.Lease;
            request.PrevKv = options.PrevKv;
            request.IgnoreValue = options.IgnoreValue;
            request.IgnoreLease = options.IgnoreLease;
        }
        return request;
    }

    public static PutResponse ToPut(Pb.PutResponse response) =>
        new(ToHeader(response.Header), response.PrevKv is null ? null : ToKeyValue(response.PrevKv));

    public static Pb.DeleteRangeRequest ToDeleteRequest(KeySet keys, bool prevKv) => new()
    {
        Key = ToByteString(keys.WireKey),
        RangeEnd = ToByteString(keys.WireRangeEnd),
        PrevKv = prevKv,
    };

    public static DeleteResponse ToDelete(Pb.DeleteRangeResponse response) =>
        new(ToHeader(response.Header), response.Deleted, ToKeyValues(response.PrevKvs));

    /// <summary>Maps a transaction tree; throws <see cref="ArgumentException"/> when a transaction contains itself.</summary>
    public static Pb.TxnRequest ToTxnRequest(Transaction transaction) => ToTxnRequest(transaction, ancestors: null);

    private static Pb.TxnRequest ToTxnRequest(Transaction transaction, HashSet<Transaction>? ancestors)
    {
        var request = new Pb.TxnRequest();
        foreach (var compare in transaction.Compares) request.Compare.Add(ToCompare(compare));
        foreach (var op in transaction.SuccessOps) request.Success.Add(ToRequestOp(op, transaction, ref ancestors));
        foreach (var op in transaction.FailureOps) request.Failure.Add(ToRequestOp(op, transaction, ref ancestors));
        return request;
    }

    private static Pb.Compare ToCompare(Compare compare)
    {
        var result = new Pb.Compare
        {
            Key = ToByteString(compare.Keys.WireKey),
            RangeEnd = ToByteString(compare.Keys.WireRangeEnd),
            Result = (Pb.Compare.Types.CompareResult)compare.Operator,
            Target = (Pb.Compare.Types.CompareTarget)compare.Target,
        };
        switch (compare.Target)
        {
            case CompareTarget.Version: result.Version = compare.NumberOperand; break;
            case CompareTarget.CreateRevision: result.CreateRevision = compare.NumberOperand; break;
            case CompareTarget.ModRevision: result.ModRevision = compare.NumberOperand; break;
            case CompareTarget.Lease: result.Lease = compare.NumberOperand; break;
            default: result.Value = ToByteString(compare.ValueOperand); break;
        }
        return result;
    }

    private static Pb.RequestOp ToRequestOp(TxnOp op, Transaction parent, ref HashSet<Transaction>? ancestors)
    {
        switch (op)
        {
            case TxnOp.GetOp get:
                return new Pb.RequestOp { RequestRange = ToRangeRequest(get.Keys, get.Options) };
            case TxnOp.PutOp put:
                return new Pb.RequestOp { RequestPut = ToPutRequest(put.Key, put.Value, put.Options) };
            case TxnOp.DeleteOp delete:
                return new Pb.RequestOp { RequestDeleteRange = ToDeleteRequest(delete.Keys, delete.PrevKv) };
            case TxnOp.NestedTxnOp nested:
                ancestors ??= new HashSet<Transaction>(ReferenceEqualityComparer.Instance);
                ancestors.Add(parent);
                if (ancestors.Contains(nested.Transaction))
                    throw new ArgumentException("A transaction must not contain itself, directly or through nested transactions.", "transaction");
                var request = new Pb.RequestOp { RequestTxn = ToTxnRequest(nested.Transaction, ancestors) };
                ancestors.Remove(parent);
                return request;
            default:
                throw new ArgumentException($"Unknown transaction operation {op.GetType().Name}.", "transaction");
        }
    }

    public static TxnResponse ToTxn(Pb.TxnResponse response)
    {
        var responses = new EtcdResponse[response.Responses.Count];
        for (int i = 0; i < responses.Length; i++)
        {
            var op = response.Responses[i];
            responses[i] = op.ResponseCase switch
            {
                Pb.ResponseOp.ResponseOneofCase.ResponseRange => ToGet(op.ResponseRange),
                Pb.ResponseOp.ResponseOneofCase.ResponsePut => ToPut(op.ResponsePut),
                Pb.ResponseOp.ResponseOneofCase.ResponseDeleteRange => ToDelete(op.ResponseDeleteRange),
                Pb.ResponseOp.ResponseOneofCase.ResponseTxn => ToTxn(op.ResponseTxn),
                _ => throw new EtcdException(EtcdStatusCode.Internal, $"Transaction response {i} has no operation result."),
            };
        }
        return new TxnResponse(ToHeader(response.Header), response.Succeeded, responses);
    }

    public static StatusResponse ToStatus(Pb.StatusResponse response) => new(
        ToHeader(response.Header),
        response.Version,
        response.DbSize,
        response.DbSizeInUse,
        response.Leader,
        response.RaftIndex,
        response.RaftTerm,
        response.RaftAppliedIndex,
        response.IsLearner,
        response.Errors.Count == 0 ? [] : [.. response.Errors]);
}
