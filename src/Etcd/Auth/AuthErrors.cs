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

    /// <summary>True for a watch cancel reason caused by the stream's token (a fresh token cures it), not by the user's permissions.</summary>
    public static bool IsTokenProblem(string? reason) =>
        reason is not null && (reason.Contains(InvalidToken, StringComparison.Ordinal) || reason.Contains(OldRevision, StringComparison.Ordinal));
}
