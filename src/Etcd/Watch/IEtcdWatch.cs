namespace Etcd;

/// <summary>
/// Watches: changes of a key, range, prefix or everything, from now or from a past revision. Every watch of a client
/// shares one stream, survives reconnects without losing or repeating an event, and ends with an exception rather than
/// silently (<see cref="EtcdCompactedException"/> when its revision was compacted, <see cref="EtcdWatchCanceledException"/>
/// when the server cancelled it, <see cref="ObjectDisposedException"/> when the client was disposed).
/// </summary>
public interface IEtcdWatch
{
    /// <summary>
    /// Streams single events in order. The watch is created when the enumeration starts; leaving the loop or cancelling
    /// <paramref name="cancellationToken"/> cancels it on the server.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Streams responses: the events of one revision (one transaction) stay together, and progress notifications show too.</summary>
    IAsyncEnumerable<WatchResponse> WatchResponsesAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Calls <paramref name="onEvent"/> for each event, one at a time, on a task of the watch's own (never on the stream's receive loop); dispose the handle to stop.</summary>
    WatchSubscription Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options = null);

    /// <summary>Calls <paramref name="onEvent"/> for each event, one at a time, on a task of the watch's own; dispose the handle to stop.</summary>
    WatchSubscription Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options = null);
}
