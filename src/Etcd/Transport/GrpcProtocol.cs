using System.Net.Http.Headers;

namespace Etcd.Transport;

/// <summary>Header names and values of the gRPC over HTTP/2 protocol.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string ContentTypeHeader = "Content-Type";
    public const string TeHeader = "te";
    public const string TeTrailers = "trailers";
    public const string TimeoutHeader = "grpc-timeout";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";

    /// <summary>"application/grpc", optionally followed by "+subtype" or ";params".</summary>
    public static bool IsGrpcContentType(string? value)
    {
        if (value is null || !value.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (value.Length == ContentType.Length)
        {
            return true;
        }

        char next = value[ContentType.Length];
        return next == '+' || next == ';';
    }

    /// <summary>First value of a header, read without parsing (and without allocating for a single value).</summary>
    public static bool TryGetHeader(HttpHeaders headers, string name, out string value)
    {
        if (headers.NonValidated.TryGetValues(name, out HeaderStringValues values) && values.Count > 0)
        {
            if (values.Count == 1)
            {
                value = values.ToString();
                return true;
            }

            foreach (string first in values)
            {
                value = first;
                return true;
            }
        }

        value = string.Empty;
        return false;
    }

    public static IReadOnlyList<KeyValuePair<string, string>> CollectHeaders(HttpHeaders headers)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (KeyValuePair<string, HeaderStringValues> header in headers.NonValidated)
        {
            foreach (string value in header.Value)
            {
                list.Add(new KeyValuePair<string, string>(header.Key, value));
            }
        }

        return list;
    }
}
