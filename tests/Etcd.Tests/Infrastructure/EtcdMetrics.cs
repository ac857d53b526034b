using System.Globalization;
using System.Text.RegularExpressions;

namespace Etcd.Tests.Infrastructure;

/// <summary>Reads counters from etcd's Prometheus endpoint (/metrics), to observe what the server saw.</summary>
public static class EtcdMetrics
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>The value of <c>grpc_server_{counter}_total</c> for one gRPC method and, optionally, one status code; 0 when absent.</summary>
    public static async Task<double> GrpcServerCounterAsync(string clientUrl, string counter, string method, string? code = null)
    {
        var text = await s_http.GetStringAsync(clientUrl + "/metrics");
        var codeFilter = code is null ? "" : $@"(?=[^}}]*grpc_code=""{code}"")";
        var pattern = $@"^grpc_server_{counter}_total\{{{codeFilter}(?=[^}}]*grpc_method=""{method}"")[^}}]*\}} (\S+)$";
        double total = 0;
        foreach (Match match in Regex.Matches(text, pattern, RegexOptions.Multiline))
            total += double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return total;
    }
}
