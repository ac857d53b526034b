using System.Security.Cryptography;
using Etcd.Operations;
using Etcd.Tests.Transport;
using Google.Protobuf;
using Pb = Etcd.Protocol;

namespace Etcd.Tests.Unit;

public class SnapshotChecksumTests
{
    private static byte[] Database(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        return data;
    }

    /// <summary>The database followed by its SHA-256, as etcd's Maintenance.Snapshot sends it.</summary>
    private static byte[] Stream(byte[] database) => [.. database, .. SHA256.HashData(database)];

    private static IEnumerable<byte[]> Chunks(byte[] bytes, int size)
    {
        for (int i = 0; i < bytes.Length; i += size) yield return bytes[i..Math.Min(bytes.Length, i + size)];
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4096, 1)]
    [InlineData(4096, 7)]
    [InlineData(4096, 31)]
    [InlineData(4096, 32)]
    [InlineData(4096, 33)]
    [InlineData(100_000, 32 * 1024)]
    [InlineData(100_000, 200_000)]
    public void Accepts_a_stream_whose_last_32_bytes_are_the_sha256_of_the_rest_in_any_chunking(int size, int chunk)
    {
        var database = Database(size);
        using var checksum = new SnapshotChecksum();
        foreach (var part in Chunks(Stream(database), chunk)) checksum.Append(part);

        Assert.Equal(Convert.ToHexString(SHA256.HashData(database)).ToLowerInvariant(), checksum.Finish());
        Assert.Equal(size + 32, checksum.TotalBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2047)]
    [InlineData(4095)]
    [InlineData(4096)] // first byte of the checksum
    [InlineData(4127)] // last byte of the checksum
    public void Rejects_a_stream_with_any_byte_flipped(int position)
    {
        var bytes = Stream(Database(4096));
        bytes[position] ^= 0x01;
        using var checksum = new SnapshotChecksum();
        foreach (var part in Chunks(bytes, 1000)) checksum.Append(part);

        var error = Assert.Throws<EtcdSnapshotCorruptException>(() => checksum.Finish());
        Assert.NotEqual(error.ExpectedSha256, error.ActualSha256);
        Assert.Equal(EtcdStatusCode.DataLoss, error.StatusCode);
    }

    [Fact]
    public void Rejects_a_stream_shorter_than_a_checksum()
    {
        using var checksum = new SnapshotChecksum();
        checksum.Append(new byte[31]);

        var error = Assert.Throws<EtcdSnapshotCorruptException>(() => checksum.Finish());
        Assert.Equal("", error.ExpectedSha256);
        Assert.Equal(31, error.Size);
    }

    [Fact]
    public void Rejects_a_truncated_stream()
    {
        var bytes = Stream(Database(4096));
        using var checksum = new SnapshotChecksum();
        checksum.Append(bytes.AsSpan(0, bytes.Length - 1));

        Assert.Throws<EtcdSnapshotCorruptException>(() => checksum.Finish());
    }

    /// <summary>A client whose only endpoint answers Snapshot with <paramref name="stream"/> cut into etcd-like responses.</summary>
    private static EtcdClient FakeSnapshotClient(byte[] stream, int chunk = 1000)
    {
        var handler = FakeHttpHandler.Returning(() =>
        {
            var frames = Chunks(stream, chunk).Select(part => GrpcTestMessages.Frame(new Pb.SnapshotResponse { Blob = ByteString.CopyFrom(part) }));
            return GrpcTestMessages.Response(GrpcTestMessages.Concat([.. frames]));
        });
        return new EtcdClient(new EtcdClientOptions { Endpoints = ["http://127.0.0.1:2379"], HttpHandler = handler });
    }

    [Fact]
    public async Task SnapshotAsync_writes_every_byte_and_reports_the_checksum()
    {
        var database = Database(10_000);
        await using var client = FakeSnapshotClient(Stream(database));
        using var destination = new MemoryStream();

        var result = await client.Maintenance.SnapshotAsync(destination);

        Assert.Equal(Stream(database), destination.ToArray());
        Assert.Equal(10_032, result.Size);
        Assert.Equal(10_000, result.DatabaseSize);
        Assert.Null(result.Revision);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(database)).ToLowerInvariant(), result.Sha256);
    }

    [Fact]
    public async Task SnapshotAsync_of_a_corrupted_stream_throws_the_typed_exception()
    {
        var bytes = Stream(Database(10_000));
        bytes[5000] ^= 0x80;
        await using var client = FakeSnapshotClient(bytes);
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsAsync<EtcdSnapshotCorruptException>(() => client.Maintenance.SnapshotAsync(destination));

        Assert.Equal(10_032, error.Size);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(bytes.AsSpan(0, 10_000))).ToLowerInvariant(), error.ActualSha256);
    }

    [Fact]
    public async Task SnapshotToFileAsync_of_a_corrupted_stream_leaves_no_file()
    {
        var bytes = Stream(Database(10_000));
        bytes[10] ^= 0x01;
        await using var client = FakeSnapshotClient(bytes);
        var dir = Directory.CreateTempSubdirectory("etcd-snapshot-unit-");
        try
        {
            var path = Path.Combine(dir.FullName, "snap.db");

            await Assert.ThrowsAsync<EtcdSnapshotCorruptException>(() => client.Maintenance.SnapshotToFileAsync(path));

            Assert.Empty(Directory.GetFileSystemEntries(dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SnapshotToFileAsync_of_a_good_stream_replaces_the_file_and_leaves_nothing_else()
    {
        var bytes = Stream(Database(10_000));
        await using var client = FakeSnapshotClient(bytes);
        var dir = Directory.CreateTempSubdirectory("etcd-snapshot-unit-");
        try
        {
            var path = Path.Combine(dir.FullName, "snap.db");
            await File.WriteAllTextAsync(path, "old");

            var result = await client.Maintenance.SnapshotToFileAsync(path);

            Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
            Assert.Equal([path], Directory.GetFileSystemEntries(dir.FullName));
            Assert.Equal(bytes.Length, result.Size);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SnapshotToFileAsync_that_fails_midway_keeps_the_old_file_and_no_partial_one()
    {
        // The server ends the stream with an error after some data.
        var handler = FakeHttpHandler.Returning(() => GrpcTestMessages.Response(
            GrpcTestMessages.Frame(new Pb.SnapshotResponse { Blob = ByteString.CopyFrom(Database(5000)) }), status: "14", message: "etcdserver: leader changed"));
        await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = ["http://127.0.0.1:2379"], HttpHandler = handler });
        var dir = Directory.CreateTempSubdirectory("etcd-snapshot-unit-");
        try
        {
            var path = Path.Combine(dir.FullName, "snap.db");
            await File.WriteAllTextAsync(path, "old");

            await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.Maintenance.SnapshotToFileAsync(path));

            Assert.Equal("old", await File.ReadAllTextAsync(path));
            Assert.Equal([path], Directory.GetFileSystemEntries(dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
