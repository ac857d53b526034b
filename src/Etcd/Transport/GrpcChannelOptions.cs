using System.Net.Security;

namespace Etcd.Transport;

/// <summary>Settings of a <see cref="GrpcChannel"/>.</summary>
internal sealed class GrpcChannelOptions
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest serialized request message, in bytes.</summary>
    public int MaxSendMessageSize { get; init; } = 2 * 1024 * 1024;

    /// <summary>Largest serialized response message, in bytes.</summary>
    public int MaxReceiveMessageSize { get; init; } = 256 * 1024 * 1024;

    /// <summary>Interval of HTTP/2 PINGs while calls are open; infinite disables them.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = Timeout.InfiniteTimeSpan;

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A handler to send requests through (not disposed by the channel). Null: the channel builds and owns a SocketsHttpHandler.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>TLS settings for the built-in handler (ignored when <see cref="HttpHandler"/> is set).</summary>
    public SslClientAuthenticationOptions? SslOptions { get; init; }

    /// <summary>
    /// With https: the host name TLS validates the server certificate against and sends as SNI, instead of the
    /// address's host. Sent as the requests' Host (:authority), which is what SocketsHttpHandler takes the TLS name from.
    /// </summary>
    public string? TlsServerName { get; init; }

    internal void Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "ConnectTimeout must be positive or infinite.");
        }

        if (MaxSendMessageSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSendMessageSize), MaxSendMessageSize, "MaxSendMessageSize must be positive.");
        }

        if (MaxReceiveMessageSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "MaxReceiveMessageSize must be positive.");
        }

        if (KeepAlivePingDelay <= TimeSpan.Zero && KeepAlivePingDelay != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingDelay), KeepAlivePingDelay, "KeepAlivePingDelay must be positive or infinite.");
        }

        if (KeepAlivePingTimeout <= TimeSpan.Zero && KeepAlivePingTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "KeepAlivePingTimeout must be positive or infinite.");
        }
    }
}
