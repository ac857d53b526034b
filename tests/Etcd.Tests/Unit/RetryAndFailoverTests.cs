using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Etcd.Tests.Infrastructure;
using Etcd.Tests.Transport;
using Microsoft.Extensions.Logging;
using Pb = Etcd.Protocol;

namespace Etcd.Tests.Unit;

/// <summary>
/// The invoker's retry and failover rules, through the public client over a scripted handler: which failures are retried,
/// where the next attempt goes, that writes are never re-sent unless etcd provably did not take them, and the metadata sent.
/// </summary>
public class RetryAndFailoverTests
{
    private const string A = "http://a.test:2379";
    private const string B = "http://b.test:2379";

    /// <summary>Answers each request by its endpoint's script and records what was sent where.</summary>
    private sealed class ScriptedCluster
    {
        private readonly ConcurrentDictionary<string, Func<HttpRequestMessage, HttpResponseMessage>> _scripts = new();

        public ConcurrentQueue<(string Authority, string Path, HttpRequestMessage Request)> Sent { get; } = new();

        public FakeHttpHandler Handler { get; }

        public ScriptedCluster() => Handler = new FakeHttpHandler((request, _) =>
        {
            var authority = request.RequestUri!.GetLeftPart(UriPartial.Authority);
            Sent.Enqueue((authority, request.RequestUri.AbsolutePath, request));
            return _scripts.TryGetValue(authority, out var script) ? Task.FromResult(script(request)) : throw Refused();
        });

        public void On(string endpoint, Func<HttpRequestMessage, HttpResponseMessage> script) => _scripts[endpoint] = script;

        public int CountTo(string endpoint) => Sent.Count(s => s.Authority == endpoint);

        public EtcdClient Client(EtcdRetryPolicy? policy = null, TimeSpan? requestTimeout = null, bool requireLeader = true, params string[] endpoints) =>
            new(new EtcdClientOptions
            {
                Endpoints = endpoints.Length == 0 ? [A, B] : endpoints,
                HttpHandler = Handler,
                RetryPolicy = policy ?? new EtcdRetryPolicy { InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(5) },
                RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
                RequireLeader = requireLeader,
            });
    }

