namespace Etcd.Concurrency;

/// <summary>More participants entered a <see cref="DoubleBarrier"/> than its count allows (this one entered too late and withdrew).</summary>
public sealed class EtcdBarrierFullException : EtcdException
{
    /// <summary>Creates the exception.</summary>
    public EtcdBarrierFullException(string message, int count, long participants, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, message, null, innerException)
    {
        Count = count;
        Participants = participants;
    }

    /// <summary>The number of participants the barrier waits for.</summary>
    public int Count { get; }

    /// <summary>The number of participants found when entering (this one included).</summary>
    public long Participants { get; }
}
