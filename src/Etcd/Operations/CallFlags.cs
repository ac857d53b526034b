namespace Etcd.Operations;

/// <summary>What the invoker may do with a call beyond sending it once.</summary>
[Flags]
internal enum CallFlags
{
    /// <summary>A write: retried only when etcd provably did not receive or did not propose it.</summary>
    None = 0,

    /// <summary>A read: retried on any transient failure, on the next endpoint.</summary>
    Idempotent = 1,

    /// <summary>Never send <c>hasleader</c> (serializable reads, which a member answers without a leader).</summary>
    NoLeaderRequired = 2,

    /// <summary>Send no auth token (Authenticate itself).</summary>
    NoAuthToken = 4,

    /// <summary>
    /// A call etcd serves by running its own client inside the server (Lock, Campaign): its inner errors come back as
    /// status Unknown, and one of them says nothing about the steps before it, so only unsent calls are retried.
    /// </summary>
    ServerSideClient = 8,
}
