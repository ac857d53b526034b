using Etcd.Operations;
using Pb = Etcd.Protocol;

namespace Etcd;

/// <summary>
/// etcd's Cluster service: list, add (as a voting member or a learner), remove, update and promote members. Reached
/// through <see cref="EtcdClient.Cluster"/>. Membership changes go through raft, so any member may be asked.
/// </summary>
public sealed class ClusterClient
{
    private readonly EtcdCallInvoker _invoker;

    internal ClusterClient(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>Lists every member of the cluster (learners and members added but not started included).</summary>
    public async Task<MemberListResponse> ListMembersAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.MemberList, new Pb.MemberListRequest(), cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
        return new MemberListResponse(ProtoMapping.ToHeader(response.Header), AdminMapping.ToMembers(response.Members));
    }

    /// <summary>
    /// Adds a member reachable at <paramref name="peerUrls"/> (http or https, host and port, no path); with
    /// <paramref name="isLearner"/> it joins as a learner that does not vote until <see cref="PromoteMemberAsync"/>.
    /// The new member's etcd must then be started with <c>--initial-cluster-state existing</c>. etcd refuses the change
    /// with <see cref="EtcdUnavailableException"/> ("unhealthy cluster", nothing applied) until the member asked has been
    /// connected to all its peers for 5 seconds, e.g. right after a start.
    /// </summary>
    public async Task<MemberAddResponse> AddMemberAsync(IReadOnlyList<Uri> peerUrls, bool isLearner = false, CancellationToken cancellationToken = default)
    {
        var request = new Pb.MemberAddRequest { IsLearner = isLearner };
        request.PeerURLs.AddRange(AdminMapping.ToPeerUrls(peerUrls, nameof(peerUrls)));
        var response = await _invoker.UnaryAsync(EtcdMethods.MemberAdd, request, cancellationToken).ConfigureAwait(false);
        return new MemberAddResponse(
            ProtoMapping.ToHeader(response.Header),
            AdminMapping.ToMember(response.Member ?? throw new EtcdException(EtcdStatusCode.Internal, "MemberAdd answered without the added member.")),
            AdminMapping.ToMembers(response.Members));
    }

    /// <summary>Removes member <paramref name="memberId"/> from the cluster (its etcd then stops by itself).</summary>
    public async Task<MemberListResponse> RemoveMemberAsync(ulong memberId, CancellationToken cancellationToken = default)
    {
        AdminMapping.MemberId(memberId, nameof(memberId));
        var response = await _invoker.UnaryAsync(EtcdMethods.MemberRemove, new Pb.MemberRemoveRequest { ID = memberId }, cancellationToken).ConfigureAwait(false);
        return new MemberListResponse(ProtoMapping.ToHeader(response.Header), AdminMapping.ToMembers(response.Members));
    }

    /// <summary>
    /// Replaces the peer URLs of member <paramref name="memberId"/> with <paramref name="peerUrls"/>. Do not update a
    /// learner on etcd 3.4: its MemberUpdate replaces the member's raft attributes whole, so the member list then shows
    /// the learner as a voting member (seen on 3.4.23).
    /// </summary>
    public async Task<MemberListResponse> UpdateMemberAsync(ulong memberId, IReadOnlyList<Uri> peerUrls, CancellationToken cancellationToken = default)
    {
        AdminMapping.MemberId(memberId, nameof(memberId));
        var request = new Pb.MemberUpdateRequest { ID = memberId };
        request.PeerURLs.AddRange(AdminMapping.ToPeerUrls(peerUrls, nameof(peerUrls)));
        var response = await _invoker.UnaryAsync(EtcdMethods.MemberUpdate, request, cancellationToken).ConfigureAwait(false);
        return new MemberListResponse(ProtoMapping.ToHeader(response.Header), AdminMapping.ToMembers(response.Members));
    }

    /// <summary>
    /// Promotes learner <paramref name="memberId"/> to a voting member. Throws <see cref="EtcdLearnerNotReadyException"/>
    /// while the learner has not caught up with the leader (call again later).
    /// </summary>
    public async Task<MemberListResponse> PromoteMemberAsync(ulong memberId, CancellationToken cancellationToken = default)
    {
        AdminMapping.MemberId(memberId, nameof(memberId));
        Pb.MemberPromoteResponse response;
        try
        {
            response = await _invoker.UnaryAsync(EtcdMethods.MemberPromote, new Pb.MemberPromoteRequest { ID = memberId }, cancellationToken).ConfigureAwait(false);
        }
        // etcd's rpctypes.ErrGRPCLearnerNotReady.
        catch (EtcdException error) when (error.StatusCode == EtcdStatusCode.FailedPrecondition
            && error.ServerMessage?.Contains("in sync with leader", StringComparison.Ordinal) == true)
        {
            throw new EtcdLearnerNotReadyException(
                $"Learner {memberId:x} has not caught up with the leader yet; promote it again later.", memberId, error.ServerMessage, error);
        }
        return new MemberListResponse(ProtoMapping.ToHeader(response.Header), AdminMapping.ToMembers(response.Members));
    }
}
