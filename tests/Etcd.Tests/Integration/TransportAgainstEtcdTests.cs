using System.Net;
using System.Net.Sockets;
using System.Text;
using Etcd.Operations;
using Etcd.Tests.Infrastructure;
using Etcd.Transport;
using Pb = Etcd.Protocol;

namespace Etcd.Tests.Integration;

/// <summary>Transport promises checked against a real etcd: stream resets reach the server, sent writes are not re-sent.</summary>
public sealed class TransportAgainstEtcdTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    [Fact]
    public async Task Cancelling_a_stream_resets_it_on_the_server()
    {
        using var channel = new GrpcChannel(new Uri(etcd.ClientUrl), new GrpcChannelOptions());
        double before = await WatchCancelledCountAsync();
        await using var call = channel.StartDuplex(EtcdMethods.WatchStream, new GrpcCallOptions());
        await call.WriteAsync(new Pb.WatchRequest { CreateRequest = new Pb.WatchCreateRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(etcd.UniquePrefix()) } });
        Assert.True(await call.MoveNextAsync());
        Assert.True(call.Current.Created);

        using var cts = new CancellationTokenSource();
        var next = call.MoveNextAsync(cts.Token).AsTask();
        cts.Cancel();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
        Assert.Equal(cts.Token, error.CancellationToken);

        // etcd counts the stream as ended with Canceled once it saw RST_STREAM (the client never half-closed it).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await WatchCancelledCountAsync() <= before)
        {
            Assert.True(DateTime.UtcNow < deadline, "etcd did not see the watch stream end");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_write_that_may_have_been_sent_is_not_retried_on_the_next_endpoint()
    {
        // The first endpoint accepts the connection, reads until the put's value has arrived, then resets the connection.
        var marker = "marker-" + Guid.NewGuid().ToString("n");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var blackHole = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var seen = new List<byte>();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (!Encoding.ASCII.GetString(seen.ToArray()).Contains(marker, StringComparison.Ordinal))
            {
                int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0) return false;
                seen.AddRange(buffer.AsSpan(0, read).ToArray());
            }
            socket.LingerState = new LingerOption(true, 0); // close with RST
            return true;
        });
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var key = etcd.UniquePrefix() + "once";
        await using var client = new EtcdClient($"http://127.0.0.1:{port},{etcd.ClientUrl}");

        var error = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.PutAsync(key, marker));

        Assert.True(await blackHole, "the request never reached the first endpoint");
        Assert.True(error.RequestMayHaveBeenSent);
        Assert.IsNotType<EtcdConnectionException>(error);
        await using var direct = new EtcdClient(etcd.ClientUrl);
        Assert.Null(await direct.GetValueAsync(key)); // the second endpoint never got the write
    }

    private Task<double> WatchCancelledCountAsync() =>
        EtcdMetrics.GrpcServerCounterAsync(etcd.ClientUrl, "handled", "Watch", "Canceled");
}
