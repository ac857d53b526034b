using System.Buffers.Text;
using System.Globalization;

namespace Etcd.Concurrency;

/// <summary>
/// A 64-bit integer counter kept in one etcd key as decimal ASCII (readable and writable with <c>etcdctl</c>; an
/// absent key counts as 0). Updates are compare-and-swap transactions on the key's mod revision, so concurrent
/// updates from any number of processes are never lost. Thread-safe.
/// </summary>
/// <remarks>
/// An update sends <c>If(ModRevision(key) == seen) Then(Put(key, seen + delta)) Else(Get(key))</c>: a conflict
/// returns the current value in the same round trip, and the update is retried with a short random backoff until it
/// applies (or the token is cancelled). The last value seen is remembered, so an uncontended update from the same
/// instance costs one round trip. If a commit fails after it was sent (e.g. <see cref="EtcdUnavailableException"/>),
/// whether it applied is unknown: the error propagates and the update is not retried, so it is never applied twice.
/// </remarks>
public sealed class EtcdCounter
{
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromMilliseconds(50);

    private readonly IEtcdKeyspace _keyspace;
    private readonly EtcdBytes _key;
    // The last value and mod revision this instance saw: a guess for the next compare-and-swap, never trusted otherwise.
    private Observed? _observed;

    /// <summary>Creates a counter kept in <paramref name="key"/> of <paramref name="keyspace"/>.</summary>
    public EtcdCounter(IEtcdKeyspace keyspace, EtcdBytes key)
    {
        ArgumentNullException.ThrowIfNull(keyspace);
        Guard.Key(key, nameof(key));
        _keyspace = keyspace;
        _key = EtcdBytes.CopyFrom(key.Span);
    }

    /// <summary>The keyspace the counter lives in.</summary>
    public IEtcdKeyspace Keyspace => _keyspace;

    /// <summary>The key holding the counter.</summary>
    public EtcdBytes Key => _key;

    /// <summary>Reads the current value (0 when the key does not exist).</summary>
    /// <exception cref="EtcdValueFormatException">The key holds something other than a decimal 64-bit integer.</exception>
    public async Task<long> GetAsync(CancellationToken cancellationToken = default)
    {
        var response = await _keyspace.GetAsync(_key, cancellationToken: cancellationToken).ConfigureAwait(false);
        var observed = Observe(response.First);
        Volatile.Write(ref _observed, observed);
        return observed.Value;
    }

    /// <summary>
    /// Adds <paramref name="delta"/> (may be negative) atomically and returns the new value. Under contention it retries
    /// (with a short random backoff) until its compare-and-swap wins or <paramref name="cancellationToken"/> is
    /// cancelled; there is no retry limit, so pass a token (or a timeout) when updates may be contended without end.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled (between attempts nothing was added; during a commit, whether it applied is unknown).</exception>
    /// <exception cref="EtcdValueFormatException">The key holds something other than a decimal 64-bit integer.</exception>
    /// <exception cref="OverflowException">The result would not fit in 64 bits (nothing is written).</exception>
    public async Task<long> AddAsync(long delta, CancellationToken cancellationToken = default)
    {
        var observed = Volatile.Read(ref _observed);
        // No guess yet: assume the key is absent; if it is not, the Else branch returns it in the same round trip.
        var fresh = false;
        observed ??= new Observed(0, 0);
        for (var conflicts = 0; ; conflicts++)
        {
            long next;
            try
            {
                next = checked(observed.Value + delta);
            }
            catch (OverflowException) when (!fresh)
            {
                observed = Observe((await _keyspace.GetAsync(_key, cancellationToken: cancellationToken).ConfigureAwait(false)).First);
                fresh = true;
                conflicts--;
                continue;
            }
            catch (OverflowException ex)
            {
                throw new OverflowException($"Adding {delta} to the counter {_key} (now {observed.Value}) overflows a 64-bit integer; nothing was written.", ex);
            }

            var response = await _keyspace.Txn()
                .If(Compare.ModRevision(_key).Equal(observed.ModRevision))
                .Then(TxnOp.Put(_key, Format(next)))
                .Else(TxnOp.Get(_key))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                // The put is the transaction's only write, so its mod revision is the header revision.
                Volatile.Write(ref _observed, new Observed(next, response.Header.Revision));
                return next;
            }
            observed = Observe(response.Response<GetResponse>(0).First);
            fresh = true;
            Volatile.Write(ref _observed, observed);
            await ConflictBackoff.DelayAsync(conflicts, s_maxBackoff, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds one atomically and returns the new value.</summary>
    public Task<long> IncrementAsync(CancellationToken cancellationToken = default) => AddAsync(1, cancellationToken);

    /// <summary>Subtracts one atomically and returns the new value.</summary>
    public Task<long> DecrementAsync(CancellationToken cancellationToken = default) => AddAsync(-1, cancellationToken);

    /// <summary>Overwrites the value unconditionally.</summary>
    public async Task SetAsync(long value, CancellationToken cancellationToken = default)
    {
        var response = await _keyspace.PutAsync(_key, Format(value), cancellationToken: cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _observed, new Observed(value, response.Header.Revision));
    }

    /// <summary>The decimal ASCII form a counter value is stored in.</summary>
    internal static EtcdBytes Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a stored counter value: optional sign and decimal digits, nothing else.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> text, out long value)
        => Utf8Parser.TryParse(text, out value, out var consumed) && consumed == text.Length && text.Length > 0;

    private Observed Observe(KeyValue? kv)
    {
        if (kv is null) return new Observed(0, 0);
        if (!TryParse(kv.Value.Span, out var value))
            throw new EtcdValueFormatException(_key, kv.Value, "a decimal 64-bit integer");
        return new Observed(value, kv.ModRevision);
    }

    private sealed record Observed(long Value, long ModRevision);
}
