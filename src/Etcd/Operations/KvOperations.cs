using System.Diagnostics;
using System.Runtime.CompilerServices;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// The key-value operations of one client. Each public method validates and builds its request synchronously (so bad
/// input throws before anything is sent, from the call itself) and then awaits the call in a private async core.
/// </summary>
internal sealed class KvOperations : IEtcdKv
{
    private static readonly byte[] s_zero = [0];
    private readonly EtcdCallInvoker _invoker;

    public KvOperations(EtcdCallInvoker invoker) => _invoker = invoker;

    public Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        options?.Validate(nameof(options));
        return GetCoreAsync(ProtoMapping.ToRangeRequest(keys, options), cancellationToken);
    }

    private async Task<GetResponse> GetCoreAsync(Pb.RangeRequest request, CancellationToken cancellationToken)
        => ProtoMapping.ToGet(await RangeAsync(request, cancellationToken).ConfigureAwait(false));

    public Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        return GetValueCoreAsync(ProtoMapping.ToRangeRequest(key, null), cancellationToken);
    }

    private async Task<EtcdBytes?> GetValueCoreAsync(Pb.RangeRequest request, CancellationToken cancellationToken)
    {
        var response = await RangeAsync(request, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? (EtcdBytes?)null : ProtoMapping.ToBytes(response.Kvs[0].Value);
    }

    public Task<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        return GetStringCoreAsync(ProtoMapping.ToRangeRequest(key, null), cancellationToken);
    }

    private async Task<string?> GetStringCoreAsync(Pb.RangeRequest request, CancellationToken cancellationToken)
    {
        var response = await RangeAsync(request, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    public Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        options?.Validate(value, nameof(options));
        return PutCoreAsync(ProtoMapping.ToPutRequest(key, value, options), cancellationToken);
    }

    private async Task<PutResponse> PutCoreAsync(Pb.PutRequest request, CancellationToken cancellationToken)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.Put, request, cancellationToken, leaseId: request.Lease).ConfigureAwait(false);
        return ProtoMapping.ToPut(response);
    }

    public Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        return DeleteCoreAsync(ProtoMapping.ToDeleteRequest(keys, prevKv), cancellationToken);
    }

    private async Task<DeleteResponse> DeleteCoreAsync(Pb.DeleteRangeRequest request, CancellationToken cancellationToken)
        => ProtoMapping.ToDelete(await _invoker.UnaryAsync(EtcdMethods.DeleteRange, request, cancellationToken).ConfigureAwait(false));

    public Transaction Txn() => new(this);

    public Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return TxnCoreAsync(ProtoMapping.ToTxnRequest(transaction), cancellationToken);
    }

    private async Task<TxnResponse> TxnCoreAsync(Pb.TxnRequest request, CancellationToken cancellationToken)
        => ProtoMapping.ToTxn(await _invoker.UnaryAsync(EtcdMethods.Txn, request, cancellationToken, flags: IsReadOnly(request) ? CallFlags.Idempotent : CallFlags.None).ConfigureAwait(false));

    /// <summary>True when no branch of the transaction, nested ones included, writes: such a transaction is a read and may be retried.</summary>
    internal static bool IsReadOnly(Pb.TxnRequest request)
    {
        return AllReads(request.Success) && AllReads(request.Failure);

        static bool AllReads(Google.Protobuf.Collections.RepeatedField<Pb.RequestOp> ops)
        {
            foreach (var op in ops)
            {
                bool read = op.RequestCase switch
                {
                    Pb.RequestOp.RequestOneofCase.RequestRange => true,
                    Pb.RequestOp.RequestOneofCase.RequestTxn => IsReadOnly(op.RequestTxn),
                    _ => false,
                };
                if (!read) return false;
            }
            return true;
        }
    }

    public Task<CompactResponse> CompactAsync(long revision, bool physical, CancellationToken cancellationToken)
    {
        if (revision <= 0) throw new ArgumentOutOfRangeException(nameof(revision), revision, "The compaction revision must be positive.");
        return CompactCoreAsync(new Pb.CompactionRequest { Revision = revision, Physical = physical }, cancellationToken);
    }

    private async Task<CompactResponse> CompactCoreAsync(Pb.CompactionRequest request, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var response = await _invoker.UnaryAsync(EtcdMethods.Compact, request, cancellationToken, request.Revision).ConfigureAwait(false);
            return new CompactResponse(ProtoMapping.ToHeader(response.Header));
        }
        catch (EtcdCompactedException error) when (error.CompactRevision == 0)
        {
            throw await WithCompactRevisionAsync(error, KeySet.All.WireKey, request.Revision, started, cancellationToken).ConfigureAwait(false);
        }
    }

    public IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        keys.Validate(nameof(keys));
        options ??= new ScanOptions();
        options.Validate(nameof(options));
        _invoker.ThrowIfDisposed();
        return ScanPagesAsync(keys, options, cancellationToken);
    }

    private async IAsyncEnumerable<KeyValue> ScanPagesAsync(KeySet keys, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var start = keys.WireKey;
        var end = keys.WireRangeEnd;
        long revision = options.Revision;
        while (true)
        {
            var request = new Pb.RangeRequest
            {
                Key = ProtoMapping.ToByteString(start),
                RangeEnd = ProtoMapping.ToByteString(end),
                Limit = options.PageSize,
                KeysOnly = options.KeysOnly,
                Serializable = options.Serializable,
                Revision = revision,
            };
            var page = await RangeAsync(request, cancellationToken).ConfigureAwait(false);
            if (revision == 0) revision = page.Header.Revision; // later pages read the snapshot of the first
            foreach (var kv in page.Kvs) yield return ProtoMapping.ToKeyValue(kv);
            if (!page.More || page.Kvs.Count == 0 || keys.IsSingleKey) yield break;
            // The next page starts right after the last key: the key followed by a zero byte.
            start = EtcdBytes.Concat(ProtoMapping.ToBytes(page.Kvs[^1].Key), s_zero);
        }
    }

    private async Task<Pb.RangeResponse> RangeAsync(Pb.RangeRequest request, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            return await _invoker.UnaryAsync(EtcdMethods.Range, request, cancellationToken, request.Revision,
                flags: request.Serializable ? CallFlags.Idempotent | CallFlags.NoLeaderRequired : CallFlags.Idempotent).ConfigureAwait(false);
        }
        catch (EtcdCompactedException error) when (error.CompactRevision == 0)
        {
            throw await WithCompactRevisionAsync(error, ProtoMapping.ToBytes(request.Key), request.Revision, started, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds the compact revision to the error, spending at most what is left of the call's deadline (and at most 2 s).</summary>
    private async Task<EtcdCompactedException> WithCompactRevisionAsync(
        EtcdCompactedException error, EtcdBytes key, long revision, long started, CancellationToken cancellationToken)
    {
        var budget = TimeSpan.FromSeconds(2);
        if (_invoker.RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            var left = _invoker.RequestTimeout - Stopwatch.GetElapsedTime(started);
            if (left < budget) budget = left;
        }
        long compactRevision = budget > TimeSpan.Zero
            ? await CompactRevisionProbe.FindAsync(_invoker, key, revision, budget, cancellationToken).ConfigureAwait(false)
            : 0;
        var message = compactRevision > 0
            ? $"Revision {revision} has been compacted; the oldest readable revision is {compactRevision}."
            : error.Message;
        return new EtcdCompactedException(message, revision, compactRevision, error.ServerMessage, error.InnerException);
    }
}
