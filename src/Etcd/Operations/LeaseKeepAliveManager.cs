using System.Collections.Concurrent;
using System.Diagnostics;
using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// Keeps every <see cref="Lease"/> of one client alive over ONE LeaseKeepAlive duplex stream.
/// <list type="bullet">
/// <item>The send loop sends one keep-alive per lease when a third of its TTL has passed since its last answer; a lease
/// never has more than one request outstanding on a stream.</item>
/// <item>The receive loop applies answers: TTL 0 means the lease is gone.</item>
/// <item>An expiry loop, which never waits for I/O, marks leases lost whose deadline (send time of the unanswered
/// request + TTL) passed.</item>
/// <item>A stream that breaks, or that leaves a request unanswered for <see cref="s_stallTimeout"/> (a frozen member),
/// is dropped and reopened with backoff, on the next endpoint when it answered nothing; every lease is renewed at once.</item>
/// <item>Auth: etcd 3.4.23 never checks the token on this stream (seen: keep-alives are answered with an expired, a
/// garbage or no token), so token expiry cannot break it. Opening it still gets a token: when authenticating fails for
/// good (wrong password, the user deleted, TLS refused by every endpoint) every lease is marked lost with that error and
/// no stream is opened again until a lease is added, instead of authenticating in a loop.</item>
/// </list>
/// </summary>
internal sealed class LeaseKeepAliveManager : IAsyncDisposable
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(200);
    private static readonly long s_stallTimeout = 2 * Stopwatch.Frequency;

    private readonly EtcdCallInvoker _invoker;
    private readonly ConcurrentDictionary<long, Lease> _leases = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new(); // orders Add against DisposeAsync; never held across an await
    // Reused for every tick's keep-alives: WriteBatchAsync serializes them before it returns.
    private readonly Pb.LeaseKeepAliveRequest[] _batch = new Pb.LeaseKeepAliveRequest[MaxBatch];

    /// <summary>Keep-alives per write: about 20 KB of frames.</summary>
    private const int MaxBatch = 1024;
    private Task? _loops;
    private Task? _disposing;
    private long _awaitingSince; // send time of the first request unanswered on the current stream, 0 if none
    private bool _askedOnStream; // a keep-alive was written (or attempted) on the current stream
    private readonly AdditionSignal _added = new(); // used under _gate

    public LeaseKeepAliveManager(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>The number of leases being kept alive.</summary>
    public int Count => _leases.Count;

    public bool Contains(long id) => _leases.ContainsKey(id);

    public void Add(Lease lease)
    {
        lock (_gate)
        {
            if (_disposing is not null) throw new ObjectDisposedException(nameof(EtcdClient));
            if (!_leases.TryAdd(lease.Id, lease))
                throw new ArgumentException($"Lease {lease.Id:x} is already kept alive by this client.", "id");
            _added.Notify();
            _loops ??= Task.WhenAll(Task.Run(RunStreamsAsync), Task.Run(ExpireLoopAsync));
        }
    }

    public void Remove(Lease lease) => _leases.TryRemove(new(lease.Id, lease));

    private async Task RunStreamsAsync()
    {
        var backoff = new StreamBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1));
        var tls = new StreamTls();
        int streamTokenRefusals = 0;
        while (!_stop.IsCancellationRequested)
        {
            bool answered = false, stalled = false;
            _askedOnStream = false;
            var endpoint = _invoker.CurrentEndpoint;
            GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse>? call = null;
            Task? receiving = null;
            EtcdException? authFailure = null;
            Exception? streamError = null;
            List<KeyValuePair<long, Lease>> losing = [];
            try
            {
                call = await _invoker.StartDuplexAsync(EtcdMethods.LeaseKeepAlive, deadline: null, _stop.Token).ConfigureAwait(false);
                Volatile.Write(ref _awaitingSince, 0);
                foreach (var pair in _leases) pair.Value.RenewSoon();
                receiving = ReceiveAsync(call, () => answered = true);
                using var timer = new PeriodicTimer(s_tick);
                do
                {
                    if (receiving.IsCompleted) break;
                    if (IsStalled())
                    {
                        stalled = true;
                        break;
                    }
                    await SendDueAsync(call).ConfigureAwait(false);
                }
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (EtcdException error) when (call is null && AuthErrors.IsCredentialsFailure(error))
            {
                authFailure = error;
            }
            catch (Exception error)
            {
                // Whatever broke the stream (member stopped, connection reset, a write that timed out), the cure is the
                // same: reopen it. Nothing may end this loop but disposal, or every lease would silently stop renewing.
                streamError = error;
                ClientLog.StreamBroke(_invoker.Log, "lease keep-alive", endpoint, error.Message);
            }
            finally
            {
                // The leases a login failure applies to: those present now, not any added while the stream is torn down.
                if (authFailure is not null) losing = [.. _leases];
                if (call is not null) await call.DisposeAsync().ConfigureAwait(false);
                if (receiving is not null) await StreamBackoff.ObserveAsync(receiving).ConfigureAwait(false);
            }
            var failure = streamError ?? receiving?.Exception?.InnerException;
            if (failure is GrpcCallException failed && AuthErrors.IsTokenRejected(failed))
            {
                // Not seen with etcd 3.4, which does not check this stream's token; a server that does gets a new one, a few times.
                _invoker.InvalidateToken();
                if (++streamTokenRefusals >= 3)
                {
                    streamTokenRefusals = 0;
                    authFailure = new EtcdAuthenticationException(EtcdStatusCode.Unauthenticated,
                        $"etcd refused the lease keep-alive stream for its auth token 3 times in a row, with a new token each time: {failed.Detail}", failed.Detail, failed);
                    losing = [.. _leases];
                }
            }
            else if (answered)
            {
                streamTokenRefusals = 0;
            }
            bool tlsFailed = false;
            if (failure is GrpcCallException { TlsFailure: true } tlsError)
            {
                // A certificate problem does not pass by itself: once every endpoint has refused TLS in a row, the leases
                // are lost with it (they could not be renewed anyway) instead of a silent retry loop.
                tlsFailed = true;
                if (tls.Refused(endpoint, _invoker.Endpoints, "The lease keep-alive stream", tlsError) is { } final)
                {
                    authFailure = final;
                    losing = [.. _leases];
                }
            }
            else
            {
                tls.Reset();
            }

            if (authFailure is not null)
            {
                LoseAll(authFailure, losing);
                if (!await _added.WaitAsync(_gate, () => !_leases.IsEmpty, _stop.Token).ConfigureAwait(false)) break;
                continue;
            }

            // A stream that stopped answering, or answered nothing it was asked, points at a dead or frozen member (whose
            // connection may still look open): try the next endpoint.
            if (stalled || tlsFailed || (_askedOnStream && !answered)) _invoker.MoveToNextEndpoint(endpoint);
            if (!await backoff.WaitAsync(progressed: answered, _stop.Token).ConfigureAwait(false)) break;
        }
    }

    /// <summary>Marks every lease lost after authentication or TLS failed for good: nothing can renew them from this client.</summary>
    private void LoseAll(EtcdException failure, List<KeyValuePair<long, Lease>> leases)
    {
        foreach (var pair in leases)
        {
            if (_leases.TryRemove(pair)) pair.Value.MarkLost(AuthErrors.ForItem(failure, $"Lease {pair.Key:x} cannot be kept alive"));
        }
    }

    private bool IsStalled()
    {
        long since = Volatile.Read(ref _awaitingSince);
        return since != 0 && Stopwatch.GetTimestamp() - since > s_stallTimeout;
    }

    /// <summary>Sends the due keep-alives. A write that cannot finish in time aborts the stream.</summary>
    private async Task SendDueAsync(GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> call)
    {
        using var writeTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        writeTimeout.CancelAfter(TimeSpan.FromTicks(s_stallTimeout * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        int count = 0;
        foreach (var pair in _leases)
        {
            var lease = pair.Value;
            long now = Stopwatch.GetTimestamp();
            if (lease.IsLost || !lease.IsDue(now)) continue;
            // Recorded before the write, so an answer can never be handled before its request is counted.
            lease.OnSent(now);
            Interlocked.CompareExchange(ref _awaitingSince, now, 0);
            _askedOnStream = true;
            (_batch[count] ??= new Pb.LeaseKeepAliveRequest()).ID = lease.Id;
            count++;
            if (count == MaxBatch)
            {
                await WriteBatchAsync(call, count, writeTimeout.Token).ConfigureAwait(false);
                count = 0;
            }
        }
        if (count > 0) await WriteBatchAsync(call, count, writeTimeout.Token).ConfigureAwait(false);
    }

    /// <summary>The first <paramref name="count"/> requests of the reused batch, in one write (one system call for all due leases).</summary>
    private Task WriteBatchAsync(GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> call, int count, CancellationToken cancellationToken) =>
        call.WriteBatchAsync(new ArraySegment<Pb.LeaseKeepAliveRequest>(_batch, 0, count), cancellationToken);

    private async Task ReceiveAsync(GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> call, Action onAnswer)
    {
        while (await call.MoveNextAsync(_stop.Token).ConfigureAwait(false))
        {
            onAnswer();
            Volatile.Write(ref _awaitingSince, 0);
            var response = call.Current;
            if (!_leases.TryGetValue(response.ID, out var lease)) continue;
            if (response.TTL <= 0)
            {
                // etcd answers a keep-alive for a lease it no longer has with TTL 0.
                _leases.TryRemove(new(lease.Id, lease));
                lease.MarkLost(new EtcdLeaseNotFoundException($"Lease {lease.Id:x} no longer exists (expired or revoked).", lease.Id));
            }
            else
            {
                lease.OnRenewed(response.TTL, Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>Marks overdue leases lost on its own timer, so a write or connect that hangs never delays <see cref="Lease.Lost"/>.</summary>
    private async Task ExpireLoopAsync()
    {
        using var timer = new PeriodicTimer(s_tick);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) ExpireOverdue();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void ExpireOverdue()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var pair in _leases)
        {
            var lease = pair.Value;
            if (!lease.IsPastDeadline(now)) continue;
            _leases.TryRemove(pair);
            lease.MarkLost(new EtcdLeaseLostException(
                $"Lease {lease.Id:x} could not be renewed before its TTL of {lease.Ttl.TotalSeconds:0} s ran out; it may have expired on the server.", lease.Id));
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate) _disposing ??= DisposeCoreAsync();
        return new ValueTask(_disposing);
    }

    private async Task DisposeCoreAsync()
    {
        _stop.Cancel();
        try
        {
            if (_loops is not null) await _loops.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The loops end on cancellation; nothing they could throw may stop the leases below from being marked lost.
        }
        finally
        {
            foreach (var pair in _leases)
                pair.Value.MarkLost(new ObjectDisposedException(nameof(EtcdClient), $"The client keeping lease {pair.Key:x} alive was disposed."));
            _leases.Clear();
        }
    }
}
