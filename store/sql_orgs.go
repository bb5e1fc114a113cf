package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

// subtree is the SQL condition "column path starts with $n", with the
// prefix and its length in characters as the two arguments from n. A
// comparison of a substring, not LIKE: SQLite's LIKE ignores case and
// both engines would read '%' and '_' in a code as wildcards.
func subtree(col string, n int) string {
	return fmt.Sprintf("substr(%s, 1, $%d) = $%d", col, n+1, n)
}

func prefixArgs(path string) []any { return []any{path, utf8.RuneCountInString(path)} }

// AddOrgs stores new nodes in one transaction, in the order given: each
// parent must be stored already or come earlier in the slice. ErrExists if
// a code or join code is taken, ErrNotFound for an unknown parent; nothing
// is stored then.
func (s *SQL) AddOrgs(ctx context.Context, orgs []Org) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, o := range orgs {
			if o.Code == "" || strings.Contains(o.Code, "/") || o.Code == o.Parent {
				return fmt.Errorf("%w: code %q", ErrInvalid, o.Code)
			}
			path := o.Code + "/"
			if o.Parent != "" {
				var pp string
				if err := tx.QueryRowContext(ctx, `SELECT path FROM orgs WHERE code = $1`, o.Parent).Scan(&pp); err != nil {
					if err == sql.ErrNoRows {
						return fmt.Errorf("%w: parent %q of %q", ErrNotFound, o.Parent, o.Code)
					}
					return err
				}
				path = pp + path
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO orgs (code, name, parent, path, expected, join_code, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				o.Code, o.Name, o.Parent, path, o.Expected, o.JoinCode, ms(o.CreatedAt))
			if err != nil {
				return fmt.Errorf("org %s: %w", o.Code, err)
			}
		}
		return nil
	})
	return s.fail(err, "add orgs")
}

const orgCols = `code, name, parent, path, expected, join_code, members, registered, created_at`

func scanOrg(scan func(...any) error) (Org, error) {
	var o Org
	var created int64
	err := scan(&o.Code, &o.Name, &o.Parent, &o.Path, &o.Expected, &o.JoinCode, &o.Members, &o.Registered, &created)
	o.CreatedAt = fromMS(created)
	return o, err
}

// Org returns one node, or ErrNotFound.
func (s *SQL) Org(ctx context.Context, code string) (Org, error) {
	o, err := scanOrg(s.read.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE code = $1`, code).Scan)
	if err != nil {
		return Org{}, s.fail(err, "org %s", code)
	}
	return o, nil
}

// OrgByJoinCode returns the node with this join code, or ErrNotFound.
func (s *SQL) OrgByJoinCode(ctx context.Context, joinCode string) (Org, error) {
	if joinCode == "" {
		return Org{}, s.fail(ErrNotFound, "org by join code")
	}
	o, err := scanOrg(s.read.QueryRowContext(ctx, `SELECT `+orgCols+` FROM orgs WHERE join_code = $1`, joinCode).Scan)
	if err != nil {
		return Org{}, s.fail(err, "org by join code")
	}
	return o, nil
}

// Orgs returns the subtree under root (root included), or every node if
// root is "", ordered by path so that parents come before children.
// ErrNotFound if root is not a node.
func (s *SQL) Orgs(ctx context.Context, root string) ([]Org, error) {
	q, args := `SELECT `+orgCols+` FROM orgs ORDER BY path`, []any(nil)
	if root != "" {
		r, err := s.Org(ctx, root)
		if err != nil {
			return nil, err
		}
		q, args = `SELECT `+orgCols+` FROM orgs WHERE `+subtree("path", 1)+` ORDER BY path`, prefixArgs(r.Path)
	}
	out, err := queryList(ctx, s.read, scanOrg, q, args...)
	return out, s.fail(err, "orgs")
}

// UpdateOrg sets a node's name, expected member count and join code.
// ErrNotFound if there is no such node, ErrExists if the join code is taken.
func (s *SQL) UpdateOrg(ctx context.Context, o Org) error {
	err := mustAffect(s.exec(ctx, `UPDATE orgs SET name = $1, expected = $2, join_code = $3 WHERE code = $4`,
		o.Name, o.Expected, o.JoinCode, o.Code))
	return s.fail(err, "update org %s", o.Code)
}

// MoveOrg makes parent the node's parent ("" makes it a root), carrying
// its subtree along. ErrNotFound for an unknown node or parent; ErrInvalid
// if parent is the node or one of its descendants (a cycle).
func (s *SQL) MoveOrg(ctx context.Context, code, parent string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT path FROM orgs WHERE code = $1`, code).Scan(&old); err != nil {
			return err
		}
		path := code + "/"
		if parent != "" {
			var pp string
			if err := tx.QueryRowContext(ctx, `SELECT path FROM orgs WHERE code = $1`, parent).Scan(&pp); err != nil {
				if err == sql.ErrNoRows {
					return fmt.Errorf("%w: parent %q", ErrNotFound, parent)
				}
				return err
			}
			if strings.HasPrefix(pp, old) {
				return fmt.Errorf("%w: %s cannot move under its own subtree (%s)", ErrInvalid, code, parent)
			}
			path = pp + path
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET parent = $1 WHERE code = $2`, parent, code); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE orgs SET path = $3 || substr(path, $2 + 1) WHERE `+subtree("path", 1),
			old, utf8.RuneCountInString(old), path)
		return err
	})
	return s.fail(err, "move org %s", code)
}

