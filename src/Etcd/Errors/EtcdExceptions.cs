namespace Etcd;

/// <summary>The server, or the connection to it, is unavailable (includes "no leader" and "leader changed").</summary>
/// <remarks>A write that failed this way may or may not have been applied; see <see cref="RequestMayHaveBeenSent"/>.</remarks>
public class EtcdUnavailableException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdUnavailableException(string message, string? serverMessage = null, bool requestMayHaveBeenSent = true, Exception? innerException = null)
        : base(EtcdStatusCode.Unavailable, message, serverMessage, innerException)
        => RequestMayHaveBeenSent = requestMayHaveBeenSent;

    /// <summary>False only when the request provably never left this process.</summary>
    public bool RequestMayHaveBeenSent { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>No connection to any endpoint could be made (refused, unreachable, connect timeout). Nothing was sent.</summary>
public sealed class EtcdConnectionException : EtcdUnavailableException
{
    /// <summary>Creates the exception.</summary>
    public EtcdConnectionException(string message, Exception? innerException = null)
        : base(message, null, requestMayHaveBeenSent: false, innerException) { }
}

/// <summary>The call did not complete before its deadline.</summary>
public sealed class EtcdDeadlineExceededException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdDeadlineExceededException(string message, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.DeadlineExceeded, message, serverMessage, innerException) { }
}

/// <summary>The server rejected the request as invalid (for example a duplicate key in a transaction).</summary>
public sealed class EtcdInvalidArgumentException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdInvalidArgumentException(string message, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.InvalidArgument, message, serverMessage, innerException) { }
}

/// <summary>The request or a message exceeded a size limit (the server's request limit or the client's message limits).</summary>
public sealed class EtcdRequestTooLargeException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdRequestTooLargeException(EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(statusCode, message, serverMessage, innerException) { }
}

/// <summary>A response was larger than the client's <see cref="EtcdClientOptions.MaxReceiveMessageSize"/>; read less at once (limit, keys-only, paged scan) or raise the limit.</summary>
public sealed class EtcdResponseTooLargeException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdResponseTooLargeException(string message, Exception? innerException = null)
        : base(EtcdStatusCode.ResourceExhausted, message, null, innerException) { }
}

/// <summary>The lease does not exist (never granted, expired or revoked).</summary>
public sealed class EtcdLeaseNotFoundException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdLeaseNotFoundException(string message, long leaseId = 0, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.NotFound, message, serverMessage, innerException) => LeaseId = leaseId;

    /// <summary>The lease id concerned, when known (0 otherwise).</summary>
    public long LeaseId { get; }
}

/// <summary>A kept-alive lease is gone: it expired or was revoked, or it could not be renewed before its TTL ran out.</summary>
public sealed class EtcdLeaseLostException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdLeaseLostException(string message, long leaseId, Exception? innerException = null)
        : base(EtcdStatusCode.NotFound, message, null, innerException) => LeaseId = leaseId;

    /// <summary>The lease id.</summary>
    public long LeaseId { get; }
}

/// <summary>The server cancelled a watch (for example for lack of permission, or because it could not be created).</summary>
public sealed class EtcdWatchCanceledException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdWatchCanceledException(string message, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.Cancelled, message, serverMessage, innerException) { }
}

/// <summary>The requested revision has been compacted away; re-read at a newer revision.</summary>
public sealed class EtcdCompactedException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdCompactedException(string message, long requestedRevision, long compactRevision, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.OutOfRange, message, serverMessage, innerException)
    {
        RequestedRevision = requestedRevision;
        CompactRevision = compactRevision;
    }

    /// <summary>The revision the request asked for.</summary>
    public long RequestedRevision { get; }

    /// <summary>The server's current compaction revision (revisions below it are gone); 0 when it could not be determined.</summary>
    public long CompactRevision { get; }
}

/// <summary>The requested revision is newer than the store's current revision.</summary>
public sealed class EtcdFutureRevisionException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdFutureRevisionException(string message, long requestedRevision, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.OutOfRange, message, serverMessage, innerException) => RequestedRevision = requestedRevision;

    /// <summary>The revision the request asked for.</summary>
    public long RequestedRevision { get; }
}

/// <summary>The caller is not authenticated, its token is invalid or expired, or the user name or password is wrong.</summary>
public sealed class EtcdAuthenticationException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdAuthenticationException(EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(statusCode, message, serverMessage, innerException) { }
}

/// <summary>The authenticated user lacks the permission for this request.</summary>
public sealed class EtcdPermissionDeniedException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdPermissionDeniedException(string message, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.PermissionDenied, message, serverMessage, innerException) { }
}

/// <summary>A transaction's compares failed; carries the response with the results of the <c>Else</c> branch.</summary>
public sealed class EtcdTransactionFailedException : EtcdException
{
    /// <summary>Creates the exception from the failed transaction's response.</summary>
    public EtcdTransactionFailedException(TxnResponse response)
        : base(EtcdStatusCode.FailedPrecondition, $"Transaction compares failed at revision {response.Header.Revision}; {response.Responses.Count} else-branch response(s).")
        => Response = response;

    /// <summary>The whole transaction response.</summary>
    public TxnResponse Response { get; }

    /// <summary>The responses of the operations of the <c>Else</c> branch, in order.</summary>
    public IReadOnlyList<EtcdResponse> Responses => Response.Responses;
}
