using Microsoft.Extensions.Logging;

namespace Etcd.Operations;

/// <summary>The client's log events (category <c>Etcd.EtcdClient</c>). Never logs keys, values, passwords or tokens.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Leaving endpoint {Endpoint} after {Status}: {Detail}")]
    public static partial void LeftEndpoint(ILogger logger, Uri endpoint, string status, string detail);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Retrying {Method} (attempt {Attempt} failed with {Status}: {Detail}) in {PauseMs} ms")]
    public static partial void Retrying(ILogger logger, string method, int attempt, string status, string detail, long pauseMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Endpoints replaced: {Endpoints}")]
    public static partial void EndpointsReplaced(ILogger logger, string endpoints);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Endpoint sync failed; keeping the current endpoints")]
    public static partial void EndpointSyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "The {Stream} stream to {Endpoint} broke ({Reason}); reopening it")]
    public static partial void StreamBroke(ILogger logger, string stream, Uri endpoint, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "The auth token was rejected on {Method}; authenticating again")]
    public static partial void TokenRejected(ILogger logger, string method);
}
