using Etcd.Operations;

namespace Etcd;

/// <summary>A running callback watch. <see cref="Completion"/> says how it ended; disposing stops it.</summary>
public sealed class WatchSubscription : IAsyncDisposable
{
    // Which subscription's callback is running on this flow; a scope object, so tasks the callback starts (which inherit
    // the AsyncLocal) stop counting as "inside" once the callback returned.
    private static readonly AsyncLocal<CallbackScope?> s_inCallback = new();
    private readonly WatchManager _manager;
    private readonly Watcher _watcher;
    private readonly Func<WatchEvent, CancellationToken, ValueTask> _onEvent;
    private readonly CancellationTokenSource _stop = new();
    private long _seenRevision;

    internal WatchSubscription(WatchManager manager, Watcher watcher, Func<WatchEvent, CancellationToken, ValueTask> onEvent)
    {
        _manager = manager;
        _watcher = watcher;
        _onEvent = onEvent;
        Completion = Task.Run(RunAsync);
    }

    /// <summary>
    /// Completes when the watch ends: successfully after <see cref="Cancel"/> or disposal; faulted with the reason otherwise
    /// (<see cref="EtcdCompactedException"/>, <see cref="EtcdWatchCanceledException"/>, <see cref="ObjectDisposedException"/>
    /// for a disposed client, or the exception the callback threw).
    /// </summary>
    public Task Completion { get; }

    /// <summary>
    /// Completes once the server has confirmed the watch: from then on every change is delivered (useful with a watch
    /// "from now" before writing). Faults like <see cref="Completion"/> if the watch ends first.
    /// </summary>
    public Task Started => _watcher.Created.Task;

    /// <summary>
    /// The store revision the server read when it first confirmed the watch (0 until <see cref="Started"/> completes).
    /// A read whose header revision equals it proves nothing was written between the watch's start and the read.
    /// </summary>
    public long CreatedRevision => _watcher.Created.Task.IsCompletedSuccessfully ? _watcher.CreatedRevision : 0;

    /// <summary>Every change up to this revision has been passed to the callback (moved by events and progress notifications).</summary>
    public long SeenRevision => Volatile.Read(ref _seenRevision);

    /// <summary>Stops the watch without waiting; safe to call from inside the callback.</summary>
    public void Cancel() => _stop.Cancel();

    /// <summary>Stops the watch and waits for the callback in progress to return (from inside the callback: does not wait).</summary>
    public async ValueTask DisposeAsync()
    {
        Cancel();
        if (s_inCallback.Value is { Active: true } scope && scope.Owner == this) return;
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // How it ended is in Completion; disposing does not rethrow it.
        }
    }

    private sealed class CallbackScope(WatchSubscription owner)
    {
        public WatchSubscription Owner { get; } = owner;

        public bool Active { get; set; } = true;
    }

    private async Task RunAsync()
    {
        try
        {
            var reader = _watcher.Reader;
            while (await _watcher.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var response))
                {
                    _watcher.OnConsumed();
                    foreach (var e in response.Events)
                    {
                        _stop.Token.ThrowIfCancellationRequested();
                        var scope = new CallbackScope(this);
                        s_inCallback.Value = scope;
                        try
                        {
                            await _onEvent(e, _stop.Token).ConfigureAwait(false);
                        }
                        finally
                        {
                            scope.Active = false;
                            s_inCallback.Value = null;
                        }
                    }
                    if (response.SeenRevision > _seenRevision) Volatile.Write(ref _seenRevision, response.SeenRevision);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped by the owner: a normal end.
        }
        finally
        {
            _manager.Remove(_watcher);
        }
    }
}
