using System.Collections.Concurrent;

namespace Etcd;

/// <summary>
/// The lock and election keys this client holds or is acquiring through the server's services, so that one lease
/// never asks twice for the same name at once. The server would answer a second Lock or Campaign with the first
/// one's key (the key is name/lease), and the clean-up after a cancelled second call would then release the first.
/// </summary>
internal sealed class HeldKeys
{
    private readonly ConcurrentDictionary<EtcdBytes, Claim> _claims = new();
    private readonly string _what;

    public HeldKeys(string what) => _what = what;

    /// <summary>Claims <paramref name="key"/> for a new attempt; throws <see cref="InvalidOperationException"/> if it is held or pending.</summary>
    public Claim Take(EtcdBytes key, EtcdBytes name, Lease lease)
    {
        var claim = new Claim(this, key);
        if (!_claims.TryAdd(key, claim))
        {
            throw new InvalidOperationException(
                $"Lease {lease.Id:x} already holds or is acquiring {_what} '{name}' through this client. One lease holds a given " +
                $"{_what} name at most once: release the first one, or use another lease.");
        }
        // A lost lease takes its keys with it, so the claim need not outlive it.
        claim.LeaseRegistration = lease.Lost.Register(static state => ((Claim)state!).Release(), claim);
        return claim;
    }

    /// <summary>The claim on <paramref name="key"/>, if any.</summary>
    public Claim? Find(EtcdBytes key) => _claims.TryGetValue(key, out var claim) ? claim : null;

    /// <summary>Whether a claim on <paramref name="key"/> exists (for tests).</summary>
    public bool Contains(EtcdBytes key) => _claims.ContainsKey(key);

    /// <summary>One key held or being acquired.</summary>
    internal sealed class Claim
    {
        private readonly HeldKeys _owner;

        public Claim(HeldKeys owner, EtcdBytes key)
        {
            _owner = owner;
            Key = key;
        }

        public EtcdBytes Key { get; }

        /// <summary>The create revision of the key once acquired (0 while pending).</summary>
        public long Revision { get; set; }

        public CancellationTokenRegistration LeaseRegistration { get; set; }

        /// <summary>Forgets the claim (only this one, never a later claim on the same key).</summary>
        public void Release()
        {
            if (_owner._claims.TryRemove(new KeyValuePair<EtcdBytes, Claim>(Key, this))) LeaseRegistration.Unregister();
        }
    }
}
