using System.Globalization;

namespace Etcd.Transport;

/// <summary>Encodes the grpc-timeout header: at most 8 digits followed by a unit (n, u, m, S, M, H).</summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    public static string Format(TimeSpan timeout)
    {
        long ticks = Math.Max(timeout.Ticks, 0);

        // Pick the finest unit whose value fits in 8 digits, rounding up so the server
        // never gives up before the client does.
        long value;
        char unit;
        if (ticks <= MaxValue / 100)
        {
            value = ticks * 100;
            unit = 'n';
        }
        else if ((value = CeilDiv(ticks, 10)) <= MaxValue)
        {
            unit = 'u';
        }
        else if ((value = CeilDiv(ticks, TimeSpan.TicksPerMillisecond)) <= MaxValue)
        {
            unit = 'm';
        }
        else if ((value = CeilDiv(ticks, TimeSpan.TicksPerSecond)) <= MaxValue)
        {
            unit = 'S';
        }
        else if ((value = CeilDiv(ticks, TimeSpan.TicksPerMinute)) <= MaxValue)
        {
            unit = 'M';
        }
        else
        {
            value = Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxValue);
            unit = 'H';
        }

        Span<char> buffer = stackalloc char[10];
        value.TryFormat(buffer, out int written, default, CultureInfo.InvariantCulture);
        buffer[written] = unit;
        return new string(buffer[..(written + 1)]);
    }

    private static long CeilDiv(long value, long divisor) => (value / divisor) + (value % divisor == 0 ? 0 : 1);
}
