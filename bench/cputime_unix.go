//go:build unix

package bench

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of the whole process (all threads, OpenBLAS's
// included). A train step runs synchronously, so its delta over a step is the step's CPU
// work, which — unlike wall time — other processes on a shared machine do not inflate.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
