using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>
/// Reads length-prefixed gRPC messages from a response body into a pooled buffer. Reads ahead as
/// much as the stream offers, so a small message usually costs one read. Not thread-safe.
/// </summary>
internal sealed class GrpcFrameReader : IDisposable
{
    internal const int DefaultBufferSize = 4096;

    // Buffers grown for a large message go back to the pool once drained, so a long-lived
    // stream does not keep one around.
    private const int RetainedBufferSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly int _maxMessageSize;
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _frameLength = -1;

    public GrpcFrameReader(Stream stream, int maxMessageSize)
    {
        _stream = stream;
        _maxMessageSize = maxMessageSize;
    }

    /// <summary>
    /// Reads the next whole frame. False at a clean end of stream (between frames). Throws
    /// <see cref="GrpcCallException"/> for a truncated, compressed or oversized frame.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReadFrameAsync(CancellationToken cancellationToken)
    {
        if (_frameLength >= 0)
        {
            Consume();
        }

        if (!await FillAsync(GrpcFraming.HeaderSize, cancellationToken).ConfigureAwait(false))
        {
            if (_end == _start)
            {
                return false;
            }

            throw new GrpcCallException(
                GrpcStatusCode.Internal,
                $"Truncated message: the response ended inside a message header ({_end - _start} of {GrpcFraming.HeaderSize} bytes).");
        }

        byte flag = _buffer![_start];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_start + 1, 4));
        if (flag != 0)
        {
            throw new GrpcCallException(
                GrpcStatusCode.Internal,
                flag == 1
                    ? "Received a compressed message, but no compression was negotiated."
                    : $"Invalid compressed-flag byte {flag} in a message header.");
        }

        if (length > (uint)_maxMessageSize)
        {
            // Not read any further; but the first bytes already buffered (reads take what the stream offers) let a stream's
            // owner tell whose message it was.
            int prefixLength = (int)Math.Min(Math.Min(length, 64), _end - _start - GrpcFraming.HeaderSize);
            byte[] prefix = _buffer.AsSpan(_start + GrpcFraming.HeaderSize, prefixLength).ToArray();
            throw new GrpcCallException(
                GrpcStatusCode.ResourceExhausted,
                $"Received a message of {length} bytes, larger than the maximum receive size of {_maxMessageSize} bytes.")
            {
                ReceiveLimitExceeded = true,
                MessagePrefix = prefix,
            };
        }

        _start += GrpcFraming.HeaderSize;
        int messageLength = (int)length;
        if (!await FillAsync(messageLength, cancellationToken).ConfigureAwait(false))
        {
            throw new GrpcCallException(
                GrpcStatusCode.Internal,
                $"Truncated message: the response ended after {_end - _start} of {messageLength} message bytes.");
        }

        _frameLength = messageLength;
        return true;
    }

    /// <summary>Parses the frame returned by the last <see cref="ReadFrameAsync"/> and releases it.</summary>
    public T ParseFrame<T>(MessageParser<T> parser)
        where T : IMessage<T>
    {
        if (_frameLength < 0)
        {
            throw new InvalidOperationException("No frame has been read.");
        }

        try
        {
            ReadOnlySpan<byte> payload = _frameLength == 0 ? default : _buffer.AsSpan(_start, _frameLength);
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GrpcCallException(GrpcStatusCode.Internal, $"Could not parse the response message: {ex.Message}", inner: ex);
        }
        finally
        {
            Consume();
        }
    }

    public void Dispose()
    {
        byte[]? buffer = _buffer;
        _buffer = null;
        _start = _end = 0;
        _frameLength = -1;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Consume()
    {
        _start += _frameLength;
        _frameLength = -1;
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer is { Length: > RetainedBufferSize })
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }

    private ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken) =>
        _end - _start >= count ? new ValueTask<bool>(true) : FillSlowAsync(count, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FillSlowAsync(int count, CancellationToken cancellationToken)
    {
        EnsureCapacity(count);
        while (_end - _start < count)
        {
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    private void EnsureCapacity(int count)
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(count, DefaultBufferSize));
            _start = _end = 0;
            return;
        }

        if (_buffer.Length - _start >= count)
        {
            return;
        }

        int buffered = _end - _start;
        if (_buffer.Length >= count)
        {
            _buffer.AsSpan(_start, buffered).CopyTo(_buffer);
        }
        else
        {
            byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(count, DefaultBufferSize));
            _buffer.AsSpan(_start, buffered).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        _start = 0;
        _end = buffered;
    }
}
