namespace Etcd.Operations;

/// <summary>etcd's auth error strings (etcd's api/v3rpc/rpctypes/error.go, 3.4) and what they mean to the client.</summary>
internal static class AuthErrors
{
    private static readonly (string Text, EtcdAuthAdminError Error)[] s_admin =
    [
        ("etcdserver: user name already exists", EtcdAuthAdminError.UserAlreadyExists),
        ("etcdserver: user name not found", EtcdAuthAdminError.UserNotFound),
        ("etcdserver: role name already exists", EtcdAuthAdminError.RoleAlreadyExists),
        ("etcdserver: role name not found", EtcdAuthAdminError.RoleNotFound),
        ("etcdserver: role is not granted to the user", EtcdAuthAdminError.RoleNotGranted),
        ("etcdserver: permission is not granted to the role", EtcdAuthAdminError.PermissionNotGranted),
        ("etcdserver: root user does not exist", EtcdAuthAdminError.RootUserNotFound),
        ("etcdserver: root user does not have root role", EtcdAuthAdminError.RootRoleNotGranted),
        ("etcdserver: invalid auth management", EtcdAuthAdminError.InvalidAuthManagement),
        ("etcdserver: authentication is not enabled", EtcdAuthAdminError.AuthNotEnabled),
    ];

    public const string InvalidToken = "etcdserver: invalid auth token";
    public const string OldRevision = "etcdserver: revision of auth store is old";
    public const string UserEmpty = "etcdserver: user name is empty";
    public const string PermissionDenied = "etcdserver: permission denied";

    /// <summary>The admin refusal <paramref name="detail"/> names, if any.</summary>
    public static EtcdAuthAdminError? AdminError(string? detail)
    {
        if (string.IsNullOrEmpty(detail)) return null;
        foreach (var (text, error) in s_admin)
        {
            if (detail.Contains(text, StringComparison.Ordinal)) return error;
        }
        return null;
    }

    /// <summary>
    /// True for a refusal caused by the token (expired, unknown, or issued before an auth change), which a new token
    /// cures; not by the user's permissions. Matches etcd's gRPC texts and the raw auth package texts that the
    /// Maintenance service's auth checks, the lock and election services return with status Unknown.
    /// </summary>
    public static bool IsTokenProblem(string? reason) =>
        reason is not null
        && (reason.Contains("invalid auth token", StringComparison.Ordinal)
            || reason.Contains("revision of auth store is old", StringComparison.Ordinal)
            || reason.Contains("auth: revision in header is old", StringComparison.Ordinal));

    /// <summary>A refusal on the user's permissions ("etcdserver: permission denied" or the auth package's "auth: permission denied").</summary>
    public static bool IsPermissionDenied(string? reason) =>
        reason is not null && (reason.Contains(PermissionDenied, StringComparison.Ordinal) || reason.Contains("auth: permission denied", StringComparison.Ordinal));

    /// <summary>A request without a token to a cluster with authentication enabled.</summary>
    public static bool IsUserEmpty(string? reason) =>
        reason is not null && (reason.Contains(UserEmpty, StringComparison.Ordinal) || reason.Contains("auth: user name is empty", StringComparison.Ordinal));

    /// <summary>A failed call (unary or stream) whose token etcd rejected, whatever status it came with.</summary>
    public static bool IsTokenRejected(Transport.GrpcCallException error) =>
        error.StatusCode is Transport.GrpcStatusCode.Unauthenticated or Transport.GrpcStatusCode.InvalidArgument or Transport.GrpcStatusCode.Unknown
        && IsTokenProblem(error.Detail);

    /// <summary>
    /// True when getting a token failed for good (wrong user or password, or authentication not enabled): a stream that
    /// needs one cannot be opened until something changes, so retrying in a loop would only hammer the server.
    /// </summary>
    /// <remarks>
    /// A TLS failure of the login counts too: the login already tried every endpoint. (A cluster with auth disabled is not
    /// a failure: the token source then hands out no token.)
    /// </remarks>
    public static bool IsCredentialsFailure(EtcdException error) => error is EtcdAuthenticationException or EtcdTlsException;

    /// <summary>A copy of a credentials failure for one watch or lease, so no two consumers throw the same instance.</summary>
    public static EtcdException ForItem(EtcdException failure, string what) => failure switch
    {
        EtcdTlsException => new EtcdTlsException($"{what}: {failure.Message}", failure),
        EtcdAuthAdminException admin => new EtcdAuthAdminException(admin.Error, admin.StatusCode, $"{what}: {failure.Message}", failure.ServerMessage, failure),
        _ => new EtcdAuthenticationException(failure.StatusCode, $"{what}: {failure.Message}", failure.ServerMessage, failure),
    };
}
