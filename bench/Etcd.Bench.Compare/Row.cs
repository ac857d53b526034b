namespace Etcd.Bench.Compare;

/// <summary>What a row measures, which decides the marks the peer sends and how the figures are derived.</summary>
internal enum RowKind
{
    /// <summary>Operations between the start and end marks (load, watch, scan).</summary>
    Window,
    /// <summary>Items created between base and created, held idle between held and end (idle watches, leases).</summary>
    Idle,
}

/// <summary>One (workload, callers) row of the comparison.</summary>
internal sealed record Row(string Id, string Workload, int Callers, RowKind Kind, string Label, string Unit)
{
    public static readonly Row[] All =
    [
        new("put:1", "put", 1, RowKind.Window, "put, 1 caller", "ops/s"),
        new("put:64", "put", 64, RowKind.Window, "put, 64 callers", "ops/s"),
        new("get-serializable:64", "get-serializable", 64, RowKind.Window, "get serializable, 64", "ops/s"),
        new("get-linearizable:64", "get-linearizable", 64, RowKind.Window, "get linearizable, 64", "ops/s"),
        new("txn-put-if-absent:64", "txn-put-if-absent", 64, RowKind.Window, "txn put-if-absent, 64", "ops/s"),
        new("watch:16", "watch", 16, RowKind.Window, "watch, 1 watcher, 16 writers", "events/s"),
        new("scan", "scan", 1, RowKind.Window, "paged scan (1000/page)", "keys/s"),
        new("idle-watches", "idle-watches", 64, RowKind.Idle, "idle watches, one stream", "created/s"),
        new("leases", "leases", 64, RowKind.Idle, "kept-alive leases", "granted/s"),
    ];
}
