using FsCheck;
using FsCheck.Fluent;

namespace Etcd.Tests.Unit;

public class PrefixEndPropertyTests
{
    private static readonly Gen<byte[]> s_bytes =
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements<byte>(0x00, 0x01, 0x61, 0x7F, 0x80, 0xFE, 0xFF), n));

    [Fact]
    public void Prefix_range_contains_exactly_the_keys_with_the_prefix()
    {
        // For random prefixes and keys drawn from edge bytes: key in [prefix, PrefixEnd(prefix)) <=> key starts with prefix.
        Prop.ForAll(Arb.From(Gen.Zip(s_bytes, s_bytes)), pair =>
        {
            var (prefix, key) = pair;
            var keys = KeySet.Prefix(prefix);
            EtcdBytes k = key;
            bool inRange = k.CompareTo(keys.WireKey) >= 0 &&
                           (keys.WireRangeEnd.Span.SequenceEqual(new byte[] { 0 }) || k.CompareTo(keys.WireRangeEnd) < 0);
            bool expected = prefix.Length == 0 ? key.Length > 0 : k.StartsWith(prefix);
            return key.Length == 0 || inRange == expected;
        }).QuickCheckThrowOnFailure();
    }
}
