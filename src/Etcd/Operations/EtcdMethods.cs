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
    private const string Auth = "etcdserverpb.Auth";
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

    public static readonly GrpcMethod<Pb.AuthEnableRequest, Pb.AuthEnableResponse> AuthEnable =
        new(GrpcMethodType.Unary, Auth, "AuthEnable", Pb.AuthEnableResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthDisableRequest, Pb.AuthDisableResponse> AuthDisable =
        new(GrpcMethodType.Unary, Auth, "AuthDisable", Pb.AuthDisableResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthenticateRequest, Pb.AuthenticateResponse> Authenticate =
        new(GrpcMethodType.Unary, Auth, "Authenticate", Pb.AuthenticateResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserAddRequest, Pb.AuthUserAddResponse> UserAdd =
        new(GrpcMethodType.Unary, Auth, "UserAdd", Pb.AuthUserAddResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserGetRequest, Pb.AuthUserGetResponse> UserGet =
        new(GrpcMethodType.Unary, Auth, "UserGet", Pb.AuthUserGetResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserListRequest, Pb.AuthUserListResponse> UserList =
        new(GrpcMethodType.Unary, Auth, "UserList", Pb.AuthUserListResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserDeleteRequest, Pb.AuthUserDeleteResponse> UserDelete =
        new(GrpcMethodType.Unary, Auth, "UserDelete", Pb.AuthUserDeleteResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserChangePasswordRequest, Pb.AuthUserChangePasswordResponse> UserChangePassword =
        new(GrpcMethodType.Unary, Auth, "UserChangePassword", Pb.AuthUserChangePasswordResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserGrantRoleRequest, Pb.AuthUserGrantRoleResponse> UserGrantRole =
        new(GrpcMethodType.Unary, Auth, "UserGrantRole", Pb.AuthUserGrantRoleResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthUserRevokeRoleRequest, Pb.AuthUserRevokeRoleResponse> UserRevokeRole =
        new(GrpcMethodType.Unary, Auth, "UserRevokeRole", Pb.AuthUserRevokeRoleResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleAddRequest, Pb.AuthRoleAddResponse> RoleAdd =
        new(GrpcMethodType.Unary, Auth, "RoleAdd", Pb.AuthRoleAddResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleGetRequest, Pb.AuthRoleGetResponse> RoleGet =
        new(GrpcMethodType.Unary, Auth, "RoleGet", Pb.AuthRoleGetResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleListRequest, Pb.AuthRoleListResponse> RoleList =
        new(GrpcMethodType.Unary, Auth, "RoleList", Pb.AuthRoleListResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleDeleteRequest, Pb.AuthRoleDeleteResponse> RoleDelete =
        new(GrpcMethodType.Unary, Auth, "RoleDelete", Pb.AuthRoleDeleteResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleGrantPermissionRequest, Pb.AuthRoleGrantPermissionResponse> RoleGrantPermission =
        new(GrpcMethodType.Unary, Auth, "RoleGrantPermission", Pb.AuthRoleGrantPermissionResponse.Parser);

    public static readonly GrpcMethod<Pb.AuthRoleRevokePermissionRequest, Pb.AuthRoleRevokePermissionResponse> RoleRevokePermission =
        new(GrpcMethodType.Unary, Auth, "RoleRevokePermission", Pb.AuthRoleRevokePermissionResponse.Parser);
}
