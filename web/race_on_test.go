//go:build race

package web_test

// raceDetector is true when the tests run under the race detector, which
// slows every goroutine several times over and unevenly.
const raceDetector = true
