package room

import (
	"strings"

	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/store"
)

// AnswerRow is one answer as a results export shows it.
type AnswerRow struct {
	Player     string `json:"player"`
	Name       string `json:"name"`
	Team       string `json:"team,omitempty"`
	Index      int    `json:"index"`
	QuestionID string `json:"question"`
	// QuestionText is the question as it was asked.
	QuestionText string `json:"question_text"`
	Answer       string `json:"answer"`
	Correct      bool   `json:"correct"`
	ElapsedMS    int64  `json:"elapsed"`
	Points       int64  `json:"points"`
}

// Report is a room's results, computed by folding its journal: the same
// fold that ran the room, so the export agrees with what players were told.
type Report struct {
	Standings []protocol.Standing     `json:"standings"`
	Teams     []protocol.TeamStanding `json:"teams,omitempty"`
	Answers   []AnswerRow             `json:"answers"`
}

// BuildReport folds entries over cfg and reports standings and answers.
func BuildReport(cfg Config, entries []store.JournalEntry) (*Report, error) {
	r, err := New(cfg, Options{Journal: nopJournal{}})
	if err != nil {
		return nil, err
	}
	r.st.replay(entries)
	r.st.rankAll()
	rep := &Report{Standings: r.standings(0), Teams: r.teams(), Answers: []AnswerRow{}}
	for i := range cfg.Questions {
		for _, p := range r.st.order {
			a, ok := p.answers[i]
			if !ok {
				continue
			}
			ans := a.text
			if ans == "" {
				ans = strings.Join(a.choice, ",")
			}
			rep.Answers = append(rep.Answers, AnswerRow{
				Player: p.id, Name: p.name, Team: p.team, Index: i, QuestionID: cfg.Questions[i].ID,
				QuestionText: cfg.Questions[i].Text,
				Answer:       ans, Correct: a.correct, ElapsedMS: a.elapsed.Milliseconds(), Points: a.points,
			})
		}
	}
	return rep, nil
}

type nopJournal struct{}

func (nopJournal) Submit(_ store.JournalEntry, done func(error)) {
	if done != nil {
		done(nil)
	}
}

func (nopJournal) Then(done func(error)) { done(nil) }
