using System.Threading.Tasks.Sources;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// One watch of a client: what it watches, the revision to resume from, and its bounded buffer of responses. The
/// manager's receive loop is the only writer; the consumer is the only reader, with at most one wait at a time.
/// <para>
/// Memory: a client may hold tens of thousands of idle watches, so an idle one is little more than this object. The
/// buffer is allocated with the first response; the consumer's wait reuses one value-task source (this object) instead
/// of a channel's reader, writer and wait operations; the "created" task exists only while someone waits for it.
/// </para>
/// </summary>
internal sealed class Watcher : IValueTaskSource<bool>, IThreadPoolWorkItem
{
    private static readonly Action<object?, CancellationToken> s_cancelWait = static (state, token) => ((Watcher)state!).CancelWait(token);
    private static readonly Task s_canceled = Task.FromCanceled(new CancellationToken(canceled: true));
    private static readonly object s_readable = new(), s_over = new(); // wake outcomes: true, false (else an exception)

    // Everything below is guarded by lock (this); the manager also locks the watcher around Paused.
    private Queue<WatchResponse>? _buffer;
    private Exception? _error;            // what the consumer sees once the buffer is drained, set by End
    private int _ended;
    private bool _interrupted;            // the consumer stopped waiting for good (a subscription's Cancel)
    private ManualResetValueTaskSourceCore<bool> _wait;
    private bool _waiting;
    private CancellationToken _waitToken;
    private CancellationTokenRegistration _waitRegistration;
    private object? _wakeOutcome;         // not under the lock: set by whoever claimed the wait, read by the queued Execute
    private int _createdState;            // CreatePending, CreateConfirmed or CreateNever
    private TaskCompletionSource? _created; // only while Created is awaited before the server's answer

    private const int CreatePending = 0, CreateConfirmed = 1, CreateNever = 2;

    private static int s_lastHash;

    // The manager's maps hash watchers. With the runtime's identity hash, the object header holds that hash, so the
    // first lock (this) inflates the header into a native sync block (~100 bytes, for good, per watch); a hash of our
    // own leaves the header free for thin locks.
    private readonly int _hash = Interlocked.Increment(ref s_lastHash);

    public Watcher(WatchManager manager, KeySet keys, WatchOptions options)
    {
        Manager = manager;
        Keys = keys;
        Options = options;
        NextRevision = options.StartRevision;
        // The consumer is woken by Wake, on the thread pool: the source may then run its continuation inline.
        _wait.RunContinuationsAsynchronously = false;
    }

    public WatchManager Manager { get; }

    public KeySet Keys { get; }

    public WatchOptions Options { get; }

    /// <summary>The id of the watch's current incarnation on the server (a new one after every pause or reconnect); 0 when none.</summary>
    public long ServerId { get; set; }

    /// <summary>The first revision not yet buffered: where a re-created watch starts. 0 until the first creation of a "from now" watch.</summary>
    public long NextRevision { get; set; }

    /// <summary>The header revision of the server's first "created" answer (the store revision it read then); 0 before.</summary>
    public long CreatedRevision { get; set; }

    /// <summary>True while the watch is paused on the server because its consumer fell behind.</summary>
    public bool Paused { get; set; }

    public bool Ended => Volatile.Read(ref _ended) != 0;

    /// <summary>How many responses wait for the consumer.</summary>
    public int BufferedCount
    {
        get
        {
            lock (this) return _buffer?.Count ?? 0;
        }
    }

