namespace Etcd.Operations;

/// <summary>
/// The pause before a shared stream (watch, lease keep-alive) is reopened: the minimum after a stream that made
/// progress, doubling up to a maximum while attempts keep failing, with a little jitter so clients do not reconnect in step.
/// </summary>
internal sealed class StreamBackoff(TimeSpan min, TimeSpan max)
{
    private TimeSpan _current;

    /// <summary>Waits before the next attempt; false when <paramref name="cancellationToken"/> ended the wait (stop reconnecting).</summary>
    public async Task<bool> WaitAsync(bool progressed, CancellationToken cancellationToken)
    {
        _current = progressed || _current == TimeSpan.Zero ? min : TimeSpan.FromTicks(Math.Min(_current.Ticks * 2, max.Ticks));
        try
        {
            await Task.Delay(_current + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 50)), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits for a helper loop of a stream that has been disposed; its failure was the stream's, already handled by reopening it.</summary>
    public static async Task ObserveAsync(Task loop)
    {
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
        }
    }
}
