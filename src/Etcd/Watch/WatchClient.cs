using Etcd.Operations;

namespace Etcd;

/// <summary>Watches over the client's one shared watch stream; reached through <see cref="EtcdClient.Watch"/>.</summary>
public sealed class WatchClient : IEtcdWatch
{
    private static readonly WatchOptions s_defaultOptions = new(); // immutable: shared by every watch without options
    private readonly EtcdCallInvoker _invoker;

    internal WatchClient(EtcdCallInvoker invoker)
    {
        _invoker = invoker;
        Manager = new WatchManager(invoker);
    }

    internal WatchManager Manager { get; }

    /// <summary>The number of watches running on this client.</summary>
    public int ActiveCount => Manager.Count;

    /// <inheritdoc />
    public IAsyncEnumerable<WatchEvent> WatchAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = Validate(keys, options);
        return new WatchEvents(Manager, keys, options, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<WatchResponse> WatchResponsesAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = Validate(keys, options);
        return new WatchResponses(Manager, keys, options, cancellationToken);
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        options = Validate(keys, options);
        return new WatchSubscription(Manager.Add(keys, options), onEvent);
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        options = Validate(keys, options);
        return new WatchSubscription(Manager.Add(keys, options), onEvent); // no wrapping delegate: the subscription calls it as it is
    }

    /// <summary>
    /// Asks the server for a progress notification on the shared stream: every watch then receives a response with
    /// <see cref="WatchResponse.IsProgressNotify"/> set (visible through <see cref="WatchResponsesAsync"/>).
    /// </summary>
    public Task RequestProgressAsync(CancellationToken cancellationToken = default)
    {
        _invoker.ThrowIfDisposed();
        return Manager.RequestProgressAsync(cancellationToken);
    }

    private WatchOptions Validate(KeySet keys, WatchOptions? options)
    {
        keys.Validate(nameof(keys));
        options ??= s_defaultOptions;
        options.Validate(nameof(options));
        _invoker.ThrowIfDisposed();
        return options;
    }
}
