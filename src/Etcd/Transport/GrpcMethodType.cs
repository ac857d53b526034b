namespace Etcd.Transport;

/// <summary>The shapes of gRPC method supported by the transport.</summary>
internal enum GrpcMethodType
{
    Unary,
    ServerStreaming,
    DuplexStreaming,
}