    private static HttpRequestException Refused() =>
        new(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));

    private static HttpResponseMessage Fails(int status, string message) => GrpcTestMessages.TrailersOnly(status.ToString(), Uri.EscapeDataString(message));

    private static HttpResponseMessage PutOk(long revision = 7) =>
        GrpcTestMessages.Response(GrpcTestMessages.Frame(new Pb.PutResponse { Header = new Pb.ResponseHeader { Revision = revision } }));

    private static HttpResponseMessage RangeOk() =>
        GrpcTestMessages.Response(GrpcTestMessages.Frame(new Pb.RangeResponse { Header = new Pb.ResponseHeader { Revision = 3 } }));

    private static HttpResponseMessage TxnOk() =>
        GrpcTestMessages.Response(GrpcTestMessages.Frame(new Pb.TxnResponse { Header = new Pb.ResponseHeader { Revision = 3 }, Succeeded = true }));

    [Fact]
    public async Task A_write_whose_connection_was_refused_goes_to_the_next_endpoint_and_stays_there()
    {
        var cluster = new ScriptedCluster();
        cluster.On(B, _ => PutOk());
        await using var client = cluster.Client();

        var response = await client.PutAsync("k", "v");

        Assert.Equal(7, response.Header.Revision);
        Assert.Equal(1, cluster.CountTo(A));
        Assert.Equal(1, cluster.CountTo(B));
        Assert.Equal(new Uri(B), client.CurrentEndpoint);
        await client.PutAsync("k", "v");
        Assert.Equal(1, cluster.CountTo(A));
    }

    [Theory]
    [InlineData(14, "etcdserver: request timed out")]
    [InlineData(14, "etcdserver: leader changed")]
    [InlineData(14, "etcdserver: request timed out, possibly due to previous leader failure")]
    public async Task A_write_that_may_have_been_proposed_is_never_sent_again(int status, string message)
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(status, message));
        cluster.On(B, _ => PutOk());
        await using var client = cluster.Client();

        var error = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.PutAsync("k", "v"));

        Assert.True(error.RequestMayHaveBeenSent);
        Assert.Single(cluster.Sent);
        // The member that failed is left, so the next call goes elsewhere.
        Assert.Equal(new Uri(B), client.CurrentEndpoint);
    }

    [Theory]
    [InlineData(14, "etcdserver: no leader")]
    [InlineData(14, "etcdserver: rpc not supported for learner")]
    [InlineData(14, "etcdserver: not capable")]
    [InlineData(8, "etcdserver: too many requests")]
    public async Task A_write_etcd_refused_before_proposing_is_retried(int status, string message)
    {
        var cluster = new ScriptedCluster();
        int refusals = 0;
        cluster.On(A, _ => Interlocked.Increment(ref refusals) == 1 ? Fails(status, message) : PutOk());
        cluster.On(B, _ => PutOk());
        await using var client = cluster.Client();

        var response = await client.PutAsync("k", "v");

        Assert.Equal(7, response.Header.Revision);
        Assert.Equal(2, cluster.Sent.Count);
    }

    [Fact]
    public async Task A_linearizable_read_is_retried_on_the_next_endpoint_after_a_timeout()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: request timed out"));
        cluster.On(B, _ => RangeOk());
        await using var client = cluster.Client();

        var response = await client.GetAsync("k");

        Assert.Equal(3, response.Header.Revision);
        Assert.Equal([A, B], cluster.Sent.Select(s => s.Authority));
    }

    [Fact]
    public async Task A_read_only_transaction_is_retried_but_a_writing_one_is_not()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: leader changed"));
        cluster.On(B, _ => TxnOk());
        await using var client = cluster.Client();

        var read = await client.Txn().If(Compare.Version("k").Greater(0)).Then(TxnOp.Get("k")).Else(TxnOp.Get("j")).CommitAsync();
        Assert.True(read.Succeeded);
        Assert.Equal(2, cluster.Sent.Count);

        cluster.On(B, _ => Fails(14, "etcdserver: leader changed"));
        cluster.On(A, _ => TxnOk());
        await Assert.ThrowsAsync<EtcdUnavailableException>(() =>
            client.Txn().If(Compare.Version("k").Equal(0)).Then(TxnOp.Put("k", "v")).CommitAsync());
        Assert.Equal(3, cluster.Sent.Count);
    }

    [Fact]
    public async Task RetryPolicy_None_sends_a_read_once()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: request timed out"));
        cluster.On(B, _ => RangeOk());
        await using var client = cluster.Client(EtcdRetryPolicy.None);

        await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.GetAsync("k"));

        Assert.Single(cluster.Sent);
    }

    [Fact]
    public async Task All_endpoints_refusing_fail_with_a_connection_error_after_MaxAttempts()
    {
        var cluster = new ScriptedCluster();
        await using var client = cluster.Client(new EtcdRetryPolicy { MaxAttempts = 4, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2) });

        await Assert.ThrowsAsync<EtcdConnectionException>(() => client.PutAsync("k", "v"));

        Assert.Equal(4, cluster.Sent.Count);
        Assert.Equal([A, B, A, B], cluster.Sent.Select(s => s.Authority));
    }

    [Fact]
    public async Task Retries_stop_at_the_request_deadline()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: no leader"));
        cluster.On(B, _ => Fails(14, "etcdserver: no leader"));
        var policy = EtcdRetryPolicy.UntilDeadline with { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(50) };
        await using var client = cluster.Client(policy, TimeSpan.FromMilliseconds(600));
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.PutAsync("k", "v"));

        Assert.Contains("no leader", error.Message);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.InRange(cluster.Sent.Count, 5, 40);
    }

    [Fact]
    public async Task Cancelling_during_the_backoff_throws_OperationCanceledException_with_the_callers_token()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: no leader"));
        cluster.On(B, _ => Fails(14, "etcdserver: no leader"));
        var policy = EtcdRetryPolicy.UntilDeadline with { InitialBackoff = TimeSpan.FromSeconds(5), MaxBackoff = TimeSpan.FromSeconds(5) };
        await using var client = cluster.Client(policy, TimeSpan.FromMinutes(1));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PutAsync("k", "v", cancellationToken: cts.Token));

        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.Single(cluster.Sent);
    }

    [Fact]
    public async Task Writes_and_linearizable_reads_require_a_leader_but_serializable_reads_do_not()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, request => request.RequestUri!.AbsolutePath.EndsWith("/Put", StringComparison.Ordinal) ? PutOk() : RangeOk());
        await using var client = cluster.Client(endpoints: [A]);

        await client.PutAsync("k", "v");
        await client.GetAsync("k");
        await client.GetAsync("k", new GetOptions { Serializable = true });

        var sent = cluster.Sent.ToArray();
        Assert.Equal(["true"], sent[0].Request.Headers.GetValues("hasleader"));
        Assert.Equal(["true"], sent[1].Request.Headers.GetValues("hasleader"));
        Assert.False(sent[2].Request.Headers.Contains("hasleader"));
    }

    [Fact]
    public async Task RequireLeader_false_sends_no_hasleader()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => PutOk());
        await using var client = cluster.Client(requireLeader: false, endpoints: [A]);

        await client.PutAsync("k", "v");

        Assert.False(cluster.Sent.Single().Request.Headers.Contains("hasleader"));
    }

    [Fact]
    public async Task SetEndpoints_moves_later_calls_to_the_new_list()
    {
        var cluster = new ScriptedCluster();
        const string C = "http://c.test:2379";
        cluster.On(A, _ => PutOk(1));
        cluster.On(C, _ => PutOk(2));
        await using var client = cluster.Client(endpoints: [A]);
        Assert.Equal(1, (await client.PutAsync("k", "v")).Header.Revision);

        client.SetEndpoints([C, "c.test:2379"]);

        Assert.Equal([new Uri(C)], client.Endpoints);
        Assert.Equal(2, (await client.PutAsync("k", "v")).Header.Revision);
        Assert.Throws<ArgumentException>(() => client.SetEndpoints([]));
        Assert.Throws<ArgumentException>(() => client.SetEndpoints(["ftp://x:1"]));
        Assert.Equal([new Uri(C)], client.Endpoints);
    }

    [Fact]
    public async Task SetEndpoints_keeps_the_current_member_when_it_stays_listed()
    {
        var cluster = new ScriptedCluster();
        cluster.On(B, _ => PutOk());
        await using var client = cluster.Client();
        await client.PutAsync("k", "v"); // A refuses: B becomes current

        client.SetEndpoints(["http://z.test:1", B]);

        Assert.Equal(new Uri(B), client.CurrentEndpoint);
    }

    [Fact]
    public async Task A_tls_failure_tries_each_other_endpoint_once_and_stops()
    {
        var handler = new FakeHttpHandler((_, _) =>
            throw new HttpRequestException(HttpRequestError.SecureConnectionError, "handshake failed", new System.Security.Authentication.AuthenticationException("untrusted root")));
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = ["https://a.test:2379", "https://b.test:2379", "https://c.test:2379"],
            HttpHandler = handler,
            RetryPolicy = EtcdRetryPolicy.UntilDeadline with { InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) },
        });

        await Assert.ThrowsAsync<EtcdTlsException>(() => client.GetAsync("k"));

        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task Failover_and_retries_are_logged_with_the_endpoint_and_the_reason()
    {
        var cluster = new ScriptedCluster();
        cluster.On(A, _ => Fails(14, "etcdserver: no leader"));
        cluster.On(B, _ => PutOk());
        var logs = new CapturingLoggerFactory();
        await using var client = new EtcdClient(new EtcdClientOptions
        {
            Endpoints = [A, B],
            HttpHandler = cluster.Handler,
            LoggerFactory = logs,
            RetryPolicy = new EtcdRetryPolicy { InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) },
        });

        await client.PutAsync("secret-key", "secret-value");

        var left = Assert.Single(logs.Entries, e => e.Level == LogLevel.Information);
        Assert.Equal("Etcd.EtcdClient", left.Category);
        Assert.Contains("a.test:2379", left.Text);
        Assert.Contains("no leader", left.Text);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Text.Contains("Retrying /etcdserverpb.KV/Put"));
        Assert.DoesNotContain("secret", logs.AllText);
    }

    [Fact]
    public async Task Disposing_a_client_with_endpoint_sync_twice_is_harmless()
    {
        var cluster = new ScriptedCluster();
        var client = new EtcdClient(new EtcdClientOptions { Endpoints = [A], HttpHandler = cluster.Handler, EndpointSyncInterval = TimeSpan.FromSeconds(1) });

        await client.DisposeAsync();
        await client.DisposeAsync();
        client.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetAsync("k"));
    }
}
