namespace Etcd;

/// <summary>
/// The election server refused a proclaim because the <see cref="LeaderKey"/> no longer leads: its key was deleted
/// (resigned, lease expired or revoked) or re-created since the campaign ("election: not leader").
/// </summary>
public sealed class EtcdNotLeaderException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdNotLeaderException(EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(statusCode, message, serverMessage, innerException) { }
}
