package match

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/room"
)

// Answerer takes answers; *room.Room is one.
type Answerer interface {
	Answer(ctx context.Context, in room.AnswerIn) error
}

// botPrefix starts every bot's player id.
const botPrefix = "bot-"

// IsBot reports whether a player id is a bot's.
func IsBot(id string) bool { return len(id) > len(botPrefix) && id[:len(botPrefix)] == botPrefix }

// Bot is a computer player that fills a match when nobody else came. It
// answers every question after a few seconds with a random choice. It is a
// room.Peer.
type Bot struct {
	ID    string
	clock clock.Clock
	in    chan *protocol.Frame
	rng   *rand.Rand
}

var _ room.Peer = (*Bot)(nil)

// NewBot makes a bot; call Run with its room.
func NewBot(id string, clk clock.Clock, seed uint64) *Bot {
	return &Bot{ID: id, clock: clk, in: make(chan *protocol.Frame, 64), rng: rand.New(rand.NewPCG(seed, 7))}
}

// Send implements room.Peer.
func (b *Bot) Send(f *protocol.Frame) bool {
	select {
	case b.in <- f:
		return true
	default:
		return false
	}
}

// Connected implements room.Peer: a bot is always there.
func (b *Bot) Connected() bool { return true }

// Kick implements room.Peer.
func (b *Bot) Kick(string) {}

// Run plays until the room finishes or ctx ends. Runs in its own goroutine.
func (b *Bot) Run(ctx context.Context, r Answerer, done <-chan struct{}) {
	var timer clock.Timer
	var fire <-chan time.Time
	var pending room.AnswerIn
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case f := <-b.in:
			var msg struct {
				Type string            `json:"type"`
				Data protocol.Question `json:"data"`
			}
			if json.Unmarshal(f.Bytes(), &msg) != nil || msg.Type != "question" {
				continue
			}
			pending = b.choose(msg.Data)
			if timer != nil {
				timer.Stop()
			}
			delay := time.Duration(1500+b.rng.IntN(int(msg.Data.TimeLimit/2)+1)) * time.Millisecond
			timer = b.clock.NewTimer(delay)
			fire = timer.C()
		case <-fire:
			fire = nil
			_ = r.Answer(ctx, pending)
		}
	}
}

func (b *Bot) choose(q protocol.Question) room.AnswerIn {
	in := room.AnswerIn{Player: b.ID, Index: q.Index, Room: q.Room, Peer: b}
	if q.Question.Type == "text" {
		s := "?"
		in.Text = &s
		return in
	}
	o := q.Question.Options[b.rng.IntN(len(q.Question.Options))]
	in.Choice = []string{o.Key}
	return in
}
