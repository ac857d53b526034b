using System.Diagnostics;
using System.Globalization;

namespace Etcd.Tests.Infrastructure;

/// <summary>What a chaos-test operation was.</summary>
public enum ChaosOpKind
{
    /// <summary>A plain put of a fresh key.</summary>
    Put,

    /// <summary>A transaction that puts a fresh key only if it is absent.</summary>
    TxnPutIfAbsent,

    /// <summary>A linearizable get.</summary>
    LinearizableGet,

    /// <summary>A serializable get.</summary>
    SerializableGet,
}

/// <summary>
/// One operation of a chaos run: when it started and ended (on the recorder's clock), and how it ended: acknowledged with
/// a revision, or failed with <see cref="Error"/>. <see cref="Hung"/> marks an operation the test's watchdog had to cancel.
/// </summary>
public sealed record ChaosOp(
    int Caller, ChaosOpKind Kind, string Key, string? Value, TimeSpan Start, TimeSpan End, bool Acked, long Revision, Exception? Error, bool Hung = false)
{
    /// <summary>Whether the operation was a write.</summary>
    public bool IsWrite => Kind is ChaosOpKind.Put or ChaosOpKind.TxnPutIfAbsent;

    /// <summary>How long the call took.</summary>
    public TimeSpan Latency => End - Start;

    /// <summary>A failure whose exception says the request provably never left the process.</summary>
    public bool FailedNotSent => Error is not null && ChaosRecorder.DefinitelyNotSent(Error);
}

/// <summary>
/// Records the operations of a chaos run (one list per caller, so callers never contend) and the member kills, and
/// computes the figures a chaos test prints: percentiles and the longest stretch without a success.
/// </summary>
public sealed class ChaosRecorder
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<ChaosOp>[] perCaller;
    private readonly List<(string Member, TimeSpan At)> kills = [];

    /// <summary>Creates a recorder for <paramref name="callers"/> callers, numbered from 0.</summary>
    public ChaosRecorder(int callers) => perCaller = Enumerable.Range(0, callers).Select(_ => new List<ChaosOp>()).ToArray();

    /// <summary>Time since the recorder was created.</summary>
    public TimeSpan Now => clock.Elapsed;

    /// <summary>Records an operation; only the caller that owns <see cref="ChaosOp.Caller"/> may call this for it.</summary>
    public void Record(ChaosOp op) => perCaller[op.Caller].Add(op);

    /// <summary>Every recorded operation; call once the callers have stopped.</summary>
    public IReadOnlyList<ChaosOp> Ops() => perCaller.SelectMany(list => list).ToList();

    /// <summary>Records that <paramref name="member"/> was killed now.</summary>
    public void RecordKill(string member)
    {
        lock (kills) kills.Add((member, Now));
    }

    /// <summary>The kills so far, in order.</summary>
    public IReadOnlyList<(string Member, TimeSpan At)> Kills
    {
        get
        {
            lock (kills) return [.. kills];
        }
    }

    /// <summary>
    /// True when the exception says the request was definitely not sent (a connection error, or unavailable with
    /// <see cref="EtcdUnavailableException.RequestMayHaveBeenSent"/> false): such a write must not have been applied.
    /// </summary>
    public static bool DefinitelyNotSent(Exception error) =>
        error is EtcdConnectionException or EtcdUnavailableException { RequestMayHaveBeenSent: false };

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0-100) of <paramref name="values"/>; zero when empty.</summary>
    public static TimeSpan Percentile(IEnumerable<TimeSpan> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return TimeSpan.Zero;
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>The longest interval within [<paramref name="from"/>, <paramref name="to"/>] that contains none of <paramref name="instants"/>.</summary>
    public static (TimeSpan Length, TimeSpan From, TimeSpan To) LongestGap(IEnumerable<TimeSpan> instants, TimeSpan from, TimeSpan to)
    {
        var points = instants.Where(t => t >= from && t <= to).Order().Prepend(from).Append(to).ToArray();
        var best = (Length: TimeSpan.Zero, From: from, To: from);
        for (int i = 1; i < points.Length; i++)
        {
            var length = points[i] - points[i - 1];
            if (length > best.Length) best = (length, points[i - 1], points[i]);
        }
        return best;
    }

    /// <summary>"TypeName xN, ..." for the failures among <paramref name="ops"/>, most frequent first.</summary>
    public static string ErrorSummary(IEnumerable<ChaosOp> ops)
    {
        var groups = ops.Where(o => o.Error is not null)
            .GroupBy(o => o.Hung ? "hung(" + o.Error!.GetType().Name + ")" : o.Error!.GetType().Name)
            .OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key} x{g.Count()}")
            .ToList();
        return groups.Count == 0 ? "none" : string.Join(", ", groups);
    }

    /// <summary>Milliseconds, for figures.</summary>
    public static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
