using System.Collections.Concurrent;
using System.Diagnostics;
using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// Keeps every <see cref="Lease"/> of one client alive over ONE LeaseKeepAlive duplex stream: a loop sends a keep-alive
/// for each lease when a third of its TTL has passed since the last answer (again after a second while unanswered),
/// a receive loop applies the answers, and leases whose deadline passed without an answer, or that the server
/// answers with TTL 0 (gone), are marked lost. A broken stream is reopened with capped exponential backoff and every
/// lease renewed at once.
/// </summary>
internal sealed class LeaseKeepAliveManager : IAsyncDisposable
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(200);
    private static readonly long s_resendAfter = Stopwatch.Frequency; // 1 s
    private static readonly TimeSpan s_minBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(1);

    private readonly EtcdCallInvoker _invoker;
    private readonly ConcurrentDictionary<long, Lease> _leases = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Pb.LeaseKeepAliveRequest _request = new(); // reused: WriteAsync serializes before it returns
    private Task? _loop;
    private int _started;

    public LeaseKeepAliveManager(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>The number of leases being kept alive.</summary>
    public int Count => _leases.Count;

    public void Add(Lease lease)
    {
        if (_stop.IsCancellationRequested) throw new ObjectDisposedException(nameof(EtcdClient));
        if (!_leases.TryAdd(lease.Id, lease))
            throw new InvalidOperationException($"Lease {lease.Id:x} is already kept alive by this client.");
        if (Interlocked.Exchange(ref _started, 1) == 0) _loop = Task.Run(RunAsync);
    }

    public void Remove(Lease lease) => ((ICollection<KeyValuePair<long, Lease>>)_leases).Remove(new(lease.Id, lease));

    private async Task RunAsync()
    {
        var backoff = s_minBackoff;
        while (!_stop.IsCancellationRequested)
        {
            bool answered = false;
            var endpoint = _invoker.CurrentEndpoint;
            GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse>? call = null;
            Task? receiving = null;
            try
            {
                call = _invoker.StartDuplex(EtcdMethods.LeaseKeepAlive, deadline: null, _stop.Token);
                foreach (var lease in _leases.Values) lease.RenewSoon();
                receiving = ReceiveAsync(call, () => answered = true);
                using var timer = new PeriodicTimer(s_tick);
                do
                {
                    if (receiving.IsCompleted) break;
                    await SendDueAsync(call).ConfigureAwait(false);
                    ExpireOverdue();
                }
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception error) when (error is GrpcCallException or ObjectDisposedException or IOException or OperationCanceledException)
            {
                // The stream broke (member stopped, connection lost): reopen it below.
            }
            finally
            {
                if (call is not null) await call.DisposeAsync().ConfigureAwait(false);
                if (receiving is not null) await ObserveAsync(receiving).ConfigureAwait(false);
            }

            // A stream that got no answer at all points at a dead member: try the next endpoint, if there are several.
            if (!answered) _invoker.MoveToNextEndpoint(endpoint);
            ExpireOverdue();
            backoff = answered ? s_minBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_maxBackoff.Ticks));
            try
            {
                await Task.Delay(backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 50)), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Waits for the receive loop after its call was disposed; its failure was the stream's, already handled.</summary>
    private static async Task ObserveAsync(Task receiving)
    {
        try
        {
            await receiving.ConfigureAwait(false);
        }
        catch (Exception error) when (error is GrpcCallException or ObjectDisposedException or IOException or OperationCanceledException)
        {
        }
    }

    private async Task SendDueAsync(GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> call)
    {
        foreach (var lease in _leases.Values)
        {
            long now = Stopwatch.GetTimestamp();
            if (lease.IsLost || !lease.IsDue(now)) continue;
            _request.ID = lease.Id;
            await call.WriteAsync(_request, _stop.Token).ConfigureAwait(false);
            lease.OnSent(now, s_resendAfter);
        }
    }

    private async Task ReceiveAsync(GrpcDuplexCall<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse> call, Action onAnswer)
    {
        while (await call.MoveNextAsync(_stop.Token).ConfigureAwait(false))
        {
            onAnswer();
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

    private void ExpireOverdue()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var lease in _leases.Values)
        {
            if (!lease.IsPastDeadline(now)) continue;
            _leases.TryRemove(new(lease.Id, lease));
            lease.MarkLost(new EtcdLeaseLostException(
                $"Lease {lease.Id:x} could not be renewed before its TTL of {lease.Ttl.TotalSeconds:0} s ran out; it may have expired on the server.", lease.Id));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        foreach (var lease in _leases.Values)
            lease.MarkLost(new ObjectDisposedException(nameof(EtcdClient), $"The client keeping lease {lease.Id:x} alive was disposed."));
        _leases.Clear();
    }
}
