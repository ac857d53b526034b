using System.Text;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// The auth admin API against a real etcd with authentication enabled (each test its own server), checked with etcdctl.
/// </summary>
public sealed class AuthAdminTests
{
    private static readonly string P = $"t/{Guid.NewGuid():N}/";

    [Fact]
    public async Task A_user_with_a_role_on_a_prefix_reads_and_writes_inside_and_is_denied_outside()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var root = etcd.NewClient();
        var other = $"t/{Guid.NewGuid():N}/";

        await root.Auth.AddRoleAsync("app-rw");
        await root.Auth.GrantPermissionAsync("app-rw", EtcdPermission.ReadWrite(KeySet.Prefix(P)));
        await root.Auth.GrantPermissionAsync("app-rw", EtcdPermission.Read(KeySet.Single(other + "config")));
        await root.Auth.AddUserAsync("alice", "alice-pw");
        var granted = await root.Auth.GrantRoleAsync("alice", "app-rw");
        Assert.True(granted.Header.Revision > 0);
        await root.PutAsync(other + "config", "c");

        Assert.Equal(["app-rw"], (await root.Auth.GetUserAsync("alice")).Roles);
        var role = await root.Auth.GetRoleAsync("app-rw");
        Assert.Equal("app-rw", role.Name);
        Assert.Equal(
            new[] { EtcdPermission.ReadWrite(KeySet.Prefix(P)), EtcdPermission.Read(KeySet.Single(other + "config")) }.OrderBy(x => x.Keys.Key.ToStringUtf8()),
            role.Permissions.OrderBy(x => x.Keys.Key.ToStringUtf8()));
        Assert.Equal(["alice", "root"], (await root.Auth.ListUsersAsync()).Users);
        // etcd 3.4's root role is built in: granted without being added, and not listed.
        Assert.Equal(["app-rw"], (await root.Auth.ListRolesAsync()).Roles);

        // etcdctl sees the same.
        Assert.Equal("alice\nroot", (await etcd.CtlAsRootAsync("user", "list")).StdOutText.Trim());
        var roleText = (await etcd.CtlAsRootAsync("role", "get", "app-rw")).StdOutText;
        Assert.Contains($"[{P}, {KeySet.PrefixEnd(P)}) (prefix {P})", roleText);
        Assert.Contains(other + "config", roleText);
        Assert.Contains("app-rw", (await etcd.CtlAsRootAsync("user", "get", "alice")).StdOutText);

