namespace Etcd.Concurrency;

/// <summary>
/// Leadership won by <see cref="Election.CampaignAsync(EtcdBytes, CancellationToken)"/>: this session's candidate key is the
/// first-created key of the election. <see cref="Lost"/> fires when it ends (session lost, key deleted or replaced by
/// someone else, or resigned here). Disposing resigns.
/// </summary>
public sealed class Leadership : IAsyncDisposable
{
    private static readonly TimeSpan s_disposeTimeout = TimeSpan.FromSeconds(5);

    private readonly Election _election;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopWatch = new();
    private readonly CancellationTokenRegistration _sessionLost;
    private readonly Task _watch;
    private ValueState _value;
    private Exception? _lostReason;
    private int _resigned;

    internal Leadership(Election election, long revision, EtcdBytes value, long modRevision, long watchFromRevision)
    {
        _election = election;
        Revision = revision;
        _value = new ValueState(value, modRevision);
        Fence = Compare.CreateRevision(Key).Equal(revision);
        _sessionLost = election.Session.Lost.Register(() => MarkLost(new EtcdLeaseLostException(
            $"The session of election candidate {Key} lost its lease {Session.LeaseId:x}.", Session.LeaseId, Session.Lease.LostReason)));
        _watch = WatchKeyAsync(watchFromRevision);
    }

    /// <summary>The election this leadership belongs to.</summary>
    public Election Election => _election;

    /// <summary>The name of the election.</summary>
    public EtcdBytes Name => _election.Name;

    /// <summary>The leader's key (<c>name/&lt;hex lease id&gt;</c> in the session's keyspace).</summary>
    public EtcdBytes Key => _election.Key;

    /// <summary>The create revision of the leader's key: the identity of this leadership, usable as a fencing token.</summary>
    public long Revision { get; }

    /// <summary>The current value of the leader's key (updated by proclaims, from here or from another holder of the session).</summary>
    public EtcdBytes Value => Volatile.Read(ref _value).Value;

    /// <summary>Fires once when the leadership is over: session lost, key deleted or replaced elsewhere, or resigned.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once the leadership is known to be over (<see cref="Lost"/> fires right after, on the thread pool).</summary>
    public bool IsLost => Volatile.Read(ref _lostReason) is not null;

    /// <summary>A compare that holds only while this leadership lasts; add it to a transaction to fence writes.</summary>
    public Compare Fence { get; }

    private Session Session => _election.Session;

    /// <summary>Why the leadership ended (null while it lasts).</summary>
    internal Exception? LostReason => Volatile.Read(ref _lostReason);

    /// <summary>
    /// Announces a new value without a new election. Throws <see cref="EtcdNotLeaderException"/> (sending nothing) once the
    /// leadership is known to be lost or resigned, and when the server finds the key gone or re-created.
    /// </summary>
    public Task ProclaimAsync(EtcdBytes value, CancellationToken cancellationToken = default)
    {
        if (value.IsNull) throw new ArgumentNullException(nameof(value));
        return ProclaimCoreAsync(value, cancellationToken);
    }

