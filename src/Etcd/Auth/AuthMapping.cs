using Google.Protobuf.Collections;
using AuthPb = Etcd.Protocol.Auth;

namespace Etcd.Operations;

/// <summary>Checks the Auth service's arguments before anything is sent and maps its messages.</summary>
internal static class AuthMapping
{
    private static readonly byte[] s_zero = [0];

    /// <summary>A user or role name: etcd refuses empty ones ("user name is empty", "role name is empty").</summary>
    public static void Name(string name, string paramName, string what)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0) throw new ArgumentException($"A {what} name must not be empty.", paramName);
    }

    /// <summary>A password may be empty (etcd hashes whatever it gets) but not null; the message never shows it.</summary>
    public static void Password(string password, string paramName)
    {
        if (password is null) throw new ArgumentNullException(paramName, "A password is required (it may be empty, never null).");
    }

    public static AuthPb.Permission ToPermission(EtcdPermission permission, string paramName)
    {
        ArgumentNullException.ThrowIfNull(permission, paramName);
        Guard.Defined(permission.Type, paramName);
        var keys = permission.Keys;
        keys.Validate(paramName);
        return new AuthPb.Permission
        {
            PermType = (AuthPb.Permission.Types.Type)permission.Type,
            Key = ProtoMapping.ToByteString(keys.WireKey),
            RangeEnd = ProtoMapping.ToByteString(keys.WireRangeEnd),
        };
    }

    /// <summary>The narrowest <see cref="KeySet"/> for a stored key and range end (etcd keeps no kind).</summary>
    public static KeySet ToKeySet(EtcdBytes key, EtcdBytes rangeEnd)
    {
        if (rangeEnd.IsEmpty) return key.IsEmpty ? KeySet.All : KeySet.Single(key);
        if (rangeEnd.Span.SequenceEqual(s_zero))
            return key.IsEmpty || key.Span.SequenceEqual(s_zero) ? KeySet.All : KeySet.FromKey(key);
        if (!key.IsEmpty && rangeEnd == KeySet.PrefixEnd(key)) return KeySet.Prefix(key);
        if (rangeEnd.CompareTo(key) > 0) return KeySet.Range(key, rangeEnd);
        // etcd 3.4 stores any range it is given (another tool may have granted one that ends before it starts, which
        // covers nothing); KeySet cannot express it, so say so rather than show a different set.
        throw new EtcdException(EtcdStatusCode.Internal, $"etcd returned a permission whose range end ({rangeEnd}) does not sort after its key ({key}).");
    }

    public static IReadOnlyList<EtcdPermission> ToPermissions(RepeatedField<AuthPb.Permission> permissions)
    {
        if (permissions.Count == 0) return [];
        var result = new EtcdPermission[permissions.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var p = permissions[i];
            result[i] = new EtcdPermission((EtcdPermissionType)p.PermType, ToKeySet(ProtoMapping.ToBytes(p.Key), ProtoMapping.ToBytes(p.RangeEnd)));
        }
        return result;
    }

    public static IReadOnlyList<string> ToList(RepeatedField<string> names) => names.Count == 0 ? [] : names.ToArray();
}
