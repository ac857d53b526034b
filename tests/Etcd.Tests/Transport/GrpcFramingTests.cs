using System.Buffers;
using Etcd.Transport;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static Etcd.Tests.Transport.GrpcTestMessages;

namespace Etcd.Tests.Transport;

public sealed class GrpcFramingTests
{
    [Fact]
    public void RentFrame_writes_flag_big_endian_length_and_payload()
    {
        StringValue message = Text("hello");

        byte[] buffer = GrpcFraming.RentFrame(message, 1024, out int length);
        try
        {
            Assert.Equal(Frame(message), buffer[..length]);
            Assert.Equal(5 + message.CalculateSize(), length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Fact]
    public void RentFrame_of_an_empty_message_is_just_a_header()
    {
        byte[] buffer = GrpcFraming.RentFrame(new StringValue(), 1024, out int length);
        try
        {
            Assert.Equal(new byte[] { 0, 0, 0, 0, 0 }, buffer[..length]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Fact]
    public void RentFrame_rejects_a_message_over_the_limit_as_not_sent()
    {
        var ex = Assert.Throws<GrpcCallException>(() => GrpcFraming.RentFrame(Text(new string('x', 64)), 10, out _));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.False(ex.RequestMayHaveBeenSent);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Frames_round_trip_through_the_reader_whatever_the_read_sizes(int maxReadSize)
    {
        StringValue[] messages =
        [
            Text("first"),
            new StringValue(),
            Text(new string('l', 70_000)),
            Text("after the large one"),
            new StringValue(),
        ];
        var written = new MemoryStream();
        foreach (StringValue message in messages)
        {
            byte[] buffer = GrpcFraming.RentFrame(message, int.MaxValue, out int length);
            written.Write(buffer, 0, length);
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var stream = new ScriptedStream(written.ToArray(), maxReadSize: maxReadSize);
        using var reader = new GrpcFrameReader(stream, int.MaxValue);
        var read = new List<StringValue>();
        while (await reader.ReadFrameAsync(CancellationToken.None))
        {
            read.Add(reader.ParseFrame(StringValue.Parser));
        }

        Assert.Equal(messages, read);
        Assert.False(await reader.ReadFrameAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Reader_skips_a_frame_that_was_not_parsed()
    {
        var stream = new ScriptedStream(Concat(Frame(Text("skipped")), Frame(Text("kept"))));
        using var reader = new GrpcFrameReader(stream, 1024);

        Assert.True(await reader.ReadFrameAsync(CancellationToken.None));
        Assert.True(await reader.ReadFrameAsync(CancellationToken.None));

        Assert.Equal("kept", reader.ParseFrame(StringValue.Parser).Value);
    }

    [Fact]
    public async Task Reader_at_clean_end_of_an_empty_stream_returns_false()
    {
        using var reader = new GrpcFrameReader(new ScriptedStream([]), 1024);

        Assert.False(await reader.ReadFrameAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 }, "header")]
    [InlineData(new byte[] { 0, 0, 0, 0, 4, 1, 2 }, "2 of 4")]
    public async Task Reader_reports_truncation(byte[] data, string expected)
    {
        using var reader = new GrpcFrameReader(new ScriptedStream(data, maxReadSize: 1), 1024);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => reader.ReadFrameAsync(CancellationToken.None).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("Truncated message", ex.Detail, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Reader_rejects_compressed_or_invalid_flags(byte flag)
    {
        using var reader = new GrpcFrameReader(new ScriptedStream(Frame(Text("x"), compressedFlag: flag)), 1024);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => reader.ReadFrameAsync(CancellationToken.None).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Reader_rejects_an_oversized_frame_before_reading_its_payload()
    {
        var stream = new ScriptedStream(new byte[] { 0, 0xFF, 0xFF, 0xFF, 0xFF }, blockAtEnd: true);
        using var reader = new GrpcFrameReader(stream, 1024);

        var ex = await Assert.ThrowsAsync<GrpcCallException>(() => reader.ReadFrameAsync(CancellationToken.None).AsTask());

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains(uint.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Detail, StringComparison.Ordinal);
        Assert.False(stream.Blocked.IsCompleted);
    }

    [Fact]
    public async Task Reader_honours_cancellation()
    {
        var stream = new ScriptedStream([], blockAtEnd: true);
        using var reader = new GrpcFrameReader(stream, 1024);
        using var cts = new CancellationTokenSource(20);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadFrameAsync(cts.Token).AsTask()).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void ParseFrame_without_a_frame_is_a_usage_error()
    {
        using var reader = new GrpcFrameReader(new ScriptedStream([]), 1024);

        Assert.Throws<InvalidOperationException>(() => reader.ParseFrame(StringValue.Parser));
    }
}
