namespace Etcd.Transport;

/// <summary>Per-call options. The default value means: no deadline, not cancellable, no extra metadata.</summary>
internal readonly struct GrpcCallOptions
{
    /// <summary>Absolute deadline (UTC; a local time is converted). Null means none.</summary>
    public DateTime? Deadline { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>Extra request headers (printable ASCII names and values), e.g. ("token", "...").</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Metadata { get; init; }
}
