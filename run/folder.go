package run

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// checkFolder decides what to do with dir and returns the configuration to run (the stored
// one when resuming).
func checkFolder(cfg Config, dir string, opts Options) (Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return cfg, inputErrorf("out", "cannot read %s: %v", dir, err)
	}
	switch {
	case opts.Resume:
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
		for _, name := range []string{ConfigFile, SummaryFile, MetricsJSON, MetricsCSV, CurvesPNG, CheckpointDir} {
			if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
				return err
			}
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
