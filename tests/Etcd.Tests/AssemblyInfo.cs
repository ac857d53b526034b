// Integration test classes each start their own etcd (about 0.3 s, a few MB on tmpfs); four classes at a
// time keep a 2-core machine busy without starving etcd's raft ticks.
[assembly: CollectionBehavior(MaxParallelThreads = 4)]
