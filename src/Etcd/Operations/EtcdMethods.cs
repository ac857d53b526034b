using Etcd.Transport;
using Pb = Etcd.Protocol;
using LockPb = Etcd.Protocol.Lock;
using ElectionPb = Etcd.Protocol.Election;

namespace Etcd.Operations;

/// <summary>The etcd gRPC methods the client calls (paths from etcd's rpc.proto services).</summary>
internal static class EtcdMethods
{
    private const string Kv = "etcdserverpb.KV";
    private const string Watch = "etcdserverpb.Watch";
    private const string Maintenance = "etcdserverpb.Maintenance";
    private const string Lease = "etcdserverpb.Lease";
    private const string Cluster = "etcdserverpb.Cluster";
    private const string Lock = "v3lockpb.Lock";
    private const string Election = "v3electionpb.Election";

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

    public static readonly GrpcMethod<Pb.AlarmRequest, Pb.AlarmResponse> Alarm =
        new(GrpcMethodType.Unary, Maintenance, "Alarm", Pb.AlarmResponse.Parser);

    public static readonly GrpcMethod<Pb.DefragmentRequest, Pb.DefragmentResponse> Defragment =
        new(GrpcMethodType.Unary, Maintenance, "Defragment", Pb.DefragmentResponse.Parser);

    public static readonly GrpcMethod<Pb.HashRequest, Pb.HashResponse> Hash =
        new(GrpcMethodType.Unary, Maintenance, "Hash", Pb.HashResponse.Parser);

    public static readonly GrpcMethod<Pb.HashKVRequest, Pb.HashKVResponse> HashKv =
        new(GrpcMethodType.Unary, Maintenance, "HashKV", Pb.HashKVResponse.Parser);

    public static readonly GrpcMethod<Pb.SnapshotRequest, Pb.SnapshotResponse> Snapshot =
        new(GrpcMethodType.ServerStreaming, Maintenance, "Snapshot", Pb.SnapshotResponse.Parser);

    public static readonly GrpcMethod<Pb.MoveLeaderRequest, Pb.MoveLeaderResponse> MoveLeader =
        new(GrpcMethodType.Unary, Maintenance, "MoveLeader", Pb.MoveLeaderResponse.Parser);

    public static readonly GrpcMethod<Pb.MemberAddRequest, Pb.MemberAddResponse> MemberAdd =
        new(GrpcMethodType.Unary, Cluster, "MemberAdd", Pb.MemberAddResponse.Parser);

    public static readonly GrpcMethod<Pb.MemberRemoveRequest, Pb.MemberRemoveResponse> MemberRemove =
        new(GrpcMethodType.Unary, Cluster, "MemberRemove", Pb.MemberRemoveResponse.Parser);

    public static readonly GrpcMethod<Pb.MemberUpdateRequest, Pb.MemberUpdateResponse> MemberUpdate =
        new(GrpcMethodType.Unary, Cluster, "MemberUpdate", Pb.MemberUpdateResponse.Parser);

    public static readonly GrpcMethod<Pb.MemberListRequest, Pb.MemberListResponse> MemberList =
        new(GrpcMethodType.Unary, Cluster, "MemberList", Pb.MemberListResponse.Parser);

    public static readonly GrpcMethod<Pb.MemberPromoteRequest, Pb.MemberPromoteResponse> MemberPromote =
        new(GrpcMethodType.Unary, Cluster, "MemberPromote", Pb.MemberPromoteResponse.Parser);

    public static readonly GrpcMethod<LockPb.LockRequest, LockPb.LockResponse> LockAcquire =
        new(GrpcMethodType.Unary, Lock, "Lock", LockPb.LockResponse.Parser);

    public static readonly GrpcMethod<LockPb.UnlockRequest, LockPb.UnlockResponse> Unlock =
        new(GrpcMethodType.Unary, Lock, "Unlock", LockPb.UnlockResponse.Parser);

    public static readonly GrpcMethod<ElectionPb.CampaignRequest, ElectionPb.CampaignResponse> Campaign =
        new(GrpcMethodType.Unary, Election, "Campaign", ElectionPb.CampaignResponse.Parser);

    public static readonly GrpcMethod<ElectionPb.ProclaimRequest, ElectionPb.ProclaimResponse> Proclaim =
        new(GrpcMethodType.Unary, Election, "Proclaim", ElectionPb.ProclaimResponse.Parser);

    public static readonly GrpcMethod<ElectionPb.LeaderRequest, ElectionPb.LeaderResponse> Leader =
        new(GrpcMethodType.Unary, Election, "Leader", ElectionPb.LeaderResponse.Parser);

    public static readonly GrpcMethod<ElectionPb.LeaderRequest, ElectionPb.LeaderResponse> Observe =
        new(GrpcMethodType.ServerStreaming, Election, "Observe", ElectionPb.LeaderResponse.Parser);

    public static readonly GrpcMethod<ElectionPb.ResignRequest, ElectionPb.ResignResponse> Resign =
        new(GrpcMethodType.Unary, Election, "Resign", ElectionPb.ResignResponse.Parser);
}
