package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Probe reads a server's resource use: from /proc when it has the server's
// process id, and from the server's /metrics page.
type Probe struct {
	// PID is the server's process id; 0 means use /metrics only.
	PID int
	// MetricsURL is the server's Prometheus page, e.g.
	// http://127.0.0.1:8080/metrics; empty means /proc only.
	MetricsURL string
	// Client fetches MetricsURL; default a client with a 2 s timeout.
	Client *http.Client
}

// ServerSample is one reading of the server. A field is negative when it
// could not be read.
type ServerSample struct {
	At          time.Time `json:"-"`
	RSSBytes    float64   `json:"rss_bytes"`
	CPUSeconds  float64   `json:"cpu_s"`
	Connections float64   `json:"connections"`
	// GoHeldBytes is the memory the server's Go runtime holds from the
	// operating system and has not given back (go_memstats_sys_bytes less
	// go_memstats_heap_released_bytes, from /metrics): its heap, goroutine
	// stacks and runtime structures. What the process holds beyond it
	// (RSSBytes - GoHeldBytes) is memory allocated outside the Go runtime,
	// chiefly SQLite's page cache. GoStackBytes is the goroutine stacks'
	// share (go_memstats_stack_inuse_bytes). Both are -1 when not read.
	GoHeldBytes  float64 `json:"go_held_bytes"`
	GoStackBytes float64 `json:"go_stack_bytes"`
	// Counters are the server's leitai_* counters, by name.
	Counters map[string]float64 `json:"-"`
	// Source says where RSS and CPU came from: "proc" or "metrics".
	Source string `json:"source"`
}

// MetricsURLFor turns a ws://host:port/… URL into the server's
// http://host:port/metrics.
func MetricsURLFor(wsURL string) string {
	u, err := url.Parse(wsURL)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: "http", Host: u.Host, Path: "/metrics"}).String()
}

// Sample reads the server once.
func (p *Probe) Sample(ctx context.Context) (ServerSample, error) {
	s := ServerSample{At: time.Now(), RSSBytes: -1, CPUSeconds: -1, Connections: -1, GoHeldBytes: -1, GoStackBytes: -1}
	var errs []error
	if p.MetricsURL != "" {
		m, err := p.scrape(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.Counters = m
			if v, ok := m["leitai_connections"]; ok {
				s.Connections = v
			}
			if v, ok := m["process_resident_memory_bytes"]; ok {
				s.RSSBytes, s.Source = v, "metrics"
			}
			if v, ok := m["process_cpu_seconds_total"]; ok {
				s.CPUSeconds = v
			}
			sys, okSys := m["go_memstats_sys_bytes"]
			released, okRel := m["go_memstats_heap_released_bytes"]
			if okSys && okRel {
				s.GoHeldBytes = sys - released
			}
			if v, ok := m["go_memstats_stack_inuse_bytes"]; ok {
				s.GoStackBytes = v
			}
		}
	}
	if p.PID > 0 {
		rss, cpu, err := procStats(p.PID)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.RSSBytes, s.CPUSeconds, s.Source = rss, cpu, "proc"
		}
	}
	if s.RSSBytes < 0 && s.CPUSeconds < 0 && s.Connections < 0 {
		return s, errors.Join(append(errs, errors.New("loadgen: nothing to read the server's use from"))...)
	}
	return s, nil
}

// procStats reads a process's resident memory (VmRSS) and CPU time
// (utime+stime).
func procStats(pid int) (rss, cpu float64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	rss = -1
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) >= 1 {
				kb, perr := strconv.ParseFloat(f[0], 64)
				if perr == nil {
					rss = kb * 1024
				}
			}
		}
	}
	if rss < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; count from after it.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return rss, (ut + st) / clockTicks, nil
}

// scrape reads the unlabelled samples of a Prometheus text page. A sample
// whose only label is node (every sample of a server that names its node
// carries it) counts as unlabelled: a page is one node's.
func (p *Probe) scrape(ctx context.Context) (map[string]float64, error) {
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.MetricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", p.MetricsURL, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		line = dropNodeLabel(line)
		if strings.ContainsRune(line, '{') {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// dropNodeLabel turns `name{node="n"} v` into `name v`; any other line is
// returned as it is.
func dropNodeLabel(line string) string {
	i := strings.IndexByte(line, '{')
	if i < 0 {
		return line
	}
	j := strings.IndexByte(line[i:], '}')
	if j < 0 {
		return line
	}
	labels := line[i+1 : i+j]
	v, ok := strings.CutPrefix(labels, `node="`)
	if !ok || !strings.HasSuffix(v, `"`) || strings.ContainsAny(v[:len(v)-1], `",\\`) {
		return line
	}
	return line[:i] + line[i+j+1:]
}
