namespace Etcd.Tests.Unit;

public class EtcdBytesTests
{
    [Fact]
    public void String_converts_as_utf8()
    {
        EtcdBytes bytes = "héllo";
        Assert.Equal(new byte[] { 0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F }, bytes.ToArray());
        Assert.Equal("héllo", bytes.ToStringUtf8());
        Assert.Equal("héllo", bytes.ToString());
    }

    [Fact]
    public void Array_conversion_wraps_without_copying()
    {
        var array = new byte[] { 1, 2, 3 };
        EtcdBytes bytes = array;
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes.Memory, out var segment));
        Assert.Same(array, segment.Array);
    }

    [Fact]
    public void Equality_and_hash_are_by_content()
    {
        EtcdBytes a = new byte[] { 1, 2, 0xFF };
        EtcdBytes b = new ReadOnlyMemory<byte>(new byte[] { 9, 1, 2, 0xFF }, 1, 3);
        Assert.True(a == b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, (EtcdBytes)new byte[] { 1, 2 });
    }

    [Fact]
    public void Ordering_is_bytewise()
    {
        Assert.True(((EtcdBytes)new byte[] { 0x7F }).CompareTo(new byte[] { 0x80 }) < 0);
        Assert.True(((EtcdBytes)"a").CompareTo("ab") < 0);
        Assert.True(((EtcdBytes)new byte[] { 0xFF }).CompareTo("z") > 0);
    }

    [Fact]
    public void Invalid_utf8_prints_as_hex()
    {
        EtcdBytes bytes = new byte[] { 0x61, 0xFF };
        Assert.False(bytes.IsValidUtf8);
        Assert.Equal("0x61ff", bytes.ToString());
    }

    [Fact]
    public void Null_conversions_are_marked_and_default_is_empty()
    {
        EtcdBytes fromNullString = (string?)null;
        EtcdBytes fromNullArray = (byte[]?)null;
        Assert.True(fromNullString.IsNull);
        Assert.True(fromNullArray.IsNull);
        Assert.False(default(EtcdBytes).IsNull);
        Assert.True(EtcdBytes.Empty.IsEmpty);
    }
}
