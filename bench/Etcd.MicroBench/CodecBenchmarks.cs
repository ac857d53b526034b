using BenchmarkDotNet.Attributes;
using Etcd.Operations;
using Etcd.Transport;
using Google.Protobuf;
using Mvcc = Etcd.Protocol.Mvcc;
using Pb = Etcd.Protocol;

namespace Etcd.MicroBench;

/// <summary>
/// The per-message work of a unary put and get outside the network: building the request, framing it, reading the
/// response frame back and mapping it to the public records (16 B keys, 256 B values, as in the load bench).
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private static readonly EtcdBytes Key = "bench/key/000001"u8.ToArray();
    private static readonly EtcdBytes Value = new byte[256];
    private byte[] _rangeFrame = [];
    private byte[] _putFrame = [];
    private readonly Pb.LeaseKeepAliveRequest[] _keepAlives = new Pb.LeaseKeepAliveRequest[64];

    [GlobalSetup]
    public void Setup()
    {
        var range = new Pb.RangeResponse { Header = Header(), Count = 1 };
        range.Kvs.Add(new Mvcc.KeyValue { Key = ByteString.CopyFrom(Key.Span), Value = ByteString.CopyFrom(Value.Span), CreateRevision = 10, ModRevision = 12, Version = 3 });
        _rangeFrame = Frame(range);
        _putFrame = Frame(new Pb.PutResponse { Header = Header() });
        for (int i = 0; i < _keepAlives.Length; i++) _keepAlives[i] = new Pb.LeaseKeepAliveRequest { ID = 0x7e5a_0000_0000 + i };
    }

    /// <summary>Put request: options mapped to protobuf and framed into a pooled buffer.</summary>
    [Benchmark]
    public int PutRequestFramed()
    {
        var request = ProtoMapping.ToPutRequest(Key, Value, null);
        var frame = GrpcFraming.RentFrame(request, int.MaxValue, out int length);
        System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        return length;
    }

    /// <summary>Range request for one key, framed.</summary>
    [Benchmark]
    public int GetRequestFramed()
    {
        var request = ProtoMapping.ToRangeRequest(Key, null);
        var frame = GrpcFraming.RentFrame(request, int.MaxValue, out int length);
        System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        return length;
    }

    /// <summary>64 lease keep-alives framed for one write.</summary>
    [Benchmark]
    public int KeepAliveBatchFramed()
    {
        var frames = GrpcFraming.RentFrames(_keepAlives, int.MaxValue, out int length);
        System.Buffers.ArrayPool<byte>.Shared.Return(frames);
        return length;
    }

    /// <summary>A get's response frame read from a stream, parsed and mapped to a <see cref="GetResponse"/>.</summary>
    [Benchmark]
    public async Task<long> GetResponseReadAndMapped()
    {
        using var reader = new GrpcFrameReader(new MemoryStream(_rangeFrame, writable: false), int.MaxValue);
        await reader.ReadFrameAsync(CancellationToken.None);
        var response = ProtoMapping.ToGet(reader.ParseFrame(Pb.RangeResponse.Parser));
        return response.Kvs[0].ModRevision;
    }

    /// <summary>A put's response frame read, parsed and mapped.</summary>
    [Benchmark]
    public async Task<long> PutResponseReadAndMapped()
    {
        using var reader = new GrpcFrameReader(new MemoryStream(_putFrame, writable: false), int.MaxValue);
        await reader.ReadFrameAsync(CancellationToken.None);
        return ProtoMapping.ToPut(reader.ParseFrame(Pb.PutResponse.Parser)).Header.Revision;
    }

    private static Pb.ResponseHeader Header() => new() { ClusterId = 0x1234, MemberId = 0x5678, Revision = 12, RaftTerm = 2 };

    private static byte[] Frame(IMessage message)
    {
        var frame = GrpcFraming.RentFrame(message, int.MaxValue, out int length);
        var copy = frame.AsSpan(0, length).ToArray();
        System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        return copy;
    }
}
