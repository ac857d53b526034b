using System.Diagnostics;

namespace Etcd.Concurrency;

/// <summary>
/// The waits the recipes share: for one key to be deleted, and for every key of a prefix created before a revision to
/// be deleted (the FIFO queue of locks, elections and read-write locks). Built on watches, so nothing polls.
/// </summary>
internal static class KeyWaits
{
    /// <summary>
    /// The key a session owns under <paramref name="prefix"/>: the prefix followed by the lowercase hex lease id, no
    /// padding (etcd's Go client and etcdctl use this layout for locks and elections, so ours interoperate).
    /// </summary>
    public static EtcdBytes LeaseKey(EtcdBytes prefix, long leaseId)
    {
        var hex = leaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var bytes = new byte[prefix.Length + hex.Length];
        prefix.Span.CopyTo(bytes);
        for (var i = 0; i < hex.Length; i++) bytes[prefix.Length + i] = (byte)hex[i];
        return bytes;
    }

    /// <summary>
    /// Waits until the incarnation of <paramref name="key"/> that existed at revision <paramref name="fromRevision"/> - 1
    /// is deleted (the caller saw it there). Returns a revision at which it was gone: the delete's, or that of a read
    /// that found the key missing or created anew.
    /// </summary>
    /// <remarks>
    /// etcd serves a watch that starts at a past revision from a catch-up loop that runs every 100 ms, and one that
    /// starts "now" as writes happen. So this watches from now, then reads the key: a delete before the read shows in
    /// the read (the key is missing, or was created after <paramref name="fromRevision"/> - 1, so the old one is gone),
    /// and one after it reaches the watch. A key re-created under the same name (a lock waiter queueing again with
    /// its lease's key) is therefore recognised without replaying history. Transient read failures are retried and a
    /// watch whose resume point was compacted after a reconnect is started again, so only the caller's token, a closed
    /// client or a refused watch end the wait early.
    /// </remarks>
    public static async Task<long> WaitForDeleteAsync(IEtcdKeyspace keyspace, EtcdBytes key, long fromRevision, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await WaitForDeleteOnceAsync(keyspace, key, fromRevision, cancellationToken).ConfigureAwait(false);
            }
            catch (EtcdCompactedException)
            {
                // The watch reconnected after its resume point was compacted: watch from now and read again (the
                // caller still saw the key at fromRevision - 1, so the same test applies).
            }
        }
    }

    private static async Task<long> WaitForDeleteOnceAsync(IEtcdKeyspace keyspace, EtcdBytes key, long fromRevision, CancellationToken cancellationToken)
    {
        var deleted = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = keyspace.Watch(key, e =>
        {
            if (e.Type == WatchEventType.Delete) deleted.TrySetResult(e.Revision);
        }, new WatchOptions { NoPut = true });
        await using (watch.ConfigureAwait(false))
        {
            await Task.WhenAny(watch.Started, watch.Completion).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (watch.Completion.IsCompleted) await watch.Completion.ConfigureAwait(false); // rethrows why the watch ended
            long startedAt = Stopwatch.GetTimestamp();
            var now = await ReadKeyAsync(keyspace, key, cancellationToken).ConfigureAwait(false);
            if (IsGone(now, fromRevision)) return now.Header.Revision;

            // etcd 3.4 registers a "from now" watch at (the revision it read) + 1; a write that lands before the watcher is
            // registered puts it on the 100 ms catch-up path (etcdserver/api/v3rpc/watch.go, mvcc watchable_store.go).
            // A read at the created revision proves no write came in between; otherwise the key is re-read a few times
            // while that path could still be holding its delete back.
            bool mayBeSlow = now.Header.Revision != watch.CreatedRevision;
            var waiting = Task.WhenAny(deleted.Task, watch.Completion);
            for (int i = 0; mayBeSlow && i < RecheckTimes.Length; i++)
            {
                var left = RecheckTimes[i] - Stopwatch.GetElapsedTime(startedAt);
                if (left > TimeSpan.Zero)
                {
                    // A pause left behind ends as cancelled, never faulted, so nothing goes unobserved.
                    var pause = Task.Delay(left, cancellationToken);
                    if (await Task.WhenAny(waiting, pause).ConfigureAwait(false) == waiting) break;
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var again = await ReadKeyAsync(keyspace, key, cancellationToken).ConfigureAwait(false);
                if (IsGone(again, fromRevision)) return again.Header.Revision;
            }

            // The same incarnation is still there, so its delete is still to come, and the watch sees it.
            var first = await waiting.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (first == deleted.Task) return await deleted.Task.ConfigureAwait(false);
            await watch.Completion.ConfigureAwait(false);
            throw new InvalidOperationException($"The watch of {key} ended without a delete or an error.");
        }
    }

    /// <summary>
    /// When (after the watch started) the key is re-read while the watch may be on etcd's catch-up path, which runs every
    /// 100 ms: a few reads bound the delay without polling for the whole wait.
    /// </summary>
    private static readonly TimeSpan[] RecheckTimes = [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(110)];

    /// <summary>The key now (keys only); the watch resumes by itself after a reconnect, so the read retries transient failures too.</summary>
    private static Task<GetResponse> ReadKeyAsync(IEtcdKeyspace keyspace, EtcdBytes key, CancellationToken cancellationToken) =>
        TransientRetry.ReadAsync(ct => keyspace.GetAsync(key, new GetOptions { KeysOnly = true }, ct), CancellationToken.None, cancellationToken);

    /// <summary>Whether the incarnation seen at fromRevision - 1 is gone: the key is missing or was created after it.</summary>
    private static bool IsGone(GetResponse now, long fromRevision) => now.First is not { } current || current.CreateRevision >= fromRevision;

    /// <summary>
    /// Waits until no key under <paramref name="prefix"/> has a create revision at or below
    /// <paramref name="maxCreateRevision"/>: repeatedly finds the newest such key and waits for its delete (so each
    /// waiter watches only its predecessor, and a release wakes one waiter). Returns the header of the last read.
    /// </summary>
    public static async Task<ResponseHeader> WaitForOlderDeletesAsync(IEtcdKeyspace keyspace, EtcdBytes prefix, long maxCreateRevision, CancellationToken cancellationToken)
    {
        var options = new GetOptions
        {
            Limit = 1,
            SortOrder = SortOrder.Descending,
            SortTarget = SortTarget.CreateRevision,
            MaxCreateRevision = maxCreateRevision,
            KeysOnly = true,
        };
        while (true)
        {
            var newest = await TransientRetry.ReadAsync(
                ct => keyspace.GetAsync(KeySet.Prefix(prefix), options, ct), CancellationToken.None, cancellationToken).ConfigureAwait(false);
            if (newest.First is not { } predecessor) return newest.Header;
            await WaitForDeleteAsync(keyspace, predecessor.Key, newest.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
        }
    }
}
