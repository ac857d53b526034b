using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>The Maintenance service against a real 3-member cluster (this class's own; MoveLeader changes its leader).</summary>
public sealed class MaintenanceTests(EtcdClusterFixture fixture) : IClassFixture<EtcdClusterFixture>, IAsyncLifetime
{
    private EtcdClient client = null!;

    private IEnumerable<Uri> MemberUris => fixture.Cluster.Members.Select(m => new Uri(m.ClientUrl));

    public Task InitializeAsync()
    {
        client = new EtcdClient(fixture.ClientUrls);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await client.DisposeAsync();

    [Fact]
    public async Task Status_of_a_chosen_member_comes_from_that_member()
    {
        foreach (var member in fixture.Cluster.Members)
        {
            var expected = await member.GetStatusAsync();
            Assert.NotNull(expected);

            var status = await client.Maintenance.StatusAsync(new Uri(member.ClientUrl));

            Assert.Equal(expected.MemberId, status.Header.MemberId);
            Assert.NotEqual(0UL, status.Leader);
        }
        var ids = await Task.WhenAll(MemberUris.Select(async u => (await client.Maintenance.StatusAsync(u)).Header.MemberId));
        Assert.Equal(3, ids.Distinct().Count());
    }

    [Fact]
    public async Task HashKv_is_equal_across_members_at_the_same_revision_and_changes_with_a_write()
    {
        var prefix = fixture.UniquePrefix();
        for (int i = 0; i < 20; i++) await client.PutAsync($"{prefix}{i}", $"value {i}");
        var revision = (await client.PutAsync($"{prefix}last", "x")).Header.Revision;

        var hashes = await Task.WhenAll(MemberUris.Select(u => HashKvWhenAppliedAsync(u, revision)));

        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.Equal(3, hashes.Select(h => h.Header.MemberId).Distinct().Count());
        Assert.All(hashes, h => Assert.True(h.Header.Revision >= revision));

        var later = (await client.PutAsync($"{prefix}later", "y")).Header.Revision;
        var atLater = await HashKvWhenAppliedAsync(MemberUris.First(), later);
        Assert.NotEqual(hashes[0].Hash, atLater.Hash);
        var atRevisionAgain = await client.Maintenance.HashKvAsync(MemberUris.First(), revision);
        Assert.Equal(hashes[0].Hash, atRevisionAgain.Hash);
    }

    [Fact]
    public async Task Hash_of_a_chosen_member_comes_from_that_member()
    {
        foreach (var member in fixture.Cluster.Members)
        {
            var expected = (await member.GetStatusAsync())!.MemberId;
            var hash = await client.Maintenance.HashAsync(new Uri(member.ClientUrl));
            Assert.Equal(expected, hash.Header.MemberId);
            Assert.NotEqual(0u, hash.Hash);
        }
    }

    [Fact]
    public async Task Defragment_shrinks_only_the_chosen_members_database()
    {
        var prefix = fixture.UniquePrefix();
        var value = new string('v', 16 * 1024);
        for (int i = 0; i < 150; i++) await client.PutAsync($"{prefix}{i:d3}", value);
        var deleted = await client.DeleteAsync(KeySet.Prefix(prefix));
        await client.CompactAsync(deleted.Header.Revision, physical: true);
        var target = MemberUris.First();
        var other = MemberUris.Last();
        // The compaction is applied on every member; wait until each has freed the pages (in use well below the file size).
        var before = await WaitForFreeSpaceAsync(target, prefix);
        var otherBefore = await WaitForFreeSpaceAsync(other, prefix);

        await client.Maintenance.DefragmentAsync(target);

        var after = await client.Maintenance.StatusAsync(target);
        var otherAfter = await client.Maintenance.StatusAsync(other);
        Assert.True(after.DbSize < before.DbSize / 2, $"target db {before.DbSize} -> {after.DbSize}");
        Assert.True(otherAfter.DbSize >= otherBefore.DbSize, $"other db {otherBefore.DbSize} -> {otherAfter.DbSize}");
    }

    [Fact]
    public async Task Snapshot_to_a_stream_carries_a_verified_sha256_of_the_database()
    {
        await client.PutAsync(fixture.UniquePrefix() + "k", "v");
        var member = MemberUris.First();
        using var buffer = new MemoryStream();

        var result = await client.Maintenance.SnapshotAsync(member, buffer);

        var bytes = buffer.ToArray();
        Assert.Equal(bytes.Length, result.Size);
        Assert.Equal(32, bytes.Length % 512); // etcd's clientv3/snapshot hasChecksum: a whole number of pages, then 32 bytes
        var database = bytes.AsSpan(0, bytes.Length - 32);
        Assert.Equal(SHA256.HashData(database), bytes.AsSpan(bytes.Length - 32).ToArray());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(database)).ToLowerInvariant(), result.Sha256);
        Assert.Equal(bytes.Length - 32, result.DatabaseSize);
        Assert.Equal(member, result.Endpoint);
    }

    [Fact]
    public async Task Snapshot_to_a_file_is_accepted_by_etcdctl_snapshot_status()
    {
        var prefix = fixture.UniquePrefix();
        for (int i = 0; i < 10; i++) await client.PutAsync($"{prefix}{i}", "v");
        var revision = (await client.PutAsync($"{prefix}last", "v")).Header.Revision;
        var dir = Directory.CreateTempSubdirectory("etcd-snapshot-test-");
        try
        {
            var path = Path.Combine(dir.FullName, "snap.db");
            var member = await WaitUntilAppliedAsync(MemberUris.Last(), revision);

            var result = await client.Maintenance.SnapshotToFileAsync(member, path);

            Assert.Equal(new FileInfo(path).Length, result.Size);
            Assert.Equal([path], Directory.GetFiles(dir.FullName)); // no temporary file left
            var status = await new EtcdCtl(member.ToString()).RunCheckedAsync(["snapshot", "status", path, "-w", "json"]);
            using var json = JsonDocument.Parse(status.StdOut);
            Assert.True(json.RootElement.GetProperty("revision").GetInt64() >= revision);
            Assert.True(json.RootElement.GetProperty("totalKey").GetInt64() >= 11);
            Assert.True(json.RootElement.GetProperty("totalSize").GetInt64() > 0);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Alarms_are_empty_on_a_healthy_cluster_and_disarming_a_missing_alarm_is_harmless()
    {
        var listed = await client.Maintenance.ListAlarmsAsync();
        Assert.Empty(listed.Alarms);

        var memberId = (await client.Maintenance.StatusAsync(MemberUris.First())).Header.MemberId;
        var disarmed = await client.Maintenance.DisarmAlarmAsync(memberId, EtcdAlarmType.NoSpace);

        Assert.Empty(disarmed.Alarms);
        Assert.Empty((await client.Maintenance.ListAlarmsAsync()).Alarms);
    }

    [Fact]
    public async Task MoveLeader_to_a_follower_makes_it_the_leader()
    {
        var statuses = await Task.WhenAll(MemberUris.Select(u => client.Maintenance.StatusAsync(u)));
        var leader = statuses[0].Leader;
        var follower = statuses.First(s => s.Header.MemberId != leader).Header.MemberId;

        await client.Maintenance.MoveLeaderAsync(follower);

        // The old leader returns once it sees the follower lead; the others learn it on the new leader's next heartbeat.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            statuses = await Task.WhenAll(MemberUris.Select(u => client.Maintenance.StatusAsync(u)));
            if (statuses.All(s => s.Leader == follower)) break;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"leaders seen: {string.Join(", ", statuses.Select(s => s.Leader))}");
            await Task.Delay(100);
        }
        await client.Maintenance.MoveLeaderAsync(follower); // already the leader: a no-op
        Assert.Equal(follower, (await client.Maintenance.StatusAsync(MemberUris.First())).Leader);
    }

    [Fact]
    public async Task MoveLeader_needs_the_leader_among_the_endpoints()
    {
        var statuses = await Task.WhenAll(MemberUris.Select(u => client.Maintenance.StatusAsync(u)));
        var leaderId = statuses[0].Leader;
        var followers = MemberUris.Where((_, i) => statuses[i].Header.MemberId != leaderId).ToArray();
        await using var followersOnly = new EtcdClient(new EtcdClientOptions { Endpoints = [.. followers.Select(u => u.ToString())] });
        var target = statuses.First(s => s.Header.MemberId != leaderId).Header.MemberId;

        var error = await Assert.ThrowsAsync<EtcdException>(() => followersOnly.Maintenance.MoveLeaderAsync(target));

        Assert.Equal(EtcdStatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains($"{leaderId:x}", error.Message);
        Assert.Equal(leaderId, (await client.Maintenance.StatusAsync(MemberUris.First())).Leader);
    }

    private async Task<HashKvResponse> HashKvWhenAppliedAsync(Uri member, long revision)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await client.Maintenance.HashKvAsync(member, revision);
            }
            catch (EtcdFutureRevisionException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50); // a follower that has not applied the revision yet
            }
        }
    }

    private async Task<Uri> WaitUntilAppliedAsync(Uri member, long revision)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.Maintenance.StatusAsync(member)).Header.Revision < revision)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{member} did not apply revision {revision}");
            await Task.Delay(50);
        }
        return member;
    }

    private async Task<StatusResponse> WaitForFreeSpaceAsync(Uri member, string prefix)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // bolt counts freed pages as free only from a later write transaction on; a small write makes one.
            await client.PutAsync(prefix + "tick", "t");
            var status = await client.Maintenance.StatusAsync(member);
            if (status.DbSizeInUse < status.DbSize / 2) return status;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{member}: {status.DbSizeInUse} of {status.DbSize} bytes still in use");
            await Task.Delay(100);
        }
    }
}
