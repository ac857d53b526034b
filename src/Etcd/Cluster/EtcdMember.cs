namespace Etcd;

/// <summary>A member of the etcd cluster, as the Cluster service lists it.</summary>
/// <param name="Id">The member id (never 0).</param>
/// <param name="Name">The member's <c>--name</c>; empty while an added member has not started yet.</param>
/// <param name="PeerUrls">The URLs other members reach it at.</param>
/// <param name="ClientUrls">The URLs it serves clients at (empty until it has started).</param>
/// <param name="IsLearner">True for a raft learner: it receives the log but does not vote until promoted.</param>
public sealed record EtcdMember(ulong Id, string Name, IReadOnlyList<Uri> PeerUrls, IReadOnlyList<Uri> ClientUrls, bool IsLearner)
{
    /// <summary>False for a member that was added but has not joined yet (it has no name and no client URLs).</summary>
    public bool IsStarted => Name.Length > 0;

    /// <summary>The id the way etcd and etcdctl print it (lower-case hex).</summary>
    public string HexId => Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override string ToString() =>
        $"{HexId} {(Name.Length == 0 ? "(unstarted)" : Name)}{(IsLearner ? " learner" : "")} peers [{string.Join(", ", PeerUrls)}] clients [{string.Join(", ", ClientUrls)}]";
}

/// <summary>The cluster's members after a list, remove, update or promote.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Members">Every member of the cluster.</param>
public sealed record MemberListResponse(ResponseHeader Header, IReadOnlyList<EtcdMember> Members) : EtcdResponse(Header)
{
    /// <summary>The member with id <paramref name="id"/>, or null when there is none.</summary>
    public EtcdMember? Find(ulong id)
    {
        foreach (var member in Members)
        {
            if (member.Id == id) return member;
        }
        return null;
    }
}

/// <summary>The result of adding a member.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Member">The member just added (not started yet: start its etcd with <c>--initial-cluster-state existing</c>).</param>
/// <param name="Members">Every member of the cluster, the new one included.</param>
public sealed record MemberAddResponse(ResponseHeader Header, EtcdMember Member, IReadOnlyList<EtcdMember> Members) : EtcdResponse(Header);
