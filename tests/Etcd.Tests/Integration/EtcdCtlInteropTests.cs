using System.Text;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>What the library writes etcdctl reads, and back, byte for byte.</summary>
public sealed class EtcdCtlInteropTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    private byte[] Key(params byte[] suffix) => [.. Encoding.UTF8.GetBytes(Etcd.UniquePrefix()), .. suffix];

    public static TheoryData<byte[], byte[]> Cases()
    {
        var big = new byte[1024 * 1024];
        new Random(42).NextBytes(big);
        return new TheoryData<byte[], byte[]>
        {
            { [0xC3, 0x28, 0xFF, 0xFE, 0x80], [0xFF, 0x00, 0xC0, 0xAF, 0x0A, 0x00] }, // non-UTF-8 key and value, NULs in value
            { [(byte)'e'], [] },                                                     // empty value
            { [(byte)'b', (byte)'i', (byte)'g'], big },                              // 1 MiB value
            { [0xFF, 0xFF], [1, 2, 3] },                                             // key ending in 0xFF bytes
            { [(byte)'u', 0xE2, 0x82, 0xAC], Encoding.UTF8.GetBytes("€ unicode ✓") },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Library_writes_etcdctl_reads(byte[] suffix, byte[] value)
    {
        var key = Key(suffix);
        await Client.PutAsync(key, value);
        Assert.Equal(value, await Etcd.Ctl.GetAsync(key));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Etcdctl_writes_library_reads(byte[] suffix, byte[] value)
    {
        var key = Key(suffix);
        await Etcd.Ctl.PutAsync(key, value);
        var read = await Client.GetAsync(key);
        var kv = Assert.Single(read.Kvs);
        Assert.Equal(key, kv.Key.ToArray());
        Assert.Equal(value, kv.Value.ToArray());
    }

    [Fact]
    public async Task Prefixes_ending_in_ff_match_etcdctl_prefix_reads()
    {
        var root = Key();
        // No NUL bytes: etcdctl takes keys through argv.
        byte[][] suffixes = [[0xFF], [0xFF, 0xFF], [0xFF, 0x01], [0xFE, 0xFF], [0xFE], [0x01]];
        foreach (var suffix in suffixes) await Etcd.Ctl.PutAsync([.. root, .. suffix], suffix);

        foreach (var probe in new byte[][] { [], [0xFF], [0xFF, 0xFF], [0xFE], [0xFE, 0xFF] })
        {
            byte[] prefix = [.. root, .. probe];
            var ours = (await Client.GetAsync(KeySet.Prefix(prefix))).Kvs.Select(kv => kv.Key.ToArray()).ToList();
            var theirs = (await Etcd.Ctl.GetPrefixAsync(prefix)).Select(pair => pair.Key).ToList();
            Assert.Equal(theirs, ours);
            Assert.All(ours, k => Assert.True(k.AsSpan().StartsWith(prefix)));
        }
    }

    [Fact]
    public async Task All_ff_prefix_runs_to_the_end_of_the_keyspace_like_etcdctl()
    {
        // A prefix of only 0xFF bytes has no successor; its range must end at "\0" (the end of the keyspace).
        // Only this test writes keys that start with 0xFF 0xFF 0xFF on this class's server.
        var unique = Encoding.UTF8.GetBytes(Etcd.UniquePrefix());
        byte[] ff3 = [0xFF, 0xFF, 0xFF];
        byte[][] keys = [[.. ff3, .. unique], [.. ff3, 0xFF, .. unique], [.. ff3, 0xFF, 0xFF]];
        foreach (var key in keys) await Client.PutAsync(key, "x");
        await Client.PutAsync(new byte[] { 0xFF, 0xFF, 0xFE }, "outside"); // just below the prefix

        var ours = (await Client.GetAsync(KeySet.Prefix(ff3))).Kvs.Select(kv => kv.Key.ToArray()).ToList();
        var theirs = (await Etcd.Ctl.GetPrefixAsync(ff3)).Select(pair => pair.Key).ToList();

        Assert.Equal(theirs, ours);
        Assert.Equal(keys.OrderBy(k => (EtcdBytes)k).ToList(), ours);
        Assert.Equal(new byte[] { 0 }, KeySet.Prefix(ff3).WireRangeEnd.ToArray());
    }

    [Fact]
    public async Task Library_delete_is_seen_by_etcdctl()
    {
        var key = Key(0xFF, 0x01);
        await Etcd.Ctl.PutAsync(key, [9]);
        var deleted = await Client.DeleteAsync(key, prevKv: true);
        Assert.Equal(new byte[] { 9 }, Assert.Single(deleted.PrevKvs).Value.ToArray());
        Assert.Null(await Etcd.Ctl.GetAsync(key));
    }
}
