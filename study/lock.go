package study

import (
	"errors"
	"fmt"

	"github.com/tsamgo/tsam/internal/folderlock"
)

// LockFile in the study folder holds the process id of the study running in it, so that a
// second `tsam study` on the same folder is refused instead of training the same runs twice.
// A lock left by a killed process (no such process any more) is taken over.
const LockFile = "study.lock"

// lock takes the study folder's lock; release removes it.
func lock(dir string) (release func(), err error) {
	release, err = folderlock.Take(dir, LockFile)
	var held *folderlock.HeldError
	switch {
	case errors.As(err, &held):
		return nil, fmt.Errorf("study: %s is being studied by process %d (see %s); wait for it or stop it first", dir, held.PID, held.Path)
	case err != nil:
		return nil, fmt.Errorf("study: %w", err)
	}
	return release, nil
}
