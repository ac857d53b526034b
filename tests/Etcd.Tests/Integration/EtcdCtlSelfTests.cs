using System.Net;
using System.Net.Sockets;
using System.Text;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>
/// The test infrastructure itself against a real etcd: etcdctl round trips are byte-exact, and the
/// server fixture starts, kills, restarts and cleans up as promised.
/// </summary>
public sealed class EtcdCtlSelfTests(EtcdFixture fixture) : IClassFixture<EtcdFixture>
{
    private readonly EtcdCtl ctl = fixture.Ctl;

    private byte[] Key(params byte[] suffix) => [.. Encoding.UTF8.GetBytes(fixture.UniquePrefix()), .. suffix];

    [Fact]
    public async Task NonUtf8KeyAndValueRoundTrip()
    {
        var key = Key(0xC3, 0x28, 0xFE, 0x80, 0x01, 0x7F, (byte)'\'', (byte)'"', (byte)'$', (byte)'%', (byte)'\\', (byte)' ');
        byte[] value = [0xFF, 0xFE, 0x00, 0xC0, 0xAF, (byte)'\n', 0x00];

        await ctl.PutAsync(key, value);

        Assert.Equal(value, await ctl.GetAsync(key));
        var all = await ctl.GetPrefixAsync(key);
        var (k, v) = Assert.Single(all);
        Assert.Equal(key, k);
        Assert.Equal(value, v);
    }

    [Fact]
    public async Task AllFfKeysRoundTripAndPrefixRangeRunsToTheEnd()
    {
        // Keys of only 0xFF sort after every key a test prefix ("t/...") can produce, so they are safe to share.
        var unique = Encoding.UTF8.GetBytes(fixture.UniquePrefix());
        byte[] one = [0xFF];
        byte[] two = [0xFF, 0xFF];
        byte[] ffThenUnique = [0xFF, 0xFF, 0xFF, .. unique];

        await ctl.PutAsync(one, [1]);
        await ctl.PutAsync(two, [2]);
        await ctl.PutAsync(ffThenUnique, [3]);

        Assert.Equal(new byte[] { 1 }, await ctl.GetAsync(one));
        Assert.Equal(new byte[] { 2 }, await ctl.GetAsync(two));
        Assert.Equal(new byte[] { 3 }, await ctl.GetAsync(ffThenUnique));

        // A prefix of only 0xFF has no successor: the range must run to the end of the key space.
        var keys = (await ctl.GetPrefixAsync([0xFF, 0xFF, 0xFF])).Select(p => p.Key).ToList();
        Assert.Contains(keys, k => k.AsSpan().SequenceEqual(ffThenUnique));
        Assert.DoesNotContain(keys, k => k.AsSpan().SequenceEqual(two));
    }

    [Fact]
    public async Task OneMebibyteRandomValueRoundTrip()
    {
        var key = Key((byte)'b', (byte)'i', (byte)'g');
        var value = new byte[1024 * 1024];
        new Random(12345).NextBytes(value);

        await ctl.PutAsync(key, value);

        Assert.Equal(value, await ctl.GetAsync(key));
    }

