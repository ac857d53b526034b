namespace Etcd;

/// <summary>
/// Proof of leadership returned by <see cref="ElectionService.CampaignAsync"/>: what <see cref="ElectionService.ProclaimAsync"/>
/// and <see cref="ElectionService.ResignAsync"/> need. It stays valid while <see cref="Key"/> exists with create revision
/// <see cref="Revision"/>.
/// </summary>
/// <param name="Name">The election's name.</param>
/// <param name="Key">The leader's key: <c>name/&lt;lease id in hex&gt;</c>.</param>
/// <param name="Revision">The create revision of <paramref name="Key"/>.</param>
/// <param name="LeaseId">The lease the key is attached to.</param>
public sealed record LeaderKey(EtcdBytes Name, EtcdBytes Key, long Revision, long LeaseId);
