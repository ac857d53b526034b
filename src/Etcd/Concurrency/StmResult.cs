namespace Etcd.Concurrency;

/// <summary>The outcome of a committed <see cref="Stm"/> transaction that returns a value.</summary>
/// <typeparam name="T">The type of the value the transaction function returned.</typeparam>
/// <param name="Value">The value the transaction function returned on the attempt that committed.</param>
/// <param name="Revision">The revision of the commit (the header revision of the committing etcd transaction).</param>
/// <param name="Attempts">How many times the transaction function ran (1 when the first attempt committed).</param>
public sealed record StmResult<T>(T Value, long Revision, int Attempts);

/// <summary>The outcome of a committed <see cref="Stm"/> transaction.</summary>
/// <param name="Revision">The revision of the commit (the header revision of the committing etcd transaction).</param>
/// <param name="Attempts">How many times the transaction function ran (1 when the first attempt committed).</param>
public sealed record StmResult(long Revision, int Attempts);
