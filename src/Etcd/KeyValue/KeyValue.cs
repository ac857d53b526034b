namespace Etcd;

/// <summary>A key, its value and its metadata as stored by etcd.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value (empty with keys-only reads).</param>
/// <param name="CreateRevision">The revision of the last creation of the key.</param>
/// <param name="ModRevision">The revision of the last modification of the key.</param>
/// <param name="Version">The number of modifications since creation (1 after creation).</param>
/// <param name="Lease">The id of the lease the key is attached to, or 0.</param>
public sealed record KeyValue(EtcdBytes Key, EtcdBytes Value, long CreateRevision, long ModRevision, long Version, long Lease);

/// <summary>The header every etcd response carries.</summary>
/// <param name="ClusterId">The id of the cluster that answered.</param>
/// <param name="MemberId">The id of the member that answered.</param>
/// <param name="Revision">The store revision when the request was applied.</param>
/// <param name="RaftTerm">The raft term when the request was applied.</param>
public sealed record ResponseHeader(ulong ClusterId, ulong MemberId, long Revision, ulong RaftTerm);
