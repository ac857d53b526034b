using Etcd.Transport;

namespace Etcd.Operations;

/// <summary>Decides from a failed attempt whether a call may be tried again and whether its endpoint should be left.</summary>
/// <remarks>Error strings are etcd's (api/v3rpc/rpctypes/error.go); where they are raised is etcd 3.4's server code.</remarks>
internal static class RetryClassifier
{
    /// <summary>True when etcd provably neither received nor proposed the request, so even a write may be sent again.</summary>
    public static bool NotApplied(GrpcCallException error, CallFlags flags = CallFlags.None)
    {
        if (error.TlsFailure) return false;
        if ((flags & CallFlags.ServerSideClient) != 0) return error.StatusCode == GrpcStatusCode.Unavailable && !error.RequestMayHaveBeenSent;
        return error.StatusCode switch
        {
            GrpcStatusCode.Unavailable => !error.RequestMayHaveBeenSent
                // Refused by the v3rpc interceptors or before raft (waitLeader): the handler never proposed it.
                || Has(error.Detail, "etcdserver: no leader")
                || Has(error.Detail, "etcdserver: not capable")
                || Has(error.Detail, "etcdserver: rpc not supported for learner"),
            // processInternalRaftRequestOnce refuses before proposing while the apply loop lags. etcd 3.4 maps that error
            // to an rpctypes.EtcdError without a gRPC status (v3rpc/util.go), so it arrives as Unknown.
            GrpcStatusCode.ResourceExhausted or GrpcStatusCode.Unknown => error.Detail == "etcdserver: too many requests",
            _ => false,
        };
    }

    /// <summary>True for failures a read may be retried after (the member or the cluster may answer a moment later).</summary>
    public static bool Transient(GrpcCallException error, CallFlags flags = CallFlags.None) =>
        !error.TlsFailure && (error.StatusCode == GrpcStatusCode.Unavailable || NotApplied(error, flags));

    /// <summary>True when the next attempt should go to another member (unreachable, leaderless, a learner, or its TLS failed).</summary>
    public static bool LeaveEndpoint(GrpcCallException error) => error.StatusCode == GrpcStatusCode.Unavailable;

    /// <summary>
    /// True when etcd rejected the call's auth token (expired, or issued before an auth change); a new token fixes it.
    /// "Invalid auth token" comes before proposal; "revision of auth store is old" comes when the entry is applied, and
    /// then the apply changed nothing. Either way a re-send applies the call once.
    /// </summary>
    /// <remarks>The lock, election and maintenance services return these with status Unknown (see <see cref="AuthErrors"/>).</remarks>
    public static bool TokenRejected(GrpcCallException error) => AuthErrors.IsTokenRejected(error);

    private static bool Has(string detail, string text) => detail.Contains(text, StringComparison.Ordinal);
}
