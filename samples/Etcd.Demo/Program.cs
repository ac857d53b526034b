// Walks through the snippets of txaioetcd's project page with Etcd for .NET:
// status, set 10 keys, get, range, prefix, delete with previous, a transaction that succeeds and one that fails,
// a watch with a callback, a lease with a key attached, then the page's plans: a lock used with a timeout,
// a leader election, a distributed counter and sequence, a queue, and users and roles with authentication on.
using Etcd;
using Etcd.Concurrency;

var endpoint = args.Length > 0 ? args[0] : "http://127.0.0.1:2379";
await using var etcd = new EtcdClient(endpoint);

Section("Cluster status");
var status = await etcd.Maintenance.StatusAsync();
Console.WriteLine($"etcd {status.Version} at {endpoint}: db {status.DbSize} bytes, leader {status.Leader:x}, " +
                  $"raft index {status.RaftIndex}, term {status.RaftTerm}, revision {status.Header.Revision}");

Section("Set 10 keys");
for (int i = 0; i < 10; i++)
{
    var put = await etcd.PutAsync($"mykey{i}", "foobar");
    Console.WriteLine($"put mykey{i} = foobar at revision {put.Header.Revision}");
}

Section("Get a key");
var result = await etcd.GetAsync("mykey1");
Console.WriteLine(result.First is { } kv ? Describe(kv) : "key not found");
Console.WriteLine((await etcd.GetValueAsync("nosuchkey")) is null ? "nosuchkey: key not found" : "unexpected value");

Section("Iterate over the key range [mykey1, mykey5)");
foreach (var item in (await etcd.GetAsync(KeySet.Range("mykey1", "mykey5"))).Kvs) Console.WriteLine(Describe(item));

Section("Iterate over keys with the prefix 'mykey' (paged scan, 4 keys per page)");
await foreach (var item in etcd.ScanAsync(KeySet.Prefix("mykey"), new ScanOptions { PageSize = 4 })) Console.WriteLine(Describe(item));

Section("Delete a single key");
Console.WriteLine($"deleted {(await etcd.DeleteAsync("mykey3")).Deleted} key(s)");

Section("Delete the range [mykey3, mykey7)");
Console.WriteLine($"deleted {(await etcd.DeleteAsync(KeySet.Range("mykey3", "mykey7"))).Deleted} key(s)");

Section("Delete the prefix 'mykey' and return the previous key-value pairs");
var deleted = await etcd.DeleteAsync(KeySet.Prefix("mykey"), prevKv: true);
foreach (var item in deleted.PrevKvs) Console.WriteLine($"deleted {Describe(item)}");

Section("A transaction that succeeds");
await etcd.PutAsync("mykey1", "val1");
await RunTransactionAsync();

Section("The same transaction again: it fails, and the failure carries the else-branch responses");
await RunTransactionAsync();

Section("Watch keys with a callback (from now), then cancel the watch");
var changes = new List<string>();
await using (var watch = etcd.Watch.Watch(KeySet.Prefix("mykey"), e => { lock (changes) changes.Add($"{e.Type} {e.Kv.Key} = {e.Kv.Value} (revision {e.Revision})"); }))
{
    await watch.Started;
    await etcd.PutAsync("mykey5", "watched");
    await etcd.DeleteAsync("mykey5");
    while (watch.SeenRevision < (await etcd.GetAsync("mykey5")).Header.Revision) await Task.Delay(10);
}
lock (changes) foreach (var change in changes) Console.WriteLine($"on_change: {change}");

Section("Leases: a key that lives as long as its lease");
await using (var lease = await etcd.Leases.CreateAsync(TimeSpan.FromSeconds(10)))
{
    await etcd.PutAsync("mykey-leased", "temporary", new PutOptions { Lease = lease.Id });
    var ttl = await etcd.Leases.TimeToLiveAsync(lease.Id, includeKeys: true);
    Console.WriteLine($"lease {lease.Id:x}: TTL {ttl.Ttl.TotalSeconds:0} s of {ttl.GrantedTtl.TotalSeconds:0} s, keys: {string.Join(", ", ttl.Keys)}; kept alive in the background");
}
Console.WriteLine($"after revoking the lease, mykey-leased is {((await etcd.GetValueAsync("mykey-leased")) is null ? "gone" : "still there")}");

Section("A global lock with a timeout (the same keys as `etcdctl lock demo/lock`)");
await using (var session = await Session.CreateAsync(etcd, new SessionOptions { Ttl = TimeSpan.FromSeconds(10) }))
await using (var other = await Session.CreateAsync(etcd, new SessionOptions { Ttl = TimeSpan.FromSeconds(10) }))
{
    await using (var held = await new EtcdLock(session, "demo/lock").LockAsync(TimeSpan.FromSeconds(5)))
    {
        Console.WriteLine($"held {held.Key} with fencing revision {held.Revision}");
        var second = await new EtcdLock(other, "demo/lock").TryLockAsync(TimeSpan.FromMilliseconds(200));
        Console.WriteLine($"a second session trying for 200 ms: {(second is null ? "not acquired" : "acquired?!")}");
        var fenced = await held.FencedTxn().Then(TxnOp.Put("demo/state", "written under the lock")).CommitAsync();
        Console.WriteLine($"fenced write succeeded: {fenced.Succeeded}");
    }
    await using (var next = await new EtcdLock(other, "demo/lock").LockAsync(TimeSpan.FromSeconds(5)))
    {
        Console.WriteLine($"after release the second session holds it, revision {next.Revision}");
    }

    Section("Leader election");
    var election = new Election(session, "demo/election");
    await using (var leadership = await election.CampaignAsync("node-1"))
    {
        await leadership.ProclaimAsync("node-1 (v2)");
        var leader = await election.GetLeaderAsync();
        Console.WriteLine($"leader: {leader?.ValueString} (key {leader?.Key})");
    }
    Console.WriteLine($"after resigning: {((await election.GetLeaderAsync()) is null ? "no leader" : "a leader")}");
}

