using System.Runtime.CompilerServices;
using Etcd.Operations;

namespace Etcd;

/// <summary>Watches over the client's one shared watch stream; reached through <see cref="EtcdClient.Watch"/>.</summary>
public sealed class WatchClient : IEtcdWatch
{
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
        return EventsAsync(keys, options, cancellationToken);
    }

    private async IAsyncEnumerable<WatchEvent> EventsAsync(KeySet keys, WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var response in ResponsesAsync(keys, options, cancellationToken).ConfigureAwait(false))
        {
            foreach (var e in response.Events) yield return e;
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<WatchResponse> WatchResponsesAsync(KeySet keys, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = Validate(keys, options);
        return ResponsesAsync(keys, options, cancellationToken);
    }

    private async IAsyncEnumerable<WatchResponse> ResponsesAsync(KeySet keys, WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var watcher = Manager.Add(keys, options);
        try
        {
            var reader = watcher.Reader;
            while (await watcher.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var response))
                {
                    watcher.OnConsumed();
                    yield return response;
                }
            }
        }
        finally
        {
            Manager.Remove(watcher);
        }
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Func<WatchEvent, CancellationToken, ValueTask> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        options = Validate(keys, options);
        return new WatchSubscription(Manager, Manager.Add(keys, options), onEvent);
    }

    /// <inheritdoc />
    public WatchSubscription Watch(KeySet keys, Action<WatchEvent> onEvent, WatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        return Watch(keys, (e, _) =>
        {
            onEvent(e);
            return ValueTask.CompletedTask;
        }, options);
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
        options ??= new WatchOptions();
        options.Validate(nameof(options));
        _invoker.ThrowIfDisposed();
        return options;
    }
}
