namespace Etcd.Tests.Unit;

public class KeySetTests
{
    [Theory]
    [InlineData(new byte[] { 0x61 }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x61, 0xFF }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x61, 0xFF, 0xFF }, new byte[] { 0x62 })]
    [InlineData(new byte[] { 0x00 }, new byte[] { 0x01 })]
    [InlineData(new byte[] { 0xFE, 0xFF }, new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xFF }, new byte[] { 0x00 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF }, new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x61, 0x62, 0x2F }, new byte[] { 0x61, 0x62, 0x30 })]
    public void PrefixEnd_increments_last_byte_below_ff_and_drops_the_rest(byte[] prefix, byte[] expected)
    {
        Assert.Equal(expected, KeySet.PrefixEnd(prefix).ToArray());
    }

    [Fact]
    public void PrefixEnd_does_not_modify_the_prefix()
    {
        var prefix = new byte[] { 1, 2, 3 };
        KeySet.PrefixEnd(prefix);
        Assert.Equal(new byte[] { 1, 2, 3 }, prefix);
    }

    [Fact]
    public void Single_key_wire_form_has_no_range_end()
    {
        KeySet keys = "abc";
        Assert.Equal(KeySetKind.Single, keys.Kind);
        Assert.Equal("abc", keys.WireKey.ToStringUtf8());
        Assert.True(keys.WireRangeEnd.IsEmpty);
    }

    [Fact]
    public void Prefix_wire_form_uses_the_prefix_end()
    {
        var keys = KeySet.Prefix("app/");
        Assert.Equal("app/", keys.WireKey.ToStringUtf8());
        Assert.Equal("app0", keys.WireRangeEnd.ToStringUtf8());
    }

    [Fact]
    public void Empty_prefix_and_All_select_every_key_with_zero_bytes()
    {
        foreach (var keys in new[] { KeySet.Prefix(""), KeySet.All })
        {
            Assert.Equal(KeySetKind.All, keys.Kind);
            Assert.Equal(new byte[] { 0 }, keys.WireKey.ToArray());
            Assert.Equal(new byte[] { 0 }, keys.WireRangeEnd.ToArray());
        }
    }

    [Fact]
    public void FromKey_ends_at_zero_byte()
    {
        var keys = KeySet.FromKey("m");
        Assert.Equal("m", keys.WireKey.ToStringUtf8());
        Assert.Equal(new byte[] { 0 }, keys.WireRangeEnd.ToArray());
    }

    [Fact]
    public void Range_with_empty_start_starts_at_the_first_key()
    {
        var keys = KeySet.Range("", "m");
        Assert.Equal(new byte[] { 0 }, keys.WireKey.ToArray());
        Assert.Equal("m", keys.WireRangeEnd.ToStringUtf8());
    }

    [Fact]
    public void Bad_key_sets_are_rejected_before_sending()
    {
        Assert.Throws<ArgumentException>(() => KeySet.Single(""));
        Assert.Throws<ArgumentNullException>(() => KeySet.Single((string?)null));
        Assert.Throws<ArgumentException>(() => KeySet.Range("a", ""));
        Assert.Throws<ArgumentException>(() => KeySet.Range("a", new byte[] { 0 }));
        Assert.Throws<ArgumentException>(() => KeySet.Range("b", "a"));
        Assert.Throws<ArgumentException>(() => KeySet.Range("a", "a"));
        Assert.Throws<ArgumentNullException>(() => KeySet.Prefix((byte[]?)null));
    }

    [Fact]
    public void Implicit_conversions_never_throw_but_validation_rejects_empty_and_null_keys()
    {
        KeySet empty = "";
        KeySet nullString = (string?)null;
        KeySet nullArray = (byte[]?)null;
        Assert.Equal("keys", Assert.Throws<ArgumentException>(() => empty.Validate("keys")).ParamName);
        Assert.Throws<ArgumentNullException>(() => nullString.Validate("keys"));
        Assert.Throws<ArgumentNullException>(() => nullArray.Validate("keys"));
        Assert.Throws<ArgumentException>(() => default(KeySet).Validate("keys"));
        KeySet.Prefix("").Validate("keys"); // all keys: fine
    }

    [Fact]
    public void Transaction_parts_reject_empty_key_sets_before_sending()
    {
        Assert.Throws<ArgumentException>(() => TxnOp.Get(default));
        Assert.Throws<ArgumentException>(() => TxnOp.Delete(""));
        Assert.Throws<ArgumentException>(() => Compare.Value(default(KeySet)));
        Assert.Throws<ArgumentException>(() => Compare.Version(""));
        Assert.Throws<ArgumentNullException>(() => Compare.ModRevision((string?)null));
    }

    [Theory]
    [InlineData("a/b", true)]
    [InlineData("a/", true)]
    [InlineData("a", false)]
    [InlineData("b/", false)]
    public void Prefix_contains_matches_wire_range(string key, bool expected)
    {
        var keys = KeySet.Prefix("a/");
        Assert.Equal(expected, keys.Contains(key));
        bool inWireRange = ((EtcdBytes)key).CompareTo(keys.WireKey) >= 0 && ((EtcdBytes)key).CompareTo(keys.WireRangeEnd) < 0;
        Assert.Equal(expected, inWireRange);
    }
}
