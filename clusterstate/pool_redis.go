package clusterstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leitai/leitai/match"
)

// RedisPool is the quick-match pool of a cluster (match.Pool) in Redis.
//
// All of it lives under one hash tag, {PREFIXmm}, so that a match is taken
// in one script however its tickets are spread and a player has one live
// ticket across every queue: a hash of live tickets (id -> "seq json"), a
// sorted set of their deadlines, a hash player -> live ticket, a hash and a
// sorted set of taken tickets and their deadlines, and the arrival counter.
// Every script first drops the tickets whose deadline (on the Redis
// server's clock) has passed.
type RedisPool struct {
	client redis.UniversalClient // Static after construction.
	keys   []string              // Static after construction.
}

var _ match.Pool = (*RedisPool)(nil)

// NewRedisPool keeps the pool in client under prefix (as a RedisBus's
// Client and Prefix).
func NewRedisPool(client redis.UniversalClient, prefix string) *RedisPool {
	tag := "{" + prefix + "mm}"
	return &RedisPool{client: client, keys: []string{
		tag + ":live", tag + ":exp", tag + ":players", tag + ":taken", tag + ":takenexp", tag + ":seq",
	}}
}

// poolLua starts every pool script: now on the server's clock, and the
// purge of lapsed tickets. KEYS: live, exp, players, taken, takenexp, seq.
const poolLua = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local function playerOf(v)
  local sp = string.find(v, ' ', 1, true)
  return cjson.decode(string.sub(v, sp + 1)).player.id
end
local function dropLive(id)
  local v = redis.call('HGET', KEYS[1], id)
  if not v then return nil end
  local p = playerOf(v)
  if redis.call('HGET', KEYS[3], p) == id then redis.call('HDEL', KEYS[3], p) end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  return v
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do dropLive(id) end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)) do
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
`

// ARGV: id, player, json, ttl ms, seq. Returns the seq, -1 taken, -2 busy.
var poolAdd = redis.NewScript(poolLua + `
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then return -1 end
local cur = redis.call('HGET', KEYS[3], ARGV[2])
if cur and cur ~= ARGV[1] then return -2 end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
  return tonumber(string.match(v, '^%d+'))
end
local seq = tonumber(ARGV[5])
if seq == 0 then seq = redis.call('INCR', KEYS[6]) end
redis.call('HSET', KEYS[1], ARGV[1], seq .. ' ' .. ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
return seq`)

// ARGV: ttl ms, ids... Returns 1 live, 2 taken, 0 gone per id.
var poolRenew = redis.NewScript(poolLua + `
local out = {}
for i = 2, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[i])
    out[#out + 1] = 1
  elseif redis.call('HEXISTS', KEYS[4], ARGV[i]) == 1 then
    out[#out + 1] = 2
  else
    out[#out + 1] = 0
  end
end
return out`)

// ARGV: id.
var poolRemove = redis.NewScript(poolLua + `
dropLive(ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1`)

var poolSnapshot = redis.NewScript(poolLua + `
return redis.call('HVALS', KEYS[1])`)

// ARGV: hold ms, ids... Returns 1 if every id was live and is now taken.
var poolTake = redis.NewScript(poolLua + `
local seen = {}
for i = 2, #ARGV do
  if seen[ARGV[i]] or redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
  seen[ARGV[i]] = true
end
for i = 2, #ARGV do
  local v = dropLive(ARGV[i])
  redis.call('HSET', KEYS[4], ARGV[i], v)
  redis.call('ZADD', KEYS[5], now + tonumber(ARGV[1]), ARGV[i])
end
return 1`)

// ARGV: ttl ms, ids...
var poolReturn = redis.NewScript(poolLua + `
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[4], ARGV[i])
  if v then
    redis.call('HDEL', KEYS[4], ARGV[i])
    redis.call('ZREM', KEYS[5], ARGV[i])
    local p = playerOf(v)
    if not redis.call('HGET', KEYS[3], p) then
      redis.call('HSET', KEYS[1], ARGV[i], v)
      redis.call('HSET', KEYS[3], p, ARGV[i])
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[i])
    end
  end
end
return 1`)

func idArgs(first any, ids []string) []any {
	args := make([]any, 0, len(ids)+1)
	args = append(args, first)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// Add implements match.Pool.
func (p *RedisPool) Add(ctx context.Context, t match.PoolTicket, ttl time.Duration) (int64, error) {
	seq := t.Seq
	t.Seq = 0
	b, err := json.Marshal(t)
	if err != nil {
		return 0, err
	}
	n, err := poolAdd.Run(ctx, p.client, p.keys, t.ID, t.Player.ID, b, ms(ttl), seq).Int64()
	switch {
	case err != nil:
		return 0, unavailable(err)
	case n == -1:
		return 0, match.ErrTaken
	case n == -2:
		return 0, match.ErrBusy
	}
	return n, nil
}

// Renew implements match.Pool.
func (p *RedisPool) Renew(ctx context.Context, ids []string, ttl time.Duration) ([]match.TicketState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := poolRenew.Run(ctx, p.client, p.keys, idArgs(ms(ttl), ids)...).Int64Slice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]match.TicketState, len(res))
	for i, v := range res {
		switch v {
		case 1:
			out[i] = match.TicketLive
		case 2:
			out[i] = match.TicketTaken
		}
	}
	return out, nil
}

// Remove implements match.Pool.
func (p *RedisPool) Remove(ctx context.Context, id string) error {
	return unavailable(poolRemove.Run(ctx, p.client, p.keys, id).Err())
}

// Snapshot implements match.Pool.
func (p *RedisPool) Snapshot(ctx context.Context) ([]match.PoolTicket, error) {
	vals, err := poolSnapshot.Run(ctx, p.client, p.keys).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]match.PoolTicket, 0, len(vals))
	for _, v := range vals {
		seq, raw, ok := strings.Cut(v, " ")
		var t match.PoolTicket
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || json.Unmarshal([]byte(raw), &t) != nil {
			return nil, fmt.Errorf("clusterstate: a ticket in the pool does not parse: %.80q", v)
		}
		t.Seq = n
		out = append(out, t)
	}
	return out, nil
}

// Take implements match.Pool.
func (p *RedisPool) Take(ctx context.Context, ids []string, hold time.Duration) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	n, err := poolTake.Run(ctx, p.client, p.keys, idArgs(ms(hold), ids)...).Int64()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// Return implements match.Pool.
func (p *RedisPool) Return(ctx context.Context, ids []string, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	return unavailable(poolReturn.Run(ctx, p.client, p.keys, idArgs(ms(ttl), ids)...).Err())
}