    /// <summary>
    /// Completes when the server first confirmed the watch (its starting revision is then fixed); cancelled when the
    /// watch was removed before, faulted with the reason when it ended otherwise.
    /// </summary>
    public Task Created
    {
        get
        {
            lock (this)
            {
                switch (_createdState)
                {
                    case CreateConfirmed:
                        return Task.CompletedTask;
                    case CreateNever when _error is null:
                        return s_canceled;
                    case CreateNever:
                        var failed = Task.FromException(_error);
                        _ = failed.Exception; // observed: nobody has to await Started
                        return failed;
                    default:
                        return (_created ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
            }
        }
    }

    /// <summary>True once the server confirmed the watch.</summary>
    public bool IsCreated => Volatile.Read(ref _createdState) == CreateConfirmed;

    /// <summary>Marks the watch confirmed by the server (the first time only).</summary>
    public void SetCreated()
    {
        TaskCompletionSource? created;
        lock (this)
        {
            if (_createdState != CreatePending) return;
            Volatile.Write(ref _createdState, CreateConfirmed);
            created = _created;
            _created = null;
        }
        created?.TrySetResult();
    }

    /// <summary>
    /// Waits until a response is buffered (true) or the watch ended without error (false); throws the exception the
    /// watch ended with once the buffer is drained. One wait at a time.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<bool>(cancellationToken);
        lock (this)
        {
            if (_interrupted) return new ValueTask<bool>(false);
            if (_buffer is { Count: > 0 }) return new ValueTask<bool>(true);
            if (_ended != 0) return _error is null ? new ValueTask<bool>(false) : ValueTask.FromException<bool>(_error);
            if (_waiting) throw new InvalidOperationException("A watch has one consumer, which waits for one response at a time.");
            _wait.Reset();
            _waiting = true;
            _waitToken = cancellationToken;
            // Under the lock: a token cancelled meanwhile runs CancelWait right here, which re-enters the lock.
            if (cancellationToken.CanBeCanceled) _waitRegistration = cancellationToken.UnsafeRegister(s_cancelWait, this);
            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    /// <summary>
    /// Arms <paramref name="callback"/>(<paramref name="state"/>) to run once on the thread pool when a response is
    /// buffered, the watch ends or its consumer is interrupted, so a consumer can wait without a suspended state machine.
    /// False, with nothing armed, when one of those holds already (<see cref="WaitToReadAsync"/> then answers at once).
    /// </summary>
    public bool TryArmReadable(Action<object?> callback, object state)
    {
        short version;
        lock (this)
        {
            if (_interrupted || _buffer is { Count: > 0 } || _ended != 0) return false;
            if (_waiting) throw new InvalidOperationException("A watch has one consumer, which waits for one response at a time.");
            _wait.Reset();
            _waiting = true;
            version = _wait.Version;
        }
        // Completed meanwhile? The source then queues the callback at once; either way it runs on the thread pool.
        _wait.OnCompleted(callback, state, version, ValueTaskSourceOnCompletedFlags.None);
        return true;
    }

    /// <summary>Takes the oldest buffered response; false when none is.</summary>
    public bool TryRead(out WatchResponse response)
    {
        lock (this)
        {
            if (_buffer is { Count: > 0 } buffer)
            {
                response = buffer.Dequeue();
                return true;
            }
        }
        response = null!;
        return false;
    }

    /// <summary>Makes the consumer's waits, the pending one included, return false from now on (its owner stopped).</summary>
    public void Interrupt()
    {
        lock (this)
        {
            _interrupted = true;
            if (!TakeWaiter()) return;
        }
        Wake(s_over);
    }

    public Pb.WatchCreateRequest CreateRequest(long serverId)
    {
        var request = new Pb.WatchCreateRequest
        {
            Key = ProtoMapping.ToByteString(Keys.WireKey),
            RangeEnd = ProtoMapping.ToByteString(Keys.WireRangeEnd),
            StartRevision = NextRevision,
            PrevKv = Options.PrevKv,
            ProgressNotify = Options.ProgressNotify,
            WatchId = serverId,
            Fragment = true,
        };
        if (Options.NoPut) request.Filters.Add(Pb.WatchCreateRequest.Types.FilterType.Noput);
        if (Options.NoDelete) request.Filters.Add(Pb.WatchCreateRequest.Types.FilterType.Nodelete);
        return request;
    }

    /// <summary>Buffers a response; false when the buffer is full (the caller pauses the watch) or the watch ended.</summary>
    public bool TryDeliver(WatchResponse response)
    {
        lock (this)
        {
            if (_ended != 0) return false;
            var buffer = _buffer ??= new Queue<WatchResponse>();
            if (buffer.Count >= Options.BufferSize) return false;
            buffer.Enqueue(response);
            if (!TakeWaiter()) return true;
        }
        Wake(s_readable);
        return true;
    }

    /// <summary>Called by the consumer after each read: resumes a paused watch once half the buffer is free.</summary>
    public void OnConsumed()
    {
        if (Paused && BufferedCount <= Options.BufferSize / 2) Manager.Resume(this);
    }

    /// <summary>Ends the watch: the consumer reads what is buffered, then sees <paramref name="error"/> (or the end).</summary>
    public bool End(Exception? error)
    {
        TaskCompletionSource? created = null;
        bool wake, hasData;
        lock (this)
        {
            if (_ended != 0) return false;
            Volatile.Write(ref _ended, 1);
            _error = error;
            hasData = _buffer is { Count: > 0 };
            wake = TakeWaiter();
            if (_createdState == CreatePending)
            {
                Volatile.Write(ref _createdState, CreateNever);
                created = _created;
                _created = null;
            }
        }
        // A waiting consumer has read everything (a delivery wakes it), so hasData is false in practice.
        if (wake) Wake(hasData ? s_readable : error ?? s_over);
        if (created is not null)
        {
            if (error is null) created.TrySetCanceled();
            else if (created.TrySetException(error)) _ = created.Task.Exception; // observed: nobody has to await Started
        }
        return true;
    }

    /// <summary>Claims the pending wait for completion (under the lock); false when nobody waits.</summary>
    private bool TakeWaiter()
    {
        if (!_waiting) return false;
        _waiting = false;
        _waitToken = default;
        _waitRegistration.Unregister(); // never blocks; a callback already running finds no wait of its token
        _waitRegistration = default;
        return true;
    }

    private void CancelWait(CancellationToken token)
    {
        lock (this)
        {
            if (!_waiting || _waitToken != token) return;
            TakeWaiter();
        }
        Wake(new OperationCanceledException(token));
    }

    /// <summary>
    /// Completes the claimed wait from the thread pool's global queue, as a channel wakes its reader: the consumer never
    /// runs on the thread that woke it (the receive loop, or a caller of Cancel) nor waits behind it in that thread's
    /// local queue, and a wake allocates nothing.
    /// </summary>
    private void Wake(object outcome)
    {
        _wakeOutcome = outcome;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        var outcome = _wakeOutcome;
        _wakeOutcome = null;
        if (ReferenceEquals(outcome, s_readable)) _wait.SetResult(true);
        else if (ReferenceEquals(outcome, s_over)) _wait.SetResult(false);
        else _wait.SetException((Exception)outcome!);
    }

    /// <summary>A hash of its own (see <see cref="_hash"/>); equality stays reference equality.</summary>
    public override int GetHashCode() => _hash;

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _wait.OnCompleted(continuation, state, token, flags);
}
