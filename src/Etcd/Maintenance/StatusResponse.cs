namespace Etcd;

/// <summary>The status of the member that answered.</summary>
/// <param name="Header">The response header (its member id names the member).</param>
/// <param name="Version">The etcd server version, e.g. "3.4.23".</param>
/// <param name="DbSize">The size of the backend database file in bytes.</param>
/// <param name="DbSizeInUse">The bytes of the database actually in use (the rest is free space until defragmentation).</param>
/// <param name="Leader">The member id of the current leader (0 when there is none).</param>
/// <param name="RaftIndex">The member's current raft committed index.</param>
/// <param name="RaftTerm">The member's current raft term.</param>
/// <param name="RaftAppliedIndex">The member's raft applied index.</param>
/// <param name="IsLearner">True when the member is a raft learner.</param>
/// <param name="Errors">Alarm and health errors the member reports.</param>
public sealed record StatusResponse(
    ResponseHeader Header,
    string Version,
    long DbSize,
    long DbSizeInUse,
    ulong Leader,
    ulong RaftIndex,
    ulong RaftTerm,
    ulong RaftAppliedIndex,
    bool IsLearner,
    IReadOnlyList<string> Errors) : EtcdResponse(Header);
