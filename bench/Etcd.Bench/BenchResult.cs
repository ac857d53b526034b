using System.Globalization;

namespace Etcd.Bench;

/// <summary>One row of the bench table.</summary>
internal sealed record BenchResult(
    string Workload, int Callers, long Operations, double OpsPerSecond, double P50Ms, double P99Ms,
    double CpuMicrosecondsPerOp, double ServerCpuMicrosecondsPerOp, double AllocatedBytesPerOp, long WorkingSetBytes)
{
    public const string TableHeader =
        "workload             callers        ops      ops/s   p50 ms   p99 ms  cpu us/op  etcd us/op  alloc B/op  RSS MB";

    public string ToTableRow() => string.Format(CultureInfo.InvariantCulture,
        "{0,-20} {1,7} {2,10} {3,10:0} {4,8:0.000} {5,8:0.000} {6,10:0.0} {7,11:0.0} {8,11:0} {9,7:0}",
        Workload, Callers, Operations, OpsPerSecond, P50Ms, P99Ms, CpuMicrosecondsPerOp, ServerCpuMicrosecondsPerOp, AllocatedBytesPerOp,
        WorkingSetBytes / 1048576.0);
}
