namespace Etcd.Concurrency;

/// <summary>
/// A queue item's claim is gone before it was acknowledged: the session that claimed it ended (its lease expired or was
/// revoked) or the claim was released, so the item may already have been delivered to another consumer.
/// </summary>
public sealed class EtcdClaimLostException : EtcdException
{
    /// <summary>Creates the exception for the item at <paramref name="itemKey"/>.</summary>
    public EtcdClaimLostException(string message, EtcdBytes itemKey, Exception? innerException = null)
        : base(EtcdStatusCode.FailedPrecondition, message, null, innerException) => ItemKey = itemKey;

    /// <summary>The key of the item whose claim was lost.</summary>
    public EtcdBytes ItemKey { get; }
}
