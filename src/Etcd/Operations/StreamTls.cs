using Etcd.Transport;

namespace Etcd.Operations;

/// <summary>
/// Decides when a shared stream's TLS failures are final: every current endpoint refused TLS, in a row, at least twice
/// over. Any other outcome (an answer, a refused connection, a reset) starts the count again, so one member with a bad
/// certificate next to a restarting healthy one does not end anything.
/// </summary>
internal sealed class StreamTls
{
    private readonly HashSet<Uri> _refused = [];
    private int _inARow;

    /// <summary>Records a TLS failure on <paramref name="endpoint"/>; the typed failure when it is final, else null.</summary>
    public EtcdTlsException? Refused(Uri endpoint, IReadOnlyList<Uri> endpoints, string stream, GrpcCallException error)
    {
        _refused.Add(endpoint);
        _inARow++;
        if (_inARow < 2 * endpoints.Count || !endpoints.All(_refused.Contains)) return null;
        Reset();
        return new EtcdTlsException($"{stream} could not be opened: every endpoint refused TLS, {endpoints.Count * 2} times in a row ({error.Detail})", error);
    }

    /// <summary>Anything but a TLS failure happened: the count starts again.</summary>
    public void Reset()
    {
        _refused.Clear();
        _inARow = 0;
    }
}
