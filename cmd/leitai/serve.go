package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

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
	pprofAddr                                                                string
	joinRate                                                                 float64
	joinBurst                                                                int
	grace, matchWait, matchLimit, matchReveal, matchCountdown                time.Duration
	botFill                                                                  bool
	matchQuestions, dailyCap                                                 int
	timeZone, pointCaps                                                      string
	participation                                                            float64
	loc                                                                      *time.Location
	caps                                                                     store.Caps
}

func parseServe(args []string) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.addr, "addr", env("LEITAI_ADDR", ":8080"), "listen address (LEITAI_ADDR)")
	fs.StringVar(&f.data, "data", env("LEITAI_DATA", "./data"), "data directory for the SQLite file (unless --db) and the admin token (LEITAI_DATA)")
	fs.StringVar(&f.adminToken, "admin-token", env("LEITAI_ADMIN_TOKEN", ""), "organizer token; generated and stored in the data directory when empty (LEITAI_ADMIN_TOKEN)")
	fs.StringVar(&f.redis, "redis", env("LEITAI_REDIS", ""), "Redis URL for cluster mode — not available yet (LEITAI_REDIS)")
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
	fs.IntVar(&f.matchQuestions, "match-questions", intEnv("LEITAI_MATCH_QUESTIONS", 5), "questions per quick match (LEITAI_MATCH_QUESTIONS)")
	fs.IntVar(&f.dailyCap, "points-daily-cap", intEnv("LEITAI_POINTS_DAILY_CAP", 2), "duels and four-player matches (each) a day that earn points (LEITAI_POINTS_DAILY_CAP)")
	fs.StringVar(&f.timeZone, "tz", env("LEITAI_TZ", web.DefaultTimeZone), "time zone of points days, weeks (from Monday) and months (LEITAI_TZ)")
	fs.StringVar(&f.pointCaps, "point-caps", env("LEITAI_POINT_CAPS", ""), "awards a day per point source, e.g. event=3,daily=1,challenge=1 (0: no cap; LEITAI_POINT_CAPS)")
	fs.Float64Var(&f.participation, "participation-target", floatEnv("LEITAI_PARTICIPATION_TARGET", 0.4), "weekly participation rate a unit should reach, 0.4 = 40 % (LEITAI_PARTICIPATION_TARGET)")
	fs.Float64Var(&f.joinRate, "addr-join-rate", floatEnv("LEITAI_ADDR_JOIN_RATE", 200), "hellos and event joins per second allowed from one IP address (LEITAI_ADDR_JOIN_RATE)")
	fs.IntVar(&f.joinBurst, "addr-join-burst", intEnv("LEITAI_ADDR_JOIN_BURST", 5000), "burst of hellos and event joins allowed from one IP address (LEITAI_ADDR_JOIN_BURST)")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this loopback address (for profiling; off by default)")
	fs.BoolVar(&f.botFill, "bot-fill", env("LEITAI_BOT_FILL", "") == "true", "fill a quick match with bots when nobody comes in time (LEITAI_BOT_FILL)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.redis != "" {
		return nil, errors.New("--redis (cluster mode) is not available in this version; run without it for a single node")
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
	if f.db != "" && !store.IsPostgresURL(f.db) {
		return nil, errors.New("--db wants a PostgreSQL URL, postgres://… or postgresql://…; leave it out to use SQLite in the data directory")
	}
	return f, nil
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

func newLogger(level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).Level(lvl).With().Timestamp().Logger()
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
// the data directory, or a new one written there. Only its hash is stored
// in the database.
func organizerToken(ctx context.Context, st store.Store, data, given string) (string, bool, error) {
	path := filepath.Join(data, "admin-token")
	tok, created := given, false
	if tok == "" {
		if b, err := os.ReadFile(path); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	if tok == "" {
		tok, _ = web.NewToken()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return "", false, err
		}
		created = true
	}
	hash := web.HashToken(tok)
	if _, err := st.Token(ctx, hash); errors.Is(err, store.ErrNotFound) {
		if err := st.PutToken(ctx, store.Token{Hash: hash, Kind: store.TokenOrganizer, Subject: "organizer", CreatedAt: time.Now()}); err != nil {
			return "", false, err
		}
	} else if err != nil {
		return "", false, err
	}
	return tok, created, nil
}

func serve(ctx context.Context, args []string) error {
	f, err := parseServe(args)
	if err != nil {
		return err
	}
	log := newLogger(f.logLevel)
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
	tok, created, err := organizerToken(ctx, st, f.data, f.adminToken)
	if err != nil {
		return fmt.Errorf("organizer token: %w", err)
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
	committer := store.NewCommitter(st, store.CommitterOptions{Logger: log})
	jctx, stopJournal := context.WithCancel(context.Background())
	jdone := make(chan error, 1)
	go func() { jdone <- committer.Run(jctx) }()
	defer func() { stopJournal(); <-jdone }()

	cfg := web.Config{
		PublicURL: f.publicURL, Grace: f.grace, MatchQuestions: f.matchQuestions, MatchTimeLimit: f.matchLimit,
		RevealFor: f.matchReveal, MatchCountdown: f.matchCountdown, PointsDailyCap: f.dailyCap,
		PointCaps: f.caps, TimeZone: f.loc, ParticipationTarget: f.participation,
		AllowedOrigins: splitList(f.origins), BlockedWords: splitList(f.blocked),
		JoinsPerSecondPerAddr: f.joinRate, JoinBurstPerAddr: f.joinBurst,
	}
	cfg.Match.MaxWait = f.matchWait
	cfg.Match.BotFill = f.botFill
	srv := web.New(cfg, web.Deps{Store: st, Committer: committer, Bank: bank, Log: log})

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
		where = "PostgreSQL"
	}
	fmt.Fprintf(os.Stderr, "\n  Leitai is running (%d questions in the bank, data in %s)\n\n", bank.Len(), where)
	fmt.Fprintf(os.Stderr, "  player page     %s/\n", base)
	fmt.Fprintf(os.Stderr, "  host console    %s/host\n", base)
	fmt.Fprintf(os.Stderr, "  organizer page  %s/admin?token=%s\n", base, tok)
	if created {
		fmt.Fprintf(os.Stderr, "  organizer token %s  (new; kept in %s)\n\n", tok, filepath.Join(f.data, "admin-token"))
	} else {
		fmt.Fprintf(os.Stderr, "  organizer token %s\n\n", tok)
	}
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
