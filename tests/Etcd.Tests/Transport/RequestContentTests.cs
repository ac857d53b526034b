using System.Buffers;
using Etcd.Transport;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class RequestContentTests
{
    [Fact]
    public async Task Unary_content_writes_its_frame_and_returns_the_buffer_when_disposed()
    {
        byte[] frame = GrpcFraming.RentFrame(Text("hello"), 1024, out int length);
        byte[] expected = frame[..length];
        var content = new UnaryRequestContent(frame, length);
        var sink = new MemoryStream();

        await content.CopyToAsync(sink);

        Assert.Equal(expected, sink.ToArray());
        Assert.Equal(length, content.Headers.ContentLength);
        Assert.Equal("application/grpc", content.Headers.ContentType!.MediaType);
        Assert.True(content.SerializationStarted);
        Assert.False(content.IsFrameReturned);
        content.Dispose();
        Assert.True(content.IsFrameReturned);
    }

    [Fact]
    public async Task Unary_content_keeps_its_buffer_while_a_write_is_in_flight()
    {
        byte[] frame = GrpcFraming.RentFrame(Text("hello"), 1024, out int length);
        var content = new UnaryRequestContent(frame, length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = new GatedSink(gate.Task);

        Task copy = content.CopyToAsync(sink);
        Assert.False(copy.IsCompleted);
        content.Dispose();
        Assert.False(content.IsFrameReturned);

        gate.SetResult();
        await copy.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => content.IsFrameReturned);
        Assert.Equal(length, sink.Written);
    }

    [Fact]
    public void Unary_content_disposed_before_sending_returns_its_buffer()
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(16);
        var content = new UnaryRequestContent(frame, 5);

        content.Dispose();

        Assert.True(content.IsFrameReturned);
        Assert.False(content.SerializationStarted);
    }

    [Fact]
    public async Task Duplex_content_publishes_its_stream_and_ends_when_completed()
    {
        var content = new DuplexRequestContent();
        var sink = new MemoryStream();

        Task copy = content.CopyToAsync(sink);
        Stream stream = await content.RequestStream.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(sink, stream);
        Assert.False(copy.IsCompleted);
        Assert.Null(content.Headers.ContentLength);

        content.Complete();
        await copy.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Duplex_content_failed_before_sending_fails_waiting_writers_and_ends_the_body()
    {
        var content = new DuplexRequestContent();
        var error = new GrpcCallException(GrpcStatusCode.Unavailable, "down");

        content.Fail(error);

        Assert.Same(error, await Assert.ThrowsAsync<GrpcCallException>(() => content.RequestStream));
        await content.CopyToAsync(new MemoryStream()).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(5);
        }
    }

    private sealed class GatedSink(Task gate) : AsyncOnlyStream
    {
        public int Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanWrite => true;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
