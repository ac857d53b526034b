namespace Etcd;

/// <summary>The kinds of alarm an etcd member raises.</summary>
public enum EtcdAlarmType
{
    /// <summary>The backend database exceeded its space quota; the cluster only serves reads and deletes until disarmed.</summary>
    NoSpace = 1,

    /// <summary>A member detected data corruption (a hash mismatch with its peers).</summary>
    Corrupt = 2,
}

/// <summary>An alarm raised by a member.</summary>
/// <param name="MemberId">The member that raised it.</param>
/// <param name="Type">What it is about.</param>
public sealed record EtcdAlarm(ulong MemberId, EtcdAlarmType Type);

/// <summary>The alarms a list returned, or the alarms a disarm deactivated.</summary>
/// <param name="Header">The response header (etcd 3.4 leaves it empty for alarm calls).</param>
/// <param name="Alarms">The alarms (empty when there are none).</param>
public sealed record AlarmResponse(ResponseHeader Header, IReadOnlyList<EtcdAlarm> Alarms) : EtcdResponse(Header);

/// <summary>The hash of one member's whole backend database.</summary>
/// <param name="Header">The response header (its member id names the member, its revision the store's revision).</param>
/// <param name="Hash">The CRC-32 (Castagnoli) of the database's contents.</param>
public sealed record HashResponse(ResponseHeader Header, uint Hash) : EtcdResponse(Header);

/// <summary>The hash of one member's key-value history up to a revision; equal on every healthy member at the same revision.</summary>
/// <param name="Header">The response header (its member id names the member, its revision the store's current revision).</param>
/// <param name="Hash">The CRC-32 (Castagnoli) of the keys and values from the compaction revision up to the requested revision.</param>
/// <param name="CompactRevision">The member's compaction revision (where the hashed history starts).</param>
public sealed record HashKvResponse(ResponseHeader Header, uint Hash, long CompactRevision) : EtcdResponse(Header);

/// <summary>A snapshot that was written and checked.</summary>
/// <param name="Endpoint">The member (client URL) that sent it.</param>
/// <param name="Size">The bytes written: the database followed by its 32-byte SHA-256, as <c>etcdctl snapshot save</c> writes them.</param>
/// <param name="Revision">The store revision the snapshot holds when the server said so in a response header; null otherwise (etcd 3.4 does not).</param>
/// <param name="Sha256">The SHA-256 of the database (lower-case hex), sent by etcd and checked against the bytes received.</param>
public sealed record SnapshotResult(Uri Endpoint, long Size, long? Revision, string Sha256)
{
    /// <summary>The size of the database alone (<see cref="Size"/> without the trailing checksum).</summary>
    public long DatabaseSize => Size - SnapshotChecksumSize;

    internal const int SnapshotChecksumSize = 32;
}
