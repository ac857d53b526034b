using System.Net;
using Etcd.Transport;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class GrpcChannelTests
{
    [Fact]
    public void Builds_its_own_socket_handler_for_grpc()
    {
        using var channel = new GrpcChannel(Address, new GrpcChannelOptions { ConnectTimeout = TimeSpan.FromSeconds(3) });

        var handler = Assert.IsType<SocketsHttpHandler>(channel.HttpHandler);
        Assert.True(handler.EnableMultipleHttp2Connections);
        Assert.Equal(TimeSpan.FromSeconds(3), handler.ConnectTimeout);
        Assert.Equal(Timeout.InfiniteTimeSpan, handler.PooledConnectionIdleTimeout);
        Assert.False(handler.UseProxy);
        Assert.False(handler.UseCookies);
        Assert.False(handler.AllowAutoRedirect);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
        Assert.Equal(Timeout.InfiniteTimeSpan, handler.KeepAlivePingDelay);
    }

    [Fact]
    public void Keep_alive_pings_are_configured_only_when_a_delay_is_set()
    {
        var ssl = new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "etcd.example" };
        using var channel = new GrpcChannel(new Uri("https://etcd.example:2379"), new GrpcChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(4),
            SslOptions = ssl,
        });

        var handler = Assert.IsType<SocketsHttpHandler>(channel.HttpHandler);
        Assert.Equal(TimeSpan.FromSeconds(10), handler.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(4), handler.KeepAlivePingTimeout);
        Assert.Equal(HttpKeepAlivePingPolicy.WithActiveRequests, handler.KeepAlivePingPolicy);
        Assert.Same(ssl, handler.SslOptions);
    }

    [Fact]
    public void A_given_handler_is_used_and_not_disposed()
    {
        var handler = FakeHttpHandler.Returning(() => Response(Frame(Text("x"))));
        var channel = new GrpcChannel(Address, new GrpcChannelOptions { HttpHandler = handler });

        Assert.Same(handler, channel.HttpHandler);
        channel.Dispose();
        channel.Dispose();

        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        Assert.NotNull(invoker);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:2379")]
    [InlineData("/relative")]
    public void Rejects_addresses_that_are_not_http(string address)
    {
        Assert.Throws<ArgumentException>(() => new GrpcChannel(new Uri(address, UriKind.RelativeOrAbsolute), new GrpcChannelOptions()));
    }

    [Fact]
    public void Rejects_invalid_options()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpcChannel(Address, new GrpcChannelOptions { MaxSendMessageSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpcChannel(Address, new GrpcChannelOptions { MaxReceiveMessageSize = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpcChannel(Address, new GrpcChannelOptions { ConnectTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GrpcChannel(Address, new GrpcChannelOptions { KeepAlivePingDelay = TimeSpan.FromSeconds(-5) }));
    }

    [Fact]
    public async Task Dispose_aborts_an_open_unary_call_with_object_disposed()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = Channel(FakeHttpHandler.Hanging(entered));

        Task call = channel.UnaryAsync(Unary, Text("x"), default);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        channel.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => call).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
