package questionbank

import (
	"slices"
	"sync"
)

// Bank holds question sets in memory, by set id, for drawing. It is safe for
// concurrent use. Questions handed out share their Options and Answer
// slices with the bank: treat them as read-only (copy before shuffling
// options for a player).
type Bank struct {
	mu sync.RWMutex
	// mu guards the following fields.
	sets  map[string]*questionSet
	order []string          // set ids, in the order first added
	owner map[string]string // question id -> set that Get answers from
	// pools caches what Pool returned, by set id ("" for every set),
	// until the bank next changes.
	pools map[string][]Question
}

// questionSet is one question set with an index by id.
type questionSet struct {
	qs    []Question
	index map[string]int // question id -> position in qs
}

// NewBank returns an empty Bank.
func NewBank() *Bank {
	return &Bank{sets: make(map[string]*questionSet), owner: make(map[string]string)}
}

// Add puts qs into set setID, creating the set if new. A question whose id
// the set already holds replaces it in place; others are appended, so
// adding the same questions twice changes nothing. To replace a whole set,
// Remove it first. Add keeps its own copy of qs.
func (b *Bank) Add(setID string, qs []Question) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pools = nil
	s, ok := b.sets[setID]
	if !ok {
		s = &questionSet{index: make(map[string]int, len(qs))}
		b.sets[setID] = s
		b.order = append(b.order, setID)
	}
	for _, q := range qs {
		q = clone(q)
		if i, ok := s.index[q.ID]; ok {
			s.qs[i] = q
		} else {
			s.index[q.ID] = len(s.qs)
			s.qs = append(s.qs, q)
		}
		b.owner[q.ID] = setID
	}
}

// Remove drops set setID and its questions.
func (b *Bank) Remove(setID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pools = nil
	s, ok := b.sets[setID]
	if !ok {
		return
	}
	delete(b.sets, setID)
	b.order = slices.DeleteFunc(b.order, func(id string) bool { return id == setID })
	for id := range s.index {
		if b.owner[id] != setID {
			continue
		}
		delete(b.owner, id)
		// Another set may hold the same id; let Get find it there.
		for _, other := range b.order {
			if _, ok := b.sets[other].index[id]; ok {
				b.owner[id] = other
			}
		}
	}
}

// Questions returns the questions of set setID in the order added, or of
// every set, set after set, when setID is "". An unknown set yields nil.
// The slice is the caller's own.
func (b *Bank) Questions(setID string) []Question {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if setID != "" {
		if s, ok := b.sets[setID]; ok {
			return slices.Clone(s.qs)
		}
		return nil
	}
	var out []Question
	for _, id := range b.order {
		out = append(out, b.sets[id].qs...)
	}
	return out
}

// Pool returns the questions of set setID, or of every set when setID is
// "", each id once (the first in Questions' order), for drawing: pass it to
// Draw with DrawOptions.Distinct. Unlike Questions it does not copy: the
// slice is shared by every caller until the bank changes, and must not be
// modified. An unknown set yields nil.
func (b *Bank) Pool(setID string) []Question {
	b.mu.RLock()
	p, ok := b.pools[setID]
	b.mu.RUnlock()
	if ok {
		return p
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pools[setID]; ok {
		return p
	}
	if _, ok := b.sets[setID]; setID != "" && !ok {
		return nil
	}
	var all []Question
	if setID != "" {
		all = b.sets[setID].qs // ids are unique within a set
	} else {
		for _, id := range b.order {
			all = append(all, b.sets[id].qs...)
		}
	}
	seen := make(map[string]bool, len(all))
	p = make([]Question, 0, len(all))
	for _, q := range all {
		if !seen[q.ID] {
			seen[q.ID] = true
			p = append(p, q)
		}
	}
	if b.pools == nil {
		b.pools = make(map[string][]Question)
	}
	b.pools[setID] = p
	return p
}

// Get returns the question with id. When several sets hold the id, the one
// added most recently answers.
func (b *Bank) Get(id string) (Question, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	setID, ok := b.owner[id]
	if !ok {
		return Question{}, false
	}
	s := b.sets[setID]
	return s.qs[s.index[id]], true
}

// Categories returns the distinct non-empty categories of all sets, sorted.
func (b *Bank) Categories() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	seen := make(map[string]bool)
	var out []string
	for _, s := range b.sets {
		for i := range s.qs {
			if c := s.qs[i].Category; c != "" && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Len returns the number of questions in all sets; a question held by two
// sets counts twice.
func (b *Bank) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, s := range b.sets {
		n += len(s.qs)
	}
	return n
}

// clone copies q with its own Options and Answer.
func clone(q Question) Question {
	q.Options = slices.Clone(q.Options)
	q.Answer = slices.Clone(q.Answer)
	return q
}
