package token

import "testing"

func TestNewHashes(t *testing.T) {
	s1, h1 := New()
	s2, h2 := New()
	if s1 == s2 || h1 == h2 {
		t.Fatal("two tokens alike")
	}
	if Hash(s1) != h1 || len(h1) != 64 || len(s1) != 43 {
		t.Fatalf("secret %q hash %q: want 43 characters and its 64-digit SHA-256", s1, h1)
	}
}
