using Google.Protobuf;

namespace Etcd.Transport;

/// <summary>Describes one gRPC method: its HTTP/2 path, its shape and how to parse its responses.</summary>
internal sealed class GrpcMethod<TRequest, TResponse>
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public GrpcMethod(GrpcMethodType type, string serviceName, string methodName, MessageParser<TResponse> responseParser)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        ArgumentNullException.ThrowIfNull(responseParser);
        if (!Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown gRPC method type.");
        }

        Type = type;
        ServiceName = serviceName;
        MethodName = methodName;
        ResponseParser = responseParser;
        Path = "/" + serviceName + "/" + methodName;
    }

    /// <summary>The request path, e.g. "/etcdserverpb.KV/Range".</summary>
    public string Path { get; }

    public GrpcMethodType Type { get; }

    public string ServiceName { get; }

    public string MethodName { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    public override string ToString() => Path;
}
