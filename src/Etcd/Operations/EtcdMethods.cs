using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>The etcd gRPC methods the client calls (paths from etcd's rpc.proto services).</summary>
internal static class EtcdMethods
{
    private const string Kv = "etcdserverpb.KV";
    private const string Watch = "etcdserverpb.Watch";
    private const string Maintenance = "etcdserverpb.Maintenance";

    public static readonly GrpcMethod<Pb.RangeRequest, Pb.RangeResponse> Range =
        new(GrpcMethodType.Unary, Kv, "Range", Pb.RangeResponse.Parser);

    public static readonly GrpcMethod<Pb.PutRequest, Pb.PutResponse> Put =
        new(GrpcMethodType.Unary, Kv, "Put", Pb.PutResponse.Parser);

    public static readonly GrpcMethod<Pb.DeleteRangeRequest, Pb.DeleteRangeResponse> DeleteRange =
        new(GrpcMethodType.Unary, Kv, "DeleteRange", Pb.DeleteRangeResponse.Parser);

    public static readonly GrpcMethod<Pb.TxnRequest, Pb.TxnResponse> Txn =
        new(GrpcMethodType.Unary, Kv, "Txn", Pb.TxnResponse.Parser);

    public static readonly GrpcMethod<Pb.CompactionRequest, Pb.CompactionResponse> Compact =
        new(GrpcMethodType.Unary, Kv, "Compact", Pb.CompactionResponse.Parser);

    public static readonly GrpcMethod<Pb.WatchRequest, Pb.WatchResponse> WatchStream =
        new(GrpcMethodType.DuplexStreaming, Watch, "Watch", Pb.WatchResponse.Parser);

    public static readonly GrpcMethod<Pb.StatusRequest, Pb.StatusResponse> Status =
        new(GrpcMethodType.Unary, Maintenance, "Status", Pb.StatusResponse.Parser);
}
