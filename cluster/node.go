package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// NodeID names one node of a cluster in its logs, metrics, leases and
// routing entries. It is 1 to 64 characters of letters, digits, '.', '_'
// and '-', so it is safe in Redis keys, log fields and metric labels.
type NodeID string

// NewNodeID returns a random id ("n-" and 12 hex digits), the default when
// the operator does not name the node.
func NewNodeID() NodeID {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("cluster: no randomness for a node id: %v", err))
	}
	return NodeID("n-" + hex.EncodeToString(b[:]))
}

// ParseNodeID checks an operator-chosen id.
func ParseNodeID(s string) (NodeID, error) {
	if len(s) == 0 || len(s) > 64 {
		return "", fmt.Errorf("cluster: node id %q: must be 1 to 64 characters", s)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return "", fmt.Errorf("cluster: node id %q: only letters, digits, '.', '_' and '-' are allowed", s)
		}
	}
	return NodeID(s), nil
}

// String implements fmt.Stringer.
func (n NodeID) String() string { return string(n) }
