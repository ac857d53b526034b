namespace Etcd.Tests.Unit;

public class OptionsTests
{
    [Theory]
    [InlineData("127.0.0.1:2379", "http://127.0.0.1:2379/")]
    [InlineData("http://localhost:2379", "http://localhost:2379/")]
    [InlineData("https://etcd.example:2379", "https://etcd.example:2379/")]
    public void Endpoints_are_parsed_with_http_default(string endpoint, string expected)
    {
        using var client = new EtcdClient(endpoint);
        Assert.Equal(expected, client.Endpoints[0].ToString());
    }

    [Fact]
    public void Comma_separated_endpoints_are_split()
    {
        using var client = new EtcdClient("http://a:1, http://b:2");
        Assert.Equal(2, client.Endpoints.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://host:1")]
    [InlineData("http://host:1/path")]
    public void Bad_endpoints_throw_argument_exception(string endpoint)
    {
        Assert.ThrowsAny<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint] }));
    }

    [Fact]
    public void Bad_timeouts_and_sizes_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { RequestTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { ConnectTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { MaxSendMessageSize = 0 }));
        Assert.Throws<ArgumentException>(() => new EtcdClient(new EtcdClientOptions { Endpoints = [] }));
        // etcd answers pings faster than its --grpc-keepalive-min-time (5 s) with GOAWAY.
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { KeepAlivePingDelay = TimeSpan.FromSeconds(2) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EtcdClient(new EtcdClientOptions { KeepAlivePingTimeout = TimeSpan.Zero }));
        using var noPings = new EtcdClient(new EtcdClientOptions { KeepAlivePingDelay = Timeout.InfiniteTimeSpan });
    }

    [Fact]
    public void Bad_operation_options_throw_before_sending()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TxnOp.Get("k", new GetOptions { Limit = -1 }));
        Assert.Throws<ArgumentException>(() => TxnOp.Get("k", new GetOptions { KeysOnly = true, CountOnly = true }));
        Assert.Throws<ArgumentException>(() => TxnOp.Put("k", "v", new PutOptions { IgnoreValue = true }));
        Assert.Throws<ArgumentException>(() => TxnOp.Put("k", "", new PutOptions { IgnoreLease = true, Lease = 5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TxnOp.Put("k", "v", new PutOptions { Lease = -1 }));
        Assert.Throws<ArgumentException>(() => TxnOp.Put("", "v"));
        Assert.Throws<ArgumentNullException>(() => TxnOp.Put("k", (string?)null));
        Assert.Throws<ArgumentOutOfRangeException>(() => TxnOp.Get("k", new GetOptions { SortOrder = (SortOrder)9 }));
    }
}
