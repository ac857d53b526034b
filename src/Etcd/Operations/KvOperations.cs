using System.Runtime.CompilerServices;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>The key-value operations of one client: validation, request mapping and the paged scan.</summary>
internal sealed class KvOperations : IEtcdKv
{
    private static readonly byte[] s_zero = [0];
    private readonly EtcdCallInvoker _invoker;

    public KvOperations(EtcdCallInvoker invoker) => _invoker = invoker;

    public async Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidateKeys(keys, nameof(keys));
        options?.Validate(nameof(options));
        var request = ProtoMapping.ToRangeRequest(keys, options);
        var response = await RangeAsync(request, cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToGet(response);
    }

    public async Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        var response = await RangeAsync(ProtoMapping.ToRangeRequest(KeySet.Single(key), null), cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? (EtcdBytes?)null : ProtoMapping.ToBytes(response.Kvs[0].Value);
    }

    public async Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        Guard.Key(key, nameof(key));
        Guard.NotNull(value, nameof(value));
        options?.Validate(value, nameof(options));
        var request = ProtoMapping.ToPutRequest(key, value, options);
        var response = await _invoker.UnaryAsync(EtcdMethods.Put, request, cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToPut(response);
    }

    public async Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        ValidateKeys(keys, nameof(keys));
        var request = ProtoMapping.ToDeleteRequest(keys, prevKv);
        var response = await _invoker.UnaryAsync(EtcdMethods.DeleteRange, request, cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToDelete(response);
    }

    public Transaction Txn() => new(this);

    public async Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var request = ProtoMapping.ToTxnRequest(transaction);
        var response = await _invoker.UnaryAsync(EtcdMethods.Txn, request, cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToTxn(response);
    }

    public async Task<CompactResponse> CompactAsync(long revision, bool physical, CancellationToken cancellationToken)
    {
        if (revision <= 0) throw new ArgumentOutOfRangeException(nameof(revision), revision, "The compaction revision must be positive.");
        var request = new Pb.CompactionRequest { Revision = revision, Physical = physical };
        try
        {
            var response = await _invoker.UnaryAsync(EtcdMethods.Compact, request, cancellationToken, revision).ConfigureAwait(false);
            return new CompactResponse(ProtoMapping.ToHeader(response.Header));
        }
        catch (EtcdCompactedException error) when (error.CompactRevision == 0)
        {
            throw await WithCompactRevisionAsync(error, KeySet.All.WireKey, revision, cancellationToken).ConfigureAwait(false);
        }
    }

    public IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidateKeys(keys, nameof(keys));
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
        try
        {
            return await _invoker.UnaryAsync(EtcdMethods.Range, request, cancellationToken, request.Revision).ConfigureAwait(false);
        }
        catch (EtcdCompactedException error) when (error.CompactRevision == 0)
        {
            throw await WithCompactRevisionAsync(error, ProtoMapping.ToBytes(request.Key), request.Revision, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<EtcdCompactedException> WithCompactRevisionAsync(EtcdCompactedException error, EtcdBytes key, long revision, CancellationToken cancellationToken)
    {
        long compactRevision = await CompactRevisionProbe.FindAsync(_invoker, key, revision, cancellationToken).ConfigureAwait(false);
        var message = compactRevision > 0
            ? $"Revision {revision} has been compacted; the oldest readable revision is {compactRevision}."
            : error.Message;
        return new EtcdCompactedException(message, revision, compactRevision, error.ServerMessage, error.InnerException);
    }

    private static void ValidateKeys(KeySet keys, string paramName)
    {
        // default(KeySet) is a single empty key, which etcd rejects.
        if (keys.Kind == KeySetKind.Single) Guard.Key(keys.Key, paramName);
    }
}
