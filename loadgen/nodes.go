package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/cluster"
)

// ParseURLs reads a comma-separated list of node WebSocket URLs (one
// server, or the nodes of a cluster the clients spread over), each a
// loopback ws:// URL.
func ParseURLs(list string) ([]string, error) {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if err := CheckLoopback(u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no URL given", ErrBadConfig)
	}
	return out, nil
}

// ParsePIDs reads a comma-separated list of process ids ("" is none).
func ParsePIDs(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("%w: process id %q is not a positive number", ErrBadConfig, s)
		}
		out = append(out, pid)
	}
	return out, nil
}

// Probes reads several servers (the nodes of a cluster) as one: RSS, CPU,
// connections and counters are the sums over them.
type Probes []*Probe

// NewProbes makes a probe for each node URL (its /metrics), with the
// process id of the same position when pids has one. Extra pids (a node
// probed by /proc only) get a probe of their own.
func NewProbes(wsURLs []string, pids []int) Probes {
	var ps Probes
	for i := 0; i < max(len(wsURLs), len(pids)); i++ {
		p := &Probe{}
		if i < len(wsURLs) {
			p.MetricsURL = MetricsURLFor(wsURLs[i])
		}
		if i < len(pids) {
			p.PID = pids[i]
		}
		ps = append(ps, p)
	}
	return ps
}

// Sample reads every server at once and adds their readings up. A figure is
// -1 unless every server gave it.
func (ps Probes) Sample(ctx context.Context) (ServerSample, error) {
	if len(ps) == 1 {
		return ps[0].Sample(ctx)
	}
	samples := make([]ServerSample, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples[i], errs[i] = p.Sample(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return ServerSample{RSSBytes: -1, CPUSeconds: -1, Connections: -1, GoHeldBytes: -1, GoStackBytes: -1}, err
	}
	sum := ServerSample{At: samples[0].At, Source: samples[0].Source, Counters: map[string]float64{}}
	add := func(total *float64, v float64) {
		if *total >= 0 && v >= 0 {
			*total += v
		} else {
			*total = -1
		}
	}
	for _, s := range samples {
		add(&sum.RSSBytes, s.RSSBytes)
		add(&sum.CPUSeconds, s.CPUSeconds)
		add(&sum.Connections, s.Connections)
		add(&sum.GoHeldBytes, s.GoHeldBytes)
		add(&sum.GoStackBytes, s.GoStackBytes)
		for k, v := range s.Counters {
			sum.Counters[k] += v
		}
		if s.Source != sum.Source {
			sum.Source = "mixed"
		}
	}
	if samples[0].Counters == nil {
		sum.Counters = nil
	}
	return sum, nil
}

// RedisCPU reads the CPU time Redis has used (INFO cpu: used_cpu_sys plus
// used_cpu_user, in seconds), summed over the masters of a Redis Cluster.
// The URL takes the forms of cluster.ParseRedisURL.
type RedisCPU struct {
	client redis.UniversalClient
}

// NewRedisCPU connects to the Redis of url.
func NewRedisCPU(url string) (*RedisCPU, error) {
	opts, _, err := cluster.ParseRedisURL(url)
	if err != nil {
		return nil, err
	}
	return &RedisCPU{client: redis.NewUniversalClient(opts)}, nil
}

// Seconds returns Redis's CPU time so far.
func (r *RedisCPU) Seconds(ctx context.Context) (float64, error) {
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		total := 0.0
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			v, err := infoCPU(ctx, c)
			mu.Lock()
			total += v
			mu.Unlock()
			return err
		})
		return total, err
	}
	return infoCPU(ctx, r.client)
}

// Close closes the connection.
func (r *RedisCPU) Close() error { return r.client.Close() }

func infoCPU(ctx context.Context, c redis.Cmdable) (float64, error) {
	text, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO cpu: %w", err)
	}
	return ParseInfoCPU(text)
}

// ParseInfoCPU adds used_cpu_sys and used_cpu_user of an INFO cpu reply.
func ParseInfoCPU(text string) (float64, error) {
	total, found := 0.0, 0
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("redis INFO cpu: %s=%q", k, v)
		}
		total += f
		found++
	}
	if found != 2 {
		return 0, errors.New("redis INFO cpu: no used_cpu_sys and used_cpu_user")
	}
	return total, nil
}
