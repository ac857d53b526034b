using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Etcd.Tests.Infrastructure;

namespace Etcd.Tests.Integration;

/// <summary>Every kind of bad input ends in its typed error, before sending where the Client can tell.</summary>
public sealed class BadInputTests(EtcdFixture etcd) : ClientTestBase(etcd), IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Empty_key_is_an_argument_exception()
    {
        var put = await Assert.ThrowsAsync<ArgumentException>(() => Client.PutAsync("", "v"));
        Assert.Equal("key", put.ParamName);
        Assert.Equal("keys", (await Assert.ThrowsAsync<ArgumentException>(() => Client.GetAsync(""))).ParamName);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetStringAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetValueAsync(EtcdBytes.Empty));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.DeleteAsync(default(KeySet)));
    }

    [Fact]
    public async Task Null_arguments_are_argument_null_exceptions()
    {
        var key = await Assert.ThrowsAsync<ArgumentNullException>(() => Client.PutAsync((string?)null, "v"));
        Assert.Equal("key", key.ParamName);
        var value = await Assert.ThrowsAsync<ArgumentNullException>(() => Client.PutAsync("k", (byte[]?)null));
        Assert.Equal("value", value.ParamName);
        await Assert.ThrowsAsync<ArgumentNullException>(() => Client.TxnAsync(null!));
        // Thrown by the call itself, before a task exists.
        Assert.Throws<ArgumentNullException>(() => { _ = Client.GetAsync((string?)null); });
        Assert.Throws<ArgumentNullException>(() => new EtcdClient((EtcdClientOptions)null!));
    }

    [Fact]
    public async Task Value_over_the_servers_request_limit_is_request_too_large()
    {
        // etcd's default --max-request-bytes is 1.5 MiB; the Client's send limit (2 MiB) lets this through to the server.
        var value = new byte[1_700_000];
        var error = await Assert.ThrowsAsync<EtcdRequestTooLargeException>(() => Client.PutAsync(P + "big", value));
        Assert.Null(await Client.GetValueAsync(P + "big"));
        Assert.NotNull(error.ServerMessage);
    }

    [Fact]
    public async Task Value_over_the_clients_send_limit_fails_before_sending()
    {
        await using var small = new EtcdClient(new EtcdClientOptions { Endpoints = [Etcd.ClientUrl], MaxSendMessageSize = 1024 });
        var error = await Assert.ThrowsAsync<EtcdRequestTooLargeException>(() => small.PutAsync(P + "big", new byte[4096]));
        Assert.Equal(EtcdStatusCode.ResourceExhausted, error.StatusCode);
        Assert.Null(await Client.GetValueAsync(P + "big"));
    }

    [Fact]
    public async Task Response_over_the_clients_receive_limit_is_response_too_large()
    {
        await Client.PutAsync(P + "large", new byte[10_000]);
        await using var small = new EtcdClient(new EtcdClientOptions { Endpoints = [Etcd.ClientUrl], MaxReceiveMessageSize = 1000 });
        var error = await Assert.ThrowsAsync<EtcdResponseTooLargeException>(() => small.GetAsync(P + "large"));
        Assert.Equal(EtcdStatusCode.ResourceExhausted, error.StatusCode);
        Assert.Single((await small.GetAsync(P + "large", new GetOptions { KeysOnly = true })).Kvs); // a smaller answer still works
    }

    [Fact]
    public async Task Unknown_lease_is_lease_not_found()
    {
        var error = await Assert.ThrowsAsync<EtcdLeaseNotFoundException>(() =>
            Client.PutAsync(P + "k", "v", new PutOptions { Lease = 0x7fff_0000_1234 }));
        Assert.Equal(EtcdStatusCode.NotFound, error.StatusCode);
        Assert.Equal(0x7fff_0000_1234, error.LeaseId);
        Assert.Null(await Client.GetValueAsync(P + "k"));
    }

    [Fact]
    public async Task Negative_revision_and_lease_are_rejected_before_sending()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Client.GetAsync(P + "k", new GetOptions { Revision = -1 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Client.PutAsync(P + "k", "v", new PutOptions { Lease = -5 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Client.CompactAsync(0));
    }

    [Fact]
    public async Task Cancelled_token_throws_operation_cancelled_with_that_token()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.PutAsync(P + "k", "v", cancellationToken: cts.Token));
        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.Null(await Client.GetValueAsync(P + "k"));
    }

    [Fact]
    public async Task Disposed_client_throws_object_disposed()
    {
        var disposed = new EtcdClient(Etcd.ClientUrl);
        await disposed.PutAsync(P + "k", "v");
        await disposed.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposed.GetAsync(P + "k"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposed.PutAsync(P + "k", "v"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => disposed.Maintenance.StatusAsync());
        Assert.Throws<ObjectDisposedException>(() => disposed.ScanAsync(KeySet.Prefix(P)));
        await disposed.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Endpoint_where_nothing_listens_fails_fast_with_connection_exception()
    {
        int port = FreePort();
        await using var dead = new EtcdClient(new EtcdClientOptions { Endpoints = [$"http://127.0.0.1:{port}"], ConnectTimeout = TimeSpan.FromSeconds(2) });
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<EtcdConnectionException>(() => dead.PutAsync("k", "v"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.False(error.RequestMayHaveBeenSent);
        Assert.True(error.IsTransient);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Fact]
    public async Task Unresponsive_endpoint_fails_with_deadline_exceeded_not_a_hang()
    {
        // A listener that accepts TCP connections but never speaks HTTP/2.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = new List<Socket>();
        var acceptLoop = Task.Run(async () =>
        {
            try { while (true) accepted.Add(await listener.AcceptSocketAsync()); }
            catch (Exception error) when (error is SocketException or ObjectDisposedException) { }
        });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var stalled = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [$"http://127.0.0.1:{port}"],
            RequestTimeout = TimeSpan.FromSeconds(1),
        });
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<EtcdDeadlineExceededException>(() => stalled.GetAsync("k"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        listener.Stop();
        await acceptLoop;
        foreach (var socket in accepted) socket.Dispose();
    }

    [Fact]
    public async Task Second_endpoint_is_used_when_the_first_refuses_connections()
    {
        await using var failover = new EtcdClient($"http://127.0.0.1:{FreePort()},{Etcd.ClientUrl}");
        await failover.PutAsync(P + "via-second", "ok");
        Assert.Equal("ok", (await failover.GetValueAsync(P + "via-second"))!.Value.ToStringUtf8());
        Assert.Equal(new Uri(Etcd.ClientUrl), failover.CurrentEndpoint); // later calls go straight to the live one
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
