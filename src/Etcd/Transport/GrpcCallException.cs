namespace Etcd.Transport;

/// <summary>
/// A gRPC call ended with a non-OK outcome: a status sent by the server, or one synthesised locally
/// for transport and protocol failures. Cancellation by the caller is reported as
/// <see cref="OperationCanceledException"/> instead.
/// </summary>
internal sealed class GrpcCallException : Exception
{
    private static readonly KeyValuePair<string, string>[] s_noTrailers = [];

    public GrpcCallException(GrpcStatusCode statusCode, string detail, bool requestMayHaveBeenSent = true, Exception? inner = null)
        : base(FormatMessage(statusCode, detail), inner)
    {
        StatusCode = statusCode;
        Detail = detail ?? string.Empty;
        RequestMayHaveBeenSent = requestMayHaveBeenSent;
    }

    public GrpcStatusCode StatusCode { get; }

    /// <summary>The server's grpc-message (percent-decoded), or a description of the local failure.</summary>
    public string Detail { get; }

    /// <summary>
    /// False only when provably nothing of the request left the process (connection could not be
    /// established, the deadline had passed, or the message was too large to send).
    /// </summary>
    public bool RequestMayHaveBeenSent { get; }

    /// <summary>The status-carrying metadata received with the failure (trailers, or the headers of a trailers-only response).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers { get; init; } = s_noTrailers;

    /// <summary>True when TLS failed: the certificate of one side was rejected by the other (a configuration error, not transient).</summary>
    public bool TlsFailure { get; init; }

    /// <summary>True when the client itself refused a response message larger than its receive limit.</summary>
    public bool ReceiveLimitExceeded { get; init; }

    /// <summary>With <see cref="ReceiveLimitExceeded"/>: the first bytes of the refused message (at most 64), so a caller can tell whose it was.</summary>
    public byte[] MessagePrefix { get; init; } = [];

    private static string FormatMessage(GrpcStatusCode statusCode, string? detail) =>
        string.IsNullOrEmpty(detail)
            ? $"gRPC status {statusCode} ({(int)statusCode})."
            : $"gRPC status {statusCode} ({(int)statusCode}): {detail}";
}
