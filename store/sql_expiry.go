package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// markChunk bounds the ids in one UPDATE … IN (…) statement.
const markChunk = 500

// MarkPlayed notes that the players joined a room at at; a player keeps the
// first time. Unknown ids are ignored.
func (s *SQL) MarkPlayed(ctx context.Context, at time.Time, players []string) error {
	err := s.markIn(ctx, `UPDATE players SET played_at = $1 WHERE played_at = 0 AND id IN `, ms(at), players)
	return s.fail(err, "mark played")
}

// MarkTokensUsed notes that the tokens with these hashes were presented at
// at. Unknown hashes are ignored.
func (s *SQL) MarkTokensUsed(ctx context.Context, at time.Time, hashes []string) error {
	err := s.markIn(ctx, `UPDATE tokens SET used_at = $1 WHERE used_at < $1 AND hash IN `, ms(at), hashes)
	return s.fail(err, "mark tokens used")
}

// markIn runs prefix + "($2, $3, …)" with at as the first argument over
// ids, in chunks, in one transaction.
func (s *SQL) markIn(ctx context.Context, prefix string, at int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for len(ids) > 0 {
			n := min(len(ids), markChunk)
			var q strings.Builder
			q.WriteString(prefix)
			args := make([]any, 0, n+1)
			args = append(args, at)
			q.WriteString("(")
			for i, id := range ids[:n] {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString(s.d.param(i + 2))
				args = append(args, id)
			}
			q.WriteString(")")
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
			ids = ids[n:]
		}
		return nil
	})
}

// ExpireRules say what Expire removes; a zero time skips that rule.
type ExpireRules struct {
	// Now removes every token whose ExpiresAt has passed.
	Now time.Time
	// GuestsBefore removes players created before it who never joined a
	// room, have no game on record and hold no player token, with their
	// tokens.
	GuestsBefore time.Time
	// UnusedBefore removes player and resume tokens neither created nor
	// used since.
	UnusedBefore time.Time
	// EventsEndedBefore removes the host and screen tokens of events that
	// ended before it.
	EventsEndedBefore time.Time
}

// Expired counts what Expire removed.
type Expired struct {
	Players, Tokens int64
}

// Expire removes what the rules name, in one transaction. Organizer tokens
// are never removed.
func (s *SQL) Expire(ctx context.Context, r ExpireRules) (Expired, error) {
	var out Expired
	const guest = `played_at = 0 AND created_at < $1
		AND NOT EXISTS (SELECT 1 FROM points_days d WHERE d.player = players.id)
		AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.player = players.id)
		AND NOT EXISTS (SELECT 1 FROM members m WHERE m.player = players.id)
		AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.subject = players.id AND t.kind = 'player')`
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		del := func(n *int64, query string, at time.Time) error {
			if at.IsZero() {
				return nil
			}
			res, err := tx.ExecContext(ctx, query, ms(at))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			*n += k
			return err
		}
		if err := del(&out.Tokens, `DELETE FROM tokens WHERE expires_at > 0 AND expires_at < $1 AND kind <> 'organizer'`, r.Now); err != nil {
			return err
		}
		if err := del(&out.Tokens, `DELETE FROM tokens WHERE kind IN ('player', 'resume') AND created_at < $1 AND used_at < $1`, r.UnusedBefore); err != nil {
			return err
		}
		if err := del(&out.Tokens, `DELETE FROM tokens WHERE kind IN ('host', 'screen')
			AND subject IN (SELECT id FROM events WHERE ended_at > 0 AND ended_at < $1)`, r.EventsEndedBefore); err != nil {
			return err
		}
		if err := del(&out.Tokens, `DELETE FROM tokens WHERE subject IN (SELECT id FROM players WHERE `+guest+`)`, r.GuestsBefore); err != nil {
			return err
		}
		return del(&out.Players, `DELETE FROM players WHERE `+guest, r.GuestsBefore)
	})
	return out, s.fail(err, "expire")
}
