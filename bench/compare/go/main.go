// The Go peer of ./run.sh compare: runs ONE workload with etcd's Go client (go.etcd.io/etcd/clientv3) and prints
// "@result {json}". Arguments and output: bench/compare/README.md (the .NET and Node peers implement the same protocol).
// Built offline in GOPATH mode against Debian's golang-etcd-server-dev (bench/compare/prepare.sh).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/version"
	"google.golang.org/grpc"
)

const keySpace = 10000

type options struct {
	endpoint, workload, prefix string
	callers, count, pageSize   int
	leaseTTL                   int64
	duration, warmup           time.Duration
	sync                       bool
}

type result map[string]interface{}

var stdin = bufio.NewReader(os.Stdin)

// mark prints "@mark NAME" and waits for the driver's line (with --sync), so the driver samples /proc right here.
func (o *options) mark(name string) {
	if !o.sync {
		return
	}
	fmt.Fprintf(os.Stdout, "@mark %s\n", name)
	if _, err := stdin.ReadString('\n'); err != nil {
		fail(fmt.Errorf("the driver closed stdin: %w", err))
	}
}

// key is a 16-byte key: the prefix and the zero-padded index.
func key(prefix string, index int64) string {
	s := strconv.FormatInt(index, 10)
	return prefix + strings.Repeat("0", 16-len(prefix)-len(s)) + s
}

func newValue() string {
	b := make([]byte, 256)
	rand.Read(b)
	return string(b)
}

