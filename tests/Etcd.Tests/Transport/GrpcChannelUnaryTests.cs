using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Etcd.Transport;
using Google.Protobuf.WellKnownTypes;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class GrpcChannelUnaryTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Success_sends_a_grpc_request_and_returns_the_message()
    {
        HttpRequestMessage? seen = null;
        Dictionary<string, string>? headers = null;
        string? contentType = null;
        long? contentLength = null;
        byte[]? body = null;
        var handler = new FakeHttpHandler(async (request, cancellationToken) =>
        {
            seen = request;
            headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            contentType = request.Content!.Headers.ContentType?.MediaType;
            contentLength = request.Content.Headers.ContentLength;
            body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            return Response(Frame(Text("pong")));
        });
        using GrpcChannel channel = Channel(handler);
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);

        StringValue reply = await channel.UnaryAsync(Unary, Text("ping"), new GrpcCallOptions
        {
            Deadline = deadline,
            Metadata = [new("token", "secret-token"), new("hasleader", "true")],
        });

        Assert.Equal("pong", reply.Value);
        Assert.NotNull(seen);
        Assert.Equal(HttpMethod.Post, seen.Method);
        Assert.Equal("http://127.0.0.1:2379/test.Echo/Say", seen.RequestUri!.AbsoluteUri);
        Assert.Equal(HttpVersion.Version20, seen.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, seen.VersionPolicy);
        Assert.Equal("application/grpc", contentType);
        Assert.Equal("trailers", headers!["te"]);
        Assert.Equal("secret-token", headers["token"]);
        Assert.Equal("true", headers["hasleader"]);
        string timeout = headers["grpc-timeout"];
        Assert.Matches(new Regex("^[0-9]{1,8}[HMSmun]$"), timeout);
        TimeSpan parsed = ParseTimeout(timeout);
        Assert.InRange(parsed, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Assert.Equal(Frame(Text("ping")), body);
        Assert.Equal(body!.Length, contentLength);
    }

    [Fact]
    public async Task No_deadline_sends_no_grpc_timeout()
    {
        bool? hasTimeout = null;
        var handler = new FakeHttpHandler((request, _) =>
        {
            hasTimeout = request.Headers.Contains("grpc-timeout");
            return Task.FromResult(Response(Frame(Text("x"))));
        });
        using GrpcChannel channel = Channel(handler);

        await channel.UnaryAsync(Unary, Text("x"), default);

        Assert.False(hasTimeout);
    }

    [Fact]
    public async Task Address_with_trailing_slash_or_path_base_builds_the_right_path()
    {
        Uri? seen = null;
        var handler = new FakeHttpHandler((request, _) =>
        {
            seen = request.RequestUri;
            return Task.FromResult(Response(Frame(Text("x"))));
        });
        using var channel = new GrpcChannel(new Uri("https://etcd.example:2379/base/"), new GrpcChannelOptions { HttpHandler = handler });

        await channel.UnaryAsync(Unary, Text("x"), default);

        Assert.Equal("https://etcd.example:2379/base/test.Echo/Say", seen!.AbsoluteUri);
    }

    [Fact]
    public async Task Empty_response_message_is_a_valid_reply()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Frame(new StringValue()))));

        StringValue reply = await channel.UnaryAsync(Unary, Text("x"), default);

        Assert.Equal(string.Empty, reply.Value);
    }

    [Fact]
    public async Task Response_read_one_byte_at_a_time_is_reassembled()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(
            () => Response(new ScriptedStream(Frame(Text(new string('z', 10_000))), maxReadSize: 1))));

        StringValue reply = await channel.UnaryAsync(Unary, Text("x"), default);

        Assert.Equal(new string('z', 10_000), reply.Value);
    }

    [Theory]
    [InlineData("3", "etcdserver: key is not provided", (int)GrpcStatusCode.InvalidArgument, "etcdserver: key is not provided")]
    [InlineData("3", "etcdserver%3A%20key%20is%20not%20provided", (int)GrpcStatusCode.InvalidArgument, "etcdserver: key is not provided")]
    [InlineData("5", "100%25 caf%C3%A9 %E6%97%A5", (int)GrpcStatusCode.NotFound, "100% caf\u00e9 \u65e5")]
    [InlineData("14", null, (int)GrpcStatusCode.Unavailable, "")]
    [InlineData("99", "odd", (int)GrpcStatusCode.Unknown, "Invalid grpc-status '99'. odd")]
    public async Task Trailers_only_error_is_reported_with_its_decoded_message(string status, string? message, int code, string detail)
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => TrailersOnly(status, message)));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal((GrpcStatusCode)code, ex.StatusCode);
        Assert.Equal(detail, ex.Detail);
        Assert.True(ex.RequestMayHaveBeenSent);
        Assert.Contains(ex.Trailers, t => t.Key == "grpc-status" && t.Value == status);
    }

    [Fact]
    public async Task Error_status_in_trailers_wins_over_a_message()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Frame(Text("x")), "11", "etcdserver: mvcc: required revision has been compacted")));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.OutOfRange, ex.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", ex.Detail);
    }

    [Fact]
    public async Task Missing_status_is_internal()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Frame(Text("x")), status: null)));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("no grpc-status", ex.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, (int)GrpcStatusCode.Unimplemented)]
    [InlineData(HttpStatusCode.ServiceUnavailable, (int)GrpcStatusCode.Unavailable)]
    [InlineData(HttpStatusCode.BadRequest, (int)GrpcStatusCode.Internal)]
    [InlineData(HttpStatusCode.Unauthorized, (int)GrpcStatusCode.Unauthenticated)]
    [InlineData(HttpStatusCode.Forbidden, (int)GrpcStatusCode.PermissionDenied)]
    [InlineData(HttpStatusCode.BadGateway, (int)GrpcStatusCode.Unavailable)]
    [InlineData(HttpStatusCode.InternalServerError, (int)GrpcStatusCode.Unknown)]
    public async Task Http_error_status_is_mapped(HttpStatusCode httpStatus, int expected)
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => new HttpResponseMessage(httpStatus)
        {
            Version = HttpVersion.Version20,
            Content = new StringContent("not grpc"),
        }));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal((GrpcStatusCode)expected, ex.StatusCode);
        Assert.Contains(((int)httpStatus).ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http11_response_is_internal_and_says_http2_is_required()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() =>
        {
            HttpResponseMessage response = Response(Frame(Text("x")));
            response.Version = HttpVersion.Version11;
            return response;
        }));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("HTTP/2", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_grpc_content_type_is_internal()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() =>
        {
            HttpResponseMessage response = Response(Frame(Text("x")));
            response.Content.Headers.Remove("Content-Type");
            response.Content.Headers.TryAddWithoutValidation("Content-Type", "text/html");
            return response;
        }));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("text/html", ex.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3)] // inside the 5-byte header
    [InlineData(5)] // header only, payload missing
    [InlineData(8)] // part of the payload
    public async Task Truncated_frame_is_internal(int keptBytes)
    {
        byte[] frame = Frame(Text("a message of some length"));
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(frame[..keptBytes])));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("Truncated message", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_response_is_resource_exhausted_without_reading_it()
    {
        byte[] header = RawFrame(new byte[1000])[..5];
        var body = new ScriptedStream(header, blockAtEnd: true);
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(body)), maxReceive: 100);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default)).WaitAsync(Generous);

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("1000", ex.Detail, StringComparison.Ordinal);
        Assert.False(body.Blocked.IsCompleted);
        Assert.True(body.IsDisposed);
    }

    [Fact]
    public async Task Oversized_request_is_not_sent()
    {
        var handler = FakeHttpHandler.Returning(() => Response(Frame(Text("x"))));
        using GrpcChannel channel = Channel(handler, maxSend: 50);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text(new string('x', 100)), default));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Compressed_message_is_internal()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Frame(Text("x"), compressedFlag: 1))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("compress", ex.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unparseable_message_is_internal()
    {
        // Field 1, length-delimited, claims 5 bytes but carries 1.
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(RawFrame([0x0A, 0x05, 0x61]))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.IsType<Google.Protobuf.InvalidProtocolBufferException>(ex.InnerException);
    }

    [Fact]
    public async Task No_message_with_status_ok_is_internal()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response([])));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Trailers_only_ok_is_internal_for_a_unary_call()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => TrailersOnly("0")));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Two_messages_are_internal()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Concat(Frame(Text("a")), Frame(Text("b"))))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("more than one", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caller_cancellation_while_waiting_for_headers_throws_with_the_callers_token()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using GrpcChannel channel = Channel(FakeHttpHandler.Hanging(entered));
        using var cts = new CancellationTokenSource();

        Task<StringValue> call = channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { CancellationToken = cts.Token });
        await entered.Task.WaitAsync(Generous);
        cts.Cancel();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).WaitAsync(Generous);
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task Caller_cancellation_while_reading_the_body_disposes_the_response()
    {
        var body = new ScriptedStream([], blockAtEnd: true);
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(body, status: null)));
        using var cts = new CancellationTokenSource();

        Task<StringValue> call = channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { CancellationToken = cts.Token });
        await body.Blocked.WaitAsync(Generous);
        cts.Cancel();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).WaitAsync(Generous);
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.True(body.IsDisposed);
    }

    [Fact]
    public async Task Already_cancelled_token_sends_nothing()
    {
        var handler = FakeHttpHandler.Returning(() => Response(Frame(Text("x"))));
        using GrpcChannel channel = Channel(handler);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { CancellationToken = cts.Token }));

        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Deadline_is_enforced_locally_when_the_server_never_answers()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Hanging());

        var ex = await Assert.ThrowsAsync<GrpcCallException>(
            () => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { Deadline = DateTime.UtcNow.AddMilliseconds(100) })).WaitAsync(Generous);

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(ex.RequestMayHaveBeenSent);
    }

    [Fact]
    public async Task Deadline_while_reading_the_body_disposes_the_response()
    {
        var body = new ScriptedStream([], blockAtEnd: true);
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(body, status: null)));
        using var cts = new CancellationTokenSource();

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions
        {
            Deadline = DateTime.UtcNow.AddMilliseconds(100),
            CancellationToken = cts.Token,
        })).WaitAsync(Generous);

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(body.IsDisposed);
    }

    [Fact]
    public async Task Past_deadline_fails_without_sending()
    {
        var handler = FakeHttpHandler.Returning(() => Response(Frame(Text("x"))));
        using GrpcChannel channel = Channel(handler);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(
            () => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) }));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Connection_refused_is_unavailable_and_not_sent()
    {
        using GrpcChannel channel = Channel(new FakeHttpHandler((_, _) =>
            throw new HttpRequestException("Connection refused (127.0.0.1:2379)", new SocketException((int)SocketError.ConnectionRefused))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
        Assert.Contains("127.0.0.1:2379", ex.Detail, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task Connect_timeout_is_unavailable_and_not_sent()
    {
        using GrpcChannel channel = Channel(new FakeHttpHandler((_, _) =>
            throw new TaskCanceledException("connect timed out", new TimeoutException("The connection attempt timed out."))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
    }

    [Fact]
    public async Task Failure_after_the_body_was_written_may_have_been_sent()
    {
        using GrpcChannel channel = Channel(new FakeHttpHandler(async (request, cancellationToken) =>
        {
            await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            throw new HttpRequestException("An error occurred while sending the request.", new IOException("connection reset"));
        }));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
        Assert.True(ex.RequestMayHaveBeenSent);
    }

    [Fact]
    public async Task Stream_reset_by_the_server_maps_the_http2_error_code()
    {
        using GrpcChannel channel = Channel(new FakeHttpHandler((_, _) =>
            throw new HttpRequestException("reset", new HttpProtocolException(0x8, "The HTTP/2 server reset the stream. HTTP/2 error code 'CANCEL' (0x8).", null))));

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => channel.UnaryAsync(Unary, Text("x"), default));

        Assert.Equal(GrpcStatusCode.Cancelled, ex.StatusCode);
        Assert.Contains("CANCEL", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_metadata_is_rejected_before_sending()
    {
        var handler = FakeHttpHandler.Returning(() => Response(Frame(Text("x"))));
        using GrpcChannel channel = Channel(handler);

        await Assert.ThrowsAsync<ArgumentException>(() => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { Metadata = [new("token", "caf\u00e9")] }));
        await Assert.ThrowsAsync<ArgumentException>(() => channel.UnaryAsync(Unary, Text("x"), new GrpcCallOptions { Metadata = [new("bad name", "x")] }));

        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Many_concurrent_calls_each_get_their_own_reply()
    {
        var handler = new FakeHttpHandler(async (request, cancellationToken) =>
        {
            byte[] body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            string value = Google.Protobuf.WellKnownTypes.StringValue.Parser.ParseFrom(body.AsSpan(5)).Value;
            return Response(new ScriptedStream(Frame(Text("re:" + value)), maxReadSize: 7));
        });
        using GrpcChannel channel = Channel(handler);
        using var cts = new CancellationTokenSource();

        StringValue[] replies = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => channel.UnaryAsync(Unary, Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new GrpcCallOptions
        {
            CancellationToken = i % 2 == 0 ? cts.Token : default,
            Deadline = i % 3 == 0 ? DateTime.UtcNow.AddMinutes(1) : null,
        })));

        for (int i = 0; i < replies.Length; i++)
        {
            Assert.Equal("re:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), replies[i].Value);
        }
    }

    [Fact]
    public async Task Method_of_another_type_is_rejected()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(Frame(Text("x")))));

        await Assert.ThrowsAsync<ArgumentException>(() => channel.UnaryAsync(Duplex, Text("x"), default));
    }
}
