namespace Etcd;

/// <summary>
/// A candidate is not (or no longer) the leader of its election: its key was deleted or re-created, its session was
/// lost, or it resigned. Raised by the election recipe (<see cref="Concurrency.Leadership.ProclaimAsync"/>, a campaign
/// whose key vanished while it waited) and by the server's Election service ("election: not leader").
/// </summary>
public sealed class EtcdNotLeaderException : EtcdException
{
    /// <summary>Creates the exception from a server status (the server's Election service).</summary>
    public EtcdNotLeaderException(EtcdStatusCode statusCode, string message, string? serverMessage = null, Exception? innerException = null)
        : base(statusCode, message, serverMessage, innerException) { }

    /// <summary>Creates the exception for the candidate key <paramref name="key"/> (the election recipe).</summary>
    public EtcdNotLeaderException(string message, EtcdBytes key = default, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, message, null, innerException) => Key = key;

    /// <summary>The candidate key concerned (empty when unknown).</summary>
    public EtcdBytes Key { get; }
}
