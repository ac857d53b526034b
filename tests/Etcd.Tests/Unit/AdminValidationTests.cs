using Etcd.Tests.Transport;

namespace Etcd.Tests.Unit;

/// <summary>Bad arguments to the Cluster and Maintenance calls fail before anything is sent.</summary>
public sealed class AdminValidationTests : IAsyncDisposable
{
    private readonly FakeHttpHandler _handler = FakeHttpHandler.Returning(() => throw new InvalidOperationException("nothing may be sent"));
    private readonly EtcdClient _client;

    public AdminValidationTests()
    {
        _client = new EtcdClient(new EtcdClientOptions { Endpoints = ["http://127.0.0.1:2379", "http://10.0.0.2:2379"], HttpHandler = _handler });
    }

    public async ValueTask DisposeAsync() => await _client.DisposeAsync();

    public static TheoryData<string> BadPeerUrls => new()
    {
        "http://127.0.0.1:2380/path",
        "http://127.0.0.1:2380/?q=1",
        "http://127.0.0.1:2380/#f",
        "http://user@127.0.0.1:2380",
        "ftp://127.0.0.1:2380",
    };

    [Theory]
    [MemberData(nameof(BadPeerUrls))]
    public async Task Member_add_and_update_reject_a_peer_url_that_is_not_scheme_host_port(string url)
    {
        var add = await Assert.ThrowsAsync<ArgumentException>(() => _client.Cluster.AddMemberAsync([new Uri(url)]));
        var update = await Assert.ThrowsAsync<ArgumentException>(() => _client.Cluster.UpdateMemberAsync(1, [new Uri(url)]));

        Assert.Equal("peerUrls", add.ParamName);
        Assert.Equal("peerUrls", update.ParamName);
        Assert.Equal(0, _handler.Calls);
    }

    [Fact]
    public async Task Member_add_rejects_missing_empty_relative_null_and_duplicate_peer_urls()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => _client.Cluster.AddMemberAsync(null!));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Cluster.AddMemberAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Cluster.AddMemberAsync([new Uri("peers/2380", UriKind.Relative)]));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Cluster.AddMemberAsync([null!]));
        var duplicate = await Assert.ThrowsAsync<ArgumentException>(() =>
            _client.Cluster.AddMemberAsync([new Uri("http://127.0.0.1:80"), new Uri("http://127.0.0.1")]));
        Assert.Contains("http://127.0.0.1:80", duplicate.Message);
        Assert.Equal(0, _handler.Calls);
    }

    [Fact]
    public async Task Member_id_zero_is_rejected_everywhere()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Cluster.RemoveMemberAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Cluster.UpdateMemberAsync(0, [new Uri("http://127.0.0.1:2380")]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Cluster.PromoteMemberAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Maintenance.DisarmAlarmAsync(0, EtcdAlarmType.NoSpace));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Maintenance.MoveLeaderAsync(0));
        Assert.Equal(0, _handler.Calls);
    }

    [Fact]
    public async Task A_member_url_outside_the_endpoints_is_rejected_naming_the_endpoints()
    {
        var other = new Uri("http://127.0.0.1:9999");
        var errors = new[]
        {
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.StatusAsync(other)),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.DefragmentAsync(other)),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.HashAsync(other)),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.HashKvAsync(other)),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.SnapshotAsync(other, new MemoryStream())),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.SnapshotToFileAsync(other, "x.db")),
            await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.StatusAsync(new Uri("/relative", UriKind.Relative))),
        };
        Assert.All(errors, e =>
        {
            Assert.Equal("member", e.ParamName);
            Assert.Contains("http://127.0.0.1:2379/", e.Message);
            Assert.Contains("http://10.0.0.2:2379/", e.Message);
        });
        await Assert.ThrowsAsync<ArgumentNullException>(() => _client.Maintenance.StatusAsync(null!));
        Assert.Equal(0, _handler.Calls);
    }

    [Fact]
    public async Task Other_bad_maintenance_arguments_are_rejected()
    {
        var member = new Uri("http://127.0.0.1:2379");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Maintenance.HashKvAsync(member, -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Maintenance.DisarmAlarmAsync(1, (EtcdAlarmType)0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Maintenance.DisarmAlarmAsync(1, (EtcdAlarmType)7));
        await Assert.ThrowsAsync<ArgumentNullException>(() => _client.Maintenance.SnapshotAsync(null!));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Maintenance.SnapshotAsync(new MemoryStream([], writable: false)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _client.Maintenance.SnapshotToFileAsync(""));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _client.Maintenance.SnapshotToFileAsync(null!));
        Assert.Equal(0, _handler.Calls);
    }

    [Fact]
    public async Task A_member_url_matches_its_endpoint_by_scheme_host_and_port()
    {
        // Trailing slash and host case do not matter: the call is made (and fails in the fake handler, after sending).
        var handler = FakeHttpHandler.Returning(() => GrpcTestMessages.TrailersOnly("14", "fake"));
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = ["http://LOCALHOST:2379"], HttpHandler = handler });

        await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.Maintenance.StatusAsync(new Uri("http://localhost:2379")));

        Assert.Equal(1, handler.Calls);
    }
}
