// Package questionbank owns the question model: importing banks from CSV, JSON
// and XLSX with row-level errors, validating them, drawing questions for a
// room without repeating what a player saw recently, and checking answers.
package questionbank

// Type is the kind of a question.
type Type string

// The question types.
const (
	Single    Type = "single"    // one correct option
	Multi     Type = "multi"     // one or more correct options, all required
	TrueFalse Type = "truefalse" // options T and F
	Text      Type = "text"      // free text, compared after folding
)

// Option is one choice of a choice question. Keys are stable ("A".."F", or
// "T"/"F" for true/false); only their order on screen may change.
type Option struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// Question is one question of a bank.
type Question struct {
	ID      string   `json:"id"`
	Type    Type     `json:"type"`
	Text    string   `json:"text"`
	Options []Option `json:"options,omitempty"`
	// Answer holds the correct option keys of a choice question, or the
	// accepted answers of a text question.
	Answer      []string `json:"answer"`
	Category    string   `json:"category,omitempty"`
	Difficulty  int      `json:"difficulty,omitempty"` // 1 easy, 2 medium, 3 hard
	Explanation string   `json:"explanation,omitempty"`
	Weight      float64  `json:"weight,omitempty"` // 0 means 1
	Lang        string   `json:"lang,omitempty"`   // "zh" or "en"
}

// W returns the question's weight, 1 when unset.
func (q *Question) W() float64 {
	if q.Weight <= 0 {
		return 1
	}
	return q.Weight
}
