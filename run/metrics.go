package run

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// File names inside a run folder.
const (
	ConfigFile  = "config.json"
	SummaryFile = "summary.json"
	MetricsJSON = "metrics.jsonl"
	MetricsCSV  = "metrics.csv"
	CurvesPNG   = "curves.png"
	// ClassesFile lists the class names in label order: label i is entry i (for a TSV
	// data set with string labels, the mapping from label to id).
	ClassesFile = "classes.json"
)

// EpochMetrics is one line of metrics.jsonl: the state of a run at the end of an epoch
// (or at the last step of a run cut short by -max-steps, where Partial is set).
type EpochMetrics struct {
	Epoch   int  `json:"epoch"` // 1-based
	Step    int  `json:"step"`  // global step at the end of the epoch
	Partial bool `json:"partial,omitempty"`

	// TrainLoss and TrainAcc are measured in inference mode on (up to EvalTrainMax of) the
	// training examples, with the labels the run trains on (noisy ones included).
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	// ValLoss and ValAcc are absent when the run holds out no validation set (-val 0).
	ValLoss  *float64 `json:"val_loss,omitempty"`
	ValAcc   *float64 `json:"val_acc,omitempty"`
	TestLoss float64  `json:"test_loss"`
	TestAcc  float64  `json:"test_acc"`

	// BatchLoss is the mean training-batch loss over the epoch's steps (the loss at θ the
	// optimizer saw, regularization included).
	BatchLoss float64 `json:"batch_loss"`
	// StepSeconds is the mean wall time of one training step over the epoch: from the
	// batch handed to the step to the step's results, without evaluation or checkpoints.
	StepSeconds float64 `json:"step_seconds"`
	// EvalSeconds is the wall time of the evaluation at the end of the epoch (training,
	// validation and test sets); CheckpointSeconds that of the epoch's checkpoints (the
	// periodic ones and the one at its end). Both are absent in runs recorded before them.
	EvalSeconds       float64 `json:"eval_seconds,omitempty"`
	CheckpointSeconds float64 `json:"checkpoint_seconds,omitempty"`
	// ElapsedSeconds is the run's training wall time so far (summed over resumed sessions).
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Stats are the method's per-step statistics (tilted weights, ESS, losses at θ+ε,
	// gradient evaluations ...) averaged over the epoch's steps.
	Stats map[string]float64 `json:"stats,omitempty"`
}

// ReadMetrics reads a run's metrics.jsonl.
func ReadMetrics(runDir string) ([]EpochMetrics, error) {
	f, err := os.Open(filepath.Join(runDir, MetricsJSON))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []EpochMetrics
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var m EpochMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, inputErrorf("", "%s line %d is damaged (%v): the file is rewritten whole at every epoch, so only damage from outside does this; delete that line and the ones after it (the run then lacks those epochs' records), or start the run again with -force", filepath.Join(runDir, MetricsJSON), line, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// writeMetrics rewrites metrics.jsonl and metrics.csv atomically with all records.
func writeMetrics(runDir string, ms []EpochMetrics) error {
	err := atomicfile.WriteFunc(filepath.Join(runDir, MetricsJSON), 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, m := range ms {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return atomicfile.WriteFunc(filepath.Join(runDir, MetricsCSV), 0o644, func(w io.Writer) error {
		return writeCSV(w, ms)
	})
}

var csvColumns = []string{"epoch", "step", "partial", "train_loss", "train_acc", "val_loss", "val_acc",
	"test_loss", "test_acc", "batch_loss", "step_seconds", "eval_seconds", "checkpoint_seconds", "elapsed_seconds"}

func writeCSV(w io.Writer, ms []EpochMetrics) error {
	statNames := map[string]bool{}
	for _, m := range ms {
		for k := range m.Stats {
			statNames[k] = true
		}
	}
	stats := make([]string, 0, len(statNames))
	for k := range statNames {
		stats = append(stats, k)
	}
	sort.Strings(stats)
	cw := csv.NewWriter(w)
	if err := cw.Write(append(append([]string{}, csvColumns...), stats...)); err != nil {
		return err
	}
	for _, m := range ms {
		row := []string{strconv.Itoa(m.Epoch), strconv.Itoa(m.Step), strconv.FormatBool(m.Partial),
			num(m.TrainLoss), num(m.TrainAcc), optNum(m.ValLoss), optNum(m.ValAcc),
			num(m.TestLoss), num(m.TestAcc), num(m.BatchLoss), num(m.StepSeconds), num(m.EvalSeconds), num(m.CheckpointSeconds), num(m.ElapsedSeconds)}
		for _, k := range stats {
			if v, ok := m.Stats[k]; ok {
				row = append(row, num(v))
			} else {
				row = append(row, "")
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

// finite reports whether v can be written to JSON (NaN and ±Inf cannot).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ReadClasses reads a run's classes.json: the class names in label order.
func ReadClasses(runDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(runDir, ClassesFile))
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, inputErrorf("", "%s is damaged (%v): it is written once when the run starts; start the run again with -force", filepath.Join(runDir, ClassesFile), err)
	}
	return names, nil
}