// collectGarbage runs a full collection and returns freed memory to the OS, so a following sample holds live objects.
func collectGarbage() {
	runtime.GC()
	debug.FreeOSMemory()
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// percentile: the sorted latencies, element ceil(q n) - 1, in milliseconds (nil when empty).
func percentile(sorted []time.Duration, q float64) interface{} {
	if len(sorted) == 0 {
		return nil
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / 1e6
}

func sortDurations(d []time.Duration) []time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func main() {
	var o options
	var duration, warmup float64
	var ttl int
	flag.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:2379", "etcd endpoint")
	flag.StringVar(&o.workload, "workload", "put", "put|get-serializable|get-linearizable|txn-put-if-absent|watch|scan|idle-watches|leases")
	flag.IntVar(&o.callers, "callers", 1, "concurrent callers (watch: writers)")
	flag.Float64Var(&duration, "duration", 5, "seconds measured")
	flag.Float64Var(&warmup, "warmup", 1, "seconds of warm-up")
	flag.StringVar(&o.prefix, "prefix", "cmp/", "key prefix")
	flag.IntVar(&o.count, "count", 10000, "scan: keys expected; idle-watches, leases: how many")
	flag.IntVar(&o.pageSize, "page-size", 1000, "scan page size")
	flag.IntVar(&ttl, "lease-ttl", 6, "lease TTL in seconds")
	flag.BoolVar(&o.sync, "sync", false, "handshake marks with the driver")
	flag.Parse()
	o.duration = time.Duration(duration * float64(time.Second))
	o.warmup = time.Duration(warmup * float64(time.Second))
	o.leaseTTL = int64(ttl)
	if len(o.prefix) > 10 || o.callers < 1 || o.count < 1 || o.pageSize < 1 || o.leaseTTL < 1 || o.duration <= 0 || o.warmup < 0 {
		fail(fmt.Errorf("bad arguments"))
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{o.endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		fail(err)
	}
	var r result
	switch o.workload {
	case "put", "get-serializable", "get-linearizable", "txn-put-if-absent":
		r = load(cli, &o)
	case "watch":
		r = watch(cli, &o)
	case "scan":
		r = scan(cli, &o)
	case "idle-watches":
		r = idleWatches(cli, &o)
	case "leases":
		r = leases(cli, &o)
	default:
		fail(fmt.Errorf("unknown workload %s", o.workload))
	}
	r["client"] = "go"
	r["versions"] = fmt.Sprintf("clientv3 %s, grpc-go %s, %s", version.Version, grpc.Version, runtime.Version())
	r["workload"] = o.workload
	r["callers"] = o.callers
	line, err := json.Marshal(r)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stdout, "@result %s\n", line)
	// Leases and watches are not cleaned up here: the driver revokes and deletes what is left.
	os.Exit(0)
}

// load runs put, get-serializable, get-linearizable or txn-put-if-absent with N callers in a closed loop.
func load(cli *clientv3.Client, o *options) result {
	ctx := context.Background()
	value := newValue()
	keys := make([]string, keySpace)
	for i := range keys {
		keys[i] = key(o.prefix, int64(i))
	}
	if strings.HasPrefix(o.workload, "get-") {
		for i := 0; i < keySpace; i += 100 {
			ops := make([]clientv3.Op, 0, 100)
			for j := i; j < i+100; j++ {
				ops = append(ops, clientv3.OpPut(keys[j], value))
			}
			if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
				fail(err)
			}
		}
	}
	var txnCounter int64
	var operation func(i int64) error
	switch o.workload {
	case "put":
		operation = func(i int64) error { _, err := cli.Put(ctx, keys[i%keySpace], value); return err }
	case "get-serializable":
		operation = func(i int64) error { _, err := cli.Get(ctx, keys[i%keySpace], clientv3.WithSerializable()); return err }
	case "get-linearizable":
		operation = func(i int64) error { _, err := cli.Get(ctx, keys[i%keySpace]); return err }
	case "txn-put-if-absent":
		operation = func(int64) error {
			k := key(o.prefix, atomic.AddInt64(&txnCounter, 1))
			_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).Then(clientv3.OpPut(k, value)).Commit()
			return err
		}
	}
	closedLoop(operation, o.callers, o.warmup, false)
	runtime.GC()
	o.mark("start")
	allocBefore := totalAlloc()
	started := time.Now()
	ops, latencies := closedLoop(operation, o.callers, o.duration, true)
	seconds := time.Since(started).Seconds()
	alloc := totalAlloc() - allocBefore
	o.mark("end")
	sorted := sortDurations(latencies)
	return result{"ops": ops, "seconds": seconds, "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99), "alloc_bytes": alloc}
}

func closedLoop(operation func(int64) error, callers int, duration time.Duration, record bool) (int64, []time.Duration) {
	var count int64
	stopAt := time.Now().Add(duration)
	perCaller := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(caller int) {
			defer wg.Done()
			var mine []time.Duration
			if record {
				mine = make([]time.Duration, 0, 1<<14)
			}
			for i := int64(caller) * 7919; time.Now().Before(stopAt); i++ {
				start := time.Now()
				if err := operation(i); err != nil {
					fail(err)
				}
				if record {
					mine = append(mine, time.Since(start))
				}
				atomic.AddInt64(&count, 1)
			}
			perCaller[caller] = mine
		}(c)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range perCaller {
		all = append(all, l...)
	}
	return count, all
}

// watch: one prefix watcher, N writers each putting its own key; values carry writer, sequence and send time.
func watch(cli *clientv3.Client, o *options) result {
	if o.warmup > 0 {
		watchPhase(cli, o.prefix+"w", o.callers, o.warmup, nil)
	}
	runtime.GC()
	o.mark("start")
	allocBefore := totalAlloc()
	r := watchPhase(cli, o.prefix+"r", o.callers, o.duration, o)
	r["alloc_bytes"] = totalAlloc() - allocBefore
	return r
}

func watchPhase(cli *clientv3.Client, prefix string, writers int, duration time.Duration, o *options) result {
	base := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received, unique, duplicated, reordered, lastRevision, lastEventAt int64
	var latencies []time.Duration
	lastSeq := make([]int64, writers)
	for i := range lastSeq {
		lastSeq[i] = -1
	}
	// Watch returns once etcd has confirmed the watch.
	events := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		for resp := range events {
			if err := resp.Err(); err != nil && ctx.Err() == nil {
				fail(err)
			}
			for _, e := range resp.Events {
				now := time.Since(base)
				v := e.Kv.Value
				writer := int32(binary.LittleEndian.Uint32(v))
				seq := int64(binary.LittleEndian.Uint64(v[4:]))
				latencies = append(latencies, now-time.Duration(binary.LittleEndian.Uint64(v[12:])))
				if e.Kv.ModRevision <= lastRevision {
					reordered++
				}
				lastRevision = e.Kv.ModRevision
				if seq <= lastSeq[writer] {
					duplicated++
				} else {
					lastSeq[writer] = seq
					atomic.AddInt64(&unique, 1)
				}
				atomic.StoreInt64(&lastEventAt, int64(now))
				atomic.AddInt64(&received, 1)
			}
		}
	}()

	written := make([]int64, writers)
	started := time.Since(base)
	stopAt := started + duration
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := key(prefix, int64(w))
			for seq := int64(0); time.Since(base) < stopAt; seq++ {
				v := make([]byte, 256)
				binary.LittleEndian.PutUint32(v, uint32(w))
				binary.LittleEndian.PutUint64(v[4:], uint64(seq))
				binary.LittleEndian.PutUint64(v[12:], uint64(time.Since(base)))
				if _, err := cli.Put(context.Background(), k, string(v)); err != nil {
					fail(err)
				}
				written[w] = seq + 1
			}
		}(w)
	}
	wg.Wait()
	var totalWritten int64
	for _, n := range written {
		totalWritten += n
	}
	// Drain: wait while events keep coming (a missing event shows as 5 s without progress).
	lastProgress, seen := time.Now(), atomic.LoadInt64(&unique)
	for seen < totalWritten && time.Since(lastProgress) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
		if now := atomic.LoadInt64(&unique); now > seen {
			lastProgress, seen = time.Now(), now
		}
	}
	end := time.Duration(atomic.LoadInt64(&lastEventAt))
	if end < stopAt {
		end = stopAt
	}
	seconds := (end - started).Seconds()
	if o != nil {
		o.mark("end")
	}
	cancel()
	<-watcherDone
	sorted := sortDurations(latencies)
	return result{"ops": atomic.LoadInt64(&received), "seconds": seconds, "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99),
		"written": totalWritten, "lost": totalWritten - atomic.LoadInt64(&unique), "duplicated": duplicated, "reordered": reordered}
}

