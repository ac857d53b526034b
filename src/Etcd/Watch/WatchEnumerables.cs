using Etcd.Operations;

namespace Etcd;

/// <summary>
/// The enumeration behind <see cref="WatchClient.WatchAsync"/> and <see cref="WatchClient.WatchResponsesAsync"/>,
/// written by hand instead of as async iterators: an idle enumeration then holds this object, its watcher and (while
/// it waits) one small state machine, where the iterators held two iterator state machines (events on top of responses)
/// of about 300 bytes each. It behaves as the iterators did: the watch is created by the first MoveNextAsync; the
/// method's token and the enumerator's are linked when both can cancel ([EnumeratorCancellation]); leaving the
/// enumeration, cancelling, or the watch's end removes the watch (cancelled on the server).
/// </summary>
internal abstract class WatchEnumerator<T> : IAsyncEnumerator<T>
{
    private readonly Watcher _watcher;
    private readonly CancellationToken _token;
    private readonly CancellationTokenSource? _linked;
    private int _state; // NotStarted, Running or Finished

    private const int NotStarted = 0, Running = 1, Finished = 2;

    protected WatchEnumerator(Watcher watcher, CancellationToken methodToken, CancellationToken enumeratorToken)
    {
        _watcher = watcher;
        if (!methodToken.CanBeCanceled) _token = enumeratorToken;
        else if (!enumeratorToken.CanBeCanceled || methodToken == enumeratorToken) _token = methodToken;
        else
        {
            _linked = CancellationTokenSource.CreateLinkedTokenSource(methodToken, enumeratorToken);
            _token = _linked.Token;
        }
    }

    /// <inheritdoc />
    public T Current { get; protected set; } = default!;

    /// <summary>Moves to the next item among those buffered (reading responses as needed); false when none is.</summary>
    protected abstract bool TryAdvance(Watcher watcher);

    /// <inheritdoc />
    public ValueTask<bool> MoveNextAsync()
    {
        if (_state == Finished) return new ValueTask<bool>(false);
        if (_state == NotStarted)
        {
            _state = Running;
            try
            {
                _watcher.Manager.Add(_watcher);
            }
            catch (Exception error)
            {
                _state = Finished;
                _linked?.Dispose();
                return ValueTask.FromException<bool>(error);
            }
        }
        return TryAdvance(_watcher) ? new ValueTask<bool>(true) : WaitAsync();
    }

    private async ValueTask<bool> WaitAsync()
    {
        try
        {
            while (await _watcher.WaitToReadAsync(_token).ConfigureAwait(false))
            {
                if (TryAdvance(_watcher)) return true;
            }
        }
        catch (Exception)
        {
            Finish();
            throw;
        }
        Finish();
        return false;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Finish();
        return default;
    }

    private void Finish()
    {
        if (_state == Finished) return;
        bool started = _state == Running;
        _state = Finished;
        if (started) _watcher.Manager.Remove(_watcher);
        _linked?.Dispose();
    }
}

/// <summary>Responses, one per read.</summary>
internal sealed class WatchResponseEnumerator(Watcher watcher, CancellationToken methodToken, CancellationToken enumeratorToken)
    : WatchEnumerator<WatchResponse>(watcher, methodToken, enumeratorToken)
{
    protected override bool TryAdvance(Watcher watcher)
    {
        if (!watcher.TryRead(out var response)) return false;
        watcher.OnConsumed();
        Current = response;
        return true;
    }
}

/// <summary>Single events: the events of each response in turn; progress notifications are read and skipped.</summary>
internal sealed class WatchEventEnumerator(Watcher watcher, CancellationToken methodToken, CancellationToken enumeratorToken)
    : WatchEnumerator<WatchEvent>(watcher, methodToken, enumeratorToken)
{
    private IReadOnlyList<WatchEvent>? _events;
    private int _next;

    protected override bool TryAdvance(Watcher watcher)
    {
        while (true)
        {
            if (_events is not null && _next < _events.Count)
            {
                Current = _events[_next++];
                return true;
            }
            _events = null;
            if (!watcher.TryRead(out var response)) return false;
            watcher.OnConsumed();
            _events = response.Events;
            _next = 0;
        }
    }
}

/// <summary>What <see cref="WatchClient.WatchResponsesAsync"/> returns: each enumeration is a watch of its own.</summary>
internal sealed class WatchResponses(WatchManager manager, KeySet keys, WatchOptions options, CancellationToken watchToken) : IAsyncEnumerable<WatchResponse>
{
    public IAsyncEnumerator<WatchResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        => new WatchResponseEnumerator(new Watcher(manager, keys, options), watchToken, cancellationToken);
}

/// <summary>What <see cref="WatchClient.WatchAsync"/> returns: each enumeration is a watch of its own.</summary>
internal sealed class WatchEvents(WatchManager manager, KeySet keys, WatchOptions options, CancellationToken watchToken) : IAsyncEnumerable<WatchEvent>
{
    public IAsyncEnumerator<WatchEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        => new WatchEventEnumerator(new Watcher(manager, keys, options), watchToken, cancellationToken);
}
