namespace Etcd;

/// <summary>What happened to a key.</summary>
public enum WatchEventType
{
    /// <summary>The key was created or changed.</summary>
    Put = 0,
    /// <summary>The key was deleted (or its lease expired).</summary>
    Delete = 1,
}

/// <summary>One change of one key.</summary>
/// <param name="Type">Put or delete.</param>
/// <param name="Kv">The key after the change; for a delete, the key with the revision of the delete and no value.</param>
/// <param name="PrevKv">The key before the change, when <see cref="WatchOptions.PrevKv"/> was asked for and it existed.</param>
public sealed record WatchEvent(WatchEventType Type, KeyValue Kv, KeyValue? PrevKv)
{
    /// <summary>The revision of the change (the key's modification revision).</summary>
    public long Revision => Kv.ModRevision;
}

/// <summary>
/// What a watch delivers at once: the events of one revision (one transaction) or more, in order, or a progress
/// notification that the watch has seen every change up to <see cref="ResponseHeader.Revision"/>.
/// </summary>
/// <param name="Header">The response header.</param>
/// <param name="Events">The events, in revision order (empty for a progress notification).</param>
/// <param name="IsProgressNotify">True when this only reports progress.</param>
/// <param name="SeenRevision">Every change up to this revision has been delivered to the watcher with this response.
/// For the answer to <see cref="WatchClient.RequestProgressAsync"/> it is the last revision the watch had buffered, not
/// the header's revision: etcd 3.4 does not order that answer with the watch's events.</param>
public sealed record WatchResponse(ResponseHeader Header, IReadOnlyList<WatchEvent> Events, bool IsProgressNotify, long SeenRevision)
    : EtcdResponse(Header);

/// <summary>Options of a watch.</summary>
public sealed record WatchOptions
{
    /// <summary>Deliver changes from this revision on (it may be in the past); 0 for changes after now.</summary>
    public long StartRevision { get; init; }

    /// <summary>Include the previous key-value with each event.</summary>
    public bool PrevKv { get; init; }

    /// <summary>Leave out put events.</summary>
    public bool NoPut { get; init; }

    /// <summary>Leave out delete events.</summary>
    public bool NoDelete { get; init; }

    /// <summary>Ask the server for periodic progress notifications while nothing changes (etcd sends one every 10 minutes by default).</summary>
    public bool ProgressNotify { get; init; }

    /// <summary>
    /// How many responses may wait for a slow consumer (default 1,024). When the buffer is full the watch is paused on
    /// the server and resumed from the first revision not buffered once the consumer has read half of it: nothing is
    /// lost or duplicated, memory stays bounded, and other watches on the stream never wait.
    /// </summary>
    public int BufferSize { get; init; } = 1024;

    internal void Validate(string paramName)
    {
        Guard.NonNegative(StartRevision, paramName, nameof(StartRevision));
        if (BufferSize < 2) throw new ArgumentOutOfRangeException(paramName, BufferSize, "WatchOptions.BufferSize must be at least 2.");
        if (NoPut && NoDelete) throw new ArgumentException("NoPut and NoDelete together would deliver nothing.", paramName);
    }
}
