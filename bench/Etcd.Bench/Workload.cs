namespace Etcd.Bench;

/// <summary>The operations the bench can drive.</summary>
internal enum Workload
{
    Put,
    GetSerializable,
    GetLinearizable,
    TxnPutIfAbsent,
    LeaseGrantRevoke,
}

internal static class WorkloadNames
{
    public static string Name(Workload workload) => workload switch
    {
        Workload.Put => "put",
        Workload.GetSerializable => "get-serializable",
        Workload.GetLinearizable => "get-linearizable",
        Workload.TxnPutIfAbsent => "txn-put-if-absent",
        Workload.LeaseGrantRevoke => "lease-grant-revoke",
        _ => throw new ArgumentOutOfRangeException(nameof(workload)),
    };

    public static Workload Parse(string name)
    {
        foreach (var workload in Enum.GetValues<Workload>())
        {
            if (Name(workload) == name.Trim()) return workload;
        }
        throw new ArgumentException($"unknown workload '{name}'");
    }
}
