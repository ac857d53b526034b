namespace Etcd.Concurrency;

/// <summary>
/// An <see cref="Stm"/> transaction could not commit: every one of its attempts conflicted with concurrent writes to
/// the keys it read (or, under <see cref="StmIsolation.SerializableSnapshot"/>, wrote). Nothing was written.
/// </summary>
public sealed class EtcdStmConflictException : EtcdException
{
    /// <summary>Creates the exception for a transaction that gave up after <paramref name="attempts"/> conflicting attempts.</summary>
    public EtcdStmConflictException(int attempts, StmIsolation isolation, Exception? innerException = null)
        : base(EtcdStatusCode.Aborted,
            $"The STM transaction ({isolation}) conflicted with concurrent writes on each of its {attempts} attempt(s) and gave up; nothing was written.",
            serverMessage: null, innerException)
    {
        Attempts = attempts;
        Isolation = isolation;
    }

    /// <summary>How many times the transaction ran and failed to commit.</summary>
    public int Attempts { get; }

    /// <summary>The isolation level the transaction ran at.</summary>
    public StmIsolation Isolation { get; }

    /// <summary>True: running the transaction again later may succeed once the contention is over.</summary>
    public override bool IsTransient => true;
}
