using Etcd.Operations;
using Etcd.Transport;

namespace Etcd.Tests.Unit;

/// <summary>When a shared stream gives up on TLS: only after every endpoint refused it, twice over, with nothing else in between.</summary>
public class StreamTlsTests
{
    private static readonly Uri A = new("https://a:1");
    private static readonly Uri B = new("https://b:1");
    private static readonly GrpcCallException Refusal = new(GrpcStatusCode.Unavailable, "untrusted root", requestMayHaveBeenSent: false) { TlsFailure = true };

    [Fact]
    public void Two_rounds_of_refusals_on_every_endpoint_are_final()
    {
        var tls = new StreamTls();

        Assert.Null(tls.Refused(A, [A, B], "s", Refusal));
        Assert.Null(tls.Refused(B, [A, B], "s", Refusal));
        Assert.Null(tls.Refused(A, [A, B], "s", Refusal));
        var final = tls.Refused(B, [A, B], "s", Refusal);

        Assert.NotNull(final);
        Assert.Contains("every endpoint", final.Message);
    }

    [Fact]
    public void A_healthy_endpoint_that_fails_otherwise_in_between_keeps_the_stream_trying()
    {
        var tls = new StreamTls();

        for (int round = 0; round < 10; round++)
        {
            Assert.Null(tls.Refused(A, [A, B], "s", Refusal));
            tls.Reset(); // B: connection refused while it restarts, not a TLS failure
        }
    }

    [Fact]
    public void Refusals_by_only_some_endpoints_are_never_final()
    {
        var tls = new StreamTls();

        for (int i = 0; i < 10; i++) Assert.Null(tls.Refused(A, [A, B], "s", Refusal));
    }
}
