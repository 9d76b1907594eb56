package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/internal/folderlock"
)

// LockFile in a run folder holds the process id of the Train working in it.
const LockFile = "train.lock"

// lockRun takes dir's lock; a live holder is an *InputError naming it.
func lockRun(dir string) (release func(), err error) {
	release, err = folderlock.Take(dir, LockFile)
	var held *folderlock.HeldError
	switch {
	case errors.As(err, &held):
		return nil, inputErrorf("out", "%s is in use by process %d, which is training or resuming the run there (lock %s); wait for it to end or stop it, or choose another -out folder", dir, held.PID, held.Path)
	case err != nil:
		return nil, inputErrorf("out", "%v", err)
	}
	return release, nil
}

// runEntries returns dir's entries other than the lock.
func runEntries(entries []os.DirEntry) []os.DirEntry {
	var out []os.DirEntry
	for _, e := range entries {
		if e.Name() != LockFile {
			out = append(out, e)
		}
	}
	return out
}

// checkFolder decides what to do with dir and returns the configuration to run (the stored
// one when resuming).
func checkFolder(cfg Config, dir string, opts Options) (Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return cfg, inputErrorf("out", "cannot read %s: %v", dir, err)
	}
	entries = runEntries(entries)
	switch {
	case opts.Resume:
		if err := checkNotDiverged(dir); err != nil {
			return cfg, err
		}
		return resumeConfig(cfg, dir)
	case len(entries) > 0 && !opts.Force:
		return cfg, inputErrorf("out", "%s is not empty: pass -resume to continue the run in it, -force to replace it, or choose another -out folder", dir)
	}
	return cfg, nil
}

// resumeConfig reads the stored configuration of the run in dir and checks that cfg asks
// for the same experiment; the newest checkpoint is checked later, when it is loaded.
func resumeConfig(cfg Config, dir string) (Config, error) {
	stored, err := ReadConfig(dir)
	switch {
	case os.IsNotExist(err):
		return cfg, inputErrorf("resume", "there is no run to resume in %s (no %s); drop -resume to start one", dir, ConfigFile)
	case err != nil:
		return cfg, inputErrorf("resume", "%v: the run's configuration is damaged; start again with -force, or restore the file", err)
	}
	if field := stored.sameResult(cfg); field != "" {
		return cfg, inputErrorf(field, "differs from the run being resumed in %s (see its %s); drop the flag, or start a new run in another folder", dir, ConfigFile)
	}
	stored.MaxSteps, stored.Backend, stored.CheckpointEvery = cfg.MaxSteps, cfg.Backend, cfg.CheckpointEvery
	if err := stored.Validate(); err != nil {
		return cfg, inputErrorf("resume", "the stored configuration in %s is not valid (%v); start again with -force", filepath.Join(dir, ConfigFile), err)
	}
	return stored, nil
}

// ReadConfig reads the configuration stored in a run folder.
func ReadConfig(dir string) (Config, error) {
	var cfg Config
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return cfg, nil
}

// initFolder clears a forced folder, writes the configuration and, on resume, drops
// metrics recorded after the checkpoint (they will be measured again).
func (s *session) initFolder(opts Options, resumed bool) error {
	if opts.Force {
		if err := removeRunFiles(s.dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return inputErrorf("out", "cannot create %s: %v", s.dir, err)
	}
	if resumed {
		ms, err := ReadMetrics(s.dir)
		if err != nil {
			return err
		}
		s.metrics = ms
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir, ConfigFile), s.cfg)
}
