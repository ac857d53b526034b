using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;

namespace Etcd.Tests.Transport;

/// <summary>
/// The server side of one fake streaming call: pumps the client's request body into a pipe and
/// parses its frames, and feeds the response body from another pipe. Like etcd's Watch, it answers
/// with headers only after the first request message unless told otherwise.
/// </summary>
internal sealed class FakeStreamingServer
{
    private readonly Pipe _requestPipe = new();
    private readonly Pipe _responsePipe = new();
    private readonly Channel<StringValue> _requests = Channel.CreateUnbounded<StringValue>();
    private readonly TaskCompletionSource _firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _requestEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _requestWriteGate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeStreamingServer(bool answerBeforeFirstRequest = false, bool gateRequestWrites = false)
    {
        if (!gateRequestWrites)
        {
            _requestWriteGate.SetResult();
        }

        ResponseBody = new ForwardingStream(_responsePipe.Reader.AsStream());
        var content = new StreamContent(ResponseBody);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        Response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = content };
        Handler = new FakeHttpHandler(async (request, cancellationToken) =>
        {
            RequestHeaders = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            RequestUri = request.RequestUri;
            _ = PumpRequestAsync(request.Content!);
            if (!answerBeforeFirstRequest)
            {
                await _firstRequest.Task.WaitAsync(cancellationToken);
            }

            return Response;
        });
    }

    public FakeHttpHandler Handler { get; }

    public HttpResponseMessage Response { get; }

    public ForwardingStream ResponseBody { get; }

    public Dictionary<string, string>? RequestHeaders { get; private set; }

    public Uri? RequestUri { get; private set; }

    /// <summary>Completes when the client's request body ended (END_STREAM).</summary>
    public Task RequestEnded => _requestEnded.Task;

    public void OpenRequestWriteGate() => _requestWriteGate.TrySetResult();

    /// <summary>The next request message, or null when the request stream ended.</summary>
    public async Task<StringValue?> ReceiveAsync()
    {
        try
        {
            return await _requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async Task SendAsync(StringValue message)
    {
        await _responsePipe.Writer.WriteAsync(GrpcTestMessages.Frame(message));
    }

    public async Task FinishAsync(string status, string? message = null)
    {
        Response.TrailingHeaders.TryAddWithoutValidation("grpc-status", status);
        if (message is not null)
        {
            Response.TrailingHeaders.TryAddWithoutValidation("grpc-message", message);
        }

        await _responsePipe.Writer.CompleteAsync();
    }

    private async Task PumpRequestAsync(HttpContent content)
    {
        Task copy = CopyAsync(content);
        Stream reader = _requestPipe.Reader.AsStream();
        byte[] header = new byte[5];
        try
        {
            while (await reader.ReadAtLeastAsync(header, 5, throwOnEndOfStream: false) == 5)
            {
                byte[] payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
                await reader.ReadExactlyAsync(payload);
                _requests.Writer.TryWrite(StringValue.Parser.ParseFrom(payload));
                _firstRequest.TrySetResult();
            }
        }
        finally
        {
            _requests.Writer.TryComplete();
            _requestEnded.TrySetResult();
            await copy;
        }
    }

    private async Task CopyAsync(HttpContent content)
    {
        try
        {
            await content.CopyToAsync(new GatedWriteStream(_requestPipe.Writer.AsStream(), _requestWriteGate.Task));
        }
        catch (Exception)
        {
            // The client aborted the call; the server just sees the request end.
        }
        finally
        {
            await _requestPipe.Writer.CompleteAsync();
        }
    }

    /// <summary>Delegates to another stream and records its disposal.</summary>
    internal sealed class ForwardingStream(Stream inner) : AsyncOnlyStream
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Disposed => _disposed.Task;

        public bool IsDisposed => _disposed.Task.IsCompleted;

        public override bool CanRead => true;

        public override bool CanWrite => false;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            _disposed.TrySetResult();
            inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A write-only stream whose writes wait for a gate, then go to another stream.</summary>
    private sealed class GatedWriteStream(Stream inner, Task gate) : AsyncOnlyStream
    {
        public override bool CanRead => false;

        public override bool CanWrite => true;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    }
}
