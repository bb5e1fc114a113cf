package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a RedisBus. The zero value of every field but URL
// means a sensible default.
type RedisConfig struct {
	// URL chooses one Redis, Sentinel or Redis Cluster; see ParseRedisURL.
	URL string
	// Prefix starts every key and channel name, so several deployments (or
	// tests) share one Redis. Default "leitai:", or the URL's prefix=.
	Prefix string
	// Metrics, if not nil, records publishes, deliveries and leases.
	Metrics *Metrics
	// OnResubscribe is called (on the subscription's goroutine) with the
	// channel name each time a subscription comes back after its connection
	// dropped. Messages published meanwhile are lost, so the caller resyncs
	// that channel's state from its owner.
	OnResubscribe func(channel string)
}

// RedisBus is the Bus and Leases of a cluster, kept in Redis 7 or later.
//
// Every key carries a hash tag so that what one script touches lives in one
// hash slot: a claim is one key; the leases are spread over leaseBuckets
// buckets, each a hash of holders, a hash of epochs and a sorted set of
// expiries under one tag. Channels are sharded (SPUBLISH/SSUBSCRIBE), each
// tagged with its own name so it lives on exactly one shard.
type RedisBus struct {
	client  redis.UniversalClient // Static after construction.
	prefix  string                // Static after construction.
	metrics *Metrics              // Static after construction.
	onResub func(string)          // Static after construction.

	isCluster bool // Static after construction.

	// mu guards the following fields.
	mu      sync.Mutex
	shared  *redisMux            // One Redis or Sentinel: every channel.
	perChan map[string]*redisMux // Redis Cluster: by channel name.
	nextID  int
	closed  bool
	book    leaseBook
	resubs  []func(string) // added by OnResubscribe
}

// Resubscriber is implemented by the buses whose subscriptions can drop and
// come back (Redis): fn is called with a channel's name each time its
// subscription is back after its connection dropped, since whatever was
// published on it meanwhile is lost.
type Resubscriber interface {
	OnResubscribe(fn func(channel string))
}

// OnResubscribe implements Resubscriber: fn is called, on the
// subscription's goroutine, beside RedisConfig.OnResubscribe.
func (r *RedisBus) OnResubscribe(fn func(channel string)) {
	r.mu.Lock()
	r.resubs = append(r.resubs, fn)
	r.mu.Unlock()
}

var (
	_ Bus    = (*RedisBus)(nil)
	_ Leases = (*RedisBus)(nil)
)

// leaseBuckets is how many hash slots the leases spread over. Every node of
// a cluster must agree on it, so it is a constant.
const leaseBuckets = 16

