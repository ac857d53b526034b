using Etcd.Operations;
using Pb = Etcd.Protocol;
using AuthPb = Etcd.Protocol.Auth;

namespace Etcd;

/// <summary>
/// etcd's auth administration: enable and disable authentication, manage users, roles and the permissions roles grant.
/// Reached through <see cref="EtcdClient.Auth"/>. Once authentication is enabled, only the <c>root</c> user (or a user
/// with the <c>root</c> role) may call these. etcd's refusals that a caller may branch on (exists already, not found,
/// not granted) are <see cref="EtcdAuthAdminException"/> with an <see cref="EtcdAuthAdminError"/>.
/// </summary>
public sealed class AuthClient
{
    private readonly EtcdCallInvoker _invoker;

    internal AuthClient(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>
    /// Enables authentication. The <c>root</c> user must exist and have the <c>root</c> role
    /// (<see cref="EtcdAuthAdminError.RootUserNotFound"/>, <see cref="EtcdAuthAdminError.RootRoleNotGranted"/> otherwise).
    /// A no-op when already enabled. From then on every call needs <see cref="EtcdClientOptions.Credentials"/>.
    /// </summary>
    public async Task<AuthResponse> EnableAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.AuthEnable, new Pb.AuthEnableRequest(), cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>Disables authentication (needs <c>root</c>); a no-op when already disabled.</summary>
    public async Task<AuthResponse> DisableAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.AuthDisable, new Pb.AuthDisableRequest(), cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>
    /// Adds user <paramref name="name"/> with <paramref name="password"/> (may be empty, not null); throws
    /// <see cref="EtcdAuthAdminException"/> (<see cref="EtcdAuthAdminError.UserAlreadyExists"/>) when it exists.
    /// etcd 3.4 hashes the password on every member, so it travels through the raft log in clear: use TLS between members.
    /// </summary>
    public Task<AuthResponse> AddUserAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "user");
        AuthMapping.Password(password, nameof(password));
        return AddUserCoreAsync(new Pb.AuthUserAddRequest { Name = name, Password = password }, cancellationToken);
    }

    /// <summary>
    /// Adds user <paramref name="name"/> without a password: it cannot authenticate with a password (only through a TLS
    /// client certificate whose common name is the user name, with etcd's <c>--client-cert-auth</c>).
    /// </summary>
    public Task<AuthResponse> AddUserWithoutPasswordAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "user");
        return AddUserCoreAsync(new Pb.AuthUserAddRequest { Name = name, Options = new AuthPb.UserAddOptions { NoPassword = true } }, cancellationToken);
    }

    private async Task<AuthResponse> AddUserCoreAsync(Pb.AuthUserAddRequest request, CancellationToken cancellationToken)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.UserAdd, request, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>The user <paramref name="name"/> and its roles; <see cref="EtcdAuthAdminError.UserNotFound"/> when there is none.</summary>
    public async Task<AuthUserResponse> GetUserAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "user");
        var response = await _invoker.UnaryAsync(EtcdMethods.UserGet, new Pb.AuthUserGetRequest { Name = name }, cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new AuthUserResponse(ProtoMapping.ToHeader(response.Header), name, AuthMapping.ToList(response.Roles));
    }

    /// <summary>Every user name.</summary>
    public async Task<AuthUserListResponse> ListUsersAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.UserList, new Pb.AuthUserListRequest(), cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new AuthUserListResponse(ProtoMapping.ToHeader(response.Header), AuthMapping.ToList(response.Users));
    }

    /// <summary>
    /// Deletes user <paramref name="name"/> (its tokens stop working); <see cref="EtcdAuthAdminError.UserNotFound"/> when
    /// there is none, <see cref="EtcdAuthAdminError.InvalidAuthManagement"/> for <c>root</c> while authentication is enabled.
    /// </summary>
    public async Task<AuthResponse> DeleteUserAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "user");
        var response = await _invoker.UnaryAsync(EtcdMethods.UserDelete, new Pb.AuthUserDeleteRequest { Name = name }, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>
    /// Sets the password of user <paramref name="name"/> (may be empty, not null). Clients already authenticated as the
    /// user keep their tokens until these expire or are rejected; they then need the new password.
    /// </summary>
    public async Task<AuthResponse> ChangePasswordAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "user");
        AuthMapping.Password(password, nameof(password));
        var request = new Pb.AuthUserChangePasswordRequest { Name = name, Password = password };
        var response = await _invoker.UnaryAsync(EtcdMethods.UserChangePassword, request, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>Grants role <paramref name="role"/> to user <paramref name="user"/> (both must exist); a no-op when it already has it.</summary>
    public async Task<AuthResponse> GrantRoleAsync(string user, string role, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(user, nameof(user), "user");
        AuthMapping.Name(role, nameof(role), "role");
        var response = await _invoker.UnaryAsync(EtcdMethods.UserGrantRole, new Pb.AuthUserGrantRoleRequest { User = user, Role = role }, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>Revokes role <paramref name="role"/> from user <paramref name="user"/>; <see cref="EtcdAuthAdminError.RoleNotGranted"/> when it does not have it.</summary>
    public async Task<AuthResponse> RevokeRoleAsync(string user, string role, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(user, nameof(user), "user");
        AuthMapping.Name(role, nameof(role), "role");
        var response = await _invoker.UnaryAsync(EtcdMethods.UserRevokeRole, new Pb.AuthUserRevokeRoleRequest { Name = user, Role = role }, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>Adds role <paramref name="name"/> without permissions; <see cref="EtcdAuthAdminError.RoleAlreadyExists"/> when it exists.</summary>
    public async Task<AuthResponse> AddRoleAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "role");
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleAdd, new Pb.AuthRoleAddRequest { Name = name }, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>The role <paramref name="name"/> and its permissions; <see cref="EtcdAuthAdminError.RoleNotFound"/> when there is none.</summary>
    public async Task<AuthRoleResponse> GetRoleAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "role");
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleGet, new Pb.AuthRoleGetRequest { Role = name }, cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new AuthRoleResponse(ProtoMapping.ToHeader(response.Header), name, AuthMapping.ToPermissions(response.Perm));
    }

    /// <summary>Every role name.</summary>
    public async Task<AuthRoleListResponse> ListRolesAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleList, new Pb.AuthRoleListRequest(), cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new AuthRoleListResponse(ProtoMapping.ToHeader(response.Header), AuthMapping.ToList(response.Roles));
    }

    /// <summary>
    /// Deletes role <paramref name="name"/> (and takes it from every user); <see cref="EtcdAuthAdminError.RoleNotFound"/>
    /// when there is none, <see cref="EtcdAuthAdminError.InvalidAuthManagement"/> for <c>root</c> while authentication is enabled.
    /// </summary>
    public async Task<AuthResponse> DeleteRoleAsync(string name, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(name, nameof(name), "role");
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleDelete, new Pb.AuthRoleDeleteRequest { Role = name }, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>
    /// Grants <paramref name="permission"/> to role <paramref name="role"/>. etcd keeps one permission per exact key set:
    /// granting again on the same keys REPLACES its type (Read then Write gives Write, not ReadWrite); overlapping sets
    /// are separate permissions and add up.
    /// </summary>
    public async Task<AuthResponse> GrantPermissionAsync(string role, EtcdPermission permission, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(role, nameof(role), "role");
        var request = new Pb.AuthRoleGrantPermissionRequest { Name = role, Perm = AuthMapping.ToPermission(permission, nameof(permission)) };
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleGrantPermission, request, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }

    /// <summary>
    /// Revokes the permission of role <paramref name="role"/> on exactly <paramref name="keys"/> (the same key set it was
    /// granted on, whatever its type); <see cref="EtcdAuthAdminError.PermissionNotGranted"/> when there is none.
    /// </summary>
    public async Task<AuthResponse> RevokePermissionAsync(string role, KeySet keys, CancellationToken cancellationToken = default)
    {
        AuthMapping.Name(role, nameof(role), "role");
        keys.Validate(nameof(keys));
        var request = new Pb.AuthRoleRevokePermissionRequest
        {
            Role = role,
            Key = ProtoMapping.ToByteString(keys.WireKey),
            RangeEnd = ProtoMapping.ToByteString(keys.WireRangeEnd),
        };
        var response = await _invoker.UnaryAsync(EtcdMethods.RoleRevokePermission, request, cancellationToken).ConfigureAwait(false);
        return new AuthResponse(ProtoMapping.ToHeader(response.Header));
    }
}