        await using var alice = etcd.NewClient("alice", "alice-pw");
        await alice.PutAsync(P + "a", "1");
        Assert.Equal("1", await alice.GetStringAsync(P + "a"));
        Assert.Equal("c", await alice.GetStringAsync(other + "config"));
        Assert.Equal("1", Encoding.UTF8.GetString((await etcd.Ctl.RunCheckedAsync(["--user=alice:alice-pw", "get", "--print-value-only", P + "a"])).StdOut).Trim());

        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.PutAsync(other + "config", "x"));
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.PutAsync(other + "b", "x"));
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.GetAsync(other + "b"));
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.DeleteAsync(KeySet.Prefix(other)));
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => alice.Auth.ListUsersAsync());

        // A watch outside the permission ends typed, at once; one inside on the same stream is unaffected.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long now = (await alice.GetAsync(P + "a")).Header.Revision;
        var inside = alice.Watch.WatchAsync(P + "w", new WatchOptions { StartRevision = now + 1 }, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var firstInside = inside.MoveNextAsync().AsTask();
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(async () =>
        {
            await foreach (var _ in alice.Watch.WatchAsync(KeySet.Prefix(other), cancellationToken: timeout.Token)) { }
        });
        await alice.PutAsync(P + "w", "seen");
        Assert.True(await firstInside);
        Assert.Equal("seen", inside.Current.Kv.Value.ToStringUtf8());
        await inside.DisposeAsync();
    }

    [Fact]
    public async Task Users_and_roles_are_changed_revoked_and_deleted_and_refusals_are_typed()
    {
        await using var etcd = await AuthEtcd.StartAsync(AuthTokenKind.Simple, 300);
        await using var root = etcd.NewClient();
        await root.Auth.AddRoleAsync("rw");
        await root.Auth.GrantPermissionAsync("rw", EtcdPermission.ReadWrite(KeySet.Prefix(P)));
        await root.Auth.AddUserAsync("bob", "old-pw");
        await root.Auth.GrantRoleAsync("bob", "rw");
        await root.Auth.GrantRoleAsync("bob", "rw"); // granting again is a no-op

        async Task<EtcdAuthAdminError> Refusal(Func<Task> call) => (await Assert.ThrowsAsync<EtcdAuthAdminException>(call)).Error;
        Assert.Equal(EtcdAuthAdminError.UserAlreadyExists, await Refusal(() => root.Auth.AddUserAsync("bob", "x")));
        Assert.Equal(EtcdAuthAdminError.RoleAlreadyExists, await Refusal(() => root.Auth.AddRoleAsync("rw")));
        Assert.Equal(EtcdAuthAdminError.UserNotFound, await Refusal(() => root.Auth.GetUserAsync("nobody")));
        Assert.Equal(EtcdAuthAdminError.UserNotFound, await Refusal(() => root.Auth.GrantRoleAsync("nobody", "rw")));
        Assert.Equal(EtcdAuthAdminError.RoleNotFound, await Refusal(() => root.Auth.GetRoleAsync("none")));
        Assert.Equal(EtcdAuthAdminError.RoleNotFound, await Refusal(() => root.Auth.GrantRoleAsync("bob", "none")));
        Assert.Equal(EtcdAuthAdminError.RoleNotGranted, await Refusal(() => root.Auth.RevokeRoleAsync("bob", "root")));
        Assert.Equal(EtcdAuthAdminError.PermissionNotGranted, await Refusal(() => root.Auth.RevokePermissionAsync("rw", KeySet.Prefix(P + "sub/"))));
        Assert.Equal(EtcdAuthAdminError.InvalidAuthManagement, await Refusal(() => root.Auth.DeleteUserAsync("root")));

        // A new password: the user's simple tokens are dropped, so a client that knows only the old one now fails.
        await using var oldBob = etcd.NewClient("bob", "old-pw");
        await oldBob.PutAsync(P + "a", "1");
        await root.Auth.ChangePasswordAsync("bob", "new-pw");
        var refused = await Assert.ThrowsAsync<EtcdAuthenticationException>(() => oldBob.GetAsync(P + "a"));
        Assert.DoesNotContain("old-pw", refused.ToString());
        await using var newBob = etcd.NewClient("bob", "new-pw");
        Assert.Equal("1", await newBob.GetStringAsync(P + "a"));
        await etcd.Ctl.RunCheckedAsync(["--user=bob:new-pw", "get", P + "a"]);

        // Revoking the permission takes effect at once; so does revoking the role.
        await root.Auth.GrantPermissionAsync("rw", EtcdPermission.Read(KeySet.Single(P + "ro")));
        await root.Auth.RevokePermissionAsync("rw", KeySet.Prefix(P));
        Assert.Equal([EtcdPermission.Read(KeySet.Single(P + "ro"))], (await root.Auth.GetRoleAsync("rw")).Permissions);
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => newBob.PutAsync(P + "a", "2"));
        await newBob.GetAsync(P + "ro");
        await root.Auth.RevokeRoleAsync("bob", "rw");
        Assert.Empty((await root.Auth.GetUserAsync("bob")).Roles);
        await Assert.ThrowsAsync<EtcdPermissionDeniedException>(() => newBob.GetAsync(P + "ro"));

        await root.Auth.DeleteUserAsync("bob");
        await root.Auth.DeleteRoleAsync("rw");
        Assert.Equal(["root"], (await root.Auth.ListUsersAsync()).Users);
        Assert.Empty((await root.Auth.ListRolesAsync()).Roles);
        Assert.Equal("root", (await etcd.CtlAsRootAsync("user", "list")).StdOutText.Trim());
        Assert.Equal("", (await etcd.CtlAsRootAsync("role", "list")).StdOutText.Trim());
        // The deleted user's client can no longer authenticate.
        await Assert.ThrowsAsync<EtcdAuthenticationException>(() => newBob.GetAsync(P + "ro"));
    }

    [Fact]
    public async Task Enabling_needs_root_with_the_root_role_and_disabling_lets_anonymous_clients_in_again()
    {
        await using var server = await EtcdServer.StartAsync("--bcrypt-cost", "4");
        await using var anonymous = new EtcdClient(server.ClientUrl);
        var key = P + "k";

        Assert.Equal(EtcdAuthAdminError.RootUserNotFound, (await Assert.ThrowsAsync<EtcdAuthAdminException>(() => anonymous.Auth.EnableAsync())).Error);
        await anonymous.Auth.AddUserAsync("root", "root-pw");
        Assert.Equal(EtcdAuthAdminError.RootRoleNotGranted, (await Assert.ThrowsAsync<EtcdAuthAdminException>(() => anonymous.Auth.EnableAsync())).Error);
        await anonymous.Auth.GrantRoleAsync("root", "root");
        await anonymous.Auth.EnableAsync();
        Assert.Contains("true", (await new EtcdCtl(server).RunCheckedAsync(["--user=root:root-pw", "auth", "status"])).StdOutText, StringComparison.OrdinalIgnoreCase);

        // Without credentials nothing goes through any more ("user name is empty").
        await Assert.ThrowsAsync<EtcdAuthenticationException>(() => anonymous.PutAsync(key, "x"));
        await using (var root = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], Credentials = new EtcdCredentials("root", "root-pw") }))
        {
            await root.Auth.EnableAsync(); // a no-op when enabled
            await root.PutAsync(key, "as-root");
            await root.Auth.DisableAsync();
        }
        await anonymous.PutAsync(key, "anonymous");
        Assert.Equal("anonymous", await anonymous.GetStringAsync(key));

        // A user created without a password cannot log in with one.
        await anonymous.Auth.AddUserWithoutPasswordAsync("svc");
        await anonymous.Auth.AddRoleAsync("svc");
        await anonymous.Auth.GrantRoleAsync("svc", "svc");
        Assert.Equal(["svc"], (await anonymous.Auth.GetUserAsync("svc")).Roles);
        await anonymous.Auth.GrantRoleAsync("root", "root");
        await anonymous.Auth.EnableAsync();
        await using var svc = new EtcdClient(new EtcdClientOptions { Endpoints = [server.ClientUrl], Credentials = new EtcdCredentials("svc", "") });
        await Assert.ThrowsAsync<EtcdAuthenticationException>(() => svc.GetAsync(key));
    }
}
