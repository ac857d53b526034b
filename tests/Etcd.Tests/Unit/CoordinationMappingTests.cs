using Etcd.Operations;
using Etcd.Transport;
using ElectionPb = Etcd.Protocol.Election;

namespace Etcd.Tests.Unit;

public class CoordinationMappingTests
{
    [Theory]
    [InlineData("lock", 1L, "lock/1")]
    [InlineData("a/b", 0x694d7b1e2f3a4c5dL, "a/b/694d7b1e2f3a4c5d")]
    [InlineData("x", 0xabcL, "x/abc")]
    public void Lease_key_is_name_slash_lowercase_hex_without_padding(string name, long lease, string expected) =>
        Assert.Equal(expected, CoordinationSupport.LeaseKey(name, lease).ToStringUtf8());

    [Fact]
    public void Lease_key_keeps_binary_names()
    {
        var key = CoordinationSupport.LeaseKey(new byte[] { 0xFF, 0x00 }, 0x1f);
        Assert.Equal(new byte[] { 0xFF, 0x00, (byte)'/', (byte)'1', (byte)'f' }, key.ToArray());
    }

    [Fact]
    public void Lock_request_carries_name_and_lease()
    {
        var request = LockOperations.ToLockRequest("n", 42);
        Assert.Equal("n", request.Name.ToStringUtf8());
        Assert.Equal(42, request.Lease);
    }

    [Fact]
    public void Leader_key_round_trips_through_the_protocol_message()
    {
        var leader = new LeaderKey("e", "e/2a", 7, 0x2a);
        var proto = ElectionOperations.ToProto(leader);
        Assert.Equal(("e", "e/2a", 7L, 0x2aL), (proto.Name.ToStringUtf8(), proto.Key.ToStringUtf8(), proto.Rev, proto.Lease));
        Assert.Equal(leader, ElectionOperations.FromProto(proto));
        Assert.Throws<EtcdException>(() => ElectionOperations.FromProto(null));
    }

    [Fact]
    public void Election_errors_map_to_their_types()
    {
        var notLeader = ErrorMapper.Map(new GrpcCallException(GrpcStatusCode.Unknown, "election: not leader"), "/v3electionpb.Election/Proclaim");
        Assert.Equal(EtcdStatusCode.Unknown, Assert.IsType<EtcdNotLeaderException>(notLeader).StatusCode);

        var leaseGone = ErrorMapper.Map(new GrpcCallException(GrpcStatusCode.Unknown, "etcdserver: requested lease not found"), "/v3lockpb.Lock/Lock", leaseId: 5);
        Assert.Equal(5, Assert.IsType<EtcdLeaseNotFoundException>(leaseGone).LeaseId);

        var noLeader = ErrorMapper.Map(new GrpcCallException(GrpcStatusCode.Unknown, "election: no leader"), "/v3electionpb.Election/Leader");
        Assert.True(ElectionOperations.IsNoLeader(noLeader));
        Assert.False(ElectionOperations.IsNoLeader(ErrorMapper.Map(new GrpcCallException(GrpcStatusCode.Unavailable, "etcdserver: no leader"), "/v3electionpb.Election/Leader")));
        Assert.IsType<EtcdException>(ErrorMapper.Map(new GrpcCallException(GrpcStatusCode.Unknown, "something else"), "/x"));
    }
}
