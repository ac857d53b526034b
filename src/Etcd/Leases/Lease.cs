using System.Diagnostics;

namespace Etcd;

/// <summary>
/// A lease the client keeps alive in the background (renewed at about a third of its TTL over the client's one shared
/// keep-alive stream). <see cref="Lost"/> fires when the lease is gone: expired, revoked elsewhere, or not renewed
/// before its TTL ran out (for example while etcd was unreachable). Disposing stops the renewals and revokes the lease.
/// </summary>
public sealed class Lease : IAsyncDisposable
{
    private readonly LeaseClient _leases;
    private readonly CancellationTokenSource _lost = new();
    private Exception? _lostReason;
    private long _ttlSeconds;
    private long _deadlineTimestamp;      // Stopwatch timestamp after which the lease may have expired
    private long _nextSendTimestamp;      // when the next keep-alive request is due
    private long _pendingSinceTimestamp;  // when the oldest unanswered request was sent, 0 if none
    private long _lastRenewalUtcTicks;
    private int _disposed;

    internal Lease(LeaseClient leases, long id, long ttlSeconds, long confirmedAtTimestamp)
    {
        _leases = leases;
        Id = id;
        _ttlSeconds = ttlSeconds;
        _deadlineTimestamp = confirmedAtTimestamp + SecondsToTimestamp(ttlSeconds);
        _nextSendTimestamp = confirmedAtTimestamp + SecondsToTimestamp(ttlSeconds) / 3;
        _lastRenewalUtcTicks = DateTime.UtcNow.Ticks;
    }

    /// <summary>The lease id; attach keys with <see cref="PutOptions.Lease"/>.</summary>
    public long Id { get; }

    /// <summary>The TTL of the last grant or renewal.</summary>
    public TimeSpan Ttl => TimeSpan.FromSeconds(Volatile.Read(ref _ttlSeconds));

    /// <summary>When the lease was last granted or renewed (UTC).</summary>
    public DateTimeOffset LastRenewal => new(Volatile.Read(ref _lastRenewalUtcTicks), TimeSpan.Zero);

    /// <summary>Fires once when the lease is gone; its keys are then gone too, or will be when the TTL runs out.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Why the lease was lost (null while it is alive): <see cref="EtcdLeaseNotFoundException"/> when the server
    /// said it no longer exists, <see cref="EtcdLeaseLostException"/> when it could not be renewed in time,
    /// <see cref="ObjectDisposedException"/> when the lease was revoked or disposed here, or the client was disposed.</summary>
    public Exception? LostReason => Volatile.Read(ref _lostReason);

    /// <summary>True once the lease is known to be lost (<see cref="Lost"/> fires right after, on the thread pool).</summary>
    public bool IsLost => Volatile.Read(ref _lostReason) is not null;

    /// <summary>Stops renewing and revokes the lease (deleting its keys); throws when the revoke fails, and <see cref="ObjectDisposedException"/> after <see cref="DisposeAsync"/>.</summary>
    public Task RevokeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return RevokeCoreAsync(cancellationToken);
    }

    private async Task RevokeCoreAsync(CancellationToken cancellationToken)
    {
        StopKeepAlive();
        try
        {
            await _leases.RevokeAsync(Id, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdLeaseNotFoundException)
        {
            // Already gone: the outcome the caller asked for.
        }
    }

    /// <summary>Stops renewing and revokes the lease (waiting 10 s at most); a failed revoke is not thrown (the lease then expires after its TTL).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await RevokeCoreAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or ObjectDisposedException or OperationCanceledException)
        {
            // Unreachable server or closed client: the lease runs out on its own.
        }
    }

    private void StopKeepAlive()
    {
        _leases.KeepAlives.Remove(this);
        MarkLost(new ObjectDisposedException(nameof(Lease), $"Lease {Id:x} was revoked or disposed by its owner."));
    }

    internal static long SecondsToTimestamp(long seconds) => seconds * Stopwatch.Frequency;

    /// <summary>Due for a keep-alive: none outstanding, and a third of the TTL has passed since the last answer.</summary>
    internal bool IsDue(long now) => Volatile.Read(ref _pendingSinceTimestamp) == 0 && now >= Volatile.Read(ref _nextSendTimestamp);

    internal bool IsPastDeadline(long now) => now >= Volatile.Read(ref _deadlineTimestamp);

    /// <summary>Records a keep-alive about to be sent (one at a time per lease and stream).</summary>
    internal void OnSent(long now) => Volatile.Write(ref _pendingSinceTimestamp, now);

    /// <summary>Records the server's answer: the lease lives until the oldest unanswered request's send time plus the TTL.</summary>
    internal void OnRenewed(long ttlSeconds, long now)
    {
        long sentAt = Interlocked.Exchange(ref _pendingSinceTimestamp, 0);
        if (sentAt == 0) sentAt = now;
        Volatile.Write(ref _ttlSeconds, ttlSeconds);
        Volatile.Write(ref _deadlineTimestamp, sentAt + SecondsToTimestamp(ttlSeconds));
        Volatile.Write(ref _nextSendTimestamp, now + SecondsToTimestamp(ttlSeconds) / 3);
        Volatile.Write(ref _lastRenewalUtcTicks, DateTime.UtcNow.Ticks);
    }

    /// <summary>Asks for a keep-alive at the next opportunity on a new stream; a request left on the old one is void.</summary>
    internal void RenewSoon()
    {
        Volatile.Write(ref _pendingSinceTimestamp, 0);
        Volatile.Write(ref _nextSendTimestamp, 0);
    }

    /// <summary>Fires <see cref="Lost"/> once; callbacks run on the thread pool, never on the keep-alive loop.</summary>
    internal void MarkLost(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _lostReason, reason, null) is not null) return;
        _ = Task.Run(CancelLost);
    }

    private void CancelLost()
    {
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException)
        {
            // A callback registered on Lost threw: that is the callback owner's failure, not the lease's.
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"lease {Id:x} (TTL {Ttl.TotalSeconds:0} s{(IsLost ? ", lost" : "")})";
}