// ParseRedisURL turns a Redis URL into client options:
//
//	redis://[user:password@]host:port[/db]            one Redis
//	rediss://...                                      the same over TLS
//	redis://host1:port,host2:port,...?cluster=true    Redis Cluster (seed nodes; db must be 0)
//	redis://host1:port,host2:port/db?master=NAME      Sentinel: the addresses are sentinels
//
// Other query options: prefix=KEYPREFIX, sentinel_password=..., timeout=DURATION
// (dial, read and write). Several addresses need cluster=true or master=NAME.
func ParseRedisURL(raw string) (*redis.UniversalOptions, string, error) {
	bad := func(format string, a ...any) (*redis.UniversalOptions, string, error) {
		return nil, "", fmt.Errorf("cluster: redis URL: "+format, a...)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return bad("must start with redis:// or rediss://")
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	rest, path, _ := strings.Cut(rest, "/")
	opts := &redis.UniversalOptions{}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		ui, err := url.Parse("redis://" + rest[:at+1] + "x")
		if err != nil {
			return bad("bad user or password: %v", err)
		}
		opts.Username = ui.User.Username()
		opts.Password, _ = ui.User.Password()
		rest = rest[at+1:]
	}
	if rest == "" {
		return bad("no address")
	}
	for _, a := range strings.Split(rest, ",") {
		host, port, ok := strings.Cut(a, ":")
		if !ok || host == "" {
			return bad("address %q is not host:port", a)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return bad("address %q has a bad port", a)
		}
		opts.Addrs = append(opts.Addrs, a)
	}
	if path != "" {
		db, err := strconv.Atoi(path)
		if err != nil || db < 0 {
			return bad("database %q is not a number", path)
		}
		opts.DB = db
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("bad query: %v", err)
	}
	prefix := ""
	for k, v := range q {
		val := v[len(v)-1]
		switch k {
		case "cluster":
			c, err := strconv.ParseBool(val)
			if err != nil {
				return bad("cluster=%q is not true or false", val)
			}
			opts.IsClusterMode = c
		case "master":
			if val == "" {
				return bad("master= needs the Sentinel master's name")
			}
			opts.MasterName = val
		case "sentinel_password":
			opts.SentinelPassword = val
		case "prefix":
			prefix = val
		case "timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return bad("timeout=%q is not a positive duration", val)
			}
			opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = d, d, d
		default:
			return bad("unknown option %q", k)
		}
	}
	switch {
	case opts.IsClusterMode && opts.MasterName != "":
		return bad("cluster=true and master= exclude each other")
	case opts.IsClusterMode && opts.DB != 0:
		return bad("Redis Cluster has only database 0")
	case len(opts.Addrs) > 1 && !opts.IsClusterMode && opts.MasterName == "":
		return bad("several addresses need cluster=true (Redis Cluster) or master=NAME (Sentinel)")
	}
	if scheme == "rediss" {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opts, prefix, nil
}

// NewRedisBus connects to the Redis of cfg.URL and checks it answers.
func NewRedisBus(ctx context.Context, cfg RedisConfig) (*RedisBus, error) {
	opts, prefix, err := ParseRedisURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Prefix != "" {
		prefix = cfg.Prefix
	}
	if prefix == "" {
		prefix = "leitai:"
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("cluster: redis key prefix %q must not contain braces (they mark hash tags)", prefix)
	}
	client := redis.NewUniversalClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, unavailable(err)
	}
	_, isCluster := client.(*redis.ClusterClient)
	return &RedisBus{client: client, prefix: prefix, metrics: cfg.Metrics, onResub: cfg.OnResubscribe,
		isCluster: isCluster, perChan: map[string]*redisMux{}}, nil
}

// unavailable maps a Redis failure to ErrUnavailable.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (r *RedisBus) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func checkName(what, s string) error {
	if s == "" || strings.ContainsAny(s, "{}") {
		return fmt.Errorf("cluster: %s %q must be non-empty and free of braces", what, s)
	}
	return nil
}

// channelName tags the whole channel name, so each channel hashes to its own
// slot and different rooms spread over the shards.
func (r *RedisBus) channelName(ch string) string { return "{" + r.prefix + "ch:" + ch + "}" }

func (r *RedisBus) claimKey(key string) string { return "{" + r.prefix + "claim:" + key + "}" }

// leaseKeys are a lease's bucket: holders, epochs and expiries, one tag.
func (r *RedisBus) leaseKeys(bucket int) []string {
	tag := fmt.Sprintf("{%slease:%02d}", r.prefix, bucket)
	return []string{tag + ":holder", tag + ":epoch", tag + ":expiry"}
}

func leaseBucket(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % leaseBuckets)
}

// Publish implements Bus with SPUBLISH.
func (r *RedisBus) Publish(ctx context.Context, channel string, msg []byte) error {
	if r.isClosed() {
		return ErrClosed
	}
	if err := checkName("channel", channel); err != nil {
		return err
	}
	start := time.Now()
	if err := r.client.SPublish(ctx, r.channelName(channel), msg).Err(); err != nil {
		return unavailable(err)
	}
	r.metrics.publishedOn(channel, time.Since(start))
	return nil
}

