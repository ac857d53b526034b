using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>The shared wait for a key's delete: every path (gone already, deleted later, deleted and re-created) against real etcd.</summary>
public sealed class KeyWaitsTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_key_already_gone_ends_the_wait_at_once()
    {
        var put = await Client.PutAsync(P + "k", "v");
        await Client.DeleteAsync(P + "k");
        var revision = await KeyWaits.WaitForDeleteAsync(Client, P + "k", put.Header.Revision + 1, CancellationToken.None).WaitAsync(Patience);
        Assert.True(revision > put.Header.Revision);
    }

    [Fact]
    public async Task A_later_delete_ends_the_wait_with_its_revision_and_puts_do_not()
    {
        var put = await Client.PutAsync(P + "k", "v");
        var wait = KeyWaits.WaitForDeleteAsync(Client, P + "k", put.Header.Revision + 1, CancellationToken.None);
        await Client.PutAsync(P + "k", "changed");
        await Client.PutAsync(P + "other", "x");
        Assert.False(wait.IsCompleted);
        var deleted = await Client.DeleteAsync(P + "k");
        Assert.Equal(deleted.Header.Revision, await wait.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_key_deleted_and_created_again_counts_as_deleted()
    {
        var put = await Client.PutAsync(P + "k", "v");
        var deleted = await Client.DeleteAsync(P + "k");
        var again = await Client.PutAsync(P + "k", "again");
        // The key exists now, but it is a new incarnation: the one we knew was deleted.
        var revision = await KeyWaits.WaitForDeleteAsync(Client, P + "k", put.Header.Revision + 1, CancellationToken.None).WaitAsync(Patience);
        Assert.True(revision >= again.Header.Revision, $"{revision} should be at or after the re-create at {again.Header.Revision}");
    }

    [Fact]
    public async Task A_key_only_modified_since_is_still_waited_for()
    {
        var put = await Client.PutAsync(P + "k", "v");
        await Client.PutAsync(P + "k", "modified");
        var wait = KeyWaits.WaitForDeleteAsync(Client, P + "k", put.Header.Revision + 1, CancellationToken.None);
        await Client.PutAsync(P + "k", "modified again");
        var deleted = await Client.DeleteAsync(P + "k");
        Assert.Equal(deleted.Header.Revision, await wait.WaitAsync(Patience));
    }

    [Fact]
    public async Task Works_in_a_namespace_and_honours_cancellation()
    {
        var ns = Client.WithNamespace(P);
        var put = await ns.PutAsync("k", "v");
        using var cts = new CancellationTokenSource();
        var wait = KeyWaits.WaitForDeleteAsync(ns, "k", put.Header.Revision + 1, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Patience));

        var second = KeyWaits.WaitForDeleteAsync(ns, "k", put.Header.Revision + 1, CancellationToken.None);
        var deleted = await Client.DeleteAsync(P + "k");
        Assert.Equal(deleted.Header.Revision, await second.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_watch_reports_the_revision_the_server_read_when_it_confirmed_it()
    {
        var put = await Client.PutAsync(P + "k", "v");
        await using var watch = Client.Watch.Watch(P + "k", _ => { });
        Assert.Equal(0, watch.CreatedRevision);
        await watch.Started.WaitAsync(Patience);
        // This class has its own etcd and its tests run one at a time: nothing was written since the put.
        Assert.Equal(put.Header.Revision, watch.CreatedRevision);
        var read = await Client.GetAsync(P + "k");
        Assert.Equal(read.Header.Revision, watch.CreatedRevision);
    }
}
