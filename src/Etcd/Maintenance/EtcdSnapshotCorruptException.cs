namespace Etcd;

/// <summary>
/// A snapshot's bytes do not match the SHA-256 etcd sent after them (or the stream ended before a checksum): the copy is
/// unusable. The file variants delete their partial file; a caller's stream holds the bad bytes and must be discarded.
/// </summary>
public sealed class EtcdSnapshotCorruptException : EtcdException
{
    /// <summary>Creates the exception with both checksums (lower-case hex; empty when there was none).</summary>
    public EtcdSnapshotCorruptException(string message, string expectedSha256, string actualSha256, long size)
        : base(EtcdStatusCode.DataLoss, message)
    {
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
        Size = size;
    }

    /// <summary>The checksum etcd sent (the stream's last 32 bytes).</summary>
    public string ExpectedSha256 { get; }

    /// <summary>The checksum of the bytes received before it.</summary>
    public string ActualSha256 { get; }

    /// <summary>The bytes received in all.</summary>
    public long Size { get; }

    /// <summary>True: the damage happened on the way, so a new download may succeed.</summary>
    public override bool IsTransient => true;
}
