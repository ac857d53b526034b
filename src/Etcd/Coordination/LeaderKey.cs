namespace Etcd;

/// <summary>
/// Proof of leadership returned by <see cref="ElectionService.CampaignAsync"/>: what <see cref="ElectionService.ProclaimAsync"/>
/// and <see cref="ElectionService.ResignAsync"/> need. It stays valid while <see cref="Key"/> exists with create revision
/// <see cref="Revision"/>; nothing tells when that ends, so fence writes made as leader with <see cref="Fence"/>.
/// </summary>
/// <param name="Name">The election's name.</param>
/// <param name="Key">The leader's key: <c>name/&lt;lease id in hex&gt;</c>.</param>
/// <param name="Revision">The create revision of <paramref name="Key"/>.</param>
/// <param name="LeaseId">The lease the key is attached to.</param>
public sealed record LeaderKey(EtcdBytes Name, EtcdBytes Key, long Revision, long LeaseId)
{
    /// <summary>A compare that holds only while this leadership lasts (the key still has <see cref="Revision"/>): add it to a transaction to fence its writes.</summary>
    public Compare Fence => Compare.CreateRevision(Key).Equal(Revision);
}
