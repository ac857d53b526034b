namespace Etcd;

/// <summary>Base class of every error the etcd server or the network causes.</summary>
public class EtcdException : Exception
{
    /// <summary>Creates an exception with a status code and the server's message.</summary>
    public EtcdException(EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ServerMessage = serverMessage;
    }

    /// <summary>The gRPC status code of the failure.</summary>
    public EtcdStatusCode StatusCode { get; }

    /// <summary>The message the server sent (grpc-message), when the server answered.</summary>
    public string? ServerMessage { get; }

    /// <summary>True when the same request may succeed later (unavailable, no leader, deadline).</summary>
    public virtual bool IsTransient => StatusCode is EtcdStatusCode.Unavailable or EtcdStatusCode.DeadlineExceeded;
}