Section("A distributed counter and a sequence");
var counter = new EtcdCounter(etcd, "demo/counter");
await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => counter.IncrementAsync()));
Console.WriteLine($"10 concurrent increments: counter = {await counter.GetAsync()}");
var sequence = new EtcdSequence(etcd, "demo/sequence");
Console.WriteLine($"sequence: {await sequence.NextAsync()}, {await sequence.NextAsync()}, {await sequence.NextAsync()}");

Section("A multi-producer, multi-consumer queue");
var queue = new DistributedQueue(etcd, "demo/queue");
var consumer = queue.DequeueAsync();   // waits (by watch) until an item arrives
foreach (var job in new[] { "job-1", "job-2", "job-3" }) await queue.EnqueueAsync(job);
Console.WriteLine($"consumer got {(await consumer).ToStringUtf8()}, then {(await queue.DequeueAsync()).ToStringUtf8()}, then {(await queue.DequeueAsync()).ToStringUtf8()}; left: {await queue.CountAsync()}");

Section("Authentication: a user confined to a prefix (the admin API the page wished for)");
await etcd.Auth.AddUserAsync("root", "root-demo-pw");
await etcd.Auth.GrantRoleAsync("root", "root");
await etcd.Auth.AddRoleAsync("app");
await etcd.Auth.GrantPermissionAsync("app", EtcdPermission.ReadWrite(KeySet.Prefix("demo/app/")));
await etcd.Auth.AddUserAsync("app", "app-demo-pw");
await etcd.Auth.GrantRoleAsync("app", "app");
await etcd.Auth.EnableAsync();
await using (var app = new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint], Credentials = new EtcdCredentials("app", "app-demo-pw") }))
await using (var root = new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint], Credentials = new EtcdCredentials("root", "root-demo-pw") }))
{
    await app.PutAsync("demo/app/setting", "on");
    Console.WriteLine($"app wrote demo/app/setting = {await app.GetStringAsync("demo/app/setting")}");
    try
    {
        await app.PutAsync("demo/other", "x");
    }
    catch (EtcdPermissionDeniedException denied)
    {
        Console.WriteLine($"app may not write demo/other: {denied.ServerMessage}");
    }
    Console.WriteLine($"users: {string.Join(", ", (await root.Auth.ListUsersAsync()).Users)}; app's roles: {string.Join(", ", (await root.Auth.GetUserAsync("app")).Roles)}");
    await root.Auth.DisableAsync();
}
await etcd.Auth.DeleteUserAsync("app");
await etcd.Auth.DeleteRoleAsync("app");
await etcd.Auth.DeleteUserAsync("root");

await etcd.DeleteAsync(KeySet.Prefix("mykey"));
await etcd.DeleteAsync(KeySet.Prefix("demo/"));
Console.WriteLine();
Console.WriteLine("Demo finished.");

async Task RunTransactionAsync()
{
    try
    {
        var txn = await etcd.Txn()
            .If(Compare.Value("mykey1").Equal("val1"))
            .Then(TxnOp.Put("mykey1", "val2"), TxnOp.Put("mykey2", "success"))
            .Else(TxnOp.Put("mykey2", "failure"), TxnOp.Get("mykey1"))
            .CommitOrThrowAsync();
        Console.WriteLine($"transaction SUCCESS at revision {txn.Header.Revision}:");
        foreach (var response in txn.Responses) Console.WriteLine($"  {DescribeResponse(response)}");
    }
    catch (EtcdTransactionFailedException failed)
    {
        Console.WriteLine($"transaction FAILED at revision {failed.Response.Header.Revision}:");
        foreach (var response in failed.Responses) Console.WriteLine($"  {DescribeResponse(response)}");
    }
}

static string Describe(KeyValue kv) =>
    $"{kv.Key} = {kv.Value} (created {kv.CreateRevision}, modified {kv.ModRevision}, version {kv.Version})";

static string DescribeResponse(EtcdResponse response) => response switch
{
    PutResponse => $"put at revision {response.Header.Revision}",
    GetResponse get => $"get: {string.Join(", ", get.Kvs.Select(Describe))}",
    DeleteResponse delete => $"delete: {delete.Deleted} key(s)",
    _ => response.GetType().Name,
};

static void Section(string title)
{
    Console.WriteLine();
    Console.WriteLine($"== {title}");
}
