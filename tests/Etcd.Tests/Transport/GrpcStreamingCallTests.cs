using Etcd.Transport;
using Google.Protobuf.WellKnownTypes;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class GrpcStreamingCallTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Duplex_writes_several_messages_then_reads_the_replies_and_ends_ok()
    {
        var server = new FakeStreamingServer();
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, new GrpcCallOptions
        {
            Metadata = [new("token", "t1")],
        });

        // The server sends no headers before the first message, so writes must not wait for them.
        await call.WriteAsync(Text("a")).WaitAsync(Generous);
        await call.WriteAsync(Text("b")).WaitAsync(Generous);
        await call.WriteAsync(Text("c")).WaitAsync(Generous);
        for (int i = 0; i < 3; i++)
        {
            StringValue? request = await server.ReceiveAsync();
            await server.SendAsync(Text("echo:" + request!.Value));
        }

        var replies = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(await call.MoveNextAsync().AsTask().WaitAsync(Generous));
            replies.Add(call.Current.Value);
        }

        await call.CompleteAsync();
        Assert.Null(await server.ReceiveAsync());
        await server.FinishAsync("0");

        Assert.False(await call.MoveNextAsync().AsTask().WaitAsync(Generous));
        Assert.False(await call.MoveNextAsync().AsTask().WaitAsync(Generous));
        Assert.Equal(["echo:a", "echo:b", "echo:c"], replies);
        Assert.Equal("/test.Echo/Chat", server.RequestUri!.AbsolutePath);
        Assert.Equal("t1", server.RequestHeaders!["token"]);
        Assert.Equal("trailers", server.RequestHeaders["te"]);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => call.WriteAsync(Text("late")));
        Assert.Contains("completed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplex_batch_write_sends_each_message_as_its_own_frame_in_order()
    {
        var server = new FakeStreamingServer();
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        await call.WriteBatchAsync([Text("a"), Text(""), Text(new string('x', 3000))]).WaitAsync(Generous);
        await call.WriteBatchAsync(Array.Empty<StringValue>()).WaitAsync(Generous);
        await call.WriteAsync(Text("after")).WaitAsync(Generous);

        var received = new List<string>();
        for (int i = 0; i < 4; i++) received.Add((await server.ReceiveAsync())!.Value);
        Assert.Equal(["a", "", new string('x', 3000), "after"], received);
        await server.FinishAsync("0");
    }

    [Fact]
    public async Task Duplex_batch_write_with_an_oversized_message_sends_none_of_them()
    {
        var server = new FakeStreamingServer();
        using GrpcChannel channel = Channel(server.Handler, maxSend: 100);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        var error = await Assert.ThrowsAsync<GrpcCallException>(() => call.WriteBatchAsync([Text("small"), Text(new string('x', 500))]));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, error.StatusCode);
        Assert.False(error.RequestMayHaveBeenSent);
        await call.WriteAsync(Text("still usable")).WaitAsync(Generous);
        Assert.Equal("still usable", (await server.ReceiveAsync())!.Value);
        await server.FinishAsync("0");
    }

    [Fact]
    public async Task Duplex_complete_ends_the_request_stream_and_is_idempotent()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true);
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        await call.WriteAsync(Text("only")).WaitAsync(Generous);
        Assert.Equal("only", (await server.ReceiveAsync())!.Value);
        Assert.False(server.RequestEnded.IsCompleted);

        await call.CompleteAsync();
        await call.CompleteAsync();

        await server.RequestEnded.WaitAsync(Generous);
        Assert.Null(await server.ReceiveAsync());
    }

    [Fact]
    public async Task Duplex_concurrent_write_is_rejected()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true, gateRequestWrites: true);
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        Task first = call.WriteAsync(Text("first"));
        Assert.False(first.IsCompleted);

        await Assert.ThrowsAsync<InvalidOperationException>(() => call.WriteAsync(Text("second")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.CompleteAsync());

        server.OpenRequestWriteGate();
        await first.WaitAsync(Generous);
        await call.WriteAsync(Text("third")).WaitAsync(Generous);
        Assert.Equal("first", (await server.ReceiveAsync())!.Value);
        Assert.Equal("third", (await server.ReceiveAsync())!.Value);
    }

    [Fact]
    public async Task Duplex_dispose_mid_stream_disposes_the_response_and_ends_pending_operations()
    {
        var server = new FakeStreamingServer();
        using GrpcChannel channel = Channel(server.Handler);
        GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);
        await call.WriteAsync(Text("a")).WaitAsync(Generous);
        await server.SendAsync(Text("reply"));
        Assert.True(await call.MoveNextAsync().AsTask().WaitAsync(Generous));

        ValueTask<bool> pending = call.MoveNextAsync();
        await call.DisposeAsync();
        await call.DisposeAsync();

        Exception error = await Assert.ThrowsAnyAsync<Exception>(() => pending.AsTask()).WaitAsync(Generous);
        Assert.True(error is OperationCanceledException or GrpcCallException { StatusCode: GrpcStatusCode.Cancelled }, error.ToString());
        await server.ResponseBody.Disposed.WaitAsync(Generous);
        await server.RequestEnded.WaitAsync(Generous);
        var writeError = await Assert.ThrowsAsync<GrpcCallException>(() => call.WriteAsync(Text("late")));
        Assert.Equal(GrpcStatusCode.Cancelled, writeError.StatusCode);
        var readError = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(GrpcStatusCode.Cancelled, readError.StatusCode);
    }

    [Fact]
    public async Task Duplex_trailers_only_error_fails_reads_and_later_writes()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => TrailersOnly("16", "etcdserver: invalid auth token")));
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask()).WaitAsync(Generous);
        Assert.Equal(GrpcStatusCode.Unauthenticated, ex.StatusCode);
        Assert.Equal("etcdserver: invalid auth token", ex.Detail);

        var writeError = await Assert.ThrowsAsync<GrpcCallException>(() => call.WriteAsync(Text("x")));
        Assert.Same(ex, writeError);
        var again = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask());
        Assert.Same(ex, again);
    }

    [Fact]
    public async Task Duplex_connection_refused_fails_writes_and_reads_as_unavailable_not_sent()
    {
        using GrpcChannel channel = Channel(new FakeHttpHandler((_, _) =>
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused")));
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        var writeError = await Assert.ThrowsAsync<GrpcCallException>(() => call.WriteAsync(Text("x"))).WaitAsync(Generous);
        var readError = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask()).WaitAsync(Generous);

        Assert.Equal(GrpcStatusCode.Unavailable, readError.StatusCode);
        Assert.False(readError.RequestMayHaveBeenSent);
        Assert.Same(readError, writeError);
    }

    [Fact]
    public async Task Duplex_write_larger_than_the_limit_is_rejected_and_the_call_goes_on()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true);
        using GrpcChannel channel = Channel(server.Handler, maxSend: 50);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => call.WriteAsync(Text(new string('x', 100))));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);

        await call.WriteAsync(Text("small")).WaitAsync(Generous);
        Assert.Equal("small", (await server.ReceiveAsync())!.Value);
    }

    [Fact]
    public async Task Read_cancelled_by_its_token_throws_with_that_token_and_aborts_the_call()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true);
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);
        using var cts = new CancellationTokenSource();

        ValueTask<bool> read = call.MoveNextAsync(cts.Token);
        cts.CancelAfter(50);

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask()).WaitAsync(Generous);
        Assert.Equal(cts.Token, ex.CancellationToken);
        await server.ResponseBody.Disposed.WaitAsync(Generous);
        var after = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask());
        Assert.Equal(GrpcStatusCode.Cancelled, after.StatusCode);
    }

    [Fact]
    public async Task Write_waiting_for_the_request_stream_honours_its_token()
    {
        // The handler never calls the request content, so the request stream never becomes available.
        using GrpcChannel channel = Channel(FakeHttpHandler.Hanging());
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, default);
        using var cts = new CancellationTokenSource(50);

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WriteAsync(Text("x"), cts.Token)).WaitAsync(Generous);

        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task Caller_token_of_the_call_cancels_it()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true);
        using GrpcChannel channel = Channel(server.Handler);
        using var cts = new CancellationTokenSource();
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, new GrpcCallOptions { CancellationToken = cts.Token });

        ValueTask<bool> read = call.MoveNextAsync();
        cts.Cancel();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask()).WaitAsync(Generous);
        Assert.Equal(cts.Token, ex.CancellationToken);
        await server.ResponseBody.Disposed.WaitAsync(Generous);
        var writeError = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WriteAsync(Text("x")));
        Assert.Equal(cts.Token, writeError.CancellationToken);
    }

    [Fact]
    public async Task Deadline_of_a_stream_is_enforced_locally()
    {
        var server = new FakeStreamingServer(answerBeforeFirstRequest: true);
        using GrpcChannel channel = Channel(server.Handler);
        await using GrpcDuplexCall<StringValue, StringValue> call = channel.StartDuplex(Duplex, new GrpcCallOptions
        {
            Deadline = DateTime.UtcNow.AddMilliseconds(100),
        });

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask()).WaitAsync(Generous);

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        await server.ResponseBody.Disposed.WaitAsync(Generous);
    }

    [Fact]
    public void Past_deadline_fails_the_start_without_sending()
    {
        var handler = FakeHttpHandler.Hanging();
        using GrpcChannel channel = Channel(handler);

        var ex = Assert.Throws<GrpcCallException>(() => channel.StartDuplex(Duplex, new GrpcCallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) }));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Server_streaming_reads_messages_then_fails_with_the_status_in_the_trailers()
    {
        byte[]? requestBody = null;
        var handler = new FakeHttpHandler(async (request, cancellationToken) =>
        {
            requestBody = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            return Response(Concat(Frame(Text("one")), Frame(Text("two"))), "5", "etcdserver: requested lease not found");
        });
        using GrpcChannel channel = Channel(handler);
        await using GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);

        Assert.True(await call.MoveNextAsync());
        Assert.Equal("one", call.Current.Value);
        Assert.True(await call.MoveNextAsync());
        Assert.Equal("two", call.Current.Value);
        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => call.MoveNextAsync().AsTask());

        Assert.Equal(GrpcStatusCode.NotFound, ex.StatusCode);
        Assert.Equal("etcdserver: requested lease not found", ex.Detail);
        Assert.Equal(Frame(Text("q")), requestBody);
        Assert.Throws<InvalidOperationException>(() => call.Current);
    }

    [Fact]
    public async Task Server_streaming_ends_cleanly_with_status_ok()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(new ScriptedStream(Concat(Frame(Text("one")), Frame(new StringValue())), maxReadSize: 1))));
        await using GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);

        Assert.True(await call.MoveNextAsync());
        Assert.Equal("one", call.Current.Value);
        Assert.True(await call.MoveNextAsync());
        Assert.Equal(string.Empty, call.Current.Value);
        Assert.False(await call.MoveNextAsync());
    }

    [Fact]
    public async Task Server_streaming_trailers_only_ok_is_an_empty_stream()
    {
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => TrailersOnly("0")));
        await using GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);

        Assert.False(await call.MoveNextAsync());
    }

    [Fact]
    public async Task Server_streaming_dispose_before_the_end_disposes_the_response()
    {
        var body = new ScriptedStream(Frame(Text("one")), blockAtEnd: true);
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(body, status: null)));
        GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);

        Assert.True(await call.MoveNextAsync());
        await call.DisposeAsync();

        Assert.True(body.IsDisposed);
    }

    [Fact]
    public async Task Overlapping_reads_are_rejected()
    {
        var body = new ScriptedStream([], blockAtEnd: true);
        using GrpcChannel channel = Channel(FakeHttpHandler.Returning(() => Response(body, status: null)));
        await using GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);

        ValueTask<bool> first = call.MoveNextAsync();
        await body.Blocked.WaitAsync(Generous);

        await Assert.ThrowsAsync<InvalidOperationException>(() => call.MoveNextAsync().AsTask());
        await call.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => first.AsTask()).WaitAsync(Generous);
    }

    [Fact]
    public async Task Disposing_the_channel_aborts_open_calls_and_refuses_new_ones()
    {
        var body = new ScriptedStream([], blockAtEnd: true);
        var channel = Channel(FakeHttpHandler.Returning(() => Response(body, status: null)));
        await using GrpcServerStreamingCall<StringValue> call = channel.StartServerStreaming(ServerStreaming, Text("q"), default);
        ValueTask<bool> read = call.MoveNextAsync();
        await body.Blocked.WaitAsync(Generous);

        channel.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.AsTask()).WaitAsync(Generous);
        Assert.True(body.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => channel.StartDuplex(Duplex, default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => channel.UnaryAsync(Unary, Text("x"), default));
    }
}