// redisMux is one pub/sub connection and the channels subscribed on it. On
// one Redis (or Sentinel) a node has a single mux for all its channels; on
// Redis Cluster each channel has a mux of its own, a connection to the shard
// that owns the channel's slot, since one connection cannot follow channels
// of several slots through a reconnect.
type redisMux struct {
	ps     *redis.PubSub      // Static after construction.
	ctx    context.Context    // Static after construction; ends at stop.
	cancel context.CancelFunc // Static after construction.
	done   chan struct{}      // Closed when receive returns.
	// ioMu orders this mux's SSUBSCRIBE and SUNSUBSCRIBE calls.
	ioMu sync.Mutex

	// Guarded by RedisBus.mu.
	chans   map[string]*redisChan // By Redis channel name.
	started bool
}

// redisChan is one channel's local subscribers. Guarded by RedisBus.mu.
type redisChan struct {
	channel   string // The caller's name.
	fns       map[int]func([]byte)
	ready     chan struct{} // Closed at Redis's first confirmation.
	confirmed bool
}

// muxLocked returns the mux for a channel, making it (no I/O) if needed.
// r.mu is held.
func (r *RedisBus) muxLocked(name string) *redisMux {
	if !r.isCluster && r.shared != nil {
		return r.shared
	}
	if r.isCluster && r.perChan[name] != nil {
		return r.perChan[name]
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &redisMux{ps: r.client.SSubscribe(ctx), ctx: ctx, cancel: cancel, done: make(chan struct{}), chans: map[string]*redisChan{}}
	if r.isCluster {
		r.perChan[name] = m
	} else {
		r.shared = m
	}
	return m
}

// Subscribe implements Bus with SSUBSCRIBE. It returns once Redis has
// confirmed the subscription, so a message published after it returns is
// delivered.
func (r *RedisBus) Subscribe(ctx context.Context, channel string, fn func([]byte)) (func(), error) {
	if err := checkName("channel", channel); err != nil {
		return nil, err
	}
	name := r.channelName(channel)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	m := r.muxLocked(name)
	c := m.chans[name]
	fresh := c == nil
	if fresh {
		c = &redisChan{channel: channel, fns: map[int]func([]byte){}, ready: make(chan struct{})}
		m.chans[name] = c
	}
	id := r.nextID
	r.nextID++
	c.fns[id] = fn
	r.mu.Unlock()
	cancel := func() { r.unsubscribe(m, name, id) }

	if fresh {
		m.ioMu.Lock()
		err := m.ps.SSubscribe(ctx, name)
		m.ioMu.Unlock()
		if err != nil {
			cancel()
			return nil, unavailable(err)
		}
		r.mu.Lock()
		start := !m.started
		m.started = true
		r.mu.Unlock()
		if start {
			go r.receive(m)
		}
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-c.ready:
	case <-ctx.Done():
		cancel()
		return nil, unavailable(ctx.Err())
	case <-t.C:
		cancel()
		return nil, fmt.Errorf("%w: no subscription confirmation for %s", ErrUnavailable, channel)
	}
	var once sync.Once
	return func() { once.Do(cancel) }, nil
}

// unsubscribe removes one local subscriber; the last one of a channel ends
// the channel's subscription (and, on Redis Cluster, its connection).
func (r *RedisBus) unsubscribe(m *redisMux, name string, id int) {
	r.mu.Lock()
	c := m.chans[name]
	if c == nil {
		r.mu.Unlock()
		return
	}
	delete(c.fns, id)
	if len(c.fns) > 0 {
		r.mu.Unlock()
		return
	}
	delete(m.chans, name)
	if r.isCluster {
		if r.perChan[name] == m {
			delete(r.perChan, name)
		}
		r.mu.Unlock()
		r.stopMux(m)
		return
	}
	r.mu.Unlock()
	m.ioMu.Lock()
	defer m.ioMu.Unlock()
	r.mu.Lock()
	again := m.chans[name] != nil // Subscribed again meanwhile: keep it.
	r.mu.Unlock()
	if !again {
		_ = m.ps.SUnsubscribe(context.Background(), name)
	}
}

// stopMux closes a mux's connection and waits for its reader.
func (r *RedisBus) stopMux(m *redisMux) {
	m.cancel()
	_ = m.ps.Close()
	r.mu.Lock()
	started := m.started
	r.mu.Unlock()
	if started {
		<-m.done
	}
}

// receive delivers a mux's messages. go-redis reconnects a dropped
// connection and subscribes again on the next read; a confirmation for a
// channel already confirmed is such a resubscription, and fires
// OnResubscribe. Runs in its own goroutine.
//
// It reads with PubSub.Receive, not PubSub.Channel: nothing is buffered
// between Redis and the subscribers, so the client never drops a message
// (Channel's goroutine drops one it cannot hand over within its send
// timeout). A subscriber that falls behind makes Redis buffer for it
// instead, up to its client-output-buffer-limit for pubsub, beyond which
// Redis closes the connection: that, like a restart, is a dropped
// subscription, counted in SubscriptionDrops and followed by
// OnResubscribe once it is back.
func (r *RedisBus) receive(m *redisMux) {
	defer close(m.done)
	backoff := 10 * time.Millisecond
	live := true // the last read succeeded
	for {
		msg, err := m.ps.Receive(m.ctx)
		if m.ctx.Err() != nil {
			return
		}
		if err != nil {
			if live {
				r.metrics.subscriptionDropped()
				live = false
			}
			// The connection dropped or Redis is away: wait and read again,
			// which reconnects.
			t := time.NewTimer(backoff)
			select {
			case <-m.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		live = true
		switch v := msg.(type) {
		case *redis.Message:
			r.mu.Lock()
			var fns []func([]byte)
			var channel string
			if c := m.chans[v.Channel]; c != nil {
				channel = c.channel
				fns = make([]func([]byte), 0, len(c.fns))
				for _, fn := range c.fns {
					fns = append(fns, fn)
				}
			}
			r.mu.Unlock()
			for _, fn := range fns {
				r.metrics.receivedOn(channel)
				fn([]byte(v.Payload))
			}
		case *redis.Subscription:
			if v.Kind != "ssubscribe" {
				continue
			}
			r.mu.Lock()
			c := m.chans[v.Channel]
			resub := c != nil && c.confirmed
			if c != nil && !c.confirmed {
				c.confirmed = true
				close(c.ready)
			}
			fns := r.resubs
			r.mu.Unlock()
			if resub && r.onResub != nil {
				r.onResub(c.channel)
			}
			if resub {
				for _, fn := range fns {
					fn(c.channel)
				}
			}
		}
	}
}

// claimScript takes or extends a claim: one key.
var claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// releaseScript frees a claim if ARGV[1] holds it: one key.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func ms(d time.Duration) int64 {
	if d < time.Millisecond {
		return 1
	}
	return d.Milliseconds()
}

// Claim implements Bus.
func (r *RedisBus) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if r.isClosed() {
		return false, ErrClosed
	}
	n, err := claimScript.Run(ctx, r.client, []string{r.claimKey(key)}, owner, ms(ttl)).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// ClaimAll implements Bus: one pipeline (split by slot on a Redis Cluster)
// of the claim script, sent in full so that no reply is NOSCRIPT.
func (r *RedisBus) ClaimAll(ctx context.Context, claims []ClaimOf, ttl time.Duration) ([]bool, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	if len(claims) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(claims))
	if _, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range claims {
			cmds[i] = claimScript.Eval(ctx, p, []string{r.claimKey(c.Key)}, c.Owner, ms(ttl))
		}
		return nil
	}); err != nil {
		return nil, unavailable(err)
	}
	held := make([]bool, len(claims))
	for i, cmd := range cmds {
		n, err := cmd.Int()
		if err != nil {
			return nil, unavailable(err)
		}
		held[i] = n == 1
	}
	return held, nil
}

