using Etcd.Concurrency;

namespace Etcd.Tests.Unit;

public sealed class SessionLockRegistryTests
{
    [Fact]
    public void A_slot_is_taken_once_until_exited()
    {
        var registry = new SessionLockRegistry();
        Assert.True(registry.TryEnter("mutex\0a/1"));
        Assert.False(registry.TryEnter("mutex\0a/1"));
        Assert.True(registry.TryEnter("mutex\0b/1"));
        registry.Exit("mutex\0a/1");
        Assert.True(registry.TryEnter("mutex\0a/1"));
    }

    [Fact]
    public void An_orphan_matches_only_its_create_revision_and_is_taken_once()
    {
        var registry = new SessionLockRegistry();
        registry.AddOrphan("a/1", 10);
        Assert.False(registry.TryTakeOrphan("a/1", 11));
        Assert.False(registry.TryTakeOrphan("b/1", 10));
        Assert.True(registry.TryTakeOrphan("a/1", 10));
        Assert.False(registry.TryTakeOrphan("a/1", 10));
    }

    [Fact]
    public void An_orphan_of_unknown_revision_matches_any_and_removal_respects_revisions()
    {
        var registry = new SessionLockRegistry();
        registry.AddOrphan("a/1", 0);
        Assert.True(registry.TryTakeOrphan("a/1", 42));

        registry.AddOrphan("a/1", 7);
        registry.RemoveOrphan("a/1", 8); // another acquisition's key: the orphan stays
        Assert.True(registry.TryTakeOrphan("a/1", 7));
        registry.AddOrphan("a/1", 7);
        registry.RemoveOrphan("a/1", 7);
        Assert.False(registry.TryTakeOrphan("a/1", 7));
    }
}
