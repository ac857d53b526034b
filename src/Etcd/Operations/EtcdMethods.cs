using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>The etcd gRPC methods the client calls (paths from etcd's rpc.proto services).</summary>
internal static class EtcdMethods
{
    private const string Kv = "etcdserverpb.KV";
    private const string Watch = "etcdserverpb.Watch";
    private const string Maintenance = "etcdserverpb.Maintenance";
    private const string Lease = "etcdserverpb.Lease";

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

    public static readonly GrpcMethod<Pb.LeaseGrantRequest, Pb.LeaseGrantResponse> LeaseGrant =
        new(GrpcMethodType.Unary, Lease, "LeaseGrant", Pb.LeaseGrantResponse.Parser);

    public static readonly GrpcMethod<Pb.LeaseRevokeRequest, Pb.LeaseRevokeResponse> LeaseRevoke =
        new(GrpcMethodType.Unary, Lease, "LeaseRevoke", Pb.LeaseRevokeResponse.Parser);

    public static readonly GrpcMethod<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> LeaseKeepAlive =
        new(GrpcMethodType.DuplexStreaming, Lease, "LeaseKeepAlive", Pb.LeaseKeepAliveResponse.Parser);

    public static readonly GrpcMethod<Pb.LeaseTimeToLiveRequest, Pb.LeaseTimeToLiveResponse> LeaseTimeToLive =
        new(GrpcMethodType.Unary, Lease, "LeaseTimeToLive", Pb.LeaseTimeToLiveResponse.Parser);

    public static readonly GrpcMethod<Pb.LeaseLeasesRequest, Pb.LeaseLeasesResponse> LeaseLeases =
        new(GrpcMethodType.Unary, Lease, "LeaseLeases", Pb.LeaseLeasesResponse.Parser);

    public static readonly GrpcMethod<Pb.StatusRequest, Pb.StatusResponse> Status =
        new(GrpcMethodType.Unary, Maintenance, "Status", Pb.StatusResponse.Parser);
}
