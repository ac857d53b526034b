using System.Runtime.CompilerServices;
using Etcd.Concurrency;
using Etcd.Transport;
using ElectionPb = Etcd.Protocol.Election;

namespace Etcd.Operations;

/// <summary>Calls etcd's server-side Election service (v3electionpb.Election) and maps its messages.</summary>
internal sealed class ElectionOperations
{
    private const string What = "election";

    // etcd's Go client (clientv3/concurrency ErrElectionNoLeader), sent back by the server's Leader call.
    private const string NoLeaderMessage = "election: no leader";

    private readonly EtcdCallInvoker _invoker;
    private readonly IEtcdKv _kv;

    public ElectionOperations(EtcdCallInvoker invoker, IEtcdKv kv)
    {
        _invoker = invoker;
        _kv = kv;
    }

    internal HeldKeys Held { get; } = new(What);

    public static ElectionPb.LeaderKey ToProto(LeaderKey leader) => new()
    {
        Name = ProtoMapping.ToByteString(leader.Name),
        Key = ProtoMapping.ToByteString(leader.Key),
        Rev = leader.Revision,
        Lease = leader.LeaseId,
    };

    public static LeaderKey FromProto(ElectionPb.LeaderKey? leader) => leader is null
        ? throw new EtcdException(EtcdStatusCode.Internal, "The server's Campaign response has no leader key.")
        : new LeaderKey(ProtoMapping.ToBytes(leader.Name), ProtoMapping.ToBytes(leader.Key), leader.Rev, leader.Lease);

    public static bool IsNoLeader(EtcdException error) =>
        error.ServerMessage is { } message && message.Contains(NoLeaderMessage, StringComparison.Ordinal);

    public async Task<LeaderKey> CampaignAsync(EtcdBytes name, EtcdBytes value, Lease lease, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = CoordinationSupport.LeaseKey(name, lease.Id);
        var claim = Held.Take(key, name, lease);
        LeaderKey? result = null;
        long createRevision = 0;
        try
        {
            var request = new ElectionPb.CampaignRequest
            {
                Name = ProtoMapping.ToByteString(name),
                Value = ProtoMapping.ToByteString(value),
                Lease = lease.Id,
            };
            var response = await CoordinationSupport.CallWhileLeaseLivesAsync(lease, What, name,
                token => _invoker.BlockingUnaryAsync(EtcdMethods.Campaign, request, token, lease.Id), cancellationToken).ConfigureAwait(false);
            var leader = FromProto(response.Leader);
            if (leader.Key != key)
                throw new EtcdException(EtcdStatusCode.Internal, $"The server elected '{leader.Key}', not the expected key '{key}'.");
            createRevision = leader.Revision;

            // The server's Campaign only waits for the older candidates' deletes, never re-checking its own key: if someone
            // deleted it meanwhile, the server still answers "leader" while a newer candidate may already lead. Check it.
            var read = await TransientRetry.ReadAsync(
                token => _kv.GetAsync(key, new GetOptions { KeysOnly = true }, token), lease.Lost, cancellationToken).ConfigureAwait(false);
            if (lease.IsLost) throw CoordinationSupport.LeaseLost(lease, What, name);
            if (read.First is not { } mine || mine.CreateRevision != leader.Revision || mine.Lease != lease.Id)
            {
                throw new EtcdNotLeaderException(
                    $"The server elected '{key}' (revision {leader.Revision}) in election '{name}', but that key was deleted or replaced while it waited.", key);
            }
            claim.Revision = leader.Revision;
            result = leader;
            return leader;
        }
        finally
        {
            // Releases the claim once the key is known to be gone (or the lease is lost).
            if (result is null) await CoordinationSupport.CleanUpAsync(_kv, key, lease, createRevision, claim).ConfigureAwait(false);
        }
    }

    public async Task<ResponseHeader> ProclaimAsync(LeaderKey leader, EtcdBytes value, CancellationToken cancellationToken)
    {
        var request = new ElectionPb.ProclaimRequest { Leader = ToProto(leader), Value = ProtoMapping.ToByteString(value) };
        try
        {
            var response = await _invoker.UnaryAsync(EtcdMethods.Proclaim, request, cancellationToken, leaseId: leader.LeaseId).ConfigureAwait(false);
            return ProtoMapping.ToHeader(response.Header);
        }
        catch (EtcdNotLeaderException)
        {
            // That leadership is over (key deleted or re-created): the lease may campaign again without resigning it first.
            ReleaseClaim(leader);
            throw;
        }
    }

    public async Task<KeyValue?> GetLeaderAsync(EtcdBytes name, CancellationToken cancellationToken)
    {
        var request = new ElectionPb.LeaderRequest { Name = ProtoMapping.ToByteString(name) };
        try
        {
            var response = await _invoker.UnaryAsync(EtcdMethods.Leader, request, cancellationToken, flags: CallFlags.Idempotent).ConfigureAwait(false);
            return response.Kv is null ? null : ProtoMapping.ToKeyValue(response.Kv);
        }
        catch (EtcdException error) when (IsNoLeader(error))
        {
            return null;
        }
    }

    public async Task<ResponseHeader> ResignAsync(LeaderKey leader, CancellationToken cancellationToken)
    {
        var request = new ElectionPb.ResignRequest { Leader = ToProto(leader) };
        var response = await _invoker.UnaryAsync(EtcdMethods.Resign, request, cancellationToken, leaseId: leader.LeaseId).ConfigureAwait(false);
        ReleaseClaim(leader);
        return ProtoMapping.ToHeader(response.Header);
    }

    private void ReleaseClaim(LeaderKey leader)
    {
        if (Held.Find(leader.Key) is { } claim && claim.Revision == leader.Revision) claim.Release();
    }

    public async IAsyncEnumerable<KeyValue> ObserveAsync(EtcdBytes name, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var request = new ElectionPb.LeaderRequest { Name = ProtoMapping.ToByteString(name) };
        var endpoint = _invoker.CurrentEndpoint;
        GrpcServerStreamingCall<ElectionPb.LeaderResponse> call;
        try
        {
            call = await _invoker.StartServerStreamingAsync(EtcdMethods.Observe, request, cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcCallException error)
        {
            throw ErrorMapper.Map(error, EtcdMethods.Observe.Path);
        }
        await using (call.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await call.MoveNextAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (GrpcCallException error)
                {
                    if (error.StatusCode == GrpcStatusCode.Unavailable) _invoker.MoveToNextEndpoint(endpoint);
                    if (AuthErrors.IsTokenRejected(error)) _invoker.InvalidateToken();
                    throw ErrorMapper.Map(error, EtcdMethods.Observe.Path);
                }
                catch (ObjectDisposedException error) when (_invoker.MapRetired(error, EtcdMethods.Observe.Path) is { } retired)
                {
                    throw retired;
                }
                // The server's Observe only ends by itself when its own read or watch failed: never a silent end here.
                if (!more)
                {
                    // etcd 3.4 ends Observe this way, with status OK and nothing sent, when its read or watch was refused
                    // for the call's token (seen with an expired one): drop it, so observing again authenticates anew.
                    _invoker.InvalidateToken();
                    throw new EtcdUnavailableException(
                        $"The server ended Observe of election '{name}' (its internal read or watch failed); observe again to resume from the current leader.");
                }
                if (call.Current.Kv is { } kv) yield return ProtoMapping.ToKeyValue(kv);
            }
        }
    }
}
