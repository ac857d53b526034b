namespace Etcd;

/// <summary>Replaces the client's endpoints with the cluster's member list at a fixed interval, in the background.</summary>
internal sealed class EndpointSyncLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public EndpointSyncLoop(EtcdClient client, TimeSpan interval) => _loop = RunAsync(client, interval);

    private async Task RunAsync(EtcdClient client, TimeSpan interval)
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
                catch (EtcdException)
                {
                    // The cluster could not answer now; the endpoints in use stay, and the next tick tries again.
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
