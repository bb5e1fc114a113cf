package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/internal/token"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/store"
	"github.com/leitai/leitai/web"
)

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

type serveFlags struct {
	addr, data, adminToken, redis, db, publicURL, origins, blocked, logLevel string
	pprofAddr, metricsAddr, nodeID                                           string
	joinRate                                                                 float64
	joinBurst, maxConns                                                      int
	registerRate, pinRate                                                    float64
	registerBurst, pinBurst                                                  int
	readHeaderTimeout, readTimeout, writeTimeout                             time.Duration
	idleTimeout, transferTimeout                                             time.Duration
	grace, matchWait, matchLimit, matchReveal, matchCountdown                time.Duration
	botFill                                                                  bool
	rttCreditMax, leaseTTL, journalLinger                                    time.Duration
	matchQuestions, dailyCap                                                 int
	// expiry: guests who never played, unused tokens, ended events' tokens
	expireGuests, expireTokens, expireEventTokens time.Duration
	timeZone, pointCaps                           string
	participation                                 float64
	loc                                           *time.Location
	caps                                          store.Caps
}

func parseServe(args []string) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.addr, "addr", env("LEITAI_ADDR", ":8080"), "listen address (LEITAI_ADDR)")
	fs.StringVar(&f.data, "data", env("LEITAI_DATA", "./data"), "data directory for the SQLite file (unless --db) and the admin token (LEITAI_DATA)")
	fs.StringVar(&f.adminToken, "admin-token", env("LEITAI_ADMIN_TOKEN", ""), "organizer token; generated and stored in the data directory when empty (LEITAI_ADMIN_TOKEN)")
	fs.StringVar(&f.redis, "redis", env("LEITAI_REDIS", ""), "Redis URL (redis://host:6379, Sentinel or Redis Cluster, see docs/operations.md): run as one node of a cluster; needs --db (LEITAI_REDIS)")
	fs.StringVar(&f.db, "db", env("LEITAI_DB", ""), "PostgreSQL URL (postgres://user:pass@host:5432/db) to keep records in instead of SQLite (LEITAI_DB)")
	fs.StringVar(&f.publicURL, "public-url", env("LEITAI_PUBLIC_URL", ""), "base URL in join links and QR codes; default: the request's host (LEITAI_PUBLIC_URL)")
	fs.StringVar(&f.origins, "allowed-origins", env("LEITAI_ALLOWED_ORIGINS", ""), "comma-separated extra Origins accepted on /ws, or * (LEITAI_ALLOWED_ORIGINS)")
	fs.StringVar(&f.blocked, "blocked-words", env("LEITAI_BLOCKED_WORDS", ""), "comma-separated words not allowed in nicknames (LEITAI_BLOCKED_WORDS)")
	fs.StringVar(&f.logLevel, "log-level", env("LEITAI_LOG_LEVEL", "info"), "debug, info, warn or error (LEITAI_LOG_LEVEL)")
	fs.DurationVar(&f.grace, "grace", durEnv("LEITAI_GRACE", 60*time.Second), "how long a dropped player may resume (LEITAI_GRACE)")
	fs.DurationVar(&f.matchWait, "match-wait", durEnv("LEITAI_MATCH_WAIT", 30*time.Second), "how long a quick-match request waits for opponents (LEITAI_MATCH_WAIT)")
	fs.DurationVar(&f.matchLimit, "match-time-limit", durEnv("LEITAI_MATCH_TIME_LIMIT", 15*time.Second), "time to answer a quick-match question (LEITAI_MATCH_TIME_LIMIT)")
	fs.DurationVar(&f.matchReveal, "match-reveal", durEnv("LEITAI_MATCH_REVEAL", 3*time.Second), "how long a quick match shows each answer (LEITAI_MATCH_REVEAL)")
	fs.DurationVar(&f.matchCountdown, "match-countdown", durEnv("LEITAI_MATCH_COUNTDOWN", 3*time.Second), "countdown before a quick match's first question (LEITAI_MATCH_COUNTDOWN)")
	fs.DurationVar(&f.rttCreditMax, "rtt-credit-max", durEnv("LEITAI_RTT_CREDIT_MAX", 350*time.Millisecond), "most of a connection's round trip fair timing takes off an answer's time (LEITAI_RTT_CREDIT_MAX)")
	fs.IntVar(&f.matchQuestions, "match-questions", intEnv("LEITAI_MATCH_QUESTIONS", 5), "questions per quick match (LEITAI_MATCH_QUESTIONS)")
	fs.IntVar(&f.dailyCap, "points-daily-cap", intEnv("LEITAI_POINTS_DAILY_CAP", 2), "duels, four-player and team matches (each) a day that earn points (LEITAI_POINTS_DAILY_CAP)")
	fs.StringVar(&f.timeZone, "tz", env("LEITAI_TZ", web.DefaultTimeZone), "time zone of points days, weeks (from Monday) and months (LEITAI_TZ)")
	fs.StringVar(&f.pointCaps, "point-caps", env("LEITAI_POINT_CAPS", ""), "awards a day per point source, e.g. event=3,daily=1,challenge=1 (0: no cap; LEITAI_POINT_CAPS)")
	fs.Float64Var(&f.participation, "participation-target", floatEnv("LEITAI_PARTICIPATION_TARGET", 0.4), "weekly participation rate a unit should reach, 0.4 = 40 % (LEITAI_PARTICIPATION_TARGET)")
	fs.Float64Var(&f.joinRate, "addr-join-rate", floatEnv("LEITAI_ADDR_JOIN_RATE", 200), "hellos and event joins per second allowed from one IP address (LEITAI_ADDR_JOIN_RATE)")
	fs.IntVar(&f.joinBurst, "addr-join-burst", intEnv("LEITAI_ADDR_JOIN_BURST", 5000), "burst of hellos and event joins allowed from one IP address (LEITAI_ADDR_JOIN_BURST)")
	fs.IntVar(&f.maxConns, "addr-max-conns", intEnv("LEITAI_ADDR_MAX_CONNS", 2000), "WebSocket connections open at once from one IP address; behind a load balancer every player is its address (LEITAI_ADDR_MAX_CONNS)")
	fs.Float64Var(&f.registerRate, "addr-register-rate", floatEnv("LEITAI_ADDR_REGISTER_RATE", 5), "POST /api/v1/players per second allowed from one IP address (LEITAI_ADDR_REGISTER_RATE)")
	fs.IntVar(&f.registerBurst, "addr-register-burst", intEnv("LEITAI_ADDR_REGISTER_BURST", 100), "burst of POST /api/v1/players allowed from one IP address (LEITAI_ADDR_REGISTER_BURST)")
	fs.Float64Var(&f.pinRate, "addr-pin-rate", floatEnv("LEITAI_ADDR_PIN_RATE", 10), "PIN lookups per second allowed from one IP address (LEITAI_ADDR_PIN_RATE)")
	fs.IntVar(&f.pinBurst, "addr-pin-burst", intEnv("LEITAI_ADDR_PIN_BURST", 1000), "burst of PIN lookups allowed from one IP address (LEITAI_ADDR_PIN_BURST)")
	fs.DurationVar(&f.readHeaderTimeout, "read-header-timeout", durEnv("LEITAI_READ_HEADER_TIMEOUT", 10*time.Second), "time to read a request's headers (LEITAI_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&f.readTimeout, "read-timeout", durEnv("LEITAI_READ_TIMEOUT", 30*time.Second), "time to read a whole request, body included (LEITAI_READ_TIMEOUT)")
	fs.DurationVar(&f.writeTimeout, "write-timeout", durEnv("LEITAI_WRITE_TIMEOUT", 30*time.Second), "time to handle a request and write its response (LEITAI_WRITE_TIMEOUT)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", durEnv("LEITAI_IDLE_TIMEOUT", 60*time.Second), "how long an idle keep-alive connection stays open (LEITAI_IDLE_TIMEOUT)")
	fs.DurationVar(&f.transferTimeout, "transfer-timeout", durEnv("LEITAI_TRANSFER_TIMEOUT", 10*time.Minute), "read and write time of a bank upload or results export, once its token is checked (LEITAI_TRANSFER_TIMEOUT)")
	fs.DurationVar(&f.journalLinger, "journal-linger", durEnv("LEITAI_JOURNAL_LINGER", store.DefaultLinger), "under load, the least time between the starts of two journal commits, so that more answers share one, and of two commits of rooms and players opened and matches ended; 0 commits as soon as the previous commit ends (LEITAI_JOURNAL_LINGER)")
	fs.StringVar(&f.nodeID, "node-id", env("LEITAI_NODE_ID", ""), "this node's id in logs and metrics; default: generated at each start (LEITAI_NODE_ID)")
	fs.DurationVar(&f.leaseTTL, "lease-ttl", durEnv("LEITAI_LEASE_TTL", 2*time.Second), "cluster mode: how long a room's lease lasts unrenewed; a node that cannot renew within it gives its rooms up to another node (LEITAI_LEASE_TTL)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", env("LEITAI_METRICS_ADDR", ""), "serve /metrics on this address only, not on --addr (LEITAI_METRICS_ADDR)")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this loopback address (for profiling; off by default)")
	fs.BoolVar(&f.botFill, "bot-fill", env("LEITAI_BOT_FILL", "") == "true", "fill a quick match with bots when nobody comes in time (LEITAI_BOT_FILL)")
	fs.DurationVar(&f.expireGuests, "expire-guests", durEnv("LEITAI_EXPIRE_GUESTS", 24*time.Hour), "remove guests who never joined a room this long after they came; 0 never (LEITAI_EXPIRE_GUESTS)")
	fs.DurationVar(&f.expireTokens, "expire-tokens", durEnv("LEITAI_EXPIRE_TOKENS", 30*24*time.Hour), "remove player and resume tokens unused this long; 0 never (LEITAI_EXPIRE_TOKENS)")
	fs.DurationVar(&f.expireEventTokens, "expire-event-tokens", durEnv("LEITAI_EXPIRE_EVENT_TOKENS", 7*24*time.Hour), "remove an event's host and screen tokens this long after it ended; 0 never (LEITAI_EXPIRE_EVENT_TOKENS)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.rttCreditMax <= 0 || f.rttCreditMax > 2*time.Second {
		return nil, fmt.Errorf("--rtt-credit-max must be more than 0 and at most 2s, not %v", f.rttCreditMax)
	}
	loc, err := time.LoadLocation(f.timeZone)
	if err != nil {
		return nil, fmt.Errorf("--tz %q: %v", f.timeZone, err)
	}
	f.loc = loc
	if f.caps, err = parseCaps(f.pointCaps); err != nil {
		return nil, err
	}
	if f.participation <= 0 || f.participation > 1 {
		return nil, fmt.Errorf("--participation-target %v: want a rate above 0 and at most 1", f.participation)
	}
	if f.leaseTTL < 500*time.Millisecond || f.leaseTTL > time.Minute {
		return nil, fmt.Errorf("--lease-ttl must be at least 500ms and at most 1m, not %v", f.leaseTTL)
	}
	if f.journalLinger < 0 || f.journalLinger > 50*time.Millisecond {
		return nil, fmt.Errorf("--journal-linger must be at least 0 and at most 50ms, not %v", f.journalLinger)
	}
	if f.maxConns <= 0 {
		return nil, fmt.Errorf("--addr-max-conns must be at least 1, not %d", f.maxConns)
	}
	if f.db != "" && !store.IsPostgresURL(f.db) {
		return nil, errors.New("--db wants a PostgreSQL URL, postgres://… or postgresql://…; leave it out to use SQLite in the data directory")
	}
	if f.redis != "" {
		if f.db == "" {
			return nil, errors.New("--redis (cluster mode) needs --db with a PostgreSQL URL: the nodes of a cluster share their records there; leave --redis out for a single node")
		}
		if _, _, err := cluster.ParseRedisURL(f.redis); err != nil {
			return nil, fmt.Errorf("--redis: %v", err)
		}
	}
	return f, nil
}

