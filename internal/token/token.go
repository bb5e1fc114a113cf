// Package token makes the secrets Leitai hands out (resume, player, host,
// screen, organizer and invite tokens) and the hashes they are stored by:
// the store never holds a secret, only its hash.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// New returns a random secret (256 bits) and the hash it is stored by.
func New() (secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret)
}

// Hash is how a secret is stored and looked up: the hex SHA-256.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
