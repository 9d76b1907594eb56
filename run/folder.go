package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/internal/folderlock"
	"github.com/tsamgo/tsam/tilt"
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
	if want := UpdateRevision(stored); stored.Revision != want {
		return cfg, inputErrorf("resume", "the run in %s was recorded with revision %d of %s's update rule, and this version of tsam computes revision %d (docs/OPTIMIZERS.md says what changed); continuing would mix two methods in one run: train it again with -force, or in another -out folder", dir, stored.Revision, stored.Method, want)
	}
	if err := extendEpochs(&stored, cfg, dir); err != nil {
		return cfg, err
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

// extendEpochs lets a resumed run ask for more epochs than it was started with, so a
// finished run can be extended: with a constant learning rate and a constant t the first
// epochs do not depend on the total, so the extended run equals one started with the
// larger count. Linear t schedules and ESAM1's step budget do depend on it: refused.
func extendEpochs(stored *Config, cfg Config, dir string) error {
	if cfg.Epochs == stored.Epochs {
		return nil
	}
	switch {
	case cfg.Epochs < stored.Epochs:
		return inputErrorf("epochs", "%d is fewer than the %d epochs of the run being resumed in %s; a run can be extended, not shortened: drop -epochs or start a new run in another folder", cfg.Epochs, stored.Epochs, dir)
	case stored.schedule() != tilt.Constant:
		return inputErrorf("epochs", "the run in %s stretches its -t-schedule %s over %d epochs, so it cannot be extended to %d; start a new run in another folder", dir, stored.TSchedule, stored.Epochs, cfg.Epochs)
	case stored.Method == "esam1" || stored.Budget == "tsam":
		return inputErrorf("epochs", "an esam1 run's steps, like those of a -budget tsam run, are a budget set by its -epochs (%d), so it cannot be extended to %d; start a new run in another folder", stored.Epochs, cfg.Epochs)
	}
	stored.Epochs = cfg.Epochs
	return nil
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
	if err := atomicfile.WriteJSON(filepath.Join(s.dir, ClassesFile), s.data.classNames); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir, ConfigFile), s.cfg)
}