// scanOnce pages through the prefix, every page at the revision of the first; a page is timed from its call to the
// end of consuming its pairs. It stops early (returning false) when stopAt is passed, for the warm-up.
func scanOnce(cli *clientv3.Client, o *options, pages *[]time.Duration, stopAt time.Time) (n int64, bytes int64) {
	ctx := context.Background()
	start, end := o.prefix, clientv3.GetPrefixRangeEnd(o.prefix)
	var rev int64
	for {
		t := time.Now()
		resp, err := cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(int64(o.pageSize)), clientv3.WithRev(rev))
		if err != nil {
			fail(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			bytes += int64(len(kv.Value))
			n++
		}
		if pages != nil {
			*pages = append(*pages, time.Since(t))
		}
		if !resp.More || len(resp.Kvs) == 0 || (!stopAt.IsZero() && time.Now().After(stopAt)) {
			return
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// scan: full paged scans of the keys under the prefix (loaded by the driver), repeated for the duration.
func scan(cli *clientv3.Client, o *options) result {
	if o.warmup > 0 {
		scanOnce(cli, o, nil, time.Now().Add(o.warmup))
	}
	var pages []time.Duration
	runtime.GC()
	o.mark("start")
	allocBefore := totalAlloc()
	started := time.Now()
	var total, bytes, scans int64
	var scanErr interface{}
	for {
		n, b := scanOnce(cli, o, &pages, time.Time{})
		if n != int64(o.count) {
			scanErr = fmt.Sprintf("scan returned %d keys, expected %d", n, o.count)
		}
		total, bytes, scans = total+n, bytes+b, scans+1
		if time.Since(started) >= o.duration {
			break
		}
	}
	seconds := time.Since(started).Seconds()
	alloc := totalAlloc() - allocBefore
	o.mark("end")
	sorted := sortDurations(pages)
	return result{"ops": total, "seconds": seconds, "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99),
		"alloc_bytes": alloc, "scans": scans, "value_bytes": bytes, "error": scanErr}
}

// idleWatches: N watches on distinct keys over one watch stream (one context), held idle. Watch returns only once
// etcd confirmed the watch, so the callers create them (clientv3 sends one create at a time on the stream anyway).
func idleWatches(cli *clientv3.Client, o *options) result {
	if o.warmup > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		for i := 0; i < 200; i++ {
			cli.Watch(ctx, key(o.prefix+"w", int64(i)))
		}
		cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	collectGarbage()
	heapBefore := heapAlloc()
	o.mark("base")
	started := time.Now()
	channels := make([]clientv3.WatchChan, o.count)
	var next int64 = -1
	var wg sync.WaitGroup
	for c := 0; c < o.callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := atomic.AddInt64(&next, 1); i < int64(o.count); i = atomic.AddInt64(&next, 1) {
				channels[i] = cli.Watch(ctx, key(o.prefix, i))
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(started).Seconds()
	o.mark("created")
	collectGarbage()
	heapHeld := int64(heapAlloc()) - int64(heapBefore)
	o.mark("held")
	time.Sleep(o.duration)
	closed := 0
	for _, ch := range channels {
		select {
		case _, ok := <-ch:
			if !ok {
				closed++
			}
		default:
		}
	}
	o.mark("end")
	return result{"ops": o.count, "seconds": seconds, "p50_ms": nil, "p99_ms": nil, "heap_bytes": heapHeld,
		"hold_seconds": o.duration.Seconds(), "lost": closed}
}

// leases: N leases granted by the callers and kept alive by the client (KeepAlive, its channel drained), held.
func leases(cli *clientv3.Client, o *options) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ending, lost int32
	grantAndKeep := func(keepCtx context.Context) clientv3.LeaseID {
		resp, err := cli.Grant(context.Background(), o.leaseTTL)
		if err != nil {
			fail(err)
		}
		ch, err := cli.KeepAlive(keepCtx, resp.ID)
		if err != nil {
			fail(err)
		}
		go func() {
			for range ch {
			}
			if atomic.LoadInt32(&ending) == 0 {
				atomic.AddInt32(&lost, 1)
			}
		}()
		return resp.ID
	}
	if o.warmup > 0 {
		warmCtx, warmCancel := context.WithCancel(context.Background())
		atomic.StoreInt32(&ending, 1)
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := grantAndKeep(warmCtx)
				if _, err := cli.Revoke(context.Background(), id); err != nil {
					fail(err)
				}
			}()
		}
		wg.Wait()
		warmCancel()
		time.Sleep(100 * time.Millisecond)
		atomic.StoreInt32(&ending, 0)
	}
	collectGarbage()
	heapBefore := heapAlloc()
	o.mark("base")
	started := time.Now()
	var next int64 = -1
	var wg sync.WaitGroup
	for c := 0; c < o.callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := atomic.AddInt64(&next, 1); i < int64(o.count); i = atomic.AddInt64(&next, 1) {
				grantAndKeep(ctx)
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(started).Seconds()
	o.mark("created")
	collectGarbage()
	heapHeld := int64(heapAlloc()) - int64(heapBefore)
	o.mark("held")
	time.Sleep(o.duration)
	lostNow := atomic.LoadInt32(&lost)
	atomic.StoreInt32(&ending, 1)
	o.mark("end")
	return result{"ops": o.count, "seconds": seconds, "p50_ms": nil, "p99_ms": nil, "heap_bytes": heapHeld,
		"hold_seconds": o.duration.Seconds(), "lost": lostNow}
}
