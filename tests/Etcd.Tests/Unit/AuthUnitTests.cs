using System.Text.Json;
using Etcd.Operations;
using Etcd.Tests.Transport;
using Etcd.Transport;

namespace Etcd.Tests.Unit;

/// <summary>Credentials, auth argument checks, permission mapping and auth error mapping, without a server.</summary>
public sealed class AuthUnitTests : IAsyncDisposable
{
    private const string Secret = "Sup3r-Secret-Pa55word";

    private readonly FakeHttpHandler _handler = FakeHttpHandler.Returning(() => throw new InvalidOperationException("nothing may be sent"));
    private readonly EtcdClient _client;

    public AuthUnitTests()
    {
        _client = new EtcdClient(new EtcdClientOptions { Endpoints = ["http://127.0.0.1:2379"], HttpHandler = _handler });
    }

    public async ValueTask DisposeAsync() => await _client.DisposeAsync();

    [Fact]
    public void Credentials_are_validated_and_never_print_or_serialize_the_password()
    {
        Assert.Throws<ArgumentNullException>(() => new EtcdCredentials(null!, Secret));
        Assert.Throws<ArgumentException>(() => new EtcdCredentials("", Secret));
        var noPassword = Assert.Throws<ArgumentNullException>(() => new EtcdCredentials("root", null!));
        Assert.Equal("password", noPassword.ParamName);
        Assert.Equal("", new EtcdCredentials("root", "").Password); // etcd accepts an empty password

        var credentials = new EtcdCredentials("root", Secret);
        var options = new EtcdClientOptions { Credentials = credentials };
        Assert.Equal("EtcdCredentials(root, ***)", credentials.ToString());
        Assert.DoesNotContain(Secret, $"{credentials} {options} {options.Credentials}");
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(credentials));
        Assert.Contains("root", JsonSerializer.Serialize(credentials));
    }

    [Fact]
    public async Task Auth_calls_reject_bad_names_passwords_and_permissions_before_sending()
    {
        var auth = _client.Auth;
        await Assert.ThrowsAsync<ArgumentNullException>(() => auth.AddUserAsync(null!, Secret));
        var emptyName = await Assert.ThrowsAsync<ArgumentException>(() => auth.AddUserAsync("", Secret));
        Assert.Equal("name", emptyName.ParamName);
        var nullPassword = await Assert.ThrowsAsync<ArgumentNullException>(() => auth.AddUserAsync("u", null!));
        Assert.Equal("password", nullPassword.ParamName);
        await Assert.ThrowsAsync<ArgumentNullException>(() => auth.ChangePasswordAsync("u", null!));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.AddUserWithoutPasswordAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.GetUserAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.DeleteUserAsync(""));
        Assert.Equal("role", (await Assert.ThrowsAsync<ArgumentException>(() => auth.GrantRoleAsync("u", ""))).ParamName);
        Assert.Equal("user", (await Assert.ThrowsAsync<ArgumentException>(() => auth.RevokeRoleAsync("", "r"))).ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => auth.AddRoleAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.GetRoleAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.DeleteRoleAsync(""));
        await Assert.ThrowsAsync<ArgumentNullException>(() => auth.GrantPermissionAsync("r", null!));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => auth.GrantPermissionAsync("r", new EtcdPermission((EtcdPermissionType)7, KeySet.Prefix("a"))));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.GrantPermissionAsync("r", EtcdPermission.Read("")));
        await Assert.ThrowsAsync<ArgumentException>(() => auth.RevokePermissionAsync("r", default(KeySet)));
        Assert.Equal(0, _handler.Calls);
    }

    [Theory]
    [InlineData("single")]
    [InlineData("range")]
    [InlineData("prefix")]
    [InlineData("fromkey")]
    [InlineData("all")]
    public void Permissions_map_to_etcds_key_and_range_end_and_back(string kind)
    {
        KeySet keys = kind switch
        {
            "single" => KeySet.Single("app/a"),
            "range" => KeySet.Range("app/a", "app/m"),
            "prefix" => KeySet.Prefix("app/"),
            "fromkey" => KeySet.FromKey("app/"),
            _ => KeySet.All,
        };
        var wire = AuthMapping.ToPermission(EtcdPermission.ReadWrite(keys), "permission");
        Assert.Equal(Etcd.Protocol.Auth.Permission.Types.Type.Readwrite, wire.PermType);
        Assert.Equal(keys.WireKey.ToArray(), wire.Key.ToByteArray());
        Assert.Equal(keys.WireRangeEnd.ToArray(), wire.RangeEnd.ToByteArray());

        var back = AuthMapping.ToKeySet(ProtoMapping.ToBytes(wire.Key), ProtoMapping.ToBytes(wire.RangeEnd));
        Assert.Equal(keys, back);
    }

    [Fact]
    public void A_range_that_ends_at_its_prefix_end_reads_back_as_the_prefix()
    {
        Assert.Equal(KeySet.Prefix("ab"), AuthMapping.ToKeySet("ab", "ac"));
        Assert.Equal(KeySet.Range("ab", "ad"), AuthMapping.ToKeySet("ab", "ad"));
        Assert.Throws<EtcdException>(() => AuthMapping.ToKeySet("b", "a")); // stored by another tool; covers nothing
    }

    public static TheoryData<string, EtcdAuthAdminError> AdminErrors => new()
    {
        { "etcdserver: user name already exists", EtcdAuthAdminError.UserAlreadyExists },
        { "etcdserver: user name not found", EtcdAuthAdminError.UserNotFound },
        { "etcdserver: role name already exists", EtcdAuthAdminError.RoleAlreadyExists },
        { "etcdserver: role name not found", EtcdAuthAdminError.RoleNotFound },
        { "etcdserver: role is not granted to the user", EtcdAuthAdminError.RoleNotGranted },
        { "etcdserver: permission is not granted to the role", EtcdAuthAdminError.PermissionNotGranted },
        { "etcdserver: root user does not exist", EtcdAuthAdminError.RootUserNotFound },
        { "etcdserver: root user does not have root role", EtcdAuthAdminError.RootRoleNotGranted },
        { "etcdserver: invalid auth management", EtcdAuthAdminError.InvalidAuthManagement },
        { "etcdserver: authentication is not enabled", EtcdAuthAdminError.AuthNotEnabled },
    };

    [Theory]
    [MemberData(nameof(AdminErrors))]
    public void Auth_admin_refusals_are_typed_with_their_reason(string detail, EtcdAuthAdminError expected)
    {
        var code = detail.Contains("invalid auth management") ? GrpcStatusCode.InvalidArgument : GrpcStatusCode.FailedPrecondition;
        var error = Assert.IsType<EtcdAuthAdminException>(ErrorMapper.Map(new GrpcCallException(code, detail), "/etcdserverpb.Auth/UserAdd"));
        Assert.Equal(expected, error.Error);
        Assert.Equal((EtcdStatusCode)code, error.StatusCode);
        Assert.Equal(detail, error.ServerMessage);
    }

    [Theory]
    [InlineData((int)GrpcStatusCode.Unauthenticated, "etcdserver: invalid auth token")]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: revision of auth store is old")]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: user name is empty")]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password")]
    [InlineData((int)GrpcStatusCode.Unknown, "auth: invalid auth token")] // Maintenance's auth check (Snapshot, Hash...)
    [InlineData((int)GrpcStatusCode.Unknown, "etcdserver: invalid auth token")] // lock and election services
    [InlineData((int)GrpcStatusCode.Unknown, "auth: authentication failed, password was given for no password user")]
    [InlineData((int)GrpcStatusCode.Unknown, "auth: user name is empty")]
    public void Token_and_login_failures_are_authentication_exceptions(int code, string detail)
    {
        Assert.IsType<EtcdAuthenticationException>(ErrorMapper.Map(new GrpcCallException((GrpcStatusCode)code, detail), "/m"));
    }

    [Theory]
    [InlineData((int)GrpcStatusCode.PermissionDenied, "etcdserver: permission denied")]
    [InlineData((int)GrpcStatusCode.Unknown, "auth: permission denied")]
    [InlineData((int)GrpcStatusCode.Unknown, "etcdserver: permission denied")]
    public void Permission_refusals_are_permission_denied_exceptions(int code, string detail)
    {
        Assert.IsType<EtcdPermissionDeniedException>(ErrorMapper.Map(new GrpcCallException((GrpcStatusCode)code, detail), "/m"));
    }

    [Theory]
    [InlineData((int)GrpcStatusCode.Unauthenticated, "etcdserver: invalid auth token", true)]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: revision of auth store is old", true)]
    [InlineData((int)GrpcStatusCode.Unknown, "auth: invalid auth token", true)]
    [InlineData((int)GrpcStatusCode.Unknown, "auth: revision in header is old", true)]
    [InlineData((int)GrpcStatusCode.PermissionDenied, "etcdserver: permission denied", false)]
    [InlineData((int)GrpcStatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password", false)]
    [InlineData((int)GrpcStatusCode.Unavailable, "etcdserver: no leader", false)]
    public void Token_rejections_are_told_apart_from_permission_and_login_failures(int code, string detail, bool rejected)
    {
        Assert.Equal(rejected, AuthErrors.IsTokenRejected(new GrpcCallException((GrpcStatusCode)code, detail)));
    }
}