// Owner implements Bus.
func (r *RedisBus) Owner(ctx context.Context, key string) (string, error) {
	if r.isClosed() {
		return "", ErrClosed
	}
	o, err := r.client.Get(ctx, r.claimKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable(err)
	}
	return o, nil
}

// Release implements Bus.
func (r *RedisBus) Release(ctx context.Context, key, owner string) error {
	if r.isClosed() {
		return ErrClosed
	}
	if err := releaseScript.Run(ctx, r.client, []string{r.claimKey(key)}, owner).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// The lease scripts all read the time from the Redis server, so expiry does
// not depend on the nodes' clocks agreeing. KEYS are a bucket's holder hash,
// epoch hash and expiry sorted set (one hash tag); ARGV[1] is the lease key.
const leaseNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// takeLeaseScript: ARGV holder, ttl ms, epoch floor. Returns {ok, epoch, expiry ms,
// holder, took over from another holder}.
var takeLeaseScript = redis.NewScript(leaseNow + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local exp = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
local epoch = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local deadline = now + tonumber(ARGV[3])
if cur and exp > now then
  if cur ~= ARGV[2] then
    return {0, epoch, exp, cur, 0}
  end
  redis.call('ZADD', KEYS[3], deadline, ARGV[1])
  return {1, epoch, deadline, cur, 0}
end
local floor = tonumber(ARGV[4])
if epoch < floor then epoch = floor end
epoch = epoch + 1
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', epoch))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], deadline, ARGV[1])
local took = 0
if cur and cur ~= ARGV[2] then took = 1 end
return {1, epoch, deadline, ARGV[2], took}`)

// renewLeaseScript: ARGV holder, epoch, ttl ms. Returns the new expiry, or
// 0 if the lease is lost.
var renewLeaseScript = redis.NewScript(leaseNow + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local exp = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
local epoch = redis.call('HGET', KEYS[2], ARGV[1])
if cur ~= ARGV[2] or epoch ~= ARGV[3] or exp <= now then
  return 0
end
local deadline = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], deadline, ARGV[1])
return deadline`)

// releaseLeaseScript: ARGV holder, epoch. The epoch stays, so the next
// holder's is higher.
var releaseLeaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] and redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
return 0`)

// lapsedLeasesScript lists a bucket's lapsed leases as flat {key, holder,
// epoch, expiry ms} quadruples, at most ARGV[1] of them.
var lapsedLeasesScript = redis.NewScript(leaseNow + `
local keys = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for i = 1, #keys, 2 do
  local k = keys[i]
  table.insert(out, k)
  table.insert(out, redis.call('HGET', KEYS[1], k) or '')
  table.insert(out, redis.call('HGET', KEYS[2], k) or '0')
  table.insert(out, keys[i + 1])
