namespace Etcd;

/// <summary>Key-value operations: reads, writes, deletes, transactions and paged scans. Implemented by <see cref="EtcdClient"/>.</summary>
public interface IEtcdKv
{
    /// <summary>Reads a key, range or prefix with every option etcd's Range offers.</summary>
    Task<GetResponse> GetAsync(KeySet keys, GetOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Reads one key's value; null when the key does not exist.</summary>
    Task<EtcdBytes?> GetValueAsync(EtcdBytes key, CancellationToken cancellationToken = default);

    /// <summary>Reads one key's value decoded as UTF-8; null when the key does not exist.</summary>
    Task<string?> GetStringAsync(EtcdBytes key, CancellationToken cancellationToken = default);

    /// <summary>Writes a key.</summary>
    Task<PutResponse> PutAsync(EtcdBytes key, EtcdBytes value, PutOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key, range or prefix; with <paramref name="prevKv"/> the deleted pairs are returned.</summary>
    Task<DeleteResponse> DeleteAsync(KeySet keys, bool prevKv = false, CancellationToken cancellationToken = default);

    /// <summary>Starts a transaction bound to this client; finish it with <see cref="Transaction.CommitAsync"/>.</summary>
    Transaction Txn();

    /// <summary>Commits a transaction.</summary>
    Task<TxnResponse> TxnAsync(Transaction transaction, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams every pair of a range or prefix of any size in key order, one page per round trip, every page read at
    /// the revision of the first page so the scan is a consistent snapshot.
    /// </summary>
    IAsyncEnumerable<KeyValue> ScanAsync(KeySet keys, ScanOptions? options = null, CancellationToken cancellationToken = default);
}
