namespace Etcd;

/// <summary>The status code of a failed etcd call (the gRPC status codes etcd answers with).</summary>
public enum EtcdStatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,
    /// <summary>The call was cancelled.</summary>
    Cancelled = 1,
    /// <summary>Unknown error.</summary>
    Unknown = 2,
    /// <summary>The request was rejected as invalid by the server.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline passed before the call completed.</summary>
    DeadlineExceeded = 4,
    /// <summary>A referenced entity (lease, member) does not exist.</summary>
    NotFound = 5,
    /// <summary>The entity already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller lacks permission.</summary>
    PermissionDenied = 7,
    /// <summary>A limit was exceeded (message size, database space, request rate).</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state required for the operation.</summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted.</summary>
    Aborted = 10,
    /// <summary>A revision or TTL was out of the valid range (compacted or future revision).</summary>
    OutOfRange = 11,
    /// <summary>The server does not implement the method.</summary>
    Unimplemented = 12,
    /// <summary>An internal or protocol error.</summary>
    Internal = 13,
    /// <summary>The server or connection is unavailable; the call may be retried if it is safe.</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,
    /// <summary>The request lacks valid authentication.</summary>
    Unauthenticated = 16,
}
