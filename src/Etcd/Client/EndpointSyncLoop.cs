namespace Etcd;

/// <summary>Replaces the client's endpoints with the cluster's member list at a fixed interval, in the background.</summary>
internal sealed class EndpointSyncLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _disposed;

    public EndpointSyncLoop(EtcdClient client, TimeSpan interval, Microsoft.Extensions.Logging.ILogger log) => _loop = RunAsync(client, interval, log);

    private async Task RunAsync(EtcdClient client, TimeSpan interval, Microsoft.Extensions.Logging.ILogger log)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                try
                {
                    await client.SyncEndpointsAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception error) when (error is not OperationCanceledException and not ObjectDisposedException)
                {
                    // The cluster could not answer now, or answered URLs that do not parse: the endpoints in use stay,
                    // and the next tick tries again.
                    Operations.ClientLog.EndpointSyncFailed(log, error);
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // The client was disposed under the loop.
        }
    }

    /// <summary>Stops the loop and waits for it; safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }
}
