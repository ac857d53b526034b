// The Node peer of ./run.sh compare: runs ONE workload with npm etcd3 and prints "@result {json}".
// Arguments and output: bench/compare/README.md (the .NET and Go peers implement the same protocol).
// Run with `node --expose-gc bench.js ...` so the memory samples follow a full collection.
'use strict';
const crypto = require('crypto');
const readline = require('readline');
const { Etcd3 } = require('etcd3');
const { noop } = require('cockatiel');

const KEY_SPACE = 10000;

function fail(message) {
  process.stderr.write(`error: ${message && message.stack ? message.stack : message}\n`);
  process.exit(1);
}

function parse(argv) {
  const o = {
    endpoint: 'http://127.0.0.1:2379', workload: 'put', callers: 1, duration: 5, warmup: 1, prefix: 'cmp/',
    count: 10000, pageSize: 1000, leaseTtl: 6, sync: false,
  };
  const numbers = { '--callers': 'callers', '--duration': 'duration', '--warmup': 'warmup', '--count': 'count', '--page-size': 'pageSize', '--lease-ttl': 'leaseTtl' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : fail(`${a} needs a value`));
    if (a === '--endpoint') o.endpoint = next();
    else if (a === '--workload') o.workload = next();
    else if (a === '--prefix') o.prefix = next();
    else if (a === '--sync') o.sync = true;
    else if (numbers[a]) o[numbers[a]] = Number(next());
    else fail(`unknown argument ${a}`);
  }
  if (o.prefix.length > 10 || !(o.callers >= 1 && o.count >= 1 && o.pageSize >= 1 && o.leaseTtl >= 1 && o.duration > 0 && o.warmup >= 0)) fail('bad arguments');
  return o;
}

const o = parse(process.argv.slice(2));
let lines = null;

/** With --sync: prints "@mark NAME" and waits for the driver's line, so the driver samples /proc right here. */
async function mark(name) {
  if (!o.sync) return;
  if (lines === null) lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write(`@mark ${name}\n`);
  const line = await lines.next();
  if (line.done) fail('the driver closed stdin');
}

/** A 16-byte key: the prefix and the zero-padded index. */
const key = (prefix, index) => prefix + String(index).padStart(16 - prefix.length, '0');
const nowNs = () => Number(process.hrtime.bigint());
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function collectGarbage() {
  if (global.gc) {
    global.gc();
    global.gc();
  }
}

/** The sorted latencies (ns), element ceil(q n) - 1, in milliseconds (null when empty). */
function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(Math.max(Math.ceil(q * sorted.length) - 1, 0), sorted.length - 1);
  return sorted[i] / 1e6;
}

const sortNumbers = a => Float64Array.from(a).sort();

async function closedLoop(operation, callers, seconds, latencies) {
  let count = 0;
  const stopAt = nowNs() + seconds * 1e9;
  const caller = async c => {
    for (let i = c * 7919; nowNs() < stopAt; i++) {
      const start = nowNs();
      await operation(i);
      if (latencies) latencies.push(nowNs() - start);
      count++;
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  return count;
}

/** put, get-serializable, get-linearizable, txn-put-if-absent: N callers in a closed loop. */
async function load(client) {
  const value = crypto.randomBytes(256);
  const keys = Array.from({ length: KEY_SPACE }, (_, i) => key(o.prefix, i));
  if (o.workload.startsWith('get-')) {
    for (let i = 0; i < KEY_SPACE; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map(k => client.put(k).value(value).exec()));
    }
  }
  let txnCounter = 0;
  const operations = {
    put: i => client.put(keys[i % KEY_SPACE]).value(value).exec(),
    'get-serializable': i => client.get(keys[i % KEY_SPACE]).serializable(true).exec(),
    'get-linearizable': i => client.get(keys[i % KEY_SPACE]).exec(),
    'txn-put-if-absent': () => {
      const k = key(o.prefix, ++txnCounter);
      return client.if(k, 'Create', '==', 0).then(client.put(k).value(value)).commit();
    },
  };
  const operation = operations[o.workload];
  await closedLoop(operation, o.callers, o.warmup, null);
  const latencies = [];
  await mark('start');
  const started = nowNs();
  const ops = await closedLoop(operation, o.callers, o.duration, latencies);
  const seconds = (nowNs() - started) / 1e9;
  await mark('end');
  const sorted = sortNumbers(latencies);
  return { ops, seconds, p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99), alloc_bytes: null };
}

