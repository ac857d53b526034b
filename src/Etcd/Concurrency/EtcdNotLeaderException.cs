namespace Etcd.Concurrency;

/// <summary>
/// This candidate is not (or no longer) the leader of its election: its key was deleted or replaced, its session was
/// lost, or it resigned. Raised by <see cref="Leadership.ProclaimAsync"/> and by a campaign whose key vanished while it waited.
/// </summary>
public sealed class EtcdNotLeaderException : EtcdException
{
    /// <summary>Creates the exception for the candidate key <paramref name="key"/>.</summary>
    public EtcdNotLeaderException(string message, EtcdBytes key = default, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, message, null, innerException) => Key = key;

    /// <summary>The candidate key concerned (empty when unknown).</summary>
    public EtcdBytes Key { get; }
}
