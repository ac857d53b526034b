using FsCheck;
using FsCheck.Fluent;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// Random binary keys and values (FsCheck generators) round-trip byte-exact through a real etcd. Each run draws a
/// new seed and names it in any failure; set ETCD_TEST_SEED to replay one.
/// </summary>
public sealed class PropertyRoundTripTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    private static readonly ulong s_seed = ulong.TryParse(Environment.GetEnvironmentVariable("ETCD_TEST_SEED"), out var seed)
        ? seed
        : (ulong)Random.Shared.NextInt64();

    private static T[] Sample<T>(Gen<T> gen, int size, int count) => Gen.Sample(gen, size, new Rnd(s_seed, 1UL), count);

    private static string Seed => $"(seed {s_seed}; replay with ETCD_TEST_SEED={s_seed})";

    private static readonly Gen<byte[]> s_edgeBytes =
        Gen.Choose(1, 24).SelectMany(n => Gen.ArrayOf(Gen.Frequency(
            (3, Gen.Choose(0, 255).Select(i => (byte)i)),
            (1, Gen.Elements<byte>(0x00, 0xFF, 0xFE, 0x80, 0xC0, 0x2F))), n));

    private static readonly Gen<byte[]> s_values =
        Gen.Frequency(
            (1, Gen.Constant(Array.Empty<byte>())),
            (6, Gen.Choose(1, 512).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), n))),
            (1, Gen.Choose(4096, 70_000).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), n))));

    [Fact]
    public async Task Random_binary_keys_and_values_round_trip_exactly()
    {
        await using var client = new EtcdClient(etcd.ClientUrl);
        byte[] prefix = System.Text.Encoding.UTF8.GetBytes(etcd.UniquePrefix());
        var samples = Sample(Gen.Zip(s_edgeBytes, s_values), 50, 200);
        var model = new Dictionary<EtcdBytes, byte[]>();

        foreach (var (suffix, value) in samples)
        {
            byte[] key = [.. prefix, .. suffix];
            await client.PutAsync(key, value);
            model[key] = value;
            var read = await client.GetValueAsync(key);
            Assert.True(read is { } bytes && bytes.Span.SequenceEqual(value), $"key {(EtcdBytes)key} did not round-trip {Seed}");
        }

        // A prefix scan returns exactly the model, in byte order, with exact values.
        var scanned = new List<KeyValue>();
        await foreach (var kv in client.ScanAsync(KeySet.Prefix(prefix), new ScanOptions { PageSize = 17 })) scanned.Add(kv);
        Assert.True(model.Keys.OrderBy(k => k).SequenceEqual(scanned.Select(kv => kv.Key)), $"scan differs from the model {Seed}");
        Assert.All(scanned, kv => Assert.True(kv.Value.Span.SequenceEqual(model[kv.Key]), $"value of {kv.Key} differs {Seed}"));
    }

    [Fact]
    public async Task Random_prefixes_select_exactly_the_keys_that_start_with_them()
    {
        await using var client = new EtcdClient(etcd.ClientUrl);
        byte[] root = System.Text.Encoding.UTF8.GetBytes(etcd.UniquePrefix());
        var suffixes = Sample(s_edgeBytes, 8, 120).Select(s => s.Take(4).ToArray()).ToArray();
        var keys = new HashSet<EtcdBytes>();
        foreach (var suffix in suffixes)
        {
            byte[] key = [.. root, .. suffix];
            if (keys.Add(key)) await client.PutAsync(key, "x");
        }

        foreach (var probe in Sample(s_edgeBytes, 3, 40).Select(s => s.Take(2).ToArray()))
        {
            byte[] prefix = [.. root, .. probe];
            var expected = keys.Where(k => k.StartsWith(prefix)).OrderBy(k => k).Select(k => k.ToArray()).ToList();
            var actual = (await client.GetAsync(KeySet.Prefix(prefix))).Kvs.Select(kv => kv.Key.ToArray()).ToList();
            Assert.True(expected.Count == actual.Count && expected.Zip(actual).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second)),
                $"prefix {(EtcdBytes)prefix}: expected {expected.Count} keys, got {actual.Count} {Seed}");
        }
    }
}
