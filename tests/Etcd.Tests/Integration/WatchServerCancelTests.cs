using System.Reflection;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>A watch the server refuses ends with a typed exception; the other watches on the stream keep running.</summary>
public sealed class WatchServerCancelTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Failed_create_answered_with_id_minus_one_ends_only_that_watch()
    {
        var timeout = TimeSpan.FromSeconds(10);
        var seen = new List<string>();
        await using var healthy = Client.Watch.Watch(KeySet.Prefix(P + "healthy/"), e => { lock (seen) seen.Add(e.Kv.Key.ToStringUtf8()); });
        await healthy.Started.WaitAsync(timeout);

        // A reversed range (the public API rejects it, so it is built through internals) makes etcd refuse the create
        // ("watcher range is empty") with created, canceled and watch id -1: the answer every failed create gets,
        // permission failures included.
        var ctor = typeof(KeySet).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, [typeof(KeySetKind), typeof(EtcdBytes), typeof(EtcdBytes)])!;
        var reversed = (KeySet)ctor.Invoke([KeySetKind.Range, (EtcdBytes)(P + "z"), (EtcdBytes)(P + "a")]);
        var refused = Client.Watch.Manager.Add(reversed, new WatchOptions());

        var error = await Assert.ThrowsAsync<EtcdWatchCanceledException>(() => refused.Created.WaitAsync(timeout));
        Assert.Contains("watcher range is empty", error.ServerMessage);
        await Assert.ThrowsAsync<EtcdWatchCanceledException>(async () => await refused.WaitToReadAsync(CancellationToken.None).AsTask().WaitAsync(timeout));

        await Client.PutAsync(P + "healthy/after", "x");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (seen) if (seen.Contains(P + "healthy/after")) break;
            Assert.True(DateTime.UtcNow < deadline, "the healthy watch stopped");
            await Task.Delay(20);
        }
        Assert.False(healthy.Completion.IsCompleted);
    }
}
