// Package folderlock keeps two processes from working in the same folder at once: a lock
// file created with O_EXCL holds the process id of its holder, and a lock left by a process
// that no longer runs (a killed one) is taken over.
package folderlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// HeldError reports that another live process holds the lock.
type HeldError struct {
	Path string // the lock file
	PID  int    // its holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is held by process %d", e.Path, e.PID)
}

// Take creates dir if needed and takes the lock file name in it. release removes the lock
// and, when Take created dir and nothing else was written there, dir itself, so that a
// refused or failed command leaves no trace.
func Take(dir, name string) (release func(), err error) {
	_, statErr := os.Stat(dir)
	created := os.IsNotExist(statErr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	release = func() {
		os.Remove(path)
		if created {
			os.Remove(dir) // fails, as wanted, unless dir is empty
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				release()
				return nil, werr
			}
			return release, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if pid, alive := holder(path); alive {
			return nil, &HeldError{Path: path, PID: pid}
		}
		// The holder died (a killed process): take the lock over.
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("could not take %s", path)
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
