namespace Etcd;

/// <summary>What a permission allows on its keys.</summary>
public enum EtcdPermissionType
{
    /// <summary>Reads (get, range, watch).</summary>
    Read = 0,

    /// <summary>Writes (put, delete).</summary>
    Write = 1,

    /// <summary>Reads and writes.</summary>
    ReadWrite = 2,
}

/// <summary>
/// A right a role grants over a key set: one key, a range [from, to), a prefix, every key from a key on, or all keys.
/// etcd stores a permission as a key and a range end, so a role read back gives the narrowest description: a range
/// whose end is its start's prefix end comes back as <see cref="KeySetKind.Prefix"/>.
/// </summary>
/// <param name="Type">Read, write or both.</param>
/// <param name="Keys">The keys it covers.</param>
public sealed record EtcdPermission(EtcdPermissionType Type, KeySet Keys)
{
    /// <summary>Read access to <paramref name="keys"/>.</summary>
    public static EtcdPermission Read(KeySet keys) => new(EtcdPermissionType.Read, keys);

    /// <summary>Write access to <paramref name="keys"/>.</summary>
    public static EtcdPermission Write(KeySet keys) => new(EtcdPermissionType.Write, keys);

    /// <summary>Read and write access to <paramref name="keys"/>.</summary>
    public static EtcdPermission ReadWrite(KeySet keys) => new(EtcdPermissionType.ReadWrite, keys);

    /// <summary>For example <c>ReadWrite app/*</c>.</summary>
    public override string ToString() => $"{Type} {Keys}";
}
