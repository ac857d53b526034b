using Etcd.Operations;
using Pb = Etcd.Protocol;

namespace Etcd;

/// <summary>Maintenance calls: member status (and, later, alarms, defragmentation, snapshots). Reached through <see cref="EtcdClient.Maintenance"/>.</summary>
public sealed class MaintenanceClient
{
    private readonly EtcdCallInvoker _invoker;

    internal MaintenanceClient(EtcdCallInvoker invoker) => _invoker = invoker;

    /// <summary>Reads the status of the member the client is connected to: version, database size, leader, raft index and term.</summary>
    public async Task<StatusResponse> StatusAsync(CancellationToken cancellationToken = default)
    {
        var response = await _invoker.UnaryAsync(EtcdMethods.Status, new Pb.StatusRequest(), cancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToStatus(response);
    }
}
