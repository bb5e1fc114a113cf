package clusterstate

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/questionbank"
)

// History is the questions each player was shown recently, so a room can
// avoid asking them again; every node sees every node's record.
type History interface {
	// Seen records that each of players was shown each of ids, in order.
	Seen(ctx context.Context, players, ids []string) error
	// Recent returns the union of the recent ids of players.
	Recent(ctx context.Context, players ...string) (map[string]bool, error)
	// Forget drops what is known about players.
	Forget(ctx context.Context, players ...string) error
}

// LocalHistory is a single node's history: questionbank.History, as today.
type LocalHistory struct{ H *questionbank.History }

var _ History = LocalHistory{}

// NewLocalHistory keeps the last k ids per player (k <= 0: the default).
func NewLocalHistory(k int) LocalHistory { return LocalHistory{H: questionbank.NewHistory(k)} }

// Seen implements History.
func (l LocalHistory) Seen(_ context.Context, players, ids []string) error {
	l.H.Seen(players, ids)
	return nil
}

// Recent implements History.
func (l LocalHistory) Recent(_ context.Context, players ...string) (map[string]bool, error) {
	return l.H.Recent(players...), nil
}

// Forget implements History.
func (l LocalHistory) Forget(_ context.Context, players ...string) error {
	l.H.Forget(players...)
	return nil
}

// RedisHistory keeps each player's last K ids as a list {PREFIXhist:PLAYER},
// oldest first, living HistoryTTL past the player's last question.
type RedisHistory struct {
	client redis.UniversalClient // Static after construction.
	prefix string                // Static after construction.
	k      int                   // Static after construction.
}

// HistoryTTL is how long a player's history outlives their last question:
// a player away for longer may see a question again.
const HistoryTTL = 30 * 24 * time.Hour

var _ History = (*RedisHistory)(nil)

// NewRedisHistory keeps the last k ids per player (k <= 0: the default) in
// client under prefix.
func NewRedisHistory(client redis.UniversalClient, prefix string, k int) *RedisHistory {
	if k <= 0 {
		k = questionbank.DefaultHistorySize
	}
	return &RedisHistory{client: client, prefix: prefix, k: k}
}

func (r *RedisHistory) key(player string) string { return "{" + r.prefix + "hist:" + player + "}" }

// ARGV: k, ttl ms, ids... One player's list: each id moves to the end.
var histSeen = redis.NewScript(`
for i = 3, #ARGV do
  redis.call('LREM', KEYS[1], 0, ARGV[i])
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// Seen implements History.
func (r *RedisHistory) Seen(ctx context.Context, players, ids []string) error {
	if len(players) == 0 || len(ids) == 0 {
		return nil
	}
	args := []any{r.k, ms(HistoryTTL)}
	for _, id := range ids {
		args = append(args, id)
	}
	run := func() error {
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, pl := range players {
				histSeen.EvalSha(ctx, p, []string{r.key(pl)}, args...)
			}
			return nil
		})
		return err
	}
	err := run()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// The script is not cached (a new or restarted server): load it
		// (on every master) and send the batch again; each player's
		// script is idempotent.
		if err := histSeen.Load(ctx, r.client).Err(); err != nil {
			return unavailable(err)
		}
		err = run()
	}
	return unavailable(err)
}

// Recent implements History.
func (r *RedisHistory) Recent(ctx context.Context, players ...string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(players) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringSliceCmd, len(players))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, pl := range players {
			cmds[i] = p.LRange(ctx, r.key(pl), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	for _, c := range cmds {
		for _, id := range c.Val() {
			out[id] = true
		}
	}
	return out, nil
}

// Forget implements History.
func (r *RedisHistory) Forget(ctx context.Context, players ...string) error {
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, pl := range players {
			p.Del(ctx, r.key(pl))
		}
		return nil
	})
	return unavailable(err)
}
