package roomhost

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/leitai/leitai/cluster"
	"github.com/leitai/leitai/internal/clock"
	"github.com/leitai/leitai/protocol"
	"github.com/leitai/leitai/questionbank"
	"github.com/leitai/leitai/room"
	"github.com/leitai/leitai/store"
)

type noSessions struct{}

func (noSessions) Peer(string) (room.Peer, bool) { return nil, false }
func (noSessions) Seated(string, string)         {}
func (noSessions) Rating(string) (float64, bool) { return 0, false }
func (noSessions) SetRating(string, float64)     {}
func (noSessions) MarkPlayed(string)             {}

type quietPeer struct{}

func (quietPeer) Send(*protocol.Frame) bool { return true }
func (quietPeer) Connected() bool           { return true }
func (quietPeer) Kick(string)               {}

// clusterHost is a host of a one-node cluster on the in-process bus, its
// store SQLite.
func clusterHost(t testing.TB, ttl time.Duration) (*Host, *store.SQL, *cluster.Local) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "leitai.db"))
	if err != nil {
		t.Fatal(err)
	}
	j := store.NewCommitter(st, store.CommitterOptions{})
	jdone := make(chan struct{})
	go func() { _ = j.Run(ctx); close(jdone) }()
	bank := questionbank.NewBank()
	qs, err := questionbank.Sample()
	if err != nil {
		t.Fatal(err)
	}
	bank.Add("sample", qs)
	bus := cluster.NewLocal(clock.Real{})
	h := New(Config{}, Deps{Store: st, Journal: j, Bank: bank, Bus: bus, Clock: clock.Real{}, Log: zerolog.Nop(), Marks: noSessions{}})
	h.SetSessions(noSessions{})
	h.SetCluster(Cluster{Node: "n1", Bus: bus, Leases: bus, LeaseTTL: ttl})
	if err := h.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Stop(cancel)
		<-jdone
		st.Close()
	})
	return h, st, bus
}

func eventRoom(t *testing.T, h *Host, id string) *room.Room {
	t.Helper()
	qs, err := h.Draw(nil, "", "", "zh", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.OpenRoom(context.Background(), room.Config{ID: id, Kind: room.KindEvent, Questions: qs, LateJoin: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStaleOwnerStops: a room whose journal append the store refuses as a
// stale owner's (another node fenced it at a higher epoch) stops at once
// and is not restored here.
func TestStaleOwnerStops(t *testing.T) {
	h, st, bus := clusterHost(t, time.Hour) // no renewal during the test
	r := eventRoom(t, h, "r-stale")
	if r.Epoch() < 1 {
		t.Fatalf("a cluster room journals under epoch %d, want its lease's", r.Epoch())
	}
	ctx := context.Background()
	join := func(who string) error {
		_, err := h.Exec(ctx, &Command{Op: OpJoin, Room: r.ID(), Who: who, Name: who}, quietPeer{})
		return err
	}
	if err := join("p1"); err != nil {
		t.Fatal(err)
	}
	// Another node takes the room over (its lease, as if this node's had
	// lapsed) and fences it, before this node has noticed.
	l2 := passLease(t, h, bus, r.ID())
	if err := st.FenceRoom(ctx, r.ID(), int64(l2.Epoch)); err != nil {
		t.Fatal(err)
	}
	_ = join("p2") // its entry is refused as stale
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the room runs on after the store refused its entry as stale")
	}
	if !r.Stale() {
		t.Fatal("the room stopped but does not know it was taken over")
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := h.Rooms().Get(r.ID()); ok {
			t.Fatal("the stale room was restored on the node that lost it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := h.Exec(ctx, &Command{Op: OpSnapshot, Room: r.ID()}, nil); err == nil {
		t.Fatal("a command reached a room this node lost")
	}
	h.cl.mu.Lock()
	_, held := h.cl.held[r.ID()]
	h.cl.mu.Unlock()
	if held {
		t.Fatal("the node still counts the lost room as its own")
	}
}

// TestLostLeaseStops: a room whose lease renewal fails as lost (it lapsed
// and was taken) stops at once.
func TestLostLeaseStops(t *testing.T) {
	h, _, bus := clusterHost(t, 300*time.Millisecond)
	r := eventRoom(t, h, "r-lost")
	passLease(t, h, bus, r.ID())
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the room runs on after its lease was lost")
	}
	var pe *protocol.Error
	if _, err := h.Room(r.ID()); !errors.As(err, &pe) || pe.Code != protocol.CodeNotFound {
		t.Fatalf("the lost room here: %v, want not_found", err)
	}
}

// passLease gives room's lease to another node, n2, for an hour, as if
// this node's had lapsed and n2 had taken it.
func passLease(t *testing.T, h *Host, bus *cluster.Local, roomID string) cluster.Lease {
	t.Helper()
	h.cl.mu.Lock()
	l := h.cl.held[roomID].lease
	h.cl.mu.Unlock()
	ctx := context.Background()
	if err := bus.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	l2, ok, err := bus.TakeLease(ctx, l.Key, "n2", time.Hour)
	if err != nil || !ok || l2.Epoch <= l.Epoch {
		t.Fatalf("another node takes the lease: %+v %v %v", l2, ok, err)
	}
	return l2
}

// TestDeadNodesPlayersDisconnect: when another node's own lease lapses (it
// died), the players this node's rooms reach through it stop counting as
// connected, so no question waits for them.
func TestDeadNodesPlayersDisconnect(t *testing.T) {
	h, _, bus := clusterHost(t, 300*time.Millisecond)
	p := h.RemotePeer("n9", "p-far")
	if !p.Connected() {
		t.Fatal("a seated remote player starts disconnected")
	}
	if _, ok, err := bus.TakeLease(context.Background(), nodeKey("n9"), "n9", 50*time.Millisecond); err != nil || !ok {
		t.Fatalf("n9 takes its lease: %v %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the dead node's player still counts as connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The lapsed lease is cleared: reported once, not on every watch.
	for {
		lapsed, err := bus.LapsedLeases(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(lapsed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lapsed leases left: %+v", lapsed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
