//go:build unix

package loadgen

import (
	"fmt"
	"syscall"
	"time"
)

// selfCPU returns this process's CPU time so far (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fileSlack is what the process needs besides its players' sockets.
const fileSlack = 64

// checkFiles refuses a run that would go past this process's limit on open
// files (Go raises the soft limit to the hard one at start).
func checkFiles(players int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if need := uint64(players + fileSlack); need > lim.Cur {
		return fmt.Errorf("%w: %d players need about %d open files, and this process may open %d (ulimit -n); "+
			"run several generators, each with its own --first-addr and a share of the rooms", ErrBadConfig, players, need, lim.Cur)
	}
	return nil
}
