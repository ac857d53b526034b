using Etcd.Operations;
using Etcd.Transport;

namespace Etcd.Tests.Unit;

/// <summary>Which failures prove etcd did not take a request (etcd 3.4's error strings and where it raises them).</summary>
public class RetryClassifierTests
{
    private static GrpcCallException Server(int code, string detail) => new((GrpcStatusCode)code, detail);

    private static GrpcCallException Server(GrpcStatusCode code, string detail) => new(code, detail);

    [Theory]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: no leader")]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: not capable")]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: rpc not supported for learner")]
    [InlineData((int)GrpcStatusCode.ResourceExhausted, "etcdserver: too many requests")]
    [InlineData((int)GrpcStatusCode.Unknown, "etcdserver: too many requests")]
    public void Refusals_before_proposal_are_not_applied(int code, string detail)
    {
        Assert.True(RetryClassifier.NotApplied(Server(code, detail)));
    }

    [Theory]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: request timed out")]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: leader changed")]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: server stopped")]
    [InlineData((int)GrpcStatusCode.Unknown, "context deadline exceeded")]
    [InlineData((int)GrpcStatusCode.Unknown, "etcdserver: too many requests, and more")]
    [InlineData((int)GrpcStatusCode.DeadlineExceeded, "deadline")]
    public void Failures_after_a_possible_proposal_are_not_safe_for_writes(int code, string detail)
    {
        Assert.False(RetryClassifier.NotApplied(Server(code, detail)));
    }

    [Fact]
    public void Server_side_client_calls_are_only_safe_when_nothing_was_sent()
    {
        // Lock and Campaign run several steps inside etcd; an inner refusal says nothing about the steps before it.
        Assert.False(RetryClassifier.NotApplied(Server(GrpcStatusCode.Unknown, "etcdserver: too many requests"), CallFlags.ServerSideClient));
        Assert.False(RetryClassifier.NotApplied(Server(GrpcStatusCode.Unavailable, "etcdserver: no leader"), CallFlags.ServerSideClient));
        Assert.True(RetryClassifier.NotApplied(new GrpcCallException(GrpcStatusCode.Unavailable, "refused", requestMayHaveBeenSent: false), CallFlags.ServerSideClient));
    }

    [Fact]
    public void Tls_failures_are_neither_safe_nor_transient_but_leave_the_endpoint()
    {
        var tls = new GrpcCallException(GrpcStatusCode.Unavailable, "untrusted", requestMayHaveBeenSent: false) { TlsFailure = true };

        Assert.False(RetryClassifier.NotApplied(tls));
        Assert.False(RetryClassifier.Transient(tls));
        Assert.True(RetryClassifier.LeaveEndpoint(tls));
    }

    [Theory]
    [InlineData((int)GrpcStatusCode.Unauthenticated, "etcdserver: invalid auth token", true)]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: revision of auth store is old", true)]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password", false)]
    [InlineData((int)GrpcStatusCode.PermissionDenied, "etcdserver: permission denied", false)]
    public void Only_stale_tokens_are_refreshed(int code, string detail, bool refresh)
    {
        Assert.Equal(refresh, RetryClassifier.TokenRejected(Server(code, detail)));
    }
}
