package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/cluster/bustest"
	"github.com/leitai/leitai/internal/redistest"
)

var prefixes atomic.Int64

// uniquePrefix keeps each test's keys apart on a shared server.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("test%d-%d:", time.Now().UnixNano(), prefixes.Add(1))
}

func openRedis(t *testing.T, url, prefix string, cfg cluster.RedisConfig) *cluster.RedisBus {
	t.Helper()
	cfg.URL, cfg.Prefix = url, prefix
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := cluster.NewRedisBus(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// redisPair opens two independent buses, as two nodes, on one URL.
func redisPair(url string) func(t *testing.T) (bustest.Node, bustest.Node) {
	return func(t *testing.T) (bustest.Node, bustest.Node) {
		p := uniquePrefix(t)
		return openRedis(t, url, p, cluster.RedisConfig{}), openRedis(t, url, p, cluster.RedisConfig{})
	}
}

func TestRedisBusContract(t *testing.T) {
	srv := redistest.StartServer(t)
	bustest.Run(t, redisPair(srv.URL()))
}

func TestRedisSentinelBusContract(t *testing.T) {
	s := redistest.StartSentinel(t, "leitai")
	bustest.Run(t, redisPair(s.URL()))
}

func TestRedisClusterBusContract(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	bustest.Run(t, redisPair(c.URL()))
}

// TestRedisClusterSpreadsLeases checks the lease buckets and channels land
// on more than one master, so no shard carries all of them.
func TestRedisClusterSpreadsLeases(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := openRedis(t, c.URL(), uniquePrefix(t), cluster.RedisConfig{})
	ctx := context.Background()
	for i := 0; i < 64; i++ {
		if _, ok, err := b.TakeLease(ctx, fmt.Sprint("room:", i), "n1", time.Minute); err != nil || !ok {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	used := 0
	for _, s := range c.Servers {
		n, err := s.Do("DBSIZE")
		if err != nil {
			t.Fatal(err)
		}
		if n != ":0" {
			used++
		}
	}
	if used < 2 {
		t.Fatalf("leases live on %d of 3 masters", used)
	}
}

// TestRedisOneConnectionForAllChannels: on one Redis a node's subscriptions
// share one pub/sub connection, however many channels it follows.
func TestRedisOneConnectionForAllChannels(t *testing.T) {
	srv := redistest.StartServer(t)
	b := openRedis(t, srv.URL(), uniquePrefix(t), cluster.RedisConfig{})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		cancel, err := b.Subscribe(ctx, fmt.Sprint("room:", i), func([]byte) {})
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
	}
	list, err := b.Client().ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	conns := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " ssub=") && !strings.Contains(line, " ssub=0 ") {
			conns++
		}
	}
	if conns != 1 {
		t.Fatalf("%d connections hold sharded subscriptions, want 1:\n%s", conns, list)
	}
}

func TestRedisResubscribesAfterRestart(t *testing.T) {
	srv := redistest.StartServer(t)
	var mu sync.Mutex
	resubs := map[string]int{}
	b := openRedis(t, srv.URL(), uniquePrefix(t), cluster.RedisConfig{
		OnResubscribe: func(ch string) { mu.Lock(); resubs[ch]++; mu.Unlock() },
	})
	ctx := context.Background()
	got := make(chan string, 100)
	cancel, err := b.Subscribe(ctx, "room:9", func(m []byte) { got <- string(m) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if err := b.Publish(ctx, "room:9", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, got); m != "before" {
		t.Fatalf("got %q", m)
	}
	srv.Stop(t)
	err = b.Publish(ctx, "room:9", []byte("lost"))
	if !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("publish with Redis down: %v, want ErrUnavailable", err)
	}
	if _, _, err := b.TakeLease(ctx, "room:9", "n1", time.Minute); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("take lease with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := b.Subscribe(ctx, "room:10", func([]byte) {}); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("subscribe with Redis down: %v, want ErrUnavailable", err)
	}
	srv.Start(t)
	waitFor(t, "the resubscribe hook", func() bool { mu.Lock(); defer mu.Unlock(); return resubs["room:9"] > 0 })
	if err := b.Publish(ctx, "room:9", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, got); m != "after" {
		t.Fatalf("got %q after the restart, want \"after\"", m)
	}
}

func receive(t *testing.T, c <-chan string) string {
	t.Helper()
	select {
	case m := <-c:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a message")
		return ""
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRedisMetrics(t *testing.T) {
	srv := redistest.StartServer(t)
	m := cluster.NewMetrics("node-1")
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	p := uniquePrefix(t)
	a := openRedis(t, srv.URL(), p, cluster.RedisConfig{Metrics: m})
	b := openRedis(t, srv.URL(), p, cluster.RedisConfig{})
	ctx := context.Background()
	got := make(chan string, 10)
	cancel, _ := a.Subscribe(ctx, "rq:node-1", func(m []byte) { got <- string(m) })
	defer cancel()
	_ = a.Publish(ctx, "rq:node-1", []byte("x"))
	receive(t, got)
	if v := value(m.Published); v != 1 {
		t.Fatalf("published = %v", v)
	}
	if v := value(m.Received); v != 1 {
		t.Fatalf("received = %v", v)
	}
	// By channel class: the request channel's, under its own name's
	// class, not the key prefix's.
	if p, r := value(m.Messages.WithLabelValues("published", "rq")), value(m.Messages.WithLabelValues("received", "rq")); p != 1 || r != 1 {
		t.Fatalf(`leitai_bus_messages_total{class="rq"}: published %v, received %v; want 1 and 1`, p, r)
	}
	lb, _, _ := b.TakeLease(ctx, "r1", "node-b", 200*time.Millisecond)
	l1, _, _ := a.TakeLease(ctx, "r2", "node-1", time.Minute)
	if v := value(m.LeasesHeld); v != 1 {
		t.Fatalf("held = %v", v)
	}
	waitFor(t, "a takeover", func() bool { _, ok, _ := a.TakeLease(ctx, "r1", "node-1", time.Minute); return ok })
	if v := value(m.LeasesTakenOver); v != 1 {
		t.Fatalf("taken over = %v (from epoch %d)", v, lb.Epoch)
	}
	_ = a.ReleaseLease(ctx, l1)
	if v := value(m.LeasesHeld); v != 1 {
		t.Fatalf("held after release = %v", v)
	}
}

func TestParseRedisURL(t *testing.T) {
	for _, c := range []struct {
		url     string
		addrs   int
		cluster bool
		master  string
		db      int
		prefix  string
		tls     bool
		bad     bool
	}{
		{url: "redis://localhost:6379", addrs: 1},
		{url: "redis://localhost:6379/2", addrs: 1, db: 2},
		{url: "rediss://user:pw@cache.example:6380/0", addrs: 1, tls: true},
		{url: "redis://a:7000,b:7001,c:7002?cluster=true", addrs: 3, cluster: true},
		{url: "redis://one:7000?cluster=true&prefix=city:", addrs: 1, cluster: true, prefix: "city:"},
		{url: "redis://s1:26379,s2:26379/1?master=leitai", addrs: 2, master: "leitai", db: 1},
		{url: "http://localhost:6379", bad: true},
		{url: "redis://", bad: true},
		{url: "redis://localhost", bad: true},
		{url: "redis://localhost:0", bad: true},
		{url: "redis://localhost:6379/x", bad: true},
		{url: "redis://a:1,b:2", bad: true},
		{url: "redis://a:1,b:2/3?cluster=true", bad: true},
		{url: "redis://a:1?cluster=true&master=m", bad: true},
		{url: "redis://a:1?cluster=maybe", bad: true},
		{url: "redis://a:1?colour=blue", bad: true},
		{url: "redis://a:1?timeout=-1s", bad: true},
	} {
		opts, prefix, err := cluster.ParseRedisURL(c.url)
		if c.bad {
			if err == nil {
				t.Errorf("%s: accepted", c.url)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if len(opts.Addrs) != c.addrs || opts.IsClusterMode != c.cluster || opts.MasterName != c.master ||
			opts.DB != c.db || prefix != c.prefix || (opts.TLSConfig != nil) != c.tls {
			t.Errorf("%s: got %+v prefix %q", c.url, opts, prefix)
		}
	}
	if _, err := cluster.NewRedisBus(context.Background(), cluster.RedisConfig{URL: "redis://a:1", Prefix: "x{y}"}); err == nil {
		t.Error("a prefix with braces was accepted")
	}
}

func TestNodeID(t *testing.T) {
	a, b := cluster.NewNodeID(), cluster.NewNodeID()
	if a == b {
		t.Fatalf("two random ids are equal: %s", a)
	}
	if _, err := cluster.ParseNodeID(string(a)); err != nil {
		t.Fatalf("a generated id does not parse: %v", err)
	}
	for _, bad := range []string{"", "has space", "a{b}", string(make([]byte, 65))} {
		if _, err := cluster.ParseNodeID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if id, err := cluster.ParseNodeID("node-1.eu_west"); err != nil || id != "node-1.eu_west" {
		t.Fatalf("%q %v", id, err)
	}
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// BenchmarkRedisPublishDelivered is the round trip from Publish on one node
// to delivery on another, one message in flight at a time.
func BenchmarkRedisPublishDelivered(b *testing.B) {
	srv := redistest.StartServer(b)
	ctx := context.Background()
	open := func() *cluster.RedisBus {
		bus, err := cluster.NewRedisBus(ctx, cluster.RedisConfig{URL: srv.URL(), Prefix: "bench:"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = bus.Close() })
		return bus
	}
	pub, sub := open(), open()
	got := make(chan struct{}, 1)
	cancel, err := sub.Subscribe(ctx, "room:1", func([]byte) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer cancel()
	msg := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := pub.Publish(ctx, "room:1", msg); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// TestRedisCutSubscriberIsCounted: Redis closes a subscriber's connection
// when what it holds for it passes the pub/sub output buffer limit (here
// 64 KB; 32 MB by default). The bus counts the dropped subscription, says
// so through OnResubscribe once it is back, and delivers what comes after;
// the message that overflowed is lost, which is why the nodes keep each
// Bus message small (roomhost's busBudget) and operations.md raises the
// limit.
func TestRedisCutSubscriberIsCounted(t *testing.T) {
	srv := redistest.StartWithArgs(t, "--client-output-buffer-limit", "pubsub 64kb 64kb 0")
	m := cluster.NewMetrics("node-1")
	var mu sync.Mutex
	resubs := 0
	b := openRedis(t, srv.URL(), uniquePrefix(t), cluster.RedisConfig{Metrics: m,
		OnResubscribe: func(string) { mu.Lock(); resubs++; mu.Unlock() }})
	ctx := context.Background()
	got := make(chan string, 100)
	cancel, err := b.Subscribe(ctx, "fr:n2", func(msg []byte) { got <- string(msg[:min(len(msg), 5)]) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if err := b.Publish(ctx, "fr:n2", []byte(strings.Repeat("x", 200<<10))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dropped subscription counted and back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return value(m.SubscriptionDrops) >= 1 && resubs >= 1
	})
	if err := b.Publish(ctx, "fr:n2", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, got); msg != "after" {
		t.Fatalf("got %q after the cut, want \"after\" (the oversized message is lost)", msg)
	}
}