end
return out`)

func msTime(v int64) time.Time { return time.UnixMilli(v) }

// TakeLease implements Leases.
func (r *RedisBus) TakeLease(ctx context.Context, key, holder string, ttl time.Duration) (Lease, bool, error) {
	return r.TakeLeaseAbove(ctx, key, holder, ttl, 0)
}

// TakeLeaseAbove implements Leases.
func (r *RedisBus) TakeLeaseAbove(ctx context.Context, key, holder string, ttl time.Duration, floor uint64) (Lease, bool, error) {
	if r.isClosed() {
		return Lease{}, false, ErrClosed
	}
	if err := checkName("lease holder", holder); err != nil {
		return Lease{}, false, err
	}
	res, err := takeLeaseScript.Run(ctx, r.client, r.leaseKeys(leaseBucket(key)), key, holder, ms(ttl), strconv.FormatUint(floor, 10)).Slice()
	if err != nil {
		return Lease{}, false, unavailable(err)
	}
	if len(res) != 5 {
		return Lease{}, false, fmt.Errorf("%w: lease script returned %d values", ErrUnavailable, len(res))
	}
	ok, _ := res[0].(int64)
	epoch, _ := res[1].(int64)
	exp, _ := res[2].(int64)
	cur, _ := res[3].(string)
	took, _ := res[4].(int64)
	le := Lease{Key: key, Holder: cur, Epoch: uint64(epoch), Expires: msTime(exp)}
	if ok == 1 {
		if took == 1 {
			r.metrics.tookOver()
		}
		r.mu.Lock()
		r.book.hold(r.metrics, key, le.Epoch)
		r.mu.Unlock()
	}
	return le, ok == 1, nil
}

// ForgetLease implements LeaseForgetter.
func (r *RedisBus) ForgetLease(le Lease) {
	r.mu.Lock()
	r.book.drop(r.metrics, le.Key, le.Epoch)
	r.mu.Unlock()
}

// RenewLease implements Leases.
func (r *RedisBus) RenewLease(ctx context.Context, le Lease, ttl time.Duration) (Lease, error) {
	if r.isClosed() {
		return Lease{}, ErrClosed
	}
	exp, err := renewLeaseScript.Run(ctx, r.client, r.leaseKeys(leaseBucket(le.Key)), le.Key, le.Holder, strconv.FormatUint(le.Epoch, 10), ms(ttl)).Int64()
	if err != nil {
		return Lease{}, unavailable(err)
	}
	if exp == 0 {
		r.mu.Lock()
		r.book.drop(r.metrics, le.Key, le.Epoch)
		r.mu.Unlock()
		return Lease{}, ErrLeaseLost
	}
	le.Expires = msTime(exp)
	return le, nil
}

// ReleaseLease implements Leases.
func (r *RedisBus) ReleaseLease(ctx context.Context, le Lease) error {
	if r.isClosed() {
		return ErrClosed
	}
	err := releaseLeaseScript.Run(ctx, r.client, r.leaseKeys(leaseBucket(le.Key)), le.Key, le.Holder, strconv.FormatUint(le.Epoch, 10)).Err()
	if err != nil {
		return unavailable(err)
	}
	r.mu.Lock()
	r.book.drop(r.metrics, le.Key, le.Epoch)
	r.mu.Unlock()
	return nil
}

// lapsedPerBucket bounds one LapsedLeases call; the rest come next time.
const lapsedPerBucket = 100

// LapsedLeases implements Leases, one script per bucket.
func (r *RedisBus) LapsedLeases(ctx context.Context) ([]Lease, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	var out []Lease
	for b := 0; b < leaseBuckets; b++ {
		res, err := lapsedLeasesScript.Run(ctx, r.client, r.leaseKeys(b), lapsedPerBucket).StringSlice()
		if err != nil {
			return nil, unavailable(err)
		}
		for i := 0; i+3 < len(res); i += 4 {
			epoch, _ := strconv.ParseUint(res[i+2], 10, 64)
			exp, _ := strconv.ParseFloat(res[i+3], 64)
			out = append(out, Lease{Key: res[i], Holder: res[i+1], Epoch: epoch, Expires: msTime(int64(exp))})
		}
	}
	return out, nil
}

// Client is the bus's Redis client, for other cluster-wide state kept
// under the same prefix.
func (r *RedisBus) Client() redis.UniversalClient { return r.client }

// Prefix is the bus's key prefix.
func (r *RedisBus) Prefix() string { return r.prefix }

// Close ends every subscription and the client; later calls fail with
// ErrClosed.
func (r *RedisBus) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	muxes := make([]*redisMux, 0, len(r.perChan)+1)
	for _, m := range r.perChan {
		muxes = append(muxes, m)
	}
	if r.shared != nil {
		muxes = append(muxes, r.shared)
	}
	r.perChan, r.shared = nil, nil
	r.mu.Unlock()
	for _, m := range muxes {
		r.stopMux(m)
	}
	return r.client.Close()
}
