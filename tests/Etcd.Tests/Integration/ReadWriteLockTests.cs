using System.Diagnostics;
using System.Globalization;
using Etcd.Concurrency;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

public sealed class ReadWriteLockTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan NotHappening = TimeSpan.FromSeconds(1.5);

    private async Task<ReadWriteLock> NewLockAsync(List<Session> sessions)
    {
        var session = await Session.CreateAsync(Client, new SessionOptions { Ttl = TimeSpan.FromSeconds(30) });
        sessions.Add(session);
        return new ReadWriteLock(session, P + "rw");
    }

    private async Task WaitUntilExistsAsync(EtcdBytes key)
    {
        var clock = Stopwatch.StartNew();
        while ((await Client.GetAsync(key, new GetOptions { CountOnly = true })).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, $"key {key} did not appear within {Long.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    private static async Task AssertStillPendingAsync(Task task, string what)
    {
        await Task.WhenAny(task, Task.Delay(NotHappening));
        Assert.False(task.IsCompleted, $"{what} ({task.Status})");
    }

    private static async Task DisposeAllAsync(List<Session> sessions)
    {
        foreach (var session in sessions) await session.DisposeAsync();
    }

    [Fact]
    public async Task Keys_follow_the_read_and_write_layout()
    {
        var sessions = new List<Session>();
        try
        {
            var rw = await NewLockAsync(sessions);
            var hex = sessions[0].LeaseId.ToString("x", CultureInfo.InvariantCulture);
            Assert.Equal(P + "rw/read/" + hex, rw.ReadKey.ToString());
            Assert.Equal(P + "rw/write/" + hex, rw.WriteKey.ToString());
            var read = await rw.ReadLockAsync();
            Assert.Equal(rw.ReadKey, read.Key);
            Assert.Equal(read.Revision, (await Client.GetAsync(rw.ReadKey)).First!.CreateRevision);
            await read.UnlockAsync();
            await using var write = await rw.WriteLockAsync();
            Assert.Equal(rw.WriteKey, write.Key);
            Assert.Null((await Client.GetAsync(rw.ReadKey)).First);
        }
        finally
        {
            await DisposeAllAsync(sessions);
        }
    }

    [Fact]
    public async Task Two_readers_hold_at_once_and_a_writer_waits_for_both()
    {
        var sessions = new List<Session>();
        try
        {
            var r1 = await (await NewLockAsync(sessions)).ReadLockAsync();
            var r2 = await (await NewLockAsync(sessions)).ReadLockAsync().WaitAsync(Long);
            var writer = await NewLockAsync(sessions);
            var writing = writer.WriteLockAsync();
            await WaitUntilExistsAsync(writer.WriteKey);
            await AssertStillPendingAsync(writing, "the writer got the lock while two readers hold it");

            await r1.UnlockAsync();
            await AssertStillPendingAsync(writing, "the writer got the lock while a reader holds it");

            await r2.UnlockAsync();
            var w = await writing.WaitAsync(Long);
            Assert.True(w.Revision > r2.Revision);
            await w.UnlockAsync();
        }
        finally
        {
            await DisposeAllAsync(sessions);
        }
    }

    [Fact]
    public async Task A_reader_waits_while_a_writer_holds_and_a_second_writer_waits_too()
    {
        var sessions = new List<Session>();
        try
        {
            var w1 = await (await NewLockAsync(sessions)).WriteLockAsync();
            var reader = await NewLockAsync(sessions);
            var reading = reader.ReadLockAsync();
            await WaitUntilExistsAsync(reader.ReadKey);
            await AssertStillPendingAsync(reading, "a reader got the lock while a writer holds it");
            var secondWriter = await NewLockAsync(sessions);
            await Assert.ThrowsAsync<TimeoutException>(() => secondWriter.WriteLockAsync(TimeSpan.FromSeconds(1)));

            await w1.UnlockAsync();
            await using var r = await reading.WaitAsync(Long);
            Assert.False(r.IsLost);
        }
        finally
        {
            await DisposeAllAsync(sessions);
        }
    }

    [Fact]
    public async Task A_reader_queued_behind_a_waiting_writer_waits_for_it()
    {
        var sessions = new List<Session>();
        try
        {
            var r1 = await (await NewLockAsync(sessions)).ReadLockAsync();
            var writer = await NewLockAsync(sessions);
            var writing = writer.WriteLockAsync();
            await WaitUntilExistsAsync(writer.WriteKey);
            var reader2 = await NewLockAsync(sessions);
            var reading = reader2.ReadLockAsync();
            await WaitUntilExistsAsync(reader2.ReadKey);

            // Only a reader holds the lock, yet the second reader must wait: a writer queued before it.
            await AssertStillPendingAsync(reading, "a reader overtook a waiting writer");
            await r1.UnlockAsync();
            var w = await writing.WaitAsync(Long);
            await AssertStillPendingAsync(reading, "a reader got the lock while the writer holds it");
            await w.UnlockAsync();
            await using var r2 = await reading.WaitAsync(Long);
            Assert.True(r2.Revision > r1.Revision);
        }
        finally
        {
            await DisposeAllAsync(sessions);
        }
    }

    [Fact]
    public async Task A_session_holds_the_read_write_lock_once_and_timeouts_leave_no_keys()
    {
        var sessions = new List<Session>();
        try
        {
            var rw = await NewLockAsync(sessions);
            var read = await rw.ReadLockAsync();
            await Assert.ThrowsAsync<InvalidOperationException>(() => rw.WriteLockAsync());
            await Assert.ThrowsAsync<InvalidOperationException>(() => rw.ReadLockAsync());

            var other = await NewLockAsync(sessions);
            var timeout = await Assert.ThrowsAsync<TimeoutException>(() => other.WriteLockAsync(TimeSpan.FromSeconds(1)));
            Assert.Contains(P + "rw", timeout.Message);
            Assert.Equal(1, (await Client.GetAsync(KeySet.Prefix(P + "rw/"), new GetOptions { CountOnly = true })).Count);
            await using var otherRead = await other.ReadLockAsync(TimeSpan.FromSeconds(10));
            await read.UnlockAsync();
        }
        finally
        {
            await DisposeAllAsync(sessions);
        }
    }
}