    [Fact]
    public async Task EmptyValueIsStoredAndDistinctFromMissing()
    {
        var key = Key((byte)'e');

        Assert.Null(await ctl.GetAsync(key));
        await ctl.PutAsync(key, []);

        Assert.Equal(Array.Empty<byte>(), await ctl.GetAsync(key));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'a', (byte)'\n' })]
    [InlineData(new byte[] { (byte)'\n' })]
    [InlineData(new byte[] { (byte)'\n', (byte)'\n', (byte)'\r', (byte)'\n' })]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { (byte)'a', 0, (byte)'b', 0, 0 })]
    [InlineData(new byte[] { (byte)'-', (byte)'-', (byte)'h', (byte)'e', (byte)'l', (byte)'p' })]
    [InlineData(new byte[] { (byte)' ', (byte)'\t' })]
    public async Task ValueBytesSurviveStdinExactly(byte[] value)
    {
        var key = Key((byte)'v');

        await ctl.PutAsync(key, value);

        Assert.Equal(value, await ctl.GetAsync(key));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'\n' })]
    [InlineData(new byte[] { (byte)'k', (byte)'\n', (byte)'\n' })]
    [InlineData(new byte[] { (byte)'X' })]
    [InlineData(new byte[] { (byte)'\n', (byte)'X', (byte)'\n' })]
    [InlineData(new byte[] { 0x80, 0xFF, 0x01, 0x1B })]
    public async Task KeyBytesSurviveArgvExactly(byte[] suffix)
    {
        var key = Key(suffix);

        await ctl.PutAsync(key, [7]);

        var (k, v) = Assert.Single(await ctl.GetPrefixAsync(key[..^suffix.Length]));
        Assert.Equal(key, k);
        Assert.Equal(new byte[] { 7 }, v);
    }

    [Fact]
    public async Task KeyStartingWithDashIsAKeyNotAFlag()
    {
        byte[] key = [.. "--"u8, .. Encoding.UTF8.GetBytes(fixture.UniquePrefix())];

        await ctl.PutAsync(key, "x"u8.ToArray());

        Assert.Equal("x"u8.ToArray(), await ctl.GetAsync(key));
        Assert.Equal(1, await ctl.DeleteAsync(key));
        Assert.Null(await ctl.GetAsync(key));
    }

    [Fact]
    public async Task PrefixListsExactlyThePrefixInKeyOrder()
    {
        var prefix = Encoding.UTF8.GetBytes(fixture.UniquePrefix());
        await ctl.PutAsync([.. prefix, 0xFF], [3]);
        await ctl.PutAsync([.. prefix, (byte)'b'], [2]);
        await ctl.PutAsync([.. prefix, (byte)'a'], [1]);
        await ctl.PutAsync(prefix[..^1], [9]); // the prefix without its trailing '/' is outside the prefix

        var all = await ctl.GetPrefixAsync(prefix);

        Assert.Equal([[.. prefix, (byte)'a'], [.. prefix, (byte)'b'], [.. prefix, 0xFF]], all.Select(p => p.Key).ToArray());
        Assert.Equal([[1], [2], [3]], all.Select(p => p.Value).ToArray());
    }

    [Fact]
    public void KeyWithNulIsRejectedBeforeRunning()
    {
        Assert.Throws<ArgumentException>(() => EtcdCtl.BuildScript([[(byte)'a', 0]]));
    }

    [Fact]
    public async Task FixtureServerIsHealthyOnLoopback()
    {
        var server = fixture.Server;

        Assert.True(server.IsRunning);
        Assert.True(await server.IsHealthyAsync());
        Assert.Equal($"http://127.0.0.1:{server.ClientPort}", server.ClientUrl);
        Assert.StartsWith("t/", fixture.UniquePrefix(), StringComparison.Ordinal);
        Assert.NotEqual(fixture.UniquePrefix(), fixture.UniquePrefix());
        Assert.True(File.Exists(server.LogPath));
        Assert.True(Directory.Exists(server.DataDir));
    }

    [Fact]
    public async Task KillAndRestartKeepData()
    {
        // A restarted member waits one election timeout (1 s by default) before it leads; shorter raft timing keeps this fast.
        await using var server = await EtcdServer.StartAsync("--heartbeat-interval", "20", "--election-timeout", "200");
        var local = new EtcdCtl(server);
        byte[] key = [0xFF, 0x00 + 1, (byte)'\n'];
        byte[] value = [0, 1, 2, 0xFF, (byte)'\n'];
        await local.PutAsync(key, value);
        var (url, firstPid, dataDir) = (server.ClientUrl, server.Pid, server.DataDir);

        await server.KillAsync();
        Assert.False(server.IsRunning);
        Assert.False(await server.IsHealthyAsync());
        Assert.False(Directory.Exists($"/proc/{firstPid}") && !IsZombie(firstPid));

        await server.RestartAsync();
        Assert.True(server.IsRunning);
        Assert.NotEqual(firstPid, server.Pid);
        Assert.Equal(url, server.ClientUrl);
        Assert.Equal(dataDir, server.DataDir);
        Assert.Equal(value, await local.GetAsync(key));

        // Graceful stop and restart while running (restart stops first) keep data too.
        await server.StopAsync();
        Assert.False(server.IsRunning);
        await server.RestartAsync();
        await server.RestartAsync();
        Assert.Equal(value, await local.GetAsync(key));
    }

    [Fact]
    public async Task DisposeKillsTheProcessAndRemovesTheTempDir()
    {
        var server = await EtcdServer.StartAsync();
        var (pid, workDir) = (server.Pid, server.WorkDir);
        Assert.True(Directory.Exists($"/proc/{pid}"));

        await server.DisposeAsync();
        await server.DisposeAsync(); // idempotent

        Assert.False(server.IsRunning);
        Assert.False(Directory.Exists(workDir));
        Assert.False(Directory.Exists($"/proc/{pid}") && !IsZombie(pid));
    }

    [Fact]
    public async Task ExtraArgsReachEtcd()
    {
        await using var server = await EtcdServer.StartAsync("--max-request-bytes", "4096");
        var local = new EtcdCtl(server);

        await local.PutAsync("small"u8.ToArray(), new byte[1000]);
        var tooBig = await local.RunAsync(["put", "--", "big"], stdin: new byte[8192]);

        Assert.NotEqual(0, tooBig.ExitCode);
        Assert.Contains("too large", tooBig.StdErr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TakenPortIsRetriedOnAnotherPort()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;

        await using var server = await EtcdServer.StartAsync(new EtcdServerOptions { FirstAttemptClientPort = taken });

        Assert.NotEqual(taken, server.ClientPort);
        Assert.True(await server.IsHealthyAsync());
        Assert.Contains("address already in use", await File.ReadAllTextAsync(server.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EarlyExitFailsWithEtcdsOutput()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => EtcdServer.StartAsync("--no-such-flag-for-etcd"));

        Assert.Contains("exited early", error.Message, StringComparison.Ordinal);
        Assert.Contains("no-such-flag-for-etcd", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingBinaryExplainsHowToInstall()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => EtcdServer.ResolveBinary("ETCD_TESTS_UNSET_VARIABLE", "etcd-that-does-not-exist", EtcdServer.NotFoundMessage));

        Assert.StartsWith("etcd not found: install it with `apt-get install etcd-server etcd-client`", error.Message, StringComparison.Ordinal);
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }
}
