namespace Etcd.Concurrency;

/// <summary>
/// How strictly an <see cref="Stm"/> transaction guards its reads and writes (the levels of etcd's Go client
/// <c>concurrency.STM</c>), from strictest to loosest.
/// </summary>
public enum StmIsolation
{
    /// <summary>
    /// Every read sees the store at the revision of the transaction's first read; the commit fails if any key read or
    /// written was modified after that revision, so write-write conflicts are detected too. The default.
    /// </summary>
    SerializableSnapshot = 0,

    /// <summary>
    /// Every read sees the store at the revision of the transaction's first read; the commit fails if any key read was
    /// modified since it was read. Keys only written are not checked (last writer wins on them).
    /// </summary>
    Serializable = 1,

    /// <summary>
    /// Every key is read at the newest revision when first read and then cached; the commit fails if any key read was
    /// modified since it was read. Different keys may be read at different revisions.
    /// </summary>
    RepeatableReads = 2,

    /// <summary>Reads see the newest committed value of each key when first read; the commit is never checked and always succeeds.</summary>
    ReadCommitted = 3,
}
