using System.Runtime.CompilerServices;

namespace Etcd.Concurrency;

/// <summary>
/// What one <see cref="Session"/> object is doing with locks in this process: the lock slots it holds or waits for (a
/// session takes each lock at most once, since its key in the queue is fixed by its lease id), and its keys that a
/// bounded cleanup delete could not remove (so that a later attempt of the same session removes them instead of
/// mistaking them for a concurrent holder).
/// </summary>
internal sealed class SessionLockRegistry
{
    private static readonly ConditionalWeakTable<Session, SessionLockRegistry> s_registries = new();

    private readonly object _gate = new();
    private readonly HashSet<EtcdBytes> _slots = [];
    private readonly Dictionary<EtcdBytes, long> _orphans = [];

    public static SessionLockRegistry For(Session session) => s_registries.GetValue(session, static _ => new SessionLockRegistry());

    /// <summary>Claims a slot; false when this session already holds or waits for it.</summary>
    public bool TryEnter(EtcdBytes slot)
    {
        lock (_gate) return _slots.Add(slot);
    }

    public void Exit(EtcdBytes slot)
    {
        lock (_gate) _slots.Remove(slot);
    }

    /// <summary>Remembers a key of ours left on the server; <paramref name="createRevision"/> 0 when unknown.</summary>
    public void AddOrphan(EtcdBytes key, long createRevision)
    {
        lock (_gate) _orphans[key] = createRevision;
    }

    /// <summary>Forgets an orphan once it is known to be deleted (only the one created at <paramref name="createRevision"/>).</summary>
    public void RemoveOrphan(EtcdBytes key, long createRevision)
    {
        lock (_gate)
        {
            if (_orphans.TryGetValue(key, out var known) && (known == 0 || known == createRevision)) _orphans.Remove(key);
        }
    }

    /// <summary>True when the key created at <paramref name="createRevision"/> is a leftover of ours (and forgets it).</summary>
    public bool TryTakeOrphan(EtcdBytes key, long createRevision)
    {
        lock (_gate)
        {
            if (!_orphans.TryGetValue(key, out var known) || (known != 0 && known != createRevision)) return false;
            _orphans.Remove(key);
            return true;
        }
    }
}
