using Etcd.Operations;
using Etcd.Transport;

namespace Etcd.Tests.Unit;

public class ErrorMapperTests
{
    private static EtcdException Map(GrpcStatusCode code, string detail, bool sent = true, long revision = 0) =>
        ErrorMapper.Map(new GrpcCallException(code, detail, sent), "/etcdserverpb.KV/Range", revision);

    [Fact]
    public void Connection_failure_that_sent_nothing_is_a_connection_exception()
    {
        var error = Assert.IsType<EtcdConnectionException>(Map(GrpcStatusCode.Unavailable, "connection refused", sent: false));
        Assert.False(error.RequestMayHaveBeenSent);
        Assert.True(error.IsTransient);
    }

    [Theory]
    [InlineData("etcdserver: no leader")]
    [InlineData("etcdserver: leader changed")]
    [InlineData("etcdserver: request timed out")]
    public void Server_unavailable_may_have_been_applied(string detail)
    {
        var error = Assert.IsType<EtcdUnavailableException>(Map(GrpcStatusCode.Unavailable, detail));
        Assert.True(error.RequestMayHaveBeenSent);
        Assert.Equal(detail, error.ServerMessage);
    }

    [Fact]
    public void Each_etcd_error_string_maps_to_its_type()
    {
        Assert.IsType<EtcdInvalidArgumentException>(Map(GrpcStatusCode.InvalidArgument, "etcdserver: key is not provided"));
        Assert.IsType<EtcdRequestTooLargeException>(Map(GrpcStatusCode.InvalidArgument, "etcdserver: request is too large"));
        Assert.IsType<EtcdRequestTooLargeException>(Map(GrpcStatusCode.ResourceExhausted, "trying to send message larger than max"));
        Assert.IsType<EtcdException>(Map(GrpcStatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded"));
        Assert.IsType<EtcdLeaseNotFoundException>(Map(GrpcStatusCode.NotFound, "etcdserver: requested lease not found"));
        Assert.IsType<EtcdPermissionDeniedException>(Map(GrpcStatusCode.PermissionDenied, "etcdserver: permission denied"));
        Assert.IsType<EtcdAuthenticationException>(Map(GrpcStatusCode.Unauthenticated, "etcdserver: invalid auth token"));
        Assert.IsType<EtcdAuthenticationException>(Map(GrpcStatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"));
        Assert.IsType<EtcdDeadlineExceededException>(Map(GrpcStatusCode.DeadlineExceeded, "deadline"));
        // Without quorum etcd's handlers time out with status Unknown; it is transient like any deadline.
        var serverDeadline = Assert.IsType<EtcdDeadlineExceededException>(Map(GrpcStatusCode.Unknown, "context deadline exceeded"));
        Assert.True(serverDeadline.IsTransient);
    }

    [Fact]
    public void Local_receive_limit_is_response_too_large_and_lease_errors_name_the_lease()
    {
        var tooLarge = new GrpcCallException(GrpcStatusCode.ResourceExhausted, "Received a message of 9 bytes") { ReceiveLimitExceeded = true };
        Assert.IsType<EtcdResponseTooLargeException>(ErrorMapper.Map(tooLarge, "/m"));
        var lease = Assert.IsType<EtcdLeaseNotFoundException>(ErrorMapper.Map(
            new GrpcCallException(GrpcStatusCode.NotFound, "etcdserver: requested lease not found"), "/m", leaseId: 0x1234));
        Assert.Equal(0x1234, lease.LeaseId);
        Assert.Contains("1234", lease.Message);
    }

    [Fact]
    public void Revision_errors_carry_the_requested_revision()
    {
        var compacted = Assert.IsType<EtcdCompactedException>(Map(GrpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted", revision: 7));
        Assert.Equal(7, compacted.RequestedRevision);
        var future = Assert.IsType<EtcdFutureRevisionException>(Map(GrpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision", revision: 99));
        Assert.Equal(99, future.RequestedRevision);
        Assert.False(future.IsTransient);
    }

    [Fact]
    public void Message_names_method_code_and_server_text()
    {
        var error = Map(GrpcStatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");
        Assert.Contains("/etcdserverpb.KV/Range", error.Message);
        Assert.Contains("InvalidArgument", error.Message);
        Assert.Contains("duplicate key", error.Message);
        Assert.Equal(EtcdStatusCode.InvalidArgument, error.StatusCode);
    }
}
