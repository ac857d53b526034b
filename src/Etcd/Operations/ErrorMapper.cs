using Etcd.Transport;

namespace Etcd.Operations;

/// <summary>Turns a failed gRPC call into the typed <see cref="EtcdException"/> that names its meaning.</summary>
/// <remarks>Messages are matched on etcd's error strings (etcd's api/v3rpc/rpctypes/error.go), since the status code alone is ambiguous.</remarks>
internal static class ErrorMapper
{
    public static EtcdException Map(GrpcCallException error, string method, long requestedRevision = 0, long leaseId = 0)
    {
        var detail = error.Detail;
        var message = $"{method} failed ({error.StatusCode}): {detail}";
        var code = (EtcdStatusCode)error.StatusCode;
        if (error.TlsFailure)
            return new EtcdTlsException($"{method} failed: {detail}", error);
        if (AuthErrors.AdminError(detail) is { } adminError)
            return new EtcdAuthAdminException(adminError, code, message, detail, error);
        switch (error.StatusCode)
        {
            case GrpcStatusCode.Unavailable:
                return error.RequestMayHaveBeenSent
                    ? new EtcdUnavailableException(message, detail, requestMayHaveBeenSent: true, error)
                    : new EtcdConnectionException(message, error);
            case GrpcStatusCode.DeadlineExceeded:
            // etcd's handler ran out of its context deadline (seen without quorum); its gRPC layer reports it as Unknown.
            case GrpcStatusCode.Unknown when Has(detail, "context deadline exceeded"):
                return new EtcdDeadlineExceededException(message, detail, error);
            case GrpcStatusCode.InvalidArgument when Has(detail, "request is too large"):
                return new EtcdRequestTooLargeException(code, message, detail, error);
            case GrpcStatusCode.InvalidArgument when Has(detail, "authentication failed"):
                return new EtcdAuthenticationException(code, message, detail, error);
            // A token from before an auth change (JWT), or a call without a token to a cluster with auth enabled (our
            // own requests never carry an empty user name: they are validated before sending).
            case GrpcStatusCode.InvalidArgument when Has(detail, AuthErrors.OldRevision) || Has(detail, AuthErrors.UserEmpty):
                return new EtcdAuthenticationException(code, message, detail, error);
            case GrpcStatusCode.InvalidArgument:
                return new EtcdInvalidArgumentException(message, detail, error);
            case GrpcStatusCode.ResourceExhausted when error.ReceiveLimitExceeded:
                return new EtcdResponseTooLargeException(message, error);
            case GrpcStatusCode.ResourceExhausted when !Has(detail, "database space exceeded") && !Has(detail, "too many requests"):
                return new EtcdRequestTooLargeException(code, message, detail, error);
            case GrpcStatusCode.NotFound when Has(detail, "lease not found"):
                return new EtcdLeaseNotFoundException(leaseId == 0 ? message : $"{message} (lease {leaseId:x})", leaseId, detail, error);
            // The lock and election services run etcd's Go client inside the server; its errors can come back as
            // status Unknown with their text (seen for "requested lease not found"; always for the concurrency
            // package's ErrElectionNotLeader).
            case GrpcStatusCode.Unknown when Has(detail, "requested lease not found"):
                return new EtcdLeaseNotFoundException(leaseId == 0 ? message : $"{message} (lease {leaseId:x})", leaseId, detail, error);
            // Status Unknown carries auth errors that etcd 3.4 does not convert: auth.ErrNoPasswordUser (Authenticate as a
            // user created without a password); the Maintenance service's auth check (Snapshot, Hash, HashKV, Defragment:
            // "auth: invalid auth token", "auth: permission denied"); the lock and election services ("etcdserver: ...").
            case GrpcStatusCode.Unknown when Has(detail, "authentication failed") || AuthErrors.IsTokenProblem(detail) || AuthErrors.IsUserEmpty(detail):
                return new EtcdAuthenticationException(code, message, detail, error);
            case GrpcStatusCode.Unknown when AuthErrors.IsPermissionDenied(detail):
                return new EtcdPermissionDeniedException(message, detail, error);
            case GrpcStatusCode.Unknown when Has(detail, "election: not leader"):
                return new EtcdNotLeaderException(code, message, detail, error);
            case GrpcStatusCode.OutOfRange when Has(detail, "has been compacted"):
                return new EtcdCompactedException(message, requestedRevision, compactRevision: 0, detail, error);
            case GrpcStatusCode.OutOfRange when Has(detail, "future revision"):
                return new EtcdFutureRevisionException(message, requestedRevision, detail, error);
            case GrpcStatusCode.PermissionDenied:
                return new EtcdPermissionDeniedException(message, detail, error);
            case GrpcStatusCode.Unauthenticated:
                return new EtcdAuthenticationException(code, message, detail, error);
            default:
                return new EtcdException(code, message, detail, error);
        }
    }

    private static bool Has(string detail, string text) => detail.Contains(text, StringComparison.Ordinal);
}
