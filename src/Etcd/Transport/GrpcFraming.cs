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

    /// <summary>
    /// Serializes several framed messages back to back into one rented buffer (one write and one flush for all of them);
    /// the caller returns it. Throws ResourceExhausted (nothing sent) when any message is too large.
    /// </summary>
    public static byte[] RentFrames<TMessage>(IReadOnlyList<TMessage> messages, int maxMessageSize, out int framesLength)
        where TMessage : IMessage
    {
        framesLength = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            int size = messages[i].CalculateSize();
            if (size > maxMessageSize)
            {
                throw new GrpcCallException(
                    GrpcStatusCode.ResourceExhausted,
                    $"A request message is {size} bytes, larger than the maximum send size of {maxMessageSize} bytes; none was sent.",
                    requestMayHaveBeenSent: false);
            }

            framesLength += HeaderSize + size;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(framesLength, 1));
        try
        {
            int offset = 0;
            for (int i = 0; i < messages.Count; i++)
            {
                int size = messages[i].CalculateSize(); // cached by protobuf after the first call
                WriteHeader(buffer.AsSpan(offset), size);
                messages[i].WriteTo(buffer.AsSpan(offset + HeaderSize, size));
                offset += HeaderSize + size;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return buffer;
    }
}
