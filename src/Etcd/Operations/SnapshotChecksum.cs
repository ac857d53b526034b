using System.Security.Cryptography;

namespace Etcd.Operations;

/// <summary>
/// Checks a snapshot stream as it passes by: etcd's Maintenance.Snapshot sends the database and then, as the stream's
/// last 32 bytes, the SHA-256 of the database (etcd's v3rpc/maintenance.go; clientv3/snapshot verifies it on restore).
/// The last 32 bytes seen so far are held back from the hash, since any of them may turn out to be the checksum.
/// </summary>
internal sealed class SnapshotChecksum : IDisposable
{
    public const int Size = SnapshotResult.SnapshotChecksumSize;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _tail = new byte[Size];
    private int _tailLength;

    /// <summary>All bytes appended so far, checksum included.</summary>
    public long TotalBytes { get; private set; }

    public void Append(ReadOnlySpan<byte> chunk)
    {
        TotalBytes += chunk.Length;
        int excess = _tailLength + chunk.Length - Size;
        if (excess <= 0)
        {
            chunk.CopyTo(_tail.AsSpan(_tailLength));
            _tailLength += chunk.Length;
            return;
        }
        // The oldest 'excess' bytes of tail + chunk can no longer be part of the checksum: hash them.
        int fromTail = Math.Min(excess, _tailLength);
        _hash.AppendData(_tail.AsSpan(0, fromTail));
        int fromChunk = excess - fromTail;
        _hash.AppendData(chunk[..fromChunk]);
        int kept = _tailLength - fromTail;
        _tail.AsSpan(fromTail, kept).CopyTo(_tail);
        chunk[fromChunk..].CopyTo(_tail.AsSpan(kept));
        _tailLength = Size;
    }

    /// <summary>Ends the check: the SHA-256 of the data (lower-case hex), or <see cref="EtcdSnapshotCorruptException"/>.</summary>
    public string Finish()
    {
        var actual = Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();
        if (_tailLength < Size)
        {
            throw new EtcdSnapshotCorruptException(
                $"The snapshot stream ended after {TotalBytes} bytes, before etcd's 32-byte SHA-256 checksum.", "", actual, TotalBytes);
        }
        var expected = Convert.ToHexString(_tail).ToLowerInvariant();
        if (expected != actual)
        {
            throw new EtcdSnapshotCorruptException(
                $"The snapshot is corrupt: etcd's SHA-256 is {expected} but the {TotalBytes - Size} bytes received hash to {actual}.", expected, actual, TotalBytes);
        }
        return actual;
    }

    public void Dispose() => _hash.Dispose();
}
