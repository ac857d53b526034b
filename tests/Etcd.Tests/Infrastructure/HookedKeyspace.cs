namespace Etcd.Tests.Infrastructure;

/// <summary>
/// A keyspace that forwards everything to another one and lets a test step in around writes: run something just before
/// a delete, or fail a put or transaction after the server applied it (an answer lost to a timeout or cancellation).
/// Hooks are read on every call; a test clears a hook (sets it to null) from inside it to make it fire once.
/// </summary>
internal sealed class HookedKeyspace(IEtcdKeyspace inner) : IEtcdKeyspace
{
    /// <summary>Runs before each delete is sent.</summary>
    public Func<KeySet, Task>? BeforeDelete { get; set; }

    /// <summary>Runs after each put was applied, with the caller's token; throwing here loses the put's answer.</summary>
    public Func<EtcdBytes, CancellationToken, Task>? AfterPut { get; set; }

    /// <summary>Runs after each transaction was applied, with its response; throwing here loses the answer.</summary>
    public Func<Transaction, TxnResponse, Task>? AfterTxn { get; set; }

    public EtcdClient Client => inner.Client;

    public Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default)
        => inner.GetAsync(keys, options, cancellationToken);

    public Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default)
        => inner.GetValueAsync(key, cancellationToken);

    public Task<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default)
        => inner.GetStringAsync(key, cancellationToken);

    public async Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await inner.PutAsync(key, value, options, cancellationToken);
        if (AfterPut is { } hook) await hook(key, cancellationToken);
        return response;
    }

    public async Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        if (BeforeDelete is { } hook) await hook(keys);
        return await inner.DeleteAsync(keys, prevKv, cancellationToken);
    }

    public Transaction Txn() => new(this);

    public async Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        var response = await inner.TxnAsync(transaction, cancellationToken);
        if (AfterTxn is { } hook) await hook(transaction, response);
        return response;
    }

    public IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => inner.ScanAsync(keys, options, cancellationToken);

    public IAsyncEnumerable<WatchEvent> WatchAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
        => inner.WatchAsync(keys, options, cancellationToken);

    public IAsyncEnumerable<WatchResponse> WatchResponsesAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
        => inner.WatchResponsesAsync(keys, options, cancellationToken);

    public WatchSubscription Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options = null)
        => inner.Watch(keys, onEvent, options);

    public WatchSubscription Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options = null)
        => inner.Watch(keys, onEvent, options);
}
