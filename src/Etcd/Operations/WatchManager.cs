using System.Collections.Concurrent;
using System.Threading.Channels;
using Etcd.Transport;
using Pb = Etcd.Protocol;
using Mvcc = Etcd.Protocol.Mvcc;

namespace Etcd.Operations;

/// <summary>
/// Runs every watch of one client over ONE shared Watch duplex stream. Watches are created with client-chosen ids
/// (etcd 3.4+) and answered in order; events are reassembled from fragments, buffered per watch, and each watch's
/// resume revision moves to the last buffered event's revision + 1. When the stream breaks, it is reopened with
/// backoff and every live watch re-created from its resume revision, so no event is lost or duplicated. A consumer
/// that falls behind gets its watch paused on the server and resumed later from the same point.
/// <para>
/// Auth (etcd 3.4.23, seen): a stream's token is checked only when a watch is created on it, never for events, so
/// existing watches outlive their token; a create with an expired or stale token is refused (created and canceled,
/// watch id -1, "invalid auth token" or "revision of auth store is old"), and so is every later create on that stream.
/// Such a refusal drops the token and reopens the stream, which authenticates again and re-creates every watch from
/// its resume revision. A create refused for permission ends that watch with <see cref="EtcdPermissionDeniedException"/>.
/// </para>
/// </summary>
internal sealed class WatchManager : IAsyncDisposable
{

    private readonly EtcdCallInvoker _invoker;
    private readonly ConcurrentDictionary<Watcher, byte> _watchers = new();
    private readonly ConcurrentDictionary<long, Watcher> _byServerId = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _streamLock = new(); // guards _outbound/_pendingCreates swaps; never held across an await
    private Channel<Pb.WatchRequest> _outbound = Channel.CreateUnbounded<Pb.WatchRequest>(new UnboundedChannelOptions { SingleReader = true });
    private ConcurrentQueue<Watcher> _pendingCreates = new();
    private long _nextServerId;
    private Task? _loop;
    private Task? _disposing;
    private bool _progressRequested; // guarded by _streamLock
    private readonly AdditionSignal _added = new(); // used under _streamLock
    private readonly Dictionary<Watcher, int> _tokenRefusals = []; // the receive loop's own: creates refused for the token in a row

    /// <summary>Creates refused for the token in a row (each followed by a new token) before a watch ends with the error.</summary>
    private const int MaxTokenRefusals = 3;

    public WatchManager(EtcdCallInvoker invoker) => _invoker = invoker;

    public int Count => _watchers.Count;

    public Watcher Add(KeySet keys, WatchOptions options) => Add(new Watcher(this, keys, options));

    /// <summary>Starts a watcher made for this manager (an enumeration makes it before its first read, adds it then).</summary>
    public Watcher Add(Watcher watcher)
    {
        lock (_streamLock)
        {
            if (_disposing is not null) throw new ObjectDisposedException(nameof(EtcdClient));
            _watchers.TryAdd(watcher, 0);
            _added.Notify();
            if (_loop is null)
            {
                _loop = Task.Run(RunAsync); // creates every watch, this one included, on the stream it opens
                return watcher;
            }
        }
        SendCreate(watcher);
        return watcher;
    }

    /// <summary>Ends a watch at the consumer's request and cancels it on the server.</summary>
    public void Remove(Watcher watcher)
    {
        watcher.End(null);
        _watchers.TryRemove(watcher, out _);
        lock (_streamLock)
        {
            long serverId = watcher.ServerId;
            if (serverId != 0 && _byServerId.TryRemove(serverId, out _))
                _outbound.Writer.TryWrite(new Pb.WatchRequest { CancelRequest = new Pb.WatchCancelRequest { WatchId = serverId } });
        }
    }

    /// <summary>Re-creates a paused watch from its resume revision.</summary>
    public void Resume(Watcher watcher)
    {
        lock (watcher)
        {
            if (!watcher.Paused || watcher.Ended) return;
            watcher.Paused = false;
        }
        SendCreate(watcher);
    }

