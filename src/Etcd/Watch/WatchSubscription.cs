using Etcd.Operations;

namespace Etcd;

/// <summary>A running callback watch. <see cref="Completion"/> says how it ended; disposing stops it.</summary>
public sealed class WatchSubscription : IAsyncDisposable
{
    // Which subscription's callback is running on this flow; a scope object, so tasks the callback starts (which inherit
    // the AsyncLocal) stop counting as "inside" once the callback returned.
    private static readonly AsyncLocal<CallbackScope?> s_inCallback = new();
    private static readonly Action<object?> s_pump = static state => ((WatchSubscription)state!).Pump();
    private static readonly ContextCallback s_pumpInContext = static state => _ = ((WatchSubscription)state!).PumpAsync();
    private readonly Watcher _watcher;
    private readonly object _onEvent; // Func<WatchEvent, CancellationToken, ValueTask> or Action<WatchEvent>, called as given
    private readonly ExecutionContext? _context; // the creator's, which the callbacks run in (as with Task.Run)
    private CancellationTokenSource? _stop; // the callbacks' token, made with the first event for a Func callback
    private object? _completion; // null while running; a TaskCompletionSource once asked for while running; the Task once ended
    private int _stopped;
    private long _seenRevision;

    internal WatchSubscription(Watcher watcher, Func<WatchEvent, CancellationToken, ValueTask> onEvent)
        : this(watcher, (object)onEvent)
    {
    }

    internal WatchSubscription(Watcher watcher, Action<WatchEvent> onEvent)
        : this(watcher, (object)onEvent)
    {
    }

    private WatchSubscription(Watcher watcher, object onEvent)
    {
        _watcher = watcher;
        _onEvent = onEvent;
        _context = ExecutionContext.Capture();
        ThreadPool.UnsafeQueueUserWorkItem(s_pump, this, preferLocal: false);
    }

    /// <summary>
    /// Completes when the watch ends: successfully after <see cref="Cancel"/> or disposal; faulted with the reason otherwise
    /// (<see cref="EtcdCompactedException"/>, <see cref="EtcdWatchCanceledException"/>, <see cref="ObjectDisposedException"/>
    /// for a disposed client, or the exception the callback threw).
    /// </summary>
    public Task Completion
    {
        get
        {
            var current = Volatile.Read(ref _completion);
            if (current is null)
            {
                var made = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                current = Interlocked.CompareExchange(ref _completion, made, null) ?? made;
            }
            return current as Task ?? ((TaskCompletionSource)current).Task;
        }
    }

    /// <summary>
    /// Completes once the server has confirmed the watch: from then on every change is delivered (useful with a watch
    /// "from now" before writing). Faults like <see cref="Completion"/> if the watch ends first.
    /// </summary>
    public Task Started => _watcher.Created;

    /// <summary>
    /// The store revision the server read when it first confirmed the watch (0 until <see cref="Started"/> completes).
    /// A read whose header revision equals it proves nothing was written between the watch's start and the read.
    /// </summary>
    public long CreatedRevision => _watcher.IsCreated ? _watcher.CreatedRevision : 0;

    /// <summary>Every change up to this revision has been passed to the callback (moved by events and progress notifications).</summary>
    public long SeenRevision => Volatile.Read(ref _seenRevision);

    /// <summary>Stops the watch without waiting; safe to call from inside the callback.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        Volatile.Read(ref _stop)?.Cancel();
        _watcher.Interrupt(); // ends the wait for the next response, if the loop is in it
    }

    private bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>The token passed to the callbacks; cancelled by <see cref="Cancel"/> (made lazily: most watches stay idle).</summary>
    private CancellationToken StopToken()
    {
        var stop = Volatile.Read(ref _stop);
        if (stop is null)
        {
            var made = new CancellationTokenSource();
            stop = Interlocked.CompareExchange(ref _stop, made, null) ?? made;
            if (IsStopped) stop.Cancel(); // Cancel ran before the source existed
        }
        return stop.Token;
    }

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

    /// <summary>Runs on the thread pool: at the start and whenever the armed watcher has something (or the watch is over).</summary>
    private void Pump()
    {
        if (_context is null) _ = PumpAsync();
        else ExecutionContext.Run(_context, s_pumpInContext, this);
    }

    /// <summary>
    /// Passes every buffered event to the callback, one at a time, then arms the watcher and returns: an idle
    /// subscription holds no suspended state machine. Never faults; how the watch ended goes to <see cref="Completion"/>.
    /// </summary>
    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                if (IsStopped)
                {
                    Finish(null);
                    return;
                }
                if (!_watcher.TryRead(out var response))
                {
                    if (_watcher.TryArmReadable(s_pump, this)) return; // the last thing: the next pump may start at once
                    // Something is buffered or the watch is over: the wait answers at once (throws how it ended).
                    if (await _watcher.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false)) continue;
                    Finish(null);
                    return;
                }
                _watcher.OnConsumed();
                foreach (var e in response.Events)
                {
                    if (IsStopped) break;
                    var scope = new CallbackScope(this);
                    s_inCallback.Value = scope;
                    try
                    {
                        if (_onEvent is Action<WatchEvent> action) action(e);
                        else await ((Func<WatchEvent, CancellationToken, ValueTask>)_onEvent)(e, StopToken()).ConfigureAwait(false);
                    }
                    finally
                    {
                        scope.Active = false;
                        s_inCallback.Value = null;
                    }
                }
                if (!IsStopped && response.SeenRevision > _seenRevision) Volatile.Write(ref _seenRevision, response.SeenRevision);
            }
        }
        catch (OperationCanceledException) when (IsStopped)
        {
            Finish(null); // stopped by the owner: a normal end
        }
        catch (Exception error)
        {
            Finish(error);
        }
    }

    /// <summary>Removes the watch and completes <see cref="Completion"/>: successfully, cancelled (a callback's own cancellation) or faulted.</summary>
    private void Finish(Exception? error)
    {
        _watcher.Manager.Remove(_watcher);
        while (true)
        {
            var current = Volatile.Read(ref _completion);
            if (current is Task) return;
            var waiting = current as TaskCompletionSource;
            Task ended = waiting?.Task ?? error switch
            {
                null => Task.CompletedTask,
                OperationCanceledException canceled => Task.FromCanceled(canceled.CancellationToken.IsCancellationRequested ? canceled.CancellationToken : new CancellationToken(canceled: true)),
                _ => Task.FromException(error),
            };
            if (Interlocked.CompareExchange(ref _completion, ended, current) != current) continue;
            if (waiting is null) return;
            if (error is null) waiting.TrySetResult();
            else if (error is OperationCanceledException canceled) waiting.TrySetCanceled(canceled.CancellationToken);
            else waiting.TrySetException(error);
            return;
        }
    }
}
