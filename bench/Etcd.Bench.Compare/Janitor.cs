using System.Diagnostics;

namespace Etcd.Bench.Compare;

/// <summary>Keeps etcd clean between runs (keys, leases, history, free pages) and loads the scan data, with this library.</summary>
internal sealed class Janitor(EtcdClient client)
{
    private long _compacted;

    /// <summary>Deletes the prefix, revokes every lease, compacts the history away and waits for the compaction.</summary>
    public async Task CleanAsync(string? prefix, CancellationToken cancellationToken)
    {
        if (prefix is not null) await client.DeleteAsync(KeySet.Prefix(prefix), cancellationToken: cancellationToken);
        var leases = await client.Leases.ListAsync(cancellationToken);
        if (leases.Ids.Count > 0)
        {
            int next = -1;
            await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                for (int i = Interlocked.Increment(ref next); i < leases.Ids.Count; i = Interlocked.Increment(ref next))
                {
                    try
                    {
                        await client.Leases.RevokeAsync(leases.Ids[i], cancellationToken);
                    }
                    catch (EtcdLeaseNotFoundException)
                    {
                        // Expired meanwhile.
                    }
                }
            }, cancellationToken)));
        }
        // Compacting at the revision compacted last fails, and the client then spends 2 s probing for the compact
        // revision (see the note in docs/performance.md): skip it when nothing was written since.
        var status = await client.Maintenance.StatusAsync(cancellationToken);
        if (status.Header.Revision > _compacted)
        {
            try
            {
                await client.CompactAsync(status.Header.Revision, physical: true, cancellationToken);
            }
            catch (EtcdCompactedException)
            {
                // Compacted there before this driver started (a reused etcd).
            }
            _compacted = status.Header.Revision;
        }
    }

    /// <summary>Gives the database's free pages back, so a later row does not pay for an earlier row's garbage.</summary>
    public Task DefragmentAsync(CancellationToken cancellationToken) => client.Maintenance.DefragmentAsync(client.CurrentEndpoint, cancellationToken);

    /// <summary>Writes count 16-byte keys with 256-byte values under the prefix (transactions of 100 puts, 8 at a time).</summary>
    public async Task<TimeSpan> LoadAsync(string prefix, int count, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var value = new byte[256];
        Random.Shared.NextBytes(value);
        int next = -100;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Add(ref next, 100); i < count; i = Interlocked.Add(ref next, 100))
            {
                var txn = client.Txn();
                for (int j = i; j < Math.Min(i + 100, count); j++)
                    txn.Then(TxnOp.Put(prefix + j.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(16 - prefix.Length, '0'), value));
                await txn.CommitAsync(cancellationToken);
            }
        }, cancellationToken)));
        return clock.Elapsed;
    }
}