// committerOptions configures the journal's committer from the flags.
func (f *serveFlags) committerOptions(log zerolog.Logger) store.CommitterOptions {
	linger := f.journalLinger
	if linger == 0 {
		linger = -1 // the option's zero is its default; the flag's is no linger
	}
	return store.CommitterOptions{Logger: log, Linger: linger}
}

func durEnv(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func intEnv(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func floatEnv(name string, def float64) float64 {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newLogger logs to w: for people on a terminal, as JSON lines otherwise
// (a log collector, a container); every line names the node.
func newLogger(w io.Writer, terminal bool, level string, node cluster.NodeID) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if terminal {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("node", string(node)).Logger()
}

// openStore opens the PostgreSQL store at db, or without db the SQLite
// store in the data directory, which it creates either way (the admin
// token lives there).
func openStore(ctx context.Context, data, db string) (*store.SQL, error) {
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	if db != "" {
		return store.OpenPostgres(ctx, db)
	}
	return store.OpenSQLite(ctx, filepath.Join(data, "leitai.db"))
}

// organizerToken returns the organizer token: the flag's, or the one kept in
// the data directory, or a new one written there. The file always holds the
// token in force, so a token given on the command line replaces the one kept
// there. Only the token's hash is stored in the database, and it is the only
// organizer token there: any other one (a token used before a rotation) is
// deleted, and revoked counts them.
func organizerToken(ctx context.Context, st store.Store, data, given string) (tok string, created bool, revoked int, err error) {
	path := filepath.Join(data, "admin-token")
	kept := ""
	if b, err := os.ReadFile(path); err == nil {
		kept = strings.TrimSpace(string(b))
	}
	tok = strings.TrimSpace(given)
	switch {
	case tok != "":
	case kept != "":
		tok = kept
	default:
		tok, _ = token.New()
		created = true
	}
	if tok != kept {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return "", false, 0, err
		}
	}
	revoked, err = st.ReplaceTokens(ctx, store.Token{Hash: token.Hash(tok), Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: time.Now()})
	if err != nil {
		return "", false, 0, err
	}
	return tok, created, revoked, nil
}

// banner tells the operator where the pages are. The organizer token is a
// secret that logs keep: it is shown once, when it is made, and only on a
// terminal; otherwise the banner says where it is kept.
func banner(w io.Writer, base, data, where string, questions int, tok string, created, terminal bool) {
	path := filepath.Join(data, "admin-token")
	fmt.Fprintf(w, "\n  Leitai is running (%d questions in the bank, data in %s)\n\n", questions, where)
	fmt.Fprintf(w, "  player page     %s/\n", base)
	fmt.Fprintf(w, "  host console    %s/host\n", base)
	if created && terminal {
		fmt.Fprintf(w, "  organizer page  %s/admin?token=%s\n", base, tok)
		fmt.Fprintf(w, "  organizer token %s  (new, shown this once; kept in %s)\n\n", tok, path)
		return
	}
	fmt.Fprintf(w, "  organizer page  %s/admin  (the organizer token is kept in %s)\n\n", base, path)
}

func serve(ctx context.Context, args []string) error {
	f, err := parseServe(args)
	if err != nil {
		return err
	}
	node := cluster.NewNodeID()
	if f.nodeID != "" {
		if node, err = cluster.ParseNodeID(f.nodeID); err != nil {
			return err
		}
	}
	log := newLogger(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), f.logLevel, node)
	if f.pprofAddr != "" {
		if err := startPprof(ctx, f.pprofAddr); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, f.data, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetGroupLinger(f.journalLinger, clock.Real{})
	tok, created, revoked, err := organizerToken(ctx, st, f.data, f.adminToken)
	if err != nil {
		return fmt.Errorf("organizer token: %w", err)
	}
	if revoked > 0 {
		log.Info().Int("revoked", revoked).Msg("organizer token changed; the previous one no longer works")
	}
	bank := questionbank.NewBank()
	sample, err := questionbank.Sample()
	if err != nil {
		return fmt.Errorf("bundled bank: %w", err)
	}
	bank.Add("sample", sample)
	if err := web.LoadQuestionSets(ctx, st, bank); err != nil {
		return fmt.Errorf("question sets: %w", err)
	}
	committer := store.NewCommitter(st, f.committerOptions(log))
	jctx, stopJournal := context.WithCancel(context.Background())
	jdone := make(chan error, 1)
	go func() { jdone <- committer.Run(jctx) }()
	defer func() { stopJournal(); <-jdone }()

	cfg := web.Config{
		Node:      string(node),
		PublicURL: f.publicURL, Grace: f.grace, MatchQuestions: f.matchQuestions, MatchTimeLimit: f.matchLimit,
		RevealFor: f.matchReveal, MatchCountdown: f.matchCountdown, PointsDailyCap: f.dailyCap,
		PointCaps: f.caps, TimeZone: f.loc, ParticipationTarget: f.participation,
		AllowedOrigins: splitList(f.origins), BlockedWords: splitList(f.blocked),
		JoinsPerSecondPerAddr: f.joinRate, JoinBurstPerAddr: f.joinBurst, MaxConnsPerAddr: f.maxConns,
		RegistersPerSecondPerAddr: f.registerRate, RegisterBurstPerAddr: f.registerBurst,
		PINLookupsPerSecondPerAddr: f.pinRate, PINLookupBurstPerAddr: f.pinBurst,
		ReadHeaderTimeout: f.readHeaderTimeout, ReadTimeout: f.readTimeout, WriteTimeout: f.writeTimeout,
		IdleTimeout: f.idleTimeout, TransferTimeout: f.transferTimeout,
		RTTCreditMax: f.rttCreditMax, LeaseTTL: f.leaseTTL,
	}
	cfg.Match.MaxWait = f.matchWait
	cfg.Match.BotFill = f.botFill
	never := func(d time.Duration) time.Duration { // 0 on the command line is "never"
		if d <= 0 {
			return -1
		}
		return d
	}
	cfg.Expiry = web.ExpiryConfig{Guests: never(f.expireGuests), UnusedTokens: never(f.expireTokens), EventTokens: never(f.expireEventTokens)}
	deps := web.Deps{Store: st, Committer: committer, Bank: bank, Log: log}
	if f.redis != "" {
		bm := cluster.NewMetrics(node)
		bus, err := cluster.NewRedisBus(ctx, cluster.RedisConfig{URL: f.redis, Metrics: bm})
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		defer bus.Close()
		deps.Bus, deps.Leases, deps.State = bus, bus, clusterState(bus, node, st, bank, log)
		deps.Collectors = append(deps.Collectors, bm.Collectors()...)
		log.Info().Msg("cluster mode: live state in Redis, records in PostgreSQL")
	}
	if f.metricsAddr != "" {
		mln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics address: %w", err)
		}
		defer mln.Close()
		deps.MetricsListener = mln
		log.Info().Str("addr", mln.Addr().String()).Msg("serving /metrics apart")
	}
	srv := web.New(cfg, deps)

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	base := f.publicURL
	if base == "" {
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		if host == "::" || host == "0.0.0.0" || host == "" {
			host = "localhost"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	where := f.data
	if f.db != "" {
		where = f.data + ", records in PostgreSQL"
	}
	banner(os.Stderr, base, f.data, where, bank.Len(), tok, created, term.IsTerminal(int(os.Stderr.Fd())))
	log.Info().Str("addr", ln.Addr().String()).Str("store", st.Backend()).Msg("serving")
	err = srv.Run(ctx, ln)
	log.Info().Msg("stopped")
	return err
}

// parseCaps reads "source=n,source=n" into daily caps per point source.
func parseCaps(v string) (store.Caps, error) {
	caps := store.Caps{}
	for _, part := range splitList(v) {
		k, n, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		c, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil || c < 0 || !slices.Contains(store.Sources, k) {
			return nil, fmt.Errorf("--point-caps %q: want source=n pairs, sources %s, n from 0", part, strings.Join(store.Sources, ", "))
		}
		caps[k] = c
	}
	return caps, nil
}
