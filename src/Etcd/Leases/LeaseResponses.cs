namespace Etcd;

/// <summary>The result of granting a lease.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Id">The lease id (positive).</param>
/// <param name="Ttl">The TTL the server granted (it may raise a too-small request to its minimum).</param>
public sealed record LeaseGrantResponse(ResponseHeader Header, long Id, TimeSpan Ttl) : EtcdResponse(Header);

/// <summary>The result of revoking a lease.</summary>
/// <param name="Header">The response header.</param>
public sealed record LeaseRevokeResponse(ResponseHeader Header) : EtcdResponse(Header);

/// <summary>The result of one keep-alive.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Id">The lease id.</param>
/// <param name="Ttl">The TTL the lease was renewed to.</param>
public sealed record LeaseKeepAliveResponse(ResponseHeader Header, long Id, TimeSpan Ttl) : EtcdResponse(Header);

/// <summary>How long a lease has left.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Id">The lease id.</param>
/// <param name="Ttl">The time left before it expires.</param>
/// <param name="GrantedTtl">The TTL it was granted with.</param>
/// <param name="Keys">The keys attached to it (when asked for).</param>
public sealed record LeaseTimeToLiveResponse(ResponseHeader Header, long Id, TimeSpan Ttl, TimeSpan GrantedTtl, IReadOnlyList<EtcdBytes> Keys)
    : EtcdResponse(Header);

/// <summary>The leases that exist.</summary>
/// <param name="Header">The response header.</param>
/// <param name="Ids">The lease ids.</param>
public sealed record LeaseListResponse(ResponseHeader Header, IReadOnlyList<long> Ids) : EtcdResponse(Header);
