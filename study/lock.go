package study

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile in the study folder holds the process id of the study running in it, so that a
// second `tsam study` on the same folder is refused instead of training the same runs twice.
// A lock left by a killed process (no such process any more) is taken over.
const LockFile = "study.lock"

// lock takes the study folder's lock; release removes it.
func lock(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("study: cannot create %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, werr
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		pid, alive := holder(path)
		if alive {
			return nil, fmt.Errorf("study: %s is being studied by process %d (see %s); wait for it or stop it first", dir, pid, path)
		}
		// The holder died (killed study): take the lock over.
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("study: could not take %s", path)
}

// holder reads the lock's process id and reports whether that process still runs.
func holder(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return pid, false
	}
	if pid == os.Getpid() {
		return pid, true
	}
	return pid, syscall.Kill(pid, 0) == nil
}
