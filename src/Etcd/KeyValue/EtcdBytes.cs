using System.Text;
using System.Text.Unicode;

namespace Etcd;

/// <summary>
/// An immutable view of the bytes of an etcd key or value. Converts implicitly from <see cref="string"/> (UTF-8),
/// <see cref="byte"/>[] and <see cref="ReadOnlyMemory{T}"/>; compares by content.
/// </summary>
/// <remarks>
/// Conversions from arrays and memory do not copy: do not change the array while a call that uses it runs.
/// Values returned by the client are never mutated. A conversion from a null string or array yields a value whose
/// <see cref="IsNull"/> is true, which every client method rejects with <see cref="ArgumentNullException"/>.
/// </remarks>
public readonly struct EtcdBytes : IEquatable<EtcdBytes>, IComparable<EtcdBytes>
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly bool _isNull;

    /// <summary>Wraps memory without copying it.</summary>
    public EtcdBytes(ReadOnlyMemory<byte> memory)
    {
        _memory = memory;
        _isNull = false;
    }

    private EtcdBytes(bool isNull)
    {
        _memory = default;
        _isNull = isNull;
    }

    /// <summary>The empty byte string.</summary>
    public static EtcdBytes Empty => default;

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Memory => _memory;

    /// <summary>The bytes as a span.</summary>
    public ReadOnlySpan<byte> Span => _memory.Span;

    /// <summary>The number of bytes.</summary>
    public int Length => _memory.Length;

    /// <summary>True when there are no bytes.</summary>
    public bool IsEmpty => _memory.IsEmpty;

    /// <summary>True when this value came from a null string or array (client methods reject it).</summary>
    public bool IsNull => _isNull;

    /// <summary>Encodes a string as UTF-8.</summary>
    public static EtcdBytes FromUtf8(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new EtcdBytes(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Copies the bytes of a span into a new value.</summary>
    public static EtcdBytes CopyFrom(ReadOnlySpan<byte> bytes) => new(bytes.ToArray());

    /// <summary>Decodes the bytes as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string ToStringUtf8() => Encoding.UTF8.GetString(_memory.Span);

    /// <summary>True when the bytes are valid UTF-8.</summary>
    public bool IsValidUtf8 => Utf8.IsValid(_memory.Span);

    /// <summary>Copies the bytes into a new array.</summary>
    public byte[] ToArray() => _memory.ToArray();

    /// <summary>True when these bytes start with <paramref name="prefix"/>.</summary>
    public bool StartsWith(EtcdBytes prefix) => _memory.Span.StartsWith(prefix.Span);

    /// <summary>Returns the UTF-8 text when the bytes are valid UTF-8, otherwise a hex form such as <c>0x61ff</c>.</summary>
    public override string ToString() => IsValidUtf8 ? ToStringUtf8() : "0x" + Convert.ToHexString(_memory.Span).ToLowerInvariant();

    /// <summary>Content equality (a value from a null string or array equals <see cref="Empty"/>).</summary>
    public bool Equals(EtcdBytes other) => _memory.Span.SequenceEqual(other._memory.Span);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EtcdBytes other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_memory.Span);
        return hash.ToHashCode();
    }

    /// <summary>Byte-wise lexicographic order, the order etcd sorts keys in.</summary>
    public int CompareTo(EtcdBytes other) => _memory.Span.SequenceCompareTo(other._memory.Span);

    /// <summary>Content equality.</summary>
    public static bool operator ==(EtcdBytes left, EtcdBytes right) => left.Equals(right);

    /// <summary>Content inequality.</summary>
    public static bool operator !=(EtcdBytes left, EtcdBytes right) => !left.Equals(right);

    /// <summary>UTF-8 encodes a string.</summary>
    public static implicit operator EtcdBytes(string? text) => text is null ? new EtcdBytes(isNull: true) : FromUtf8(text);

    /// <summary>Wraps an array without copying.</summary>
    public static implicit operator EtcdBytes(byte[]? bytes) => bytes is null ? new EtcdBytes(isNull: true) : new EtcdBytes(bytes);

    /// <summary>Wraps memory without copying.</summary>
    public static implicit operator EtcdBytes(ReadOnlyMemory<byte> memory) => new(memory);

    /// <summary>Wraps memory without copying.</summary>
    public static implicit operator EtcdBytes(Memory<byte> memory) => new(memory);

    internal static EtcdBytes Concat(EtcdBytes first, EtcdBytes second)
    {
        if (first.IsEmpty) return second;
        if (second.IsEmpty) return first;
        var result = new byte[first.Length + second.Length];
        first.Span.CopyTo(result);
        second.Span.CopyTo(result.AsSpan(first.Length));
        return new EtcdBytes(result);
    }
}
