using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>
/// gRPC length-prefixed message framing: a compressed flag byte (always 0 here), a 4-byte big-endian
/// length, then the protobuf bytes.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderSize = 5;

    public static void WriteHeader(Span<byte> destination, int messageLength)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)messageLength);
    }

    /// <summary>
    /// Serializes one framed message into a buffer rented from <see cref="ArrayPool{T}.Shared"/>;
    /// the caller returns it. Throws ResourceExhausted (nothing sent) when the message is too large.
    /// </summary>
    public static byte[] RentFrame(IMessage message, int maxMessageSize, out int frameLength)
    {
        int size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new GrpcCallException(
                GrpcStatusCode.ResourceExhausted,
                $"The request message is {size} bytes, larger than the maximum send size of {maxMessageSize} bytes; it was not sent.",
                requestMayHaveBeenSent: false);
        }

        frameLength = HeaderSize + size;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(frameLength);
        try
        {
            WriteHeader(buffer, size);
            message.WriteTo(buffer.AsSpan(HeaderSize, size));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return buffer;
    }
}
