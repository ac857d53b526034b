using System.Buffers;
using System.Text;

namespace Etcd.Transport;

/// <summary>The percent-encoding of grpc-message: UTF-8 bytes, with bytes outside printable ASCII (and '%') as %XX.</summary>
internal static class GrpcMessageEncoding
{
    /// <summary>Decodes a grpc-message value. Malformed escapes are kept literally, as the spec asks.</summary>
    public static string Decode(string value)
    {
        if (value.IndexOf('%') < 0)
        {
            return value;
        }

        // Every char becomes at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 chars).
        byte[] bytes = ArrayPool<byte>.Shared.Rent(value.Length * 3);
        try
        {
            int count = 0;
            int i = 0;
            while (i < value.Length)
            {
                char c = value[i];
                if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out int high) && TryHex(value[i + 2], out int low))
                {
                    bytes[count++] = (byte)((high << 4) | low);
                    i += 3;
                }
                else if (c < 0x80)
                {
                    bytes[count++] = (byte)c;
                    i++;
                }
                else
                {
                    // Not allowed by the spec, but keep whatever the server sent rather than dropping it.
                    int end = i + 1;
                    while (end < value.Length && value[end] >= 0x80)
                    {
                        end++;
                    }

                    count += Encoding.UTF8.GetBytes(value.AsSpan(i, end - i), bytes.AsSpan(count));
                    i = end;
                }
            }

            return Encoding.UTF8.GetString(bytes, 0, count);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
