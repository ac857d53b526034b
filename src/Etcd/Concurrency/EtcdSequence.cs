namespace Etcd.Concurrency;

/// <summary>
/// A generator of unique, increasing 64-bit ids (1, 2, 3, ...) shared by every process that uses the same key. The
/// key holds the last id reserved as decimal ASCII (an <see cref="EtcdCounter"/>), so ids survive restarts and can be
/// read with <c>etcdctl</c>. Thread-safe.
/// </summary>
/// <remarks>
/// With the default <see cref="SequenceOptions.BlockSize"/> of 1 each id is one compare-and-swap on the key, so ids
/// are strictly increasing in the order they were issued across all generators. With a larger block, one
/// compare-and-swap reserves a block of ids that this generator then hands out without a round trip: ids stay unique
/// across generators and increasing per generator, but are not ordered across generators, and ids of a block not used
/// up are never issued. Writing a lower value into the key, or deleting it, breaks uniqueness. A reservation whose outcome is unknown
/// (an error after the commit was sent) propagates and is not retried, so it may leave a gap, never a duplicate.
/// </remarks>
public sealed class EtcdSequence
{
    private readonly EtcdCounter _counter;
    private readonly int _blockSize;
    private readonly SemaphoreSlim _blockGate = new(1, 1);
    // The next id of the reserved block and how many are left; only touched while holding _blockGate.
    private long _next;
    private long _remaining;

    /// <summary>Creates a generator over <paramref name="key"/> of <paramref name="keyspace"/>.</summary>
    public EtcdSequence(IEtcdKeyspace keyspace, EtcdBytes key, SequenceOptions? options = null)
    {
        _counter = new EtcdCounter(keyspace, key);
        _blockSize = (options ?? new SequenceOptions()).BlockSize;
    }

    /// <summary>The key holding the last reserved id.</summary>
    public EtcdBytes Key => _counter.Key;

    /// <summary>The number of ids reserved per round trip.</summary>
    public int BlockSize => _blockSize;

    /// <summary>Returns the next id.</summary>
    /// <exception cref="EtcdValueFormatException">The key holds something other than a decimal 64-bit integer.</exception>
    public Task<long> NextAsync(CancellationToken cancellationToken = default)
        => _blockSize == 1 ? _counter.IncrementAsync(cancellationToken) : NextFromBlockAsync(cancellationToken);

    private async Task<long> NextFromBlockAsync(CancellationToken cancellationToken)
    {
        await _blockGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_remaining == 0)
            {
                var end = await _counter.AddAsync(_blockSize, cancellationToken).ConfigureAwait(false);
                _next = end - _blockSize + 1;
                _remaining = _blockSize;
            }
            _remaining--;
            return _next++;
        }
        finally
        {
            _blockGate.Release();
        }
    }
}
