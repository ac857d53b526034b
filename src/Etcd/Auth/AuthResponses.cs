namespace Etcd;

/// <summary>The answer to an auth change (enable, disable, add, delete, grant, revoke, change password).</summary>
/// <param name="Header">The response header.</param>
public sealed record AuthResponse(ResponseHeader Header) : EtcdResponse(Header);

/// <summary>A user and the roles granted to it.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Name">The user name.</param>
/// <param name="Roles">The names of its roles, sorted (empty when it has none).</param>
public sealed record AuthUserResponse(ResponseHeader Header, string Name, IReadOnlyList<string> Roles) : EtcdResponse(Header);

/// <summary>A role and the permissions it grants.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Name">The role name.</param>
/// <param name="Permissions">Its permissions, in etcd's order (by key); empty for a role without any.</param>
public sealed record AuthRoleResponse(ResponseHeader Header, string Name, IReadOnlyList<EtcdPermission> Permissions) : EtcdResponse(Header);

/// <summary>Every user name.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Users">The user names, sorted.</param>
public sealed record AuthUserListResponse(ResponseHeader Header, IReadOnlyList<string> Users) : EtcdResponse(Header);

/// <summary>Every role name.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Roles">The role names, sorted. etcd 3.4's <c>root</c> role is built in: it can be granted without being added, and is listed only if it was added.</param>
public sealed record AuthRoleListResponse(ResponseHeader Header, IReadOnlyList<string> Roles) : EtcdResponse(Header);
