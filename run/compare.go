package run

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// Comparison files written by Compare.
const (
	CompareTable = "compare.md"
	CompareCurve = "curves.png"
)

// compared is one run's row of a comparison.
type compared struct {
	dir     string
	cfg     Config
	sum     *Summary
	metrics []EpochMetrics
}

// Compare reads the runs in dirs and writes a markdown table of their final numbers to w
// and, when outDir is not empty, to outDir/compare.md with an overlay of their curves in
// outDir/curves.png. A folder without a run, or with a run that has no metrics yet, is an
// *InputError.
func Compare(dirs []string, outDir string, w io.Writer) error {
	if len(dirs) == 0 {
		return inputErrorf("", "name at least one run folder, e.g. tsam compare runs/erm runs/tsam")
	}
	runs := make([]compared, 0, len(dirs))
	for _, d := range dirs {
		c, err := readCompared(d)
		if err != nil {
			return err
		}
		runs = append(runs, c)
	}
	var table bytes.Buffer
	writeTable(&table, runs)
	if _, err := w.Write(table.Bytes()); err != nil {
		return err
	}
	if outDir == "" {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return inputErrorf("out", "cannot create %s: %v", outDir, err)
	}
	if err := atomicfile.Write(filepath.Join(outDir, CompareTable), table.Bytes(), 0o644); err != nil {
		return err
	}
	sets := make([]curveSet, len(runs))
	for i, r := range runs {
		sets[i] = curveSet{label: filepath.Base(r.dir), metrics: r.metrics}
	}
	return writeCurves(filepath.Join(outDir, CompareCurve), sets)
}

func readCompared(dir string) (compared, error) {
	c := compared{dir: dir}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return c, inputErrorf("", "%s does not hold a tsam run (%v): pass folders written by tsam train -out", dir, err)
	}
	c.cfg = cfg
	if c.metrics, err = ReadMetrics(dir); err != nil {
		return c, inputErrorf("", "%v", err)
	}
	if len(c.metrics) == 0 {
		return c, inputErrorf("", "%s has no finished epoch yet (empty %s): wait for its first epoch or resume it", dir, MetricsJSON)
	}
	if s, err := ReadSummary(dir); err == nil {
		c.sum = s
	}
	return c, nil
}

func writeTable(w io.Writer, runs []compared) {
	fmt.Fprintln(w, "| run | method | data | model | epochs | steps | train loss | train acc | val acc | test loss | test acc | ms/step | wall |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range runs {
		m := r.metrics[len(r.metrics)-1]
		val := "–"
		if m.ValAcc != nil {
			val = fmt.Sprintf("%.4f", *m.ValAcc)
		}
		wall := "running"
		if r.sum != nil {
			wall = fmt.Sprintf("%.0f s", r.sum.WallSeconds)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %d | %.4f | %.4f | %s | %.4f | %.4f | %.0f | %s |\n",
			mdEscape(r.dir), methodLabel(r.cfg), r.cfg.Data, r.cfg.Model, m.Epoch, m.Step,
			m.TrainLoss, m.TrainAcc, val, m.TestLoss, m.TestAcc, 1000*m.StepSeconds, wall)
	}
}

// methodLabel names the method with its main hyperparameters.
func methodLabel(c Config) string {
	switch c.Method {
	case "tsam":
		return fmt.Sprintf("tsam t=%g s=%d ρ=%g", c.T, c.S, c.Rho)
	case "erm":
		return "erm"
	case "pgn":
		return fmt.Sprintf("pgn λ=%g ρ=%g", c.Lambda, c.Rho)
	default:
		return fmt.Sprintf("%s ρ=%g", c.Method, c.Rho)
	}
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
