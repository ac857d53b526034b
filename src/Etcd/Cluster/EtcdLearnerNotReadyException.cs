namespace Etcd;

/// <summary>
/// etcd refused to promote a learner that has not caught up with the leader's log yet ("can only promote a learner
/// member which is in sync with leader"). Transient: promote again once the learner has synced.
/// </summary>
public sealed class EtcdLearnerNotReadyException : EtcdException
{
    /// <summary>Creates the exception for learner <paramref name="memberId"/>.</summary>
    public EtcdLearnerNotReadyException(string message, ulong memberId, string? serverMessage = null, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, message, serverMessage, innerException) => MemberId = memberId;

    /// <summary>The learner's member id.</summary>
    public ulong MemberId { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}
