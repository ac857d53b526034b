using System.Buffers.Binary;
using System.Net;
using Etcd.Transport;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Etcd.Tests.Transport;

/// <summary>Methods, frames and fake responses shared by the transport tests.</summary>
internal static class GrpcTestMessages
{
    public static readonly Uri Address = new("http://127.0.0.1:2379");

    public static readonly GrpcMethod<StringValue, StringValue> Unary = new(GrpcMethodType.Unary, "test.Echo", "Say", StringValue.Parser);
    public static readonly GrpcMethod<StringValue, StringValue> ServerStreaming = new(GrpcMethodType.ServerStreaming, "test.Echo", "Repeat", StringValue.Parser);
    public static readonly GrpcMethod<StringValue, StringValue> Duplex = new(GrpcMethodType.DuplexStreaming, "test.Echo", "Chat", StringValue.Parser);

    public static StringValue Text(string value) => new() { Value = value };

    /// <summary>A frame written independently of the code under test.</summary>
    public static byte[] Frame(IMessage message, byte compressedFlag = 0) => RawFrame(message.ToByteArray(), compressedFlag);

    public static byte[] RawFrame(byte[] payload, byte compressedFlag = 0)
    {
        byte[] frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static GrpcChannel Channel(HttpMessageHandler handler, int maxSend = 2 * 1024 * 1024, int maxReceive = 256 * 1024 * 1024) =>
        new(Address, new GrpcChannelOptions { HttpHandler = handler, MaxSendMessageSize = maxSend, MaxReceiveMessageSize = maxReceive });

    /// <summary>HTTP/2 200, content-type application/grpc, the given body, and trailers (none when status is null).</summary>
    public static HttpResponseMessage Response(Stream body, string? status = "0", string? message = null)
    {
        var content = new StreamContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = content };
        if (status is not null)
        {
            response.TrailingHeaders.TryAddWithoutValidation("grpc-status", status);
        }

        if (message is not null)
        {
            response.TrailingHeaders.TryAddWithoutValidation("grpc-message", message);
        }

        return response;
    }

    public static HttpResponseMessage Response(byte[] body, string? status = "0", string? message = null) =>
        Response(new ScriptedStream(body), status, message);

    /// <summary>A trailers-only response: HTTP/2 200, the status in the headers, an empty body (how etcd reports errors).</summary>
    public static HttpResponseMessage TrailersOnly(string status, string? message = null)
    {
        var content = new ByteArrayContent([]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = content };
        response.Headers.TryAddWithoutValidation("grpc-status", status);
        if (message is not null)
        {
            response.Headers.TryAddWithoutValidation("grpc-message", message);
        }

        return response;
    }

    /// <summary>Parses a grpc-timeout header value back into a duration.</summary>
    public static TimeSpan ParseTimeout(string value)
    {
        long amount = long.Parse(value[..^1], System.Globalization.CultureInfo.InvariantCulture);
        return value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => throw new FormatException(value),
        };
    }
}