/** One prefix watcher, N writers each putting its own key; values carry writer, sequence and send time. */
async function watchPhase(client, prefix, writers, seconds, measured) {
  const latencies = [];
  let received = 0, unique = 0, duplicated = 0, reordered = 0, lastRevision = 0, lastEventAt = 0;
  const lastSeq = new Array(writers).fill(-1);
  // create() resolves once etcd has confirmed the watch.
  const watcher = await client.watch().prefix(prefix).create();
  watcher.on('put', kv => {
    const now = nowNs();
    const v = kv.value;
    const writer = v.readInt32LE(0);
    const seq = Number(v.readBigInt64LE(4));
    latencies.push(now - Number(v.readBigInt64LE(12)));
    const revision = Number(kv.mod_revision);
    if (revision <= lastRevision) reordered++;
    lastRevision = revision;
    if (seq <= lastSeq[writer]) duplicated++;
    else {
      lastSeq[writer] = seq;
      unique++;
    }
    lastEventAt = now;
    received++;
  });
  const written = new Array(writers).fill(0);
  const started = nowNs();
  const stopAt = started + seconds * 1e9;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const k = key(prefix, w);
    for (let seq = 0; nowNs() < stopAt; seq++) {
      const v = Buffer.alloc(256);
      v.writeInt32LE(w, 0);
      v.writeBigInt64LE(BigInt(seq), 4);
      v.writeBigInt64LE(process.hrtime.bigint(), 12);
      await client.put(k).value(v).exec();
      written[w] = seq + 1;
    }
  }));
  const totalWritten = written.reduce((a, b) => a + b, 0);
  // Drain: wait while events keep coming (a missing event shows as 5 s without progress).
  let lastProgress = nowNs(), seen = unique;
  while (seen < totalWritten && nowNs() - lastProgress < 5e9) {
    await sleep(10);
    if (unique > seen) {
      lastProgress = nowNs();
      seen = unique;
    }
  }
  const end = Math.max(lastEventAt, stopAt);
  if (measured) await mark('end');
  await watcher.cancel();
  const sorted = sortNumbers(latencies);
  return {
    ops: received, seconds: (end - started) / 1e9, p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99),
    written: totalWritten, lost: totalWritten - unique, duplicated, reordered, alloc_bytes: null,
  };
}

async function watch(client) {
  if (o.warmup > 0) await watchPhase(client, o.prefix + 'w', o.callers, o.warmup, false);
  await mark('start');
  return watchPhase(client, o.prefix + 'r', o.callers, o.duration, true);
}

function prefixEnd(prefix) {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Pages through the prefix, every page at the revision of the first; a page is timed from its call to the end of
 * consuming its pairs. Stops early when stopAt (ns) is passed, for the warm-up. */
async function scanOnce(client, pages, stopAt) {
  let start = Buffer.from(o.prefix);
  const end = prefixEnd(o.prefix);
  let revision = null, n = 0, bytes = 0;
  for (;;) {
    const t = nowNs();
    let builder = client.getAll().inRange({ start, end }).limit(o.pageSize);
    if (revision !== null) builder = builder.revision(revision);
    const res = await builder.exec();
    if (revision === null) revision = res.header.revision;
    for (const kv of res.kvs) {
      bytes += kv.value.length;
      n++;
    }
    if (pages) pages.push(nowNs() - t);
    if (!res.more || res.kvs.length === 0 || (stopAt && nowNs() > stopAt)) return { n, bytes };
    start = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
  }
}

async function scan(client) {
  if (o.warmup > 0) await scanOnce(client, null, nowNs() + o.warmup * 1e9);
  const pages = [];
  await mark('start');
  const started = nowNs();
  let total = 0, bytes = 0, scans = 0, error = null;
  do {
    const r = await scanOnce(client, pages, 0);
    if (r.n !== o.count) error = `scan returned ${r.n} keys, expected ${o.count}`;
    total += r.n;
    bytes += r.bytes;
    scans++;
  } while (nowNs() - started < o.duration * 1e9);
  const seconds = (nowNs() - started) / 1e9;
  await mark('end');
  const sorted = sortNumbers(pages);
  return { ops: total, seconds, p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99), alloc_bytes: null, scans, value_bytes: bytes, error };
}

