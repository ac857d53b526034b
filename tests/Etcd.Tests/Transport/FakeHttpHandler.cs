namespace Etcd.Tests.Transport;

/// <summary>An HttpMessageHandler whose answers come from a delegate; counts the requests it was given.</summary>
internal sealed class FakeHttpHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _respond;
    private int _calls;

    public FakeHttpHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond)
    {
        _respond = respond;
    }

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>A handler answering every request with the response the factory builds.</summary>
    public static FakeHttpHandler Returning(Func<HttpResponseMessage> response) =>
        new((_, _) => Task.FromResult(response()));

    /// <summary>A handler that never answers; it ends only when its token is cancelled.</summary>
    public static FakeHttpHandler Hanging(TaskCompletionSource? entered = null) =>
        new(async (_, cancellationToken) =>
        {
            entered?.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        });

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return _respond(request, cancellationToken);
    }
}
