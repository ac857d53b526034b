using Google.Protobuf.Collections;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>Maps the Cluster and Maintenance services' messages, and checks their arguments before anything is sent.</summary>
internal static class AdminMapping
{
    public static EtcdMember ToMember(Pb.Member member) => new(
        member.ID,
        member.Name,
        ToUris(member.PeerURLs, member.ID),
        ToUris(member.ClientURLs, member.ID),
        member.IsLearner);

    public static IReadOnlyList<EtcdMember> ToMembers(RepeatedField<Pb.Member> members)
    {
        if (members.Count == 0) return [];
        var result = new EtcdMember[members.Count];
        for (int i = 0; i < result.Length; i++) result[i] = ToMember(members[i]);
        return result;
    }

    private static IReadOnlyList<Uri> ToUris(RepeatedField<string> urls, ulong memberId)
    {
        if (urls.Count == 0) return [];
        var result = new Uri[urls.Count];
        for (int i = 0; i < result.Length; i++)
        {
            // etcd only stores URLs it parsed itself (scheme://host:port), so this fails only on a server bug.
            if (!Uri.TryCreate(urls[i], UriKind.Absolute, out var uri))
                throw new EtcdException(EtcdStatusCode.Internal, $"Member {memberId:x} has a URL that is not absolute: '{urls[i]}'.");
            result[i] = uri;
        }
        return result;
    }

    public static void MemberId(ulong memberId, string paramName)
    {
        if (memberId == 0) throw new ArgumentOutOfRangeException(paramName, memberId, "A member id is never 0.");
    }

    /// <summary>
    /// Checks peer URLs the way etcd's types.NewURLs will (http or https, a host, no path, query, fragment or user
    /// info; no duplicates) and renders each as <c>scheme://host:port</c> with the port always written out.
    /// </summary>
    public static string[] ToPeerUrls(IReadOnlyList<Uri> peerUrls, string paramName)
    {
        ArgumentNullException.ThrowIfNull(peerUrls, paramName);
        if (peerUrls.Count == 0) throw new ArgumentException("At least one peer URL is required.", paramName);
        var result = new string[peerUrls.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var uri = peerUrls[i] ?? throw new ArgumentException($"Peer URL {i} is null.", paramName);
            if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
                throw new ArgumentException($"Peer URL '{uri}' must be an absolute http:// or https:// URL with a host.", paramName);
            if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
                throw new ArgumentException($"Peer URL '{uri}' must be scheme://host:port only, without path, query, fragment or user info.", paramName);
            var text = $"{uri.Scheme}://{uri.Host}:{uri.Port}";
            if (Array.IndexOf(result, text, 0, i) >= 0)
                throw new ArgumentException($"Peer URL '{text}' is given twice.", paramName);
            result[i] = text;
        }
        return result;
    }

    public static EtcdAlarm ToAlarm(Pb.AlarmMember alarm) => new(alarm.MemberID, (EtcdAlarmType)alarm.Alarm);

    public static AlarmResponse ToAlarms(Pb.AlarmResponse response)
    {
        var alarms = new EtcdAlarm[response.Alarms.Count];
        for (int i = 0; i < alarms.Length; i++) alarms[i] = ToAlarm(response.Alarms[i]);
        return new AlarmResponse(ProtoMapping.ToHeader(response.Header), alarms);
    }
}
