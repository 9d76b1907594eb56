package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// DivergedFile marks a run folder whose run diverged; it holds a Divergence.
const DivergedFile = "diverged.json"

// divergenceFactor sets the loss above which a run counts as diverged: this many times
// ln(classes), the cross-entropy of a uniform guess, which an untrained network starts
// near. A run whose loss is a hundred times that has left any region where it learns
// (lr 10 on MNIST ends at test loss ≈ 1e5 and chance accuracy), while ordinary spikes of
// a training run stay within a few times ln(classes).
const divergenceFactor = 100

// Divergence is the content of DivergedFile.
type Divergence struct {
	Step int `json:"step"` // the global step (1-based) at which the loss went bad
	// What is the loss that was measured: the training batch loss of the step, or the loss
	// on the training set at the end of an epoch.
	What string `json:"what"`
	// Loss is the value, as a string since JSON cannot hold NaN or ±Inf.
	Loss string `json:"loss"`
	// Checkpoint is the step of the last good checkpoint kept in the folder.
	Checkpoint int `json:"checkpoint"`
}

// DivergedError is returned by Train when the loss became NaN, infinite or larger than
// divergenceFactor·ln(classes). The folder keeps the last good checkpoint and is marked
// with DivergedFile, or, when the run diverged before its first checkpoint, holds no run
// any more.
type DivergedError struct {
	Divergence
	Dir    string
	LR     float64
	Kept   bool    // a checkpoint was kept (else the run's files were removed)
	Limit  float64 // the loss bound that was exceeded
	Marker string  // path of DivergedFile, when Kept
}

func (e *DivergedError) Error() string {
	msg := fmt.Sprintf("the run diverged at step %d: the %s is %s", e.Step, e.What, e.Loss)
	if v := e.Loss; v != "NaN" && v != "+Inf" && v != "-Inf" {
		msg += fmt.Sprintf(" (above %.4g, %d times the loss of a uniform guess)", e.Limit, divergenceFactor)
	}
	msg += fmt.Sprintf(". The learning rate %g is likely too high: train again with a lower -lr (e.g. -lr %g)", e.LR, e.LR/10)
	if e.Kept {
		return msg + fmt.Sprintf(" and -force, or into another -out. %s keeps its last good checkpoint (step %d) and is marked by %s", e.Dir, e.Checkpoint, e.Marker)
	}
	return msg + fmt.Sprintf("; no checkpoint had been written, so the run's files were removed from %s", e.Dir)
}

// divergedLoss reports whether loss shows a diverged run.
func (s *session) divergedLoss(loss float64) bool {
	return math.IsNaN(loss) || math.IsInf(loss, 0) || loss > s.lossLimit()
}

func (s *session) lossLimit() float64 {
	return divergenceFactor * math.Log(float64(max(s.data.train.NumClasses, 2)))
}

// divergence returns the error that stops the loop at step.
func (s *session) divergence(step int, what string, loss float64) error {
	return &DivergedError{Divergence: Divergence{Step: step, What: what, Loss: fmt.Sprintf("%.6g", loss), Checkpoint: s.lastGood},
		Dir: s.dir, LR: s.cfg.LR, Limit: s.lossLimit()}
}

// markDiverged leaves the folder in a clean state after a divergence: with a checkpoint,
// metrics past it are dropped and DivergedFile is written; without one, the run's files are
// removed, so that the folder can be trained into again without -force.
func (s *session) markDiverged(e *DivergedError) error {
	if s.lastGood < 0 {
		if err := removeRunFiles(s.dir); err != nil {
			return errors.Join(e, err)
		}
		return e
	}
	s.keepMetricsUpTo(s.lastGood)
	if err := writeMetrics(s.dir, s.metrics); err != nil {
		return errors.Join(e, err)
	}
	e.Kept, e.Marker = true, filepath.Join(s.dir, DivergedFile)
	if err := atomicfile.WriteJSON(e.Marker, e.Divergence); err != nil {
		return errors.Join(e, err)
	}
	return e
}

// runFiles are the files and folders a run writes into its folder.
var runFiles = []string{ConfigFile, ClassesFile, SummaryFile, MetricsJSON, MetricsCSV, CurvesPNG, CheckpointDir, DivergedFile}

func removeRunFiles(dir string) error {
	for _, name := range runFiles {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// checkNotDiverged refuses to resume a diverged run: it is deterministic, so it would
// diverge again at the same step.
func checkNotDiverged(dir string) error {
	path := filepath.Join(dir, DivergedFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	var d Divergence
	if err != nil || json.Unmarshal(b, &d) != nil {
		return inputErrorf("resume", "the run in %s diverged (see %s): resuming would diverge again; train again with a lower -lr and -force", dir, path)
	}
	return inputErrorf("resume", "the run in %s diverged at step %d (%s %s; see %s): resuming from step %d would diverge again; train again with a lower -lr and -force", dir, d.Step, d.What, d.Loss, path, d.Checkpoint)
}
