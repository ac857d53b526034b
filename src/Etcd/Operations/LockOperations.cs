using Etcd.Transport;
using LockPb = Etcd.Protocol.Lock;

namespace Etcd.Operations;

/// <summary>Calls etcd's server-side Lock service (v3lockpb.Lock) and maps its messages.</summary>
internal sealed class LockOperations
{
    private const string What = "lock";
    private readonly EtcdCallInvoker _invoker;
    private readonly IEtcdKeyspace _kv;

    public LockOperations(EtcdCallInvoker invoker, IEtcdKeyspace kv)
    {
        _invoker = invoker;
        _kv = kv;
    }

    internal HeldKeys Held { get; } = new(What);

    /// <summary>The client's keyspace (raw keys), for the lock's fenced unlock and the watch of its key.</summary>
    internal IEtcdKeyspace Keyspace => _kv;

    public static LockPb.LockRequest ToLockRequest(EtcdBytes name, long leaseId) =>
        new() { Name = ProtoMapping.ToByteString(name), Lease = leaseId };

    public async Task<ServerLock> LockAsync(EtcdBytes name, Lease lease, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = CoordinationSupport.LeaseKey(name, lease.Id);
        var claim = Held.Take(key, name, lease);
        ServerLock? result = null;
        try
        {
            var request = ToLockRequest(name, lease.Id);
            var response = await CoordinationSupport.CallWhileLeaseLivesAsync(lease, What, name,
                token => _invoker.BlockingUnaryAsync(EtcdMethods.LockAcquire, request, token, lease.Id), cancellationToken).ConfigureAwait(false);
            var lockKey = ProtoMapping.ToBytes(response.Key);
            if (lockKey != key)
                throw new EtcdException(EtcdStatusCode.Internal, $"The server locked '{lockKey}', not the expected key '{key}'.");

            // The Lock response carries no create revision; one read gives it (for the fence) and proves the key is ours.
            var read = await _kv.GetAsync(key, new GetOptions { KeysOnly = true }, cancellationToken).ConfigureAwait(false);
            if (read.First is not { } kv || kv.Lease != lease.Id || lease.IsLost)
                throw new EtcdLeaseLostException($"Lease {lease.Id:x} was lost while acquiring lock '{name}': its key is gone.", lease.Id, lease.LostReason);

            claim.Revision = kv.CreateRevision;
            result = new ServerLock(this, name, key, ProtoMapping.ToHeader(response.Header), lease, kv.CreateRevision, claim, read.Header.Revision + 1);
            return result;
        }
        finally
        {
            // Releases the claim once the key is known to be gone (or the lease is lost).
            if (result is null) await CoordinationSupport.CleanUpAsync(_kv, key, lease, 0, claim).ConfigureAwait(false);
        }
    }

    public async Task<ResponseHeader> UnlockAsync(EtcdBytes key, CancellationToken cancellationToken)
    {
        var request = new LockPb.UnlockRequest { Key = ProtoMapping.ToByteString(key) };
        var response = await _invoker.UnaryAsync(EtcdMethods.Unlock, request, cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToHeader(response.Header);
    }
}
