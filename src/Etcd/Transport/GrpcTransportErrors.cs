using System.Net.Sockets;
using System.Security.Authentication;

namespace Etcd.Transport;

/// <summary>Translates exceptions of the HTTP stack into <see cref="GrpcCallException"/>.</summary>
internal static class GrpcTransportErrors
{
    /// <summary>
    /// Maps a failure that is neither caller cancellation, channel disposal nor the local deadline
    /// (the caller checks those first). <paramref name="requestStarted"/> is true once any request
    /// body byte may have been handed to the connection.
    /// </summary>
    public static GrpcCallException FromException(Exception exception, bool requestStarted, Uri address)
    {
        if (DescribeTlsFailure(exception, address) is { } tlsFailure)
        {
            // The server never got a working connection, so it processed nothing.
            return new GrpcCallException(GrpcStatusCode.Unavailable, tlsFailure, requestMayHaveBeenSent: false, exception) { TlsFailure = true };
        }

        if (!requestStarted && IsConnectFailure(exception))
        {
            return new GrpcCallException(
                GrpcStatusCode.Unavailable,
                $"Could not connect to {address}: {Describe(exception)}",
                requestMayHaveBeenSent: false,
                exception);
        }

        if (Find<HttpProtocolException>(exception) is { } protocolError)
        {
            return new GrpcCallException(
                FromHttp2ErrorCode(protocolError.ErrorCode),
                $"HTTP/2 error {Http2ErrorName(protocolError.ErrorCode)} (0x{protocolError.ErrorCode:x}) on the call to {address}: {protocolError.Message}",
                inner: exception);
        }

        return exception switch
        {
            HttpRequestException or IOException or SocketException => new GrpcCallException(
                GrpcStatusCode.Unavailable,
                $"The connection to {address} failed during the call: {Describe(exception)}",
                inner: exception),
            OperationCanceledException => new GrpcCallException(
                GrpcStatusCode.Cancelled,
                $"The HTTP stack cancelled the call to {address}: {Describe(exception)}",
                inner: exception),
            ObjectDisposedException => new GrpcCallException(
                GrpcStatusCode.Unavailable,
                $"The HTTP handler for {address} was disposed: {exception.Message}",
                inner: exception),
            _ => new GrpcCallException(
                GrpcStatusCode.Internal,
                $"Unexpected failure of the call to {address}: {exception.GetType().Name}: {exception.Message}",
                inner: exception),
        };
    }

    /// <summary>True when the exception says the connection could not be established (so no request went out).</summary>
    internal static bool IsConnectFailure(Exception exception)
    {
        switch (exception)
        {
            case HttpRequestException http:
                if (http.HttpRequestError is HttpRequestError.ConnectionError
                    or HttpRequestError.NameResolutionError
                    or HttpRequestError.SecureConnectionError
                    or HttpRequestError.VersionNegotiationError)
                {
                    return true;
                }

                return http.InnerException switch
                {
                    SocketException or AuthenticationException => true,
                    OperationCanceledException { InnerException: TimeoutException } => true,
                    _ => false,
                };

            // SocketsHttpHandler reports ConnectTimeout as a cancellation wrapping a TimeoutException.
            case OperationCanceledException { InnerException: TimeoutException }:
                return true;

            case SocketException:
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// A description when TLS failed, null otherwise. Two shapes. The handshake failed here: an
    /// <see cref="AuthenticationException"/> (the server certificate was rejected, or, with TLS 1.2, the server refused the
    /// client certificate). Or, with TLS 1.3, the handshake completed on the client's side and the server's rejection of
    /// the client certificate (an alert) closed the connection before the HTTP/2 connection was established; depending on
    /// which of the handler's reads and writes notices first, SocketsHttpHandler then reports "An HTTP/2 connection could
    /// not be established" wrapping the alert, a disposed SslStream, or a failed write. A server that dies in the same
    /// few milliseconds between the TLS handshake and the HTTP/2 preface, closing without a reset, would look the same;
    /// with a reset (SocketException) it stays a plain connection failure.
    /// </summary>
    internal static string? DescribeTlsFailure(Exception exception, Uri address)
    {
        if (Find<AuthenticationException>(exception) is { } authentication)
        {
            return $"The TLS handshake with {address} failed: {authentication.Message}";
        }

        if (address.Scheme == Uri.UriSchemeHttps && Find<SocketException>(exception) is null && IsHttp2NotEstablished(exception))
        {
            return $"The server {address} closed the TLS connection before HTTP/2 was established: it rejected the client certificate (missing, untrusted or not for client authentication), or the TLS settings do not match.";
        }

        return null;
    }

    // Only SocketsHttpHandler's message tells this case apart; should it change, the failure stays Unavailable (retryable).
    private static bool IsHttp2NotEstablished(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is IOException && current.InnerException is not null
                && current.Message.StartsWith("An HTTP/2 connection could not be established", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>RST_STREAM / GOAWAY codes to gRPC codes, as in gRPC's HTTP/2 protocol description.</summary>
    internal static GrpcStatusCode FromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x7 => GrpcStatusCode.Unavailable,       // REFUSED_STREAM
        0x8 => GrpcStatusCode.Cancelled,         // CANCEL
        0xb => GrpcStatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
        0xc => GrpcStatusCode.PermissionDenied,  // INADEQUATE_SECURITY
        _ => GrpcStatusCode.Internal,
    };

    private static string Http2ErrorName(long errorCode) => errorCode switch
    {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "UNKNOWN",
    };

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static string Describe(Exception exception)
    {
        Exception? inner = exception.InnerException;
        return inner is null || exception.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? exception.Message
            : $"{exception.Message} ({inner.Message})";
    }
}
