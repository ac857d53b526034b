using System.Threading.Channels;
using Pb = Etcd.Protocol;

namespace Etcd.Operations;

/// <summary>
/// One watch of a client: what it watches, the revision to resume from, and its bounded buffer of responses. The
/// manager's receive loop is the only writer; the consumer is the only reader.
/// </summary>
internal sealed class Watcher
{
    private readonly Channel<WatchResponse> _buffer;
    private readonly WatchManager _manager;
    private int _ended;

    public Watcher(WatchManager manager, KeySet keys, WatchOptions options)
    {
        _manager = manager;
        Keys = keys;
        Options = options;
        NextRevision = options.StartRevision;
        _buffer = Channel.CreateBounded<WatchResponse>(new BoundedChannelOptions(options.BufferSize)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the manager pauses the watch instead of waiting
        });
    }

    public KeySet Keys { get; }

    public WatchOptions Options { get; }

    /// <summary>The id of the watch's current incarnation on the server (a new one after every pause or reconnect); 0 when none.</summary>
    public long ServerId { get; set; }

    /// <summary>The first revision not yet buffered: where a re-created watch starts. 0 until the first creation of a "from now" watch.</summary>
    public long NextRevision { get; set; }

    /// <summary>The header revision of the server's first "created" answer (the store revision it read then); 0 before.</summary>
    public long CreatedRevision { get; set; }

    /// <summary>True while the watch is paused on the server because its consumer fell behind.</summary>
    public bool Paused { get; set; }

    public bool Ended => Volatile.Read(ref _ended) != 0;

    public ChannelReader<WatchResponse> Reader => _buffer.Reader;

    /// <summary>
    /// Waits for a response; throws the exception the watch ended with. (A channel completed while a reader waits hands
    /// that reader a ChannelClosedException wrapping it; the consumer must see the watch's own exception.)
    /// </summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _buffer.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException closed) when (closed.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(closed.InnerException);
            throw;
        }
    }

    /// <summary>Completes when the server first confirmed the watch (its starting revision is then fixed).</summary>
    public TaskCompletionSource Created { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Pb.WatchCreateRequest CreateRequest(long serverId)
    {
        var request = new Pb.WatchCreateRequest
        {
            Key = ProtoMapping.ToByteString(Keys.WireKey),
            RangeEnd = ProtoMapping.ToByteString(Keys.WireRangeEnd),
            StartRevision = NextRevision,
            PrevKv = Options.PrevKv,
            ProgressNotify = Options.ProgressNotify,
            WatchId = serverId,
            Fragment = true,
        };
        if (Options.NoPut) request.Filters.Add(Pb.WatchCreateRequest.Types.FilterType.Noput);
        if (Options.NoDelete) request.Filters.Add(Pb.WatchCreateRequest.Types.FilterType.Nodelete);
        return request;
    }

    /// <summary>Buffers a response; false when the buffer is full (the caller pauses the watch).</summary>
    public bool TryDeliver(WatchResponse response) => !Ended && _buffer.Writer.TryWrite(response);

    /// <summary>Called by the consumer after each read: resumes a paused watch once half the buffer is free.</summary>
    public void OnConsumed()
    {
        if (Paused && _buffer.Reader.Count <= Options.BufferSize / 2) _manager.Resume(this);
    }

    /// <summary>Ends the watch: the consumer reads what is buffered, then sees <paramref name="error"/> (or the end).</summary>
    public bool End(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0) return false;
        _buffer.Writer.TryComplete(error);
        if (error is null) Created.TrySetCanceled();
        else if (Created.TrySetException(error)) _ = Created.Task.Exception; // observed: nobody has to await Started
        return true;
    }
}