    public Task RequestProgressAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_stop.IsCancellationRequested) throw new ObjectDisposedException(nameof(EtcdClient));
        lock (_streamLock)
        {
            // Remembered until answered: a request queued for a stream that is being replaced is sent again on the new one.
            _progressRequested = true;
            _outbound.Writer.TryWrite(new Pb.WatchRequest { ProgressRequest = new Pb.WatchProgressRequest() });
        }
        return Task.CompletedTask;
    }

    private void SendCreate(Watcher watcher, bool unlessCreated = false)
    {
        long serverId = Interlocked.Increment(ref _nextServerId);
        lock (_streamLock)
        {
            if (watcher.Ended || (unlessCreated && watcher.ServerId != 0)) return;
            if (watcher.ServerId != 0) _byServerId.TryRemove(watcher.ServerId, out _);
            watcher.ServerId = serverId;
            _byServerId[serverId] = watcher;
            // Creates are answered in order; a failed one answers watch id -1, so the queue says whose it was.
            _pendingCreates.Enqueue(watcher);
            _outbound.Writer.TryWrite(new Pb.WatchRequest { CreateRequest = watcher.CreateRequest(serverId) });
        }
    }

    private void Send(Pb.WatchRequest request)
    {
        lock (_streamLock) _outbound.Writer.TryWrite(request);
    }

    private async Task RunAsync()
    {
        var backoff = new StreamBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2));
        var tls = new StreamTls();
        int streamTokenRefusals = 0;
        while (!_stop.IsCancellationRequested)
        {
            bool received = false;
            var endpoint = _invoker.CurrentEndpoint;
            Channel<Pb.WatchRequest> outbound;
            lock (_streamLock)
            {
                // A new stream: everything queued for the old one is void, every live watch is created again.
                outbound = _outbound = Channel.CreateUnbounded<Pb.WatchRequest>(new UnboundedChannelOptions { SingleReader = true });
                _pendingCreates = new ConcurrentQueue<Watcher>();
                _byServerId.Clear();
                foreach (var watcher in _watchers.Keys) watcher.ServerId = 0;
            }
            foreach (var gone in _tokenRefusals.Keys.Where(w => w.Ended).ToList()) _tokenRefusals.Remove(gone);
            foreach (var watcher in _watchers.Keys)
            {
                // A watch added since the swap above was already created on this stream.
                if (!watcher.Paused) SendCreate(watcher, unlessCreated: true);
            }
            lock (_streamLock)
            {
                if (_progressRequested) outbound.Writer.TryWrite(new Pb.WatchRequest { ProgressRequest = new Pb.WatchProgressRequest() });
            }

            GrpcDuplexCall<Pb.WatchRequest, Pb.WatchResponse>? call = null;
            Task? sending = null;
            EtcdException? authFailure = null;
            bool tlsOrOther = false; // true when this attempt failed on TLS
            List<Watcher> ending = [];
            try
            {
                call = await _invoker.StartDuplexAsync(EtcdMethods.WatchStream, deadline: null, _stop.Token).ConfigureAwait(false);
                sending = SendLoopAsync(call, outbound.Reader);
                var fragments = new Dictionary<long, List<Mvcc.Event>>();
                while (await call.MoveNextAsync(_stop.Token).ConfigureAwait(false))
                {
                    received = true;
                    if (!Dispatch(call.Current, fragments)) break; // the stream's token was refused: reopen with a new one
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (EtcdException error) when (call is null && AuthErrors.IsCredentialsFailure(error))
            {
                // Logging in failed for good (wrong password, or TLS refused by every endpoint): retrying cannot help.
                authFailure = error;
                tlsOrOther = false;
            }
            catch (GrpcCallException error) when (AuthErrors.IsTokenRejected(error))
            {
                // etcd 3.4 never refuses the stream itself for its token; a server that does gets a new one, a few times.
                _invoker.InvalidateToken();
                if (++streamTokenRefusals >= MaxTokenRefusals)
                {
                    streamTokenRefusals = 0;
                    authFailure = new EtcdAuthenticationException(error.StatusCode == GrpcStatusCode.Unknown ? EtcdStatusCode.Unknown : (EtcdStatusCode)error.StatusCode,
                        $"etcd refused the watch stream for its auth token {MaxTokenRefusals} times in a row, with a new token each time: {error.Detail}", error.Detail, error);
                }
            }
            catch (GrpcCallException error) when (error.TlsFailure)
            {
                // A certificate problem does not pass by itself: once every endpoint has refused TLS in a row, the
                // watches end with it instead of retrying forever in silence.
                authFailure = tls.Refused(endpoint, _invoker.Endpoints, "The watch stream", error);
                tlsOrOther = true;
            }
            catch (GrpcCallException error) when (error.ReceiveLimitExceeded)
            {
                // The same response would come back after every reconnect: end the watch it belongs to, typed.
                EndOversized(error);
            }
            catch (Exception error)
            {
                // Whatever broke the stream (member stopped, connection reset, etcd restarted), the cure is the same:
                // reopen it and resume every watch. Nothing may end this loop but disposal, or watches would go silent.
                ClientLog.StreamBroke(_invoker.Log, "watch", endpoint, error.Message);
            }
            finally
            {
                // The watches the failure applies to: those present now, not any added while the stream is torn down.
                if (authFailure is not null) ending = SnapshotWatchers();
                outbound.Writer.TryComplete();
                if (call is not null) await call.DisposeAsync().ConfigureAwait(false);
                if (sending is not null) await StreamBackoff.ObserveAsync(sending).ConfigureAwait(false);
            }

            if (!tlsOrOther) tls.Reset();
            if (received) streamTokenRefusals = 0;
            if (authFailure is not null)
            {
                EndAll(authFailure, ending);
                if (!await _added.WaitAsync(_streamLock, () => !_watchers.IsEmpty, _stop.Token).ConfigureAwait(false)) break;
            }
            else if (!received)
            {
                _invoker.MoveToNextEndpoint(endpoint);
            }
            if (!await backoff.WaitAsync(progressed: received, _stop.Token).ConfigureAwait(false)) break;
        }
    }

    private List<Watcher> SnapshotWatchers()
    {
        lock (_streamLock) return [.. _watchers.Keys];
    }

    /// <summary>Ends <paramref name="watchers"/> after authentication or TLS failed for good; each consumer sees the failure.</summary>
    private void EndAll(EtcdException failure, List<Watcher> watchers)
    {
        foreach (var watcher in watchers)
        {
            if (!_watchers.TryRemove(watcher, out _)) continue;
            watcher.End(AuthErrors.ForItem(failure, $"The watch on {watcher.Keys} cannot go on"));
        }
    }

    private async Task SendLoopAsync(GrpcDuplexCall<Pb.WatchRequest, Pb.WatchResponse> call, ChannelReader<Pb.WatchRequest> requests)
    {
        await foreach (var request in requests.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            await call.WriteAsync(request, _stop.Token).ConfigureAwait(false);
    }

    /// <summary>Applies one response; false when the stream must be reopened (a create was refused for its token).</summary>
    private bool Dispatch(Pb.WatchResponse response, Dictionary<long, List<Mvcc.Event>> fragments)
    {
        if (response.Created)
        {
            _pendingCreates.TryDequeue(out var creating);
            if (response.WatchId == -1 || response.Canceled)
            {
                // "User name is empty" with credentials: the cluster enabled auth after the client found it disabled.
                if (AuthErrors.IsTokenProblem(response.CancelReason) || (_invoker.HasCredentials && AuthErrors.IsUserEmpty(response.CancelReason)))
                {
                    // Every later create on this stream would be refused too; the watches already on it still work,
                    // and are re-created from their resume revisions on the new stream.
                    if (creating is not null)
                    {
                        int refusals = _tokenRefusals[creating] = _tokenRefusals.GetValueOrDefault(creating) + 1;
                        if (refusals >= MaxTokenRefusals)
                        {
                            _tokenRefusals.Remove(creating);
                            _watchers.TryRemove(creating, out _);
                            creating.End(new EtcdAuthenticationException(EtcdStatusCode.Unauthenticated,
                                $"etcd refused the watch on {creating.Keys} {refusals} times in a row for its auth token, although the client authenticated again after each refusal: {response.CancelReason}",
                                response.CancelReason));
                        }
                    }
                    _invoker.InvalidateToken();
                    return false;
                }
                if (creating is not null) EndWithServerCancel(creating, response);
                return true;
            }
            if (_byServerId.TryGetValue(response.WatchId, out var created))
            {
                _tokenRefusals.Remove(created);
                if (created.NextRevision == 0) created.NextRevision = response.Header.Revision + 1; // "from now" = after creation
                if (created.CreatedRevision == 0) created.CreatedRevision = response.Header.Revision;
                created.SetCreated();
            }
            return true;
        }

        if (response.WatchId == -1)
        {
            // The answer to RequestProgress, for every watch. etcd 3.4.23 does not order it with events, so it is passed
            // on as a notification but does not move resume revisions (a watch's own progress notifications do).
            lock (_streamLock) _progressRequested = false;
            var header = ProtoMapping.ToHeader(response.Header);
            foreach (var watcher in _watchers.Keys)
            {
                // What is known for this watch: every event before its resume revision is buffered ahead of this response.
                if (!watcher.Paused) watcher.TryDeliver(new WatchResponse(header, [], IsProgressNotify: true, Math.Max(0, watcher.NextRevision - 1)));
            }
            return true;
        }

        if (!_byServerId.TryGetValue(response.WatchId, out var target)) return true; // an old incarnation: ignore
        if (response.Canceled)
        {
            EndWithServerCancel(target, response);
            return true;
        }

        IList<Mvcc.Event> events = response.Events;
        if (response.Fragment)
        {
            if (!fragments.TryGetValue(response.WatchId, out var parts)) fragments[response.WatchId] = parts = [];
            parts.AddRange(response.Events);
            return true;
        }
        if (fragments.Remove(response.WatchId, out var earlier))
        {
            earlier.AddRange(response.Events);
            events = earlier;
        }
        Deliver(target, response, events);
        return true;
    }

    private void Deliver(Watcher watcher, Pb.WatchResponse response, IList<Mvcc.Event> events)
    {
        var header = ProtoMapping.ToHeader(response.Header);
        var mapped = new List<WatchEvent>(events.Count);
        foreach (var e in events)
        {
            // Defensive: a re-created watch starts at NextRevision, so older events would be duplicates.
            if (e.Kv.ModRevision < watcher.NextRevision) continue;
            mapped.Add(new WatchEvent(
                e.Type == Mvcc.Event.Types.EventType.Put ? WatchEventType.Put : WatchEventType.Delete,
                ProtoMapping.ToKeyValue(e.Kv),
                e.PrevKv is null ? null : ProtoMapping.ToKeyValue(e.PrevKv)));
        }
        bool progressOnly = events.Count == 0;
        if (!progressOnly && mapped.Count == 0) return;

        var delivered = new WatchResponse(header, mapped, progressOnly, progressOnly ? header.Revision : mapped[^1].Revision);
        if (watcher.TryDeliver(delivered))
        {
            watcher.NextRevision = progressOnly
                ? Math.Max(watcher.NextRevision, header.Revision + 1)
                : mapped[^1].Revision + 1;
            return;
        }
        if (watcher.Ended) return;
        // Buffer full: pause on the server; the consumer resumes it from NextRevision (nothing after it was buffered).
        lock (watcher)
        {
            lock (_streamLock)
            {
                watcher.Paused = true;
                long serverId = watcher.ServerId;
                if (_byServerId.TryRemove(serverId, out _))
                    _outbound.Writer.TryWrite(new Pb.WatchRequest { CancelRequest = new Pb.WatchCancelRequest { WatchId = serverId } });
                watcher.ServerId = 0;
            }
        }
        if (watcher.BufferedCount <= watcher.Options.BufferSize / 2) Resume(watcher); // the consumer caught up meanwhile
    }

    private void EndOversized(GrpcCallException error)
    {
        var ended = FindWatchId(error.MessagePrefix) is long id && _byServerId.TryGetValue(id, out var owner) ? [owner] : _watchers.Keys.ToArray();
        foreach (var watcher in ended)
        {
            _watchers.TryRemove(watcher, out _);
            watcher.End(new EtcdResponseTooLargeException(
                $"A watch response for {watcher.Keys} was larger than MaxReceiveMessageSize ({error.Detail}); the watch cannot go on past it. Raise the limit.", error));
        }
    }

    /// <summary>The watch_id (field 2) of a WatchResponse from its first bytes; null when they do not reach it.</summary>
    private static long? FindWatchId(byte[] prefix)
    {
        try
        {
            var input = new Google.Protobuf.CodedInputStream(prefix);
            for (uint tag; (tag = input.ReadTag()) != 0;)
            {
                if (tag == 16) return input.ReadInt64(); // field 2, varint
                input.SkipLastField();
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            // The prefix ended inside a field.
        }
        return null;
    }

    private void EndWithServerCancel(Watcher watcher, Pb.WatchResponse response)
    {
        _watchers.TryRemove(watcher, out _);
        _byServerId.TryRemove(watcher.ServerId, out _);
        var reason = response.CancelReason;
        Exception error;
        if (response.CompactRevision > 0)
        {
            error = new EtcdCompactedException(
                $"The watch on {watcher.Keys} cannot resume at revision {watcher.NextRevision}: it was compacted; the oldest readable revision is {response.CompactRevision}. Read again and watch from a newer revision.",
                watcher.NextRevision, response.CompactRevision);
        }
        else if (AuthErrors.IsPermissionDenied(reason))
        {
            // A refusal on the user's permissions (checked against the current auth store, whatever the token): final.
            error = new EtcdPermissionDeniedException($"The user may not watch {watcher.Keys}: {reason}", reason);
        }
        else if (AuthErrors.IsUserEmpty(reason))
        {
            error = new EtcdAuthenticationException(EtcdStatusCode.InvalidArgument,
                $"etcd refused the watch on {watcher.Keys}: authentication is enabled and the client has no credentials ({reason})", reason);
        }
        else
        {
            error = new EtcdWatchCanceledException(
                $"The server cancelled the watch on {watcher.Keys}{(string.IsNullOrEmpty(reason) ? "." : ": " + reason)}", reason);
        }
        watcher.End(error);
    }

    public ValueTask DisposeAsync()
    {
        lock (_streamLock) _disposing ??= DisposeCoreAsync();
        return new ValueTask(_disposing);
    }

    private async Task DisposeCoreAsync()
    {
        _stop.Cancel();
        try
        {
            if (_loop is not null) await _loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The loop ends on cancellation; nothing it could throw may keep the watches below from ending.
        }
        finally
        {
            foreach (var watcher in _watchers.Keys)
                watcher.End(new ObjectDisposedException(nameof(EtcdClient), "The client was disposed; its watches ended."));
            _watchers.Clear();
        }
    }
}
