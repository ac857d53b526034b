using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using Etcd.Transport;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class GrpcProtocolTests
{
    private static readonly Uri Address = new("http://10.0.0.1:2379");

    public static TheoryData<TimeSpan, string> Timeouts => new()
    {
        { TimeSpan.Zero, "0n" },
        { TimeSpan.FromTicks(1), "100n" },
        { TimeSpan.FromMilliseconds(1), "1000000n" },
        { TimeSpan.FromMilliseconds(1234), "1234000u" },
        { TimeSpan.FromMinutes(5), "300000m" },
        { TimeSpan.FromDays(30), "2592000S" },
        { TimeSpan.FromDays(3650), "5256000M" },
        { TimeSpan.MaxValue, "99999999H" },
    };

    [Theory]
    [MemberData(nameof(Timeouts))]
    public void Timeout_uses_the_finest_unit_that_fits_in_eight_digits(TimeSpan timeout, string expected)
    {
        Assert.Equal(expected, GrpcTimeout.Format(timeout));
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(999_999L)]
    [InlineData(1_000_001L)]
    [InlineData(123_456_789_012L)]
    [InlineData(987_654_321_012_345L)]
    public void Timeout_is_well_formed_and_never_shorter_than_asked(long ticks)
    {
        string value = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));

        Assert.Matches(new Regex("^[0-9]{1,8}[HMSmun]$"), value);
        Assert.True(ParseTimeout(value) >= TimeSpan.FromTicks(ticks), value);
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("etcdserver%3A%20key%20is%20not%20provided", "etcdserver: key is not provided")]
    [InlineData("100%25", "100%")]
    [InlineData("caf%C3%A9 %E6%97%A5%F0%9F%98%80", "caf\u00e9 \u65e5\U0001F600")]
    [InlineData("bad %zz and %4", "bad %zz and %4")]
    [InlineData("%", "%")]
    [InlineData("raw caf\u00e9 %21", "raw caf\u00e9 !")]
    public void Grpc_message_is_percent_decoded(string encoded, string decoded)
    {
        Assert.Equal(decoded, GrpcMessageEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("0", (int)GrpcStatusCode.OK, false)]
    [InlineData("16", (int)GrpcStatusCode.Unauthenticated, false)]
    [InlineData(" 5 ", (int)GrpcStatusCode.NotFound, false)]
    [InlineData("17", (int)GrpcStatusCode.Unknown, true)]
    [InlineData("-1", (int)GrpcStatusCode.Unknown, true)]
    [InlineData("abc", (int)GrpcStatusCode.Unknown, true)]
    [InlineData("", (int)GrpcStatusCode.Unknown, true)]
    public void Status_values_are_parsed(string text, int expected, bool invalid)
    {
        Assert.Equal((GrpcStatusCode)expected, GrpcResponseStatus.ParseStatus(text, out string? reported));
        Assert.Equal(invalid, reported is not null);
    }

    [Theory]
    [InlineData(400, (int)GrpcStatusCode.Internal)]
    [InlineData(401, (int)GrpcStatusCode.Unauthenticated)]
    [InlineData(403, (int)GrpcStatusCode.PermissionDenied)]
    [InlineData(404, (int)GrpcStatusCode.Unimplemented)]
    [InlineData(429, (int)GrpcStatusCode.Unavailable)]
    [InlineData(502, (int)GrpcStatusCode.Unavailable)]
    [InlineData(503, (int)GrpcStatusCode.Unavailable)]
    [InlineData(504, (int)GrpcStatusCode.Unavailable)]
    [InlineData(500, (int)GrpcStatusCode.Unknown)]
    [InlineData(302, (int)GrpcStatusCode.Unknown)]
    public void Http_status_maps_as_the_grpc_spec_says(int status, int expected)
    {
        Assert.Equal((GrpcStatusCode)expected, GrpcResponseStatus.FromHttpStatus((HttpStatusCode)status));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/GRPC;charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Content_type_must_be_grpc(string? value, bool expected)
    {
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(value));
    }

    public static TheoryData<Exception, bool> ConnectFailures => new()
    {
        { new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { new HttpRequestException("unreachable", new SocketException((int)SocketError.HostUnreachable)), true },
        { new HttpRequestException(HttpRequestError.NameResolutionError, "no such host"), true },
        { new HttpRequestException(HttpRequestError.ConnectionError, "refused"), true },
        { new HttpRequestException(HttpRequestError.SecureConnectionError, "tls", new AuthenticationException("bad cert")), true },
        { new HttpRequestException("tls", new AuthenticationException("bad cert")), true },
        { new TaskCanceledException("connect", new TimeoutException()), true },
        { new HttpRequestException("connect", new TaskCanceledException("connect", new TimeoutException())), true },
        { new HttpRequestException("sending", new IOException("reset")), false },
        { new HttpIOException(HttpRequestError.ResponseEnded, "ended"), false },
        { new TaskCanceledException("cancelled"), false },
        { new InvalidOperationException("bug"), false },
    };

    [Theory]
    [MemberData(nameof(ConnectFailures))]
    public void Connect_failures_are_recognised(Exception exception, bool isConnectFailure)
    {
        Assert.Equal(isConnectFailure, GrpcTransportErrors.IsConnectFailure(exception));

        GrpcCallException mapped = GrpcTransportErrors.FromException(exception, requestStarted: false, Address);
        Assert.Equal(!isConnectFailure, mapped.RequestMayHaveBeenSent);
        Assert.Same(exception, mapped.InnerException);
    }

    [Fact]
    public void Connect_failure_after_the_body_started_may_have_been_sent()
    {
        var exception = new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused));

        GrpcCallException mapped = GrpcTransportErrors.FromException(exception, requestStarted: true, Address);

        Assert.Equal(GrpcStatusCode.Unavailable, mapped.StatusCode);
        Assert.True(mapped.RequestMayHaveBeenSent);
    }

    [Theory]
    [InlineData(0x7, (int)GrpcStatusCode.Unavailable)]
    [InlineData(0x8, (int)GrpcStatusCode.Cancelled)]
    [InlineData(0xb, (int)GrpcStatusCode.ResourceExhausted)]
    [InlineData(0xc, (int)GrpcStatusCode.PermissionDenied)]
    [InlineData(0x1, (int)GrpcStatusCode.Internal)]
    [InlineData(0x2, (int)GrpcStatusCode.Internal)]
    public void Http2_error_codes_map_as_the_grpc_spec_says(long code, int expected)
    {
        var exception = new HttpRequestException("reset", new HttpProtocolException(code, "reset", null));

        Assert.Equal((GrpcStatusCode)expected, GrpcTransportErrors.FromException(exception, requestStarted: true, Address).StatusCode);
    }

    [Fact]
    public void Other_transport_errors_are_unavailable_and_name_the_address()
    {
        GrpcCallException mapped = GrpcTransportErrors.FromException(new IOException("broken pipe"), requestStarted: true, Address);

        Assert.Equal(GrpcStatusCode.Unavailable, mapped.StatusCode);
        Assert.Contains("10.0.0.1:2379", mapped.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Exception_message_carries_code_and_detail()
    {
        var ex = new GrpcCallException(GrpcStatusCode.NotFound, "etcdserver: requested lease not found");

        Assert.Equal("gRPC status NotFound (5): etcdserver: requested lease not found", ex.Message);
        Assert.True(ex.RequestMayHaveBeenSent);
        Assert.Empty(ex.Trailers);
    }

    [Fact]
    public void Method_path_is_service_and_method()
    {
        Assert.Equal("/test.Echo/Say", Unary.Path);
        Assert.Equal(GrpcMethodType.Unary, Unary.Type);
        Assert.Throws<ArgumentException>(() => new Etcd.Transport.GrpcMethod<Google.Protobuf.WellKnownTypes.StringValue, Google.Protobuf.WellKnownTypes.StringValue>(
            GrpcMethodType.Unary, "", "Say", Google.Protobuf.WellKnownTypes.StringValue.Parser));
    }
}
