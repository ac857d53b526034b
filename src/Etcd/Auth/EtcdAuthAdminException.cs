namespace Etcd;

/// <summary>What an <see cref="EtcdAuthAdminException"/> is about (one per etcd auth error a caller may branch on).</summary>
public enum EtcdAuthAdminError
{
    /// <summary>A user of that name already exists ("user name already exists").</summary>
    UserAlreadyExists,

    /// <summary>No user of that name exists ("user name not found").</summary>
    UserNotFound,

    /// <summary>A role of that name already exists ("role name already exists").</summary>
    RoleAlreadyExists,

    /// <summary>No role of that name exists ("role name not found").</summary>
    RoleNotFound,

    /// <summary>The user does not have the role being revoked ("role is not granted to the user").</summary>
    RoleNotGranted,

    /// <summary>The role has no permission with exactly that key set ("permission is not granted to the role").</summary>
    PermissionNotGranted,

    /// <summary>Authentication cannot be enabled: there is no <c>root</c> user ("root user does not exist").</summary>
    RootUserNotFound,

    /// <summary>Authentication cannot be enabled: the <c>root</c> user lacks the <c>root</c> role ("root user does not have root role").</summary>
    RootRoleNotGranted,

    /// <summary>The change would lock everyone out while authentication is enabled, e.g. deleting <c>root</c> ("invalid auth management").</summary>
    InvalidAuthManagement,

    /// <summary>The call needs authentication to be enabled ("authentication is not enabled").</summary>
    AuthNotEnabled,
}

/// <summary>
/// etcd refused a user, role or auth-state change for a reason named by <see cref="Error"/> (the user or role exists
/// already or does not exist, the role or permission to revoke was not granted, root is missing...).
/// <see cref="EtcdException.StatusCode"/> is the status etcd sent (mostly <see cref="EtcdStatusCode.FailedPrecondition"/>).
/// </summary>
public sealed class EtcdAuthAdminException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdAuthAdminException(EtcdAuthAdminError error, EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(statusCode, message, serverMessage, innerException) => Error = error;

    /// <summary>Which refusal this is.</summary>
    public EtcdAuthAdminError Error { get; }
}
