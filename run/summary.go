package run

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/tsamgo/tsam/backend"
)

// Summary is summary.json: what a finished (or -max-steps) run was and what it reached.
type Summary struct {
	Config Config `json:"config"`
	// Final is the last metrics record (end of the last epoch, or of the run if cut short).
	Final EpochMetrics `json:"final"`
	// BestValAcc and BestValEpoch give the epoch with the best validation accuracy (absent
	// without a validation set).
	BestValAcc   *float64 `json:"best_val_acc,omitempty"`
	BestValEpoch int      `json:"best_val_epoch,omitempty"`
	// Steps is the number of optimizer steps done; TotalSteps those asked for by Epochs
	// (and MaxSteps). Complete is set when all Epochs were run.
	Steps      int  `json:"steps"`
	TotalSteps int  `json:"total_steps"`
	Complete   bool `json:"complete"`
	// Sessions counts the processes that trained this run (1 + number of resumes).
	Sessions int `json:"sessions"`
	// WallSeconds is the training wall time summed over sessions (data loading excluded).
	WallSeconds float64  `json:"wall_seconds"`
	Versions    Versions `json:"versions"`
	// Backend describes the GoMLX backend the last session ran on.
	Backend    string    `json:"backend"`
	FinishedAt time.Time `json:"finished_at"`
}

// Versions of the software that produced a run.
type Versions struct {
	Go       string `json:"go"`
	GoMLX    string `json:"gomlx"`
	Module   string `json:"module"`
	Revision string `json:"revision,omitempty"`
}

// ReadSummary reads a run folder's summary.json.
func ReadSummary(dir string) (*Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
	}
	return &s, nil
}

func newSummary(cfg Config, ms []EpochMetrics, sessions int, be backends.Backend, wall float64, steps, total, full int) *Summary {
	s := &Summary{Config: cfg, Steps: steps, TotalSteps: total, WallSeconds: wall,
		Versions: versions(), Backend: backend.Describe(be), FinishedAt: time.Now().UTC(), Sessions: sessions}
	s.Complete = steps >= full
	if len(ms) > 0 {
		s.Final = ms[len(ms)-1]
	}
	for _, m := range ms {
		if m.ValAcc != nil && (s.BestValAcc == nil || *m.ValAcc > *s.BestValAcc) {
			v := *m.ValAcc
			s.BestValAcc, s.BestValEpoch = &v, m.Epoch
		}
	}
	return s
}

func versions() Versions {
	v := Versions{Go: runtime.Version(), GoMLX: "unknown", Module: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module = bi.Main.Path + "@" + bi.Main.Version
	for _, d := range bi.Deps {
		if d.Path == "github.com/gomlx/gomlx" {
			v.GoMLX = d.Version
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v.Revision = s.Value
		}
	}
	return v
}
