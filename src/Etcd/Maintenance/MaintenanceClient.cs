using Etcd.Operations;
using Pb = Etcd.Protocol;

namespace Etcd;

/// <summary>
/// etcd's Maintenance service: member status, alarms, defragmentation, hashes, snapshots and leader transfer. Reached
/// through <see cref="EtcdClient.Maintenance"/>. Calls about one member take that member's client URL, which must be one
/// of <see cref="EtcdClient.Endpoints"/> (otherwise <see cref="ArgumentException"/>); they are sent to that member only.
/// </summary>
public sealed class MaintenanceClient
{
    // How often MoveLeaderAsync looks up the leader again when leadership moved between the lookup and the call.
    private const int MoveLeaderAttempts = 3;

    private readonly EtcdCallInvoker _invoker;

    internal MaintenanceClient(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>Reads the status of the member the client is connected to: version, database size, leader, raft index and term.</summary>
    public async Task<StatusResponse> StatusAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.Status, new Pb.StatusRequest(), cancellationToken, flags: CallFlags.Idempotent | CallFlags.NoLeaderRequired).ConfigureAwait(false);
        return ProtoMapping.ToStatus(response);
    }

    /// <summary>Reads the status of the member serving clients at <paramref name="member"/> (one of the client's endpoints).</summary>
    public async Task<StatusResponse> StatusAsync(Uri member, CancellationToken cancellationToken = default)
    {
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        var response = await _invoker.UnaryAtAsync(endpoint, EtcdMethods.Status, new Pb.StatusRequest(), cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToStatus(response);
    }

    /// <summary>Lists the alarms raised in the cluster (empty on a healthy cluster).</summary>
    public async Task<AlarmResponse> ListAlarmsAsync(CancellationToken cancellationToken = default)
    {
        var request = new Pb.AlarmRequest { Action = Pb.AlarmRequest.Types.AlarmAction.Get, MemberID = 0, Alarm = Pb.AlarmType.None };
        var response = await _invoker.UnaryAsync(EtcdMethods.Alarm, request, cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return AdminMapping.ToAlarms(response);
    }

    /// <summary>
    /// Deactivates the <paramref name="alarmType"/> alarm of member <paramref name="memberId"/>; the response lists the
    /// alarm deactivated, and is empty when there was no such alarm (not an error).
    /// </summary>
    public async Task<AlarmResponse> DisarmAlarmAsync(ulong memberId, EtcdAlarmType alarmType, CancellationToken cancellationToken = default)
    {
        AdminMapping.MemberId(memberId, nameof(memberId));
        Guard.Defined(alarmType, nameof(alarmType));
        var request = new Pb.AlarmRequest { Action = Pb.AlarmRequest.Types.AlarmAction.Deactivate, MemberID = memberId, Alarm = (Pb.AlarmType)alarmType };
        var response = await _invoker.UnaryAsync(EtcdMethods.Alarm, request, cancellationToken).ConfigureAwait(false);
        return AdminMapping.ToAlarms(response);
    }

    /// <summary>
    /// Defragments the backend database of the member at <paramref name="member"/>, giving its free space back to the
    /// file system. The member serves nothing else meanwhile; do one member at a time. Bounded by the request timeout.
    /// </summary>
    public async Task DefragmentAsync(Uri member, CancellationToken cancellationToken = default)
    {
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        // etcd answers with an empty message (no header), so there is nothing to return.
        await _invoker.UnaryAtAsync(endpoint, EtcdMethods.Defragment, new Pb.DefragmentRequest(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Hashes the whole backend database of the member at <paramref name="member"/> (for testing; prefer <see cref="HashKvAsync"/> to compare members).</summary>
    public async Task<HashResponse> HashAsync(Uri member, CancellationToken cancellationToken = default)
    {
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        var response = await _invoker.UnaryAtAsync(endpoint, EtcdMethods.Hash, new Pb.HashRequest(), cancellationToken).ConfigureAwait(false);
        return new HashResponse(ProtoMapping.ToHeader(response.Header), response.Hash);
    }

    /// <summary>
    /// Hashes the key-value history of the member at <paramref name="member"/> up to <paramref name="revision"/>
    /// (0: its current revision); healthy members agree on it at the same revision.
    /// </summary>
    public async Task<HashKvResponse> HashKvAsync(Uri member, long revision = 0, CancellationToken cancellationToken = default)
    {
        Guard.NonNegative(revision, nameof(revision), "The revision");
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        var response = await _invoker.UnaryAtAsync(endpoint, EtcdMethods.HashKv, new Pb.HashKVRequest { Revision = revision }, cancellationToken).ConfigureAwait(false);
        return new HashKvResponse(ProtoMapping.ToHeader(response.Header), response.Hash, response.CompactRevision);
    }

    /// <summary>
    /// Streams a snapshot of the current endpoint's database into <paramref name="destination"/> chunk by chunk (never
    /// whole in memory): the database followed by its 32-byte SHA-256, as <c>etcdctl snapshot save</c> writes it. The
    /// checksum is verified at the end: a mismatch throws <see cref="EtcdSnapshotCorruptException"/> (discard what was
    /// written). Not bounded by the request timeout: use <paramref name="cancellationToken"/>. The stream is not disposed.
    /// </summary>
    public Task<SnapshotResult> SnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
        => SnapshotAsync(_invoker.CurrentEndpoint, destination, cancellationToken);

    /// <summary>Like <see cref="SnapshotAsync(Stream, CancellationToken)"/>, from the member at <paramref name="member"/> (one of the client's endpoints).</summary>
    public Task<SnapshotResult> SnapshotAsync(Uri member, Stream destination, CancellationToken cancellationToken = default)
    {
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite) throw new ArgumentException("The destination stream is not writable.", nameof(destination));
        return SnapshotDownload.ToStreamAsync(_invoker, endpoint, destination, cancellationToken);
    }

    /// <summary>
    /// Saves a snapshot of the current endpoint's database to <paramref name="path"/> (replacing it), streamed through a
    /// temporary file that becomes <paramref name="path"/> only once etcd's checksum held; on any failure, including
    /// <see cref="EtcdSnapshotCorruptException"/>, no file is left behind. The file is accepted by <c>etcdctl snapshot status/restore</c>.
    /// </summary>
    public Task<SnapshotResult> SnapshotToFileAsync(string path, CancellationToken cancellationToken = default)
        => SnapshotToFileAsync(_invoker.CurrentEndpoint, path, cancellationToken);

    /// <summary>Like <see cref="SnapshotToFileAsync(string, CancellationToken)"/>, from the member at <paramref name="member"/> (one of the client's endpoints).</summary>
    public Task<SnapshotResult> SnapshotToFileAsync(Uri member, string path, CancellationToken cancellationToken = default)
    {
        var endpoint = _invoker.ResolveEndpoint(member, nameof(member));
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return SnapshotDownload.ToFileAsync(_invoker, endpoint, path, cancellationToken);
    }

    /// <summary>
    /// Makes member <paramref name="targetMemberId"/> (a voting member) the leader. etcd accepts this only from the
    /// current leader, so the client first finds it by asking each of its endpoints for its status, then sends the
    /// request there (like <c>etcdctl move-leader</c>); the leader must therefore be among the client's endpoints.
    /// Returns once the target leads; a no-op when it already does.
    /// </summary>
    public async Task MoveLeaderAsync(ulong targetMemberId, CancellationToken cancellationToken = default)
    {
        AdminMapping.MemberId(targetMemberId, nameof(targetMemberId));
        for (int attempt = 1; ; attempt++)
        {
            var leader = await FindLeaderEndpointAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _invoker.UnaryAtAsync(leader, EtcdMethods.MoveLeader, new Pb.MoveLeaderRequest { TargetID = targetMemberId }, cancellationToken).ConfigureAwait(false);
                return;
            }
            // etcd's rpctypes.ErrGRPCNotLeader: leadership moved after the lookup.
            catch (EtcdException error) when (attempt < MoveLeaderAttempts && error.StatusCode == EtcdStatusCode.FailedPrecondition
                && error.ServerMessage?.Contains("etcdserver: not leader", StringComparison.Ordinal) == true)
            {
            }
        }
    }

    private async Task<Uri> FindLeaderEndpointAsync(CancellationToken cancellationToken)
    {
        var endpoints = _invoker.Endpoints;
        var statuses = new Task<StatusResponse>[endpoints.Count];
        for (int i = 0; i < statuses.Length; i++) statuses[i] = StatusAsync(endpoints[i], cancellationToken);
        try
        {
            await Task.WhenAll(statuses).ConfigureAwait(false);
        }
        catch
        {
            // Members that did not answer are skipped below; the leader only has to be among those that did.
        }
        cancellationToken.ThrowIfCancellationRequested();
        ulong leaderId = 0;
        for (int i = 0; i < statuses.Length; i++)
        {
            if (!statuses[i].IsCompletedSuccessfully) continue;
            var status = statuses[i].Result;
            if (status.Leader != 0 && status.Leader == status.Header.MemberId) return endpoints[i];
            if (status.Leader != 0) leaderId = status.Leader;
        }
        if (leaderId == 0)
        {
            var failure = Array.Find(statuses, s => s.IsFaulted)?.Exception?.InnerException;
            if (failure is EtcdException etcdFailure && Array.TrueForAll(statuses, s => !s.IsCompletedSuccessfully)) throw etcdFailure;
            throw new EtcdUnavailableException("No member the client can reach knows a leader; leadership cannot be moved now.", requestMayHaveBeenSent: false, innerException: failure);
        }
        throw new EtcdException(EtcdStatusCode.FailedPrecondition,
            $"The leader, member {leaderId:x}, is not among the client's endpoints ({string.Join(", ", endpoints)}) or did not answer; leadership can only be moved by a request sent to the leader.");
    }
}
