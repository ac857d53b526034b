using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Etcd.Transport;

/// <summary>Reads the gRPC status of a response: from its headers (trailers-only responses) or its trailers.</summary>
internal static class GrpcResponseStatus
{
    /// <summary>
    /// Validates the response headers. Returns true for a trailers-only response with status OK
    /// (there is no body to read), false when messages and trailers follow in the body.
    /// Throws <see cref="GrpcCallException"/> for a non-OK status or a response that is not gRPC.
    /// </summary>
    public static bool CheckHeaders(HttpResponseMessage response)
    {
        if (response.Version.Major != 2)
        {
            throw new GrpcCallException(
                GrpcStatusCode.Internal,
                $"gRPC requires HTTP/2, but the server answered with HTTP/{response.Version} (status {(int)response.StatusCode}).");
        }

        if (GrpcProtocol.TryGetHeader(response.Headers, GrpcProtocol.StatusHeader, out string statusText))
        {
            GrpcStatusCode code = ParseStatus(statusText, out string? invalidStatus);
            if (code == GrpcStatusCode.OK)
            {
                return true;
            }

            throw CreateStatusException(code, invalidStatus, response.Headers);
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new GrpcCallException(
                FromHttpStatus(response.StatusCode),
                $"The server answered with HTTP status {(int)response.StatusCode} ({response.ReasonPhrase ?? response.StatusCode.ToString()}) and no grpc-status.");
        }

        GrpcProtocol.TryGetHeader(response.Content.Headers, GrpcProtocol.ContentTypeHeader, out string contentType);
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw new GrpcCallException(
                GrpcStatusCode.Internal,
                contentType.Length == 0
                    ? "The response has no content-type; expected application/grpc."
                    : $"The response has content-type '{contentType}'; expected application/grpc.");
        }

        return false;
    }

    /// <summary>Reads grpc-status from the trailers once the body has been read to its end; throws unless OK.</summary>
    public static void ThrowIfTrailersNotOk(HttpResponseMessage response)
    {
        HttpResponseHeaders trailers = response.TrailingHeaders;
        if (!GrpcProtocol.TryGetHeader(trailers, GrpcProtocol.StatusHeader, out string statusText))
        {
            throw new GrpcCallException(GrpcStatusCode.Internal, "No grpc-status in response.")
            {
                Trailers = GrpcProtocol.CollectHeaders(trailers),
            };
        }

        GrpcStatusCode code = ParseStatus(statusText, out string? invalidStatus);
        if (code != GrpcStatusCode.OK)
        {
            throw CreateStatusException(code, invalidStatus, trailers);
        }
    }

    /// <summary>The gRPC code for an HTTP status received without grpc-status (gRPC's "HTTP to gRPC status code mapping").</summary>
    public static GrpcStatusCode FromHttpStatus(HttpStatusCode status) => (int)status switch
    {
        400 => GrpcStatusCode.Internal,
        401 => GrpcStatusCode.Unauthenticated,
        403 => GrpcStatusCode.PermissionDenied,
        404 => GrpcStatusCode.Unimplemented,
        429 or 502 or 503 or 504 => GrpcStatusCode.Unavailable,
        _ => GrpcStatusCode.Unknown,
    };

    /// <summary>Parses a grpc-status value; values that are not a known code become Unknown (and are reported).</summary>
    internal static GrpcStatusCode ParseStatus(string text, out string? invalid)
    {
        if (int.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            && value <= (int)GrpcStatusCode.Unauthenticated)
        {
            invalid = null;
            return (GrpcStatusCode)value;
        }

        invalid = text;
        return GrpcStatusCode.Unknown;
    }

    private static GrpcCallException CreateStatusException(GrpcStatusCode code, string? invalidStatus, HttpHeaders headers)
    {
        string detail = GrpcProtocol.TryGetHeader(headers, GrpcProtocol.MessageHeader, out string message)
            ? GrpcMessageEncoding.Decode(message)
            : string.Empty;
        if (invalidStatus is not null)
        {
            detail = $"Invalid grpc-status '{invalidStatus}'. {detail}".TrimEnd();
        }

        return new GrpcCallException(code, detail) { Trailers = GrpcProtocol.CollectHeaders(headers) };
    }
}