/** N watches on distinct keys over etcd3's one watch stream, created at once and held idle. */
async function idleWatches(client) {
  if (o.warmup > 0) {
    const warm = await Promise.all(Array.from({ length: 200 }, (_, i) => client.watch().key(key(o.prefix + 'w', i)).create()));
    await Promise.all(warm.map(w => w.cancel()));
  }
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  await mark('base');
  const started = nowNs();
  let lost = 0;
  const watchers = await Promise.all(Array.from({ length: o.count }, (_, i) => client.watch().key(key(o.prefix, i)).create()));
  const seconds = (nowNs() - started) / 1e9;
  for (const w of watchers) w.on('end', () => lost++);
  await mark('created');
  collectGarbage();
  const heapHeld = process.memoryUsage().heapUsed - heapBefore;
  await mark('held');
  await sleep(o.duration * 1000);
  await mark('end');
  return { ops: o.count, seconds, p50_ms: null, p99_ms: null, alloc_bytes: null, heap_bytes: heapHeld, hold_seconds: o.duration, lost };
}

/** N leases granted by the callers and kept alive by etcd3 (client.lease: one keep-alive stream per lease), held. */
async function leases(client) {
  let lost = 0, ending = false;
  const create = async () => {
    const lease = client.lease(o.leaseTtl);
    lease.on('lost', () => { if (!ending) lost++; });
    await lease.grant();
    return lease;
  };
  if (o.warmup > 0) {
    ending = true;
    const warm = await Promise.all(Array.from({ length: 200 }, create));
    await Promise.all(warm.map(l => l.revoke()));
    ending = false;
  }
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  await mark('base');
  const started = nowNs();
  const held = new Array(o.count);
  let next = 0;
  await Promise.all(Array.from({ length: o.callers }, async () => {
    for (let i = next++; i < o.count; i = next++) held[i] = await create();
  }));
  const seconds = (nowNs() - started) / 1e9;
  await mark('created');
  collectGarbage();
  const heapHeld = process.memoryUsage().heapUsed - heapBefore;
  await mark('held');
  await sleep(o.duration * 1000);
  const lostNow = lost;
  ending = true;
  await mark('end');
  return { ops: o.count, seconds, p50_ms: null, p99_ms: null, alloc_bytes: null, heap_bytes: heapHeld, hold_seconds: o.duration, lost: lostNow };
}

function versions() {
  const version = name => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return '?';
    }
  };
  return `etcd3 ${version('etcd3')}, @grpc/grpc-js ${version('@grpc/grpc-js')}, node ${process.version}`;
}

async function main() {
  // etcd3's per-host circuit breaker is off (its documented way, `host: () => noop`; the global retry policy stays):
  // while 10,000 leases are granted on a busy 2-core machine, etcd answers some of etcd3's immediate keep-alives with
  // "waiting for the applied index took too long"; three in a row open the breaker and every later call fails at
  // once for 5 s. The Go client and ours retry such keep-alives instead, so this is the closest equal footing.
  const client = new Etcd3({ hosts: o.endpoint, faultHandling: { host: () => noop } });
  const workloads = {
    put: load, 'get-serializable': load, 'get-linearizable': load, 'txn-put-if-absent': load,
    watch, scan, 'idle-watches': idleWatches, leases,
  };
  if (!workloads[o.workload]) fail(`unknown workload ${o.workload}`);
  const result = await workloads[o.workload](client);
  Object.assign(result, { client: 'node', versions: versions(), workload: o.workload, callers: o.callers });
  process.stdout.write(`@result ${JSON.stringify(result)}\n`);
  // Leases and watches are not cleaned up here: the driver revokes and deletes what is left.
  process.exit(0);
}

main().catch(fail);
