namespace Etcd.Operations;

/// <summary>
/// Lets a shared stream's loop sleep while it has nothing to serve (its watches or leases all ended after a fatal
/// failure) until something is added. Both members are called under the owner's lock, which also guards the collection.
/// </summary>
internal sealed class AdditionSignal
{
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Something was added (call under the owner's lock).</summary>
    public void Notify() => _added.TrySetResult();

    /// <summary>Waits until something is added unless <paramref name="hasItems"/> already says so; false when <paramref name="stop"/> fires.</summary>
    public async Task<bool> WaitAsync(object gate, Func<bool> hasItems, CancellationToken stop)
    {
        Task added;
        lock (gate)
        {
            if (hasItems()) return true;
            _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            added = _added.Task;
        }
        try
        {
            await added.WaitAsync(stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
