using Etcd.Transport;

namespace Etcd.Operations;

/// <summary>The typed end of a shared stream whose TLS handshake every endpoint refused.</summary>
internal static class StreamTls
{
    public static EtcdTlsException Failure(string stream, GrpcCallException error, int attempts) =>
        new($"{stream} could not be opened: TLS failed {attempts} times in a row, on every endpoint ({error.Detail})", error);
}