const memberCols = `id, name, number, unit, invite, player, registered_at, created_at`

func scanMember(scan func(...any) error) (Member, error) {
	var m Member
	var reg, created int64
	err := scan(&m.ID, &m.Name, &m.Number, &m.Unit, &m.Invite, &m.Player, &reg, &created)
	m.RegisteredAt, m.CreatedAt = fromMS(reg), fromMS(created)
	return m, err
}

// AddMembers stores a roster in one transaction. ErrNotFound if a unit is
// unknown, ErrExists if a member number, id or invitation is taken;
// nothing is stored then.
func (s *SQL) AddMembers(ctx context.Context, ms []Member) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			if err := insertMemberTx(ctx, tx, m); err != nil {
				return fmt.Errorf("member %s (%s): %w", m.Number, m.Name, err)
			}
		}
		return nil
	})
	return s.fail(err, "add members")
}

func insertMemberTx(ctx context.Context, tx *sql.Tx, m Member) error {
	reg := int64(0)
	if m.Player != "" {
		reg = 1
	}
	if err := mustAffect(tx.ExecContext(ctx,
		`UPDATE orgs SET members = members + 1, registered = registered + $1 WHERE code = $2`, reg, m.Unit)); err != nil {
		return fmt.Errorf("unit %q: %w", m.Unit, err)
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO members (id, name, number, unit, invite, player, registered_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.ID, m.Name, m.Number, m.Unit, m.Invite, m.Player, ms(m.RegisteredAt), ms(m.CreatedAt))
	return err
}

func (s *SQL) member(ctx context.Context, col, v string) (Member, error) {
	if v == "" {
		return Member{}, s.fail(ErrNotFound, "member by %s", col)
	}
	m, err := scanMember(s.read.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE `+col+` = $1 AND `+col+` <> ''`, v).Scan)
	if err != nil {
		return Member{}, s.fail(err, "member by %s", col)
	}
	return m, nil
}

// Member returns a member by id, or ErrNotFound.
func (s *SQL) Member(ctx context.Context, id string) (Member, error) { return s.member(ctx, "id", id) }

// MemberByPlayer returns the member a player account belongs to, or
// ErrNotFound.
func (s *SQL) MemberByPlayer(ctx context.Context, player string) (Member, error) {
	return s.member(ctx, "player", player)
}

// MemberByInvite returns the member with this invitation hash, or
// ErrNotFound (also once the invitation is used).
func (s *SQL) MemberByInvite(ctx context.Context, hash string) (Member, error) {
	return s.member(ctx, "invite", hash)
}

// Members lists a unit's own members by member number, then name.
func (s *SQL) Members(ctx context.Context, unit string) ([]Member, error) {
	out, err := queryList(ctx, s.read, scanMember, `SELECT `+memberCols+` FROM members WHERE unit = $1 ORDER BY number, name, id`, unit)
	return out, s.fail(err, "members of %s", unit)
}

// RegisterMember uses a member's invitation: it creates the player and its
// tokens and links the member to it, in one transaction. ErrNotFound if
// the invitation is unknown or already used (of two concurrent uses, one
// wins).
func (s *SQL) RegisterMember(ctx context.Context, inviteHash string, p Player, tokens ...Token) (Member, error) {
	var m Member
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE invite = $1 AND invite <> ''`, inviteHash).Scan)
		if err != nil {
			return err
		}
		if err := createPlayerTx(ctx, tx, p, tokens); err != nil {
			return err
		}
		if err := mustAffect(tx.ExecContext(ctx,
			`UPDATE members SET player = $1, invite = '', registered_at = $2 WHERE id = $3 AND player = ''`,
			p.ID, ms(p.CreatedAt), m.ID)); err != nil {
			return err
		}
		m.Player, m.Invite, m.RegisteredAt = p.ID, "", fromMS(ms(p.CreatedAt))
		_, err = tx.ExecContext(ctx, `UPDATE orgs SET registered = registered + 1 WHERE code = $1`, m.Unit)
		return err
	})
	if err != nil {
		return Member{}, s.fail(err, "register member")
	}
	return m, nil
}

// JoinMember creates a player and its tokens and a registered member m of
// m.Unit for it (m.Player is set to p.ID), in one transaction.
func (s *SQL) JoinMember(ctx context.Context, m Member, p Player, tokens ...Token) error {
	m.Player = p.ID
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := createPlayerTx(ctx, tx, p, tokens); err != nil {
			return err
		}
		return insertMemberTx(ctx, tx, m)
	})
	return s.fail(err, "join member")
}

// MoveMember puts a member in another unit. Points already earned stay
// with the unit they were earned in. ErrNotFound for an unknown member or
// unit.
func (s *SQL) MoveMember(ctx context.Context, id, unit string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		m, err := scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE id = $1`, id).Scan)
		if err != nil {
			return err
		}
		if m.Unit == unit {
			return nil
		}
		reg := int64(0)
		if m.Player != "" {
			reg = 1
		}
		if err := mustAffect(tx.ExecContext(ctx,
			`UPDATE orgs SET members = members + 1, registered = registered + $1 WHERE code = $2`, reg, unit)); err != nil {
			return fmt.Errorf("unit %q: %w", unit, err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE orgs SET members = members - 1, registered = registered - $1 WHERE code = $2`, reg, m.Unit); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET unit = $1 WHERE id = $2`, unit, id)
		return err
	})
	return s.fail(err, "move member %s", id)
}
