namespace Etcd.Concurrency;

/// <summary>The leader of an <see cref="Election"/>: its candidate key and its current proclaimed value.</summary>
/// <param name="Key">The leader's candidate key (<c>name/&lt;hex lease id&gt;</c>, as seen in the election's keyspace).</param>
/// <param name="Value">The value the leader proclaimed last.</param>
/// <param name="Revision">The create revision of the leader's key (the leadership's identity and fencing token).</param>
/// <param name="ModRevision">The revision of the leader's last proclaim (or of its campaign).</param>
/// <param name="LeaseId">The lease of the leader's session.</param>
public sealed record LeaderInfo(EtcdBytes Key, EtcdBytes Value, long Revision, long ModRevision, long LeaseId)
{
    /// <summary>The value decoded as UTF-8.</summary>
    public string ValueString => Value.ToStringUtf8();

    internal static LeaderInfo From(KeyValue kv) => new(kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Lease);

    /// <inheritdoc />
    public override string ToString() => $"{Key} = {Value} (rev {Revision}, mod {ModRevision})";
}
