package toy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsamgo/tsam/internal/atomicfile"
)

// Output file names inside the output folder.
const (
	Fig1File        = "fig1.png"
	Fig3File        = "fig3.png"
	Fig4File        = "fig4.png"
	SummaryJSON     = "summary.json"
	SummaryMarkdown = "summary.md"
)

// ErrNotDir is returned by WriteReport when the output path exists and is not a folder.
var ErrNotDir = errors.New("output path exists and is not a folder")

// WriteReport renders the figures and summaries of r into dir. Everything is first written into
// a fresh temporary folder beside dir; only when all files are complete are they moved in, so a
// failure (in rendering, or a full disk) leaves dir as it was. A missing dir is created by
// renaming the finished folder into place; an existing dir keeps its other files and has
// the five output files replaced one rename at a time.
func WriteReport(dir string, r *Report) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("%s: %w", dir, ErrNotDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once the folder itself was renamed into place
	if err := writeAll(tmp, r); err != nil {
		return err
	}
	return moveInto(tmp, dir)
}

// writeAll writes every output file into dir.
func writeAll(dir string, r *Report) error {
	renders := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{Fig1File, func() ([]byte, error) { return PlotFig1(r) }},
		{Fig3File, func() ([]byte, error) { return PlotFig3(r, false) }},
		{Fig4File, func() ([]byte, error) { return PlotFig3(r, true) }},
		{SummaryMarkdown, func() ([]byte, error) { return []byte(r.Markdown()), nil }},
	}
	for _, f := range renders {
		data, err := f.render()
		if err != nil {
			return fmt.Errorf("rendering %s: %w", f.name, err)
		}
		if err := atomicfile.Write(filepath.Join(dir, f.name), data, 0o644); err != nil {
			return err
		}
	}
	return atomicfile.WriteJSON(filepath.Join(dir, SummaryJSON), r)
}

// moveInto renames the finished folder tmp to dir, or, when dir exists, renames each file of
// tmp into dir.
func moveInto(tmp, dir string) error {
	if err := os.Rename(tmp, dir); err == nil {
		return os.Chmod(dir, 0o755) // MkdirTemp made it 0700
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Markdown renders the summary tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Toy problems (tsam toy)\n\n## Figure 1\n\n")
	fmt.Fprintf(&b, "L(θ) = %+g·sin(4πθ)/θ + 0.005·(θ−1)² on [0.2, 2.5]; ρ = %g", r.Fig1Sign, r.Fig1Rho)
	if r.Fig1Sigma > 0 {
		fmt.Fprintf(&b, " (SAM), TSAM µ = N(0, %g²)", r.Fig1Sigma)
	} else {
		b.WriteString(", TSAM µ uniform on |ε| ≤ ρ")
	}
	fmt.Fprintf(&b, "; gradient descent from θ = %g, learning rate %g, at most %d steps, stop when a step moves θ by < %g; %d quadrature nodes.\n\n",
		r.Fig1Start, r.Fig1LR, r.Fig1Steps, r.Fig1Tol, r.QuadNodes)
	b.WriteString("| objective | final θ | L(θ) | L''(θ) | objective(θ) | steps | converged | global min θ | L there | L'' there | objective there |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Fig1 {
		f, g := run.Final, run.GlobalMin
		fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.2f | %.4f | %d | %v | %.4f | %.4f | %.2f | %.4f |\n",
			run.Objective, f.Theta, f.Loss, f.Curvature, f.Objective, run.Steps, run.Converged,
			g.Theta, g.Loss, g.Curvature, g.Objective)
	}
	fmt.Fprintf(&b, "\n## Figures 3 and 4\n\nL(θ) = |θ−1| − 0.01 for θ ≤ 2, (θ−3)² otherwise. Global minimisers of the SAM objective and of the TSAM objective (t = %g, uniform ball), with one-sided slopes there (equal slopes: smooth; different: a kink).\n\n", r.Fig3T)
	b.WriteString("| ρ | SAM argmin | SAM min | SAM slopes (left, right) | TSAM argmin | TSAM min | TSAM slopes (left, right) |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, row := range r.Fig3 {
		fmt.Fprintf(&b, "| %g | %.4f | %.4f | %.3f, %.3f | %.4f | %.4f | %.3f, %.3f |\n",
			row.Rho, row.SAM.Theta, row.SAM.Objective, noNegZero(row.SAMLeftSlope), noNegZero(row.SAMRightSlope),
			row.TSAM.Theta, row.TSAM.Objective, noNegZero(row.TSAMLeftSlope), noNegZero(row.TSAMRightSlope))
	}
	return b.String()
}

// noNegZero maps values that print as −0.000 at three decimals to 0, so a smooth objective's
// slopes read "0.000, 0.000" rather than "-0.000, 0.000".
func noNegZero(x float64) float64 {
	if x < 0 && x > -0.0005 {
		return 0
	}
	return x
}
