using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class StatusTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Status_reports_version_db_size_leader_and_raft_state()
    {
        await using var client = new EtcdClient(etcd.ClientUrl);
        var put = await client.PutAsync(etcd.UniquePrefix() + "k", "v");

        var status = await client.Maintenance.StatusAsync();

        Assert.Matches(@"^3\.\d+\.\d+$", status.Version);
        Assert.True(status.DbSize > 0);
        Assert.True(status.DbSizeInUse > 0);
        Assert.Equal(status.Header.MemberId, status.Leader); // single member: it is the leader
        Assert.True(status.RaftIndex > 0);
        Assert.True(status.RaftTerm >= 1);
        Assert.True(status.RaftAppliedIndex > 0);
        Assert.False(status.IsLearner);
        Assert.Empty(status.Errors);
        Assert.True(status.Header.Revision >= put.Header.Revision);
    }
}
