namespace Etcd;

/// <summary>
/// The TLS connection to etcd could not be established or was rejected: the server's certificate is not trusted or does
/// not match the expected name, or the server refused the client certificate (missing, untrusted, wrong usage).
/// </summary>
/// <remarks>
/// A configuration problem, not a passing one: <see cref="EtcdException.IsTransient"/> is false so retry loops give up at
/// once. The status code is <see cref="EtcdStatusCode.Unavailable"/>, as gRPC reports handshake failures.
/// Nothing was processed by etcd: the connection was refused before any request reached it.
/// </remarks>
public sealed class EtcdTlsException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdTlsException(string message, Exception? innerException = null)
        : base(EtcdStatusCode.Unavailable, message, null, innerException) { }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
