using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// Finds the store's compaction revision, which etcd's Range error does not include: a watch created at a
/// compacted start revision is answered with the compact revision and cancelled.
/// </summary>
internal static class CompactRevisionProbe
{
    /// <summary>Returns the compact revision, or 0 when it could not be found within <paramref name="budget"/>; never throws except for caller cancellation.</summary>
    public static async Task<long> FindAsync(EtcdCallInvoker invoker, EtcdBytes key, long revision, TimeSpan budget, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(budget);
        try
        {
            await using var call = await invoker.StartDuplexAsync(EtcdMethods.WatchStream, DateTime.UtcNow + budget, timeout.Token).ConfigureAwait(false);
            var create = new Pb.WatchCreateRequest
            {
                Key = ProtoMapping.ToByteString(key.IsEmpty ? (EtcdBytes)new byte[] { 0 } : key),
                // One below: Compact(r) is refused for r equal to the compact revision, and a watch from exactly the
                // compact revision is accepted, so probing at r would wait out the whole budget.
                StartRevision = Math.Max(1, revision - 1),
            };
            await call.WriteAsync(new Pb.WatchRequest { CreateRequest = create }, timeout.Token).ConfigureAwait(false);
            while (await call.MoveNextAsync(timeout.Token).ConfigureAwait(false))
            {
                var response = call.Current;
                if (response.CompactRevision > 0) return response.CompactRevision;
                if (response.Canceled || response.Events.Count > 0) return 0;
            }
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
        catch (Exception error) when (error is OperationCanceledException or GrpcCallException or ObjectDisposedException or IOException)
        {
            return 0;
        }
    }
}
