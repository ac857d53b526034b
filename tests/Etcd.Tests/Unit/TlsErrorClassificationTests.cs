using System.Net.Sockets;
using System.Security.Authentication;
using Etcd.Operations;
using Etcd.Transport;

namespace Etcd.Tests.Unit;

/// <summary>Which transport failures are TLS failures (typed, not transient) and which stay plain connection failures.</summary>
public sealed class TlsErrorClassificationTests
{
    private static readonly Uri Https = new("https://127.0.0.1:2379");
    private static readonly Uri Http = new("http://127.0.0.1:2379");

    // What SocketsHttpHandler reports when the server closes the connection right after the TLS 1.3 handshake.
    private static Exception NotEstablished(Exception inner) =>
        new HttpRequestException("An error occurred while sending the request.",
            new IOException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.", inner));

    public static TheoryData<Exception, bool> Cases => new()
    {
        { new HttpRequestException(HttpRequestError.SecureConnectionError, "tls", new AuthenticationException("The remote certificate was rejected")), true },
        { NotEstablished(new ObjectDisposedException("System.Net.Security.SslStream")), true },
        { NotEstablished(new IOException("The decryption operation failed, see inner exception.")), true },
        { NotEstablished(new IOException("reset", new SocketException((int)SocketError.ConnectionReset))), false },
        { new HttpRequestException("An error occurred while sending the request.", new IOException("The request was aborted.", new IOException("Received an unexpected EOF"))), false },
        { new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused)), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tls_failures_are_recognised_and_map_to_a_non_transient_EtcdTlsException(Exception exception, bool isTls)
    {
        GrpcCallException grpc = GrpcTransportErrors.FromException(exception, requestStarted: true, Https);
        Assert.Equal(isTls, grpc.TlsFailure);
        Assert.Same(exception, grpc.InnerException);

        EtcdException mapped = ErrorMapper.Map(grpc, "/etcdserverpb.KV/Put");
        Assert.Equal(isTls, mapped is EtcdTlsException);
        Assert.Equal(!isTls, mapped.IsTransient);
        if (isTls)
        {
            Assert.False(grpc.RequestMayHaveBeenSent);
            Assert.Equal(EtcdStatusCode.Unavailable, mapped.StatusCode);
        }
    }

    [Fact]
    public void An_unfinished_HTTP2_setup_over_plain_http_is_not_a_tls_failure()
    {
        Assert.False(GrpcTransportErrors.FromException(NotEstablished(new ObjectDisposedException("stream")), requestStarted: true, Http).TlsFailure);
    }
}
