using System.Runtime.CompilerServices;

namespace Etcd;

/// <summary>
/// A view of the client confined to the keys under <see cref="Prefix"/>: every key and range end passed in gets the
/// prefix, every key returned (reads, previous pairs, transaction responses, watch events) comes back without it, and
/// "all keys" or an open-ended range means all keys inside the namespace. Created with
/// <see cref="EtcdClient.WithNamespace"/>; nested namespaces concatenate their prefixes. The namespace holds the keys
/// <c>prefix + k</c> for every non-empty <c>k</c> (the bare prefix key itself is not part of it). Views are cheap and
/// thread-safe; they share the client's connections and watch stream and need no disposal.
/// </summary>
/// <example><code>
/// var app = client.WithNamespace("apps/billing/");
/// await app.PutAsync("config/mode", "on");                  // stored as "apps/billing/config/mode"
/// var all = await app.GetAsync(KeySet.All);                 // keys under "apps/billing/" only, returned as "config/mode"
/// </code></example>
public sealed class EtcdNamespace : IEtcdKeyspace
{
    private readonly EtcdBytes _prefix;

    internal EtcdNamespace(EtcdClient client, EtcdBytes prefix)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (prefix.IsNull) throw new ArgumentNullException(nameof(prefix));
        if (prefix.IsEmpty) throw new ArgumentException("A namespace prefix must not be empty.", nameof(prefix));
        Client = client;
        // Copied: the caller's array may change later, the namespace must not.
        _prefix = EtcdBytes.CopyFrom(prefix.Span);
    }

    /// <summary>The prefix added to every key of this view (for nested views: the concatenated prefixes).</summary>
    public EtcdBytes Prefix => _prefix;

    /// <summary>The underlying client, which sees the physical (prefixed) keys.</summary>
    public EtcdClient Client { get; }

    /// <summary>A view nested in this one: its prefix is this view's prefix followed by <paramref name="prefix"/>.</summary>
    public EtcdNamespace WithNamespace(EtcdBytes prefix)
    {
        if (prefix.IsNull) throw new ArgumentNullException(nameof(prefix));
        if (prefix.IsEmpty) throw new ArgumentException("A namespace prefix must not be empty.", nameof(prefix));
        return new EtcdNamespace(Client, NamespaceKeys.AddPrefix(_prefix, prefix));
    }

    /// <inheritdoc />
    public Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return StripAsync(Client.GetAsync(NamespaceKeys.ToPhysical(_prefix, keys), options, cancellationToken));
    }

    private async Task<GetResponse> StripAsync(Task<GetResponse> call)
        => NamespaceKeys.Strip(_prefix, await call.ConfigureAwait(false));

    /// <inheritdoc />
    public Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        return Client.GetValueAsync(NamespaceKeys.AddPrefix(_prefix, key), cancellationToken);
    }

    /// <inheritdoc />
    public Task<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        return Client.GetStringAsync(NamespaceKeys.AddPrefix(_prefix, key), cancellationToken);
    }

    /// <inheritdoc />
    public Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        return StripAsync(Client.PutAsync(NamespaceKeys.AddPrefix(_prefix, key), value, options, cancellationToken));
    }

    private async Task<PutResponse> StripAsync(Task<PutResponse> call)
        => NamespaceKeys.Strip(_prefix, await call.ConfigureAwait(false));

    /// <inheritdoc />
    public Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return StripAsync(Client.DeleteAsync(NamespaceKeys.ToPhysical(_prefix, keys), prevKv, cancellationToken));
    }

    private async Task<DeleteResponse> StripAsync(Task<DeleteResponse> call)
        => NamespaceKeys.Strip(_prefix, await call.ConfigureAwait(false));

    /// <summary>Starts a transaction bound to this view (its keys are namespaced); finish it with <see cref="Transaction.CommitAsync"/>.</summary>
    public Transaction Txn() => new(this);

    /// <summary>Commits a transaction whose compares, operations and nested transactions are all namespaced; the responses come back stripped.</summary>
    public Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return StripAsync(Client.TxnAsync(NamespaceKeys.ToPhysical(_prefix, transaction), cancellationToken));
    }

    private async Task<TxnResponse> StripAsync(Task<TxnResponse> call)
        => NamespaceKeys.Strip(_prefix, await call.ConfigureAwait(false));

    /// <inheritdoc />
    public IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return StripAllAsync(Client.ScanAsync(NamespaceKeys.ToPhysical(_prefix, keys), options, cancellationToken), kv => NamespaceKeys.Strip(_prefix, kv), cancellationToken);
    }

    private static async IAsyncEnumerable<T> StripAllAsync<T>(IAsyncEnumerable<T> source, Func<T, T> strip, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            yield return strip(item);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<WatchEvent> WatchAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return StripAllAsync(Client.Watch.WatchAsync(NamespaceKeys.ToPhysical(_prefix, keys), options, cancellationToken), e => NamespaceKeys.Strip(_prefix, e), cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<WatchResponse> WatchResponsesAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return StripAllAsync(Client.Watch.WatchResponsesAsync(NamespaceKeys.ToPhysical(_prefix, keys), options, cancellationToken), r => NamespaceKeys.Strip(_prefix, r), cancellationToken);
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        keys.Validate(nameof(keys));
        var prefix = _prefix;
        return Client.Watch.Watch(NamespaceKeys.ToPhysical(prefix, keys), (e, ct) => onEvent(NamespaceKeys.Strip(prefix, e), ct), options);
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        keys.Validate(nameof(keys));
        var prefix = _prefix;
        return Client.Watch.Watch(NamespaceKeys.ToPhysical(prefix, keys), e => onEvent(NamespaceKeys.Strip(prefix, e)), options);
    }

    /// <summary>The namespace prefix, e.g. <c>EtcdNamespace(apps/billing/)</c>.</summary>
    public override string ToString() => $"EtcdNamespace({_prefix})";
}