    internal async Task ProclaimCoreAsync(EtcdBytes value, CancellationToken cancellationToken)
    {
        if (LostReason is { } reason) throw NotLeader("cannot proclaim", reason);
        var result = await Session.Keyspace.Txn()
            .If(Fence)
            .Then(TxnOp.Put(Key, value, new PutOptions { Lease = Session.LeaseId }))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var gone = new EtcdNotLeaderException($"Election candidate key {Key} (revision {Revision}) no longer exists.", Key);
            MarkLost(gone);
            throw NotLeader("cannot proclaim", gone);
        }
        UpdateValue(value, result.Header.Revision);
    }

    /// <summary>
    /// Gives up the leadership: deletes the key if it is still this leadership's (so the next candidate leads) and fires
    /// <see cref="Lost"/>. Idempotent; a no-op on the server when the key is already gone.
    /// </summary>
    public async Task ResignAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _resigned) != 0) return;
        await Session.Keyspace.Txn()
            .If(Fence)
            .Then(TxnOp.Delete(Key))
            .CommitAsync(cancellationToken).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _resigned, 1) != 0) return;
        MarkLost(new EtcdNotLeaderException($"Election candidate {Key} resigned.", Key));
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>Resigns (waiting 5 s at most) and stops watching the key; never throws for a lost leadership or an unreachable server.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(s_disposeTimeout);
            await ResignAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is EtcdException or OperationCanceledException or ObjectDisposedException)
        {
            // Unreachable server or closed client: the key goes when the session's lease does.
        }
        Interlocked.Exchange(ref _resigned, 1);
        MarkLost(new EtcdNotLeaderException($"Election candidate {Key} was disposed.", Key));
        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>The exception a campaign that was waiting throws when this candidacy ended underneath it.</summary>
    internal Exception LostException()
    {
        var reason = LostReason;
        if (reason is EtcdLeaseLostException lost)
            return new EtcdLeaseLostException($"The session's lease {Session.LeaseId:x} was lost while campaigning in election {Name}.", lost.LeaseId, lost);
        return NotLeader("campaign failed", reason);
    }

    internal void MarkLost(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _lostReason, reason, null) is not null) return;
        _stopWatch.Cancel();
        // Callbacks registered on Lost run on the thread pool, never inside the caller or the watch loop.
        _ = Task.Run(() =>
        {
            try
            {
                _lost.Cancel();
            }
            catch (AggregateException)
            {
                // A callback registered on Lost threw: that is the callback owner's failure.
            }
        });
    }

    private EtcdNotLeaderException NotLeader(string what, Exception? reason) =>
        new($"Election candidate {Key} is not the leader ({what}): {reason?.Message ?? "leadership lost"}", Key, reason);

    private async Task StopAsync()
    {
        _stopWatch.Cancel();
        await _sessionLost.DisposeAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(false);
    }

    private void UpdateValue(EtcdBytes value, long modRevision)
    {
        var next = new ValueState(value, modRevision);
        while (true)
        {
            var current = Volatile.Read(ref _value);
            if (current.ModRevision >= modRevision) return;
            if (Interlocked.CompareExchange(ref _value, next, current) == current) return;
        }
    }

    // Follows our key: puts update Value, a delete (or a re-created key) ends the leadership. Never throws.
    private async Task WatchKeyAsync(long fromRevision)
    {
        var token = _stopWatch.Token;
        var keyspace = Session.Keyspace;
        try
        {
            // Yield first so the constructor returns before the watch starts.
            await Task.Yield();
            while (true)
            {
                try
                {
                    var options = new WatchOptions { StartRevision = fromRevision };
                    await foreach (var e in keyspace.WatchAsync(Key, options, token).ConfigureAwait(false))
                    {
                        if (e.Type == WatchEventType.Delete || e.Kv.CreateRevision != Revision)
                        {
                            MarkLost(new EtcdNotLeaderException($"Election candidate key {Key} (revision {Revision}) was deleted at revision {e.Revision}.", Key));
                            return;
                        }
                        UpdateValue(e.Kv.Value, e.Kv.ModRevision);
                        fromRevision = e.Revision + 1;
                    }
                }
                catch (EtcdCompactedException)
                {
                    // The history we needed is gone: look at the key now and follow it from there. The read is retried
                    // through transient failures (the watch itself resumes after reconnects); losing the session stops it.
                    var now = await TransientRetry.ReadAsync(
                        t => keyspace.GetAsync(Key, cancellationToken: t), CancellationToken.None, token).ConfigureAwait(false);
                    if (now.First is not { } kv || kv.CreateRevision != Revision)
                    {
                        MarkLost(new EtcdNotLeaderException($"Election candidate key {Key} (revision {Revision}) no longer exists.", Key));
                        return;
                    }
                    UpdateValue(kv.Value, kv.ModRevision);
                    fromRevision = now.Header.Revision + 1;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped: resigned, disposed or already lost.
        }
        catch (Exception error)
        {
            // The watch ended for good (client disposed, watch cancelled by the server): without it nobody can vouch
            // for the leadership any more, so report it lost rather than risk two leaders.
            MarkLost(new EtcdNotLeaderException($"Could not keep watching election candidate key {Key}: {error.Message}", Key, error));
        }
    }

    private sealed record ValueState(EtcdBytes Value, long ModRevision);

    /// <inheritdoc />
    public override string ToString() => $"leadership of {Key} (revision {Revision}{(IsLost ? ", lost" : "")})";
}
