namespace Etcd;

/// <summary>
/// Keys to work in: key-value operations and watches over the same keys, and the client underneath for the services
/// that are not confined to keys (leases). Implemented by <see cref="EtcdClient"/> (every key) and
/// <see cref="EtcdNamespace"/> (the keys under a prefix); the concurrency recipes take one, so they work in a namespace.
/// </summary>
public interface IEtcdKeyspace : IEtcdKv, IEtcdWatch
{
    /// <summary>The client underneath (for leases, which belong to the whole cluster rather than to keys).</summary>
    EtcdClient Client { get; }
}
