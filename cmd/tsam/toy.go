package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/floatlist"
	"github.com/tsamgo/tsam/toy"
)

func init() {
	register("toy", "reproduce the one-dimensional toy problems (Figures 1, 3, 4) exactly", runToy)
}

const toyUsage = `Computes the paper's one-dimensional toy problems exactly (quadrature over the
perturbation ball) and writes fig1.png, fig3.png, fig4.png, summary.json and summary.md into
-out. Figure 1: gradient descent on ERM, SAM and TSAM for each -t on
L(θ) = sign·sin(4πθ)/θ + 0.005(θ−1)². Figures 3/4: SAM and TSAM objectives of
L(θ) = |θ−1|−0.01 (θ ≤ 2), (θ−3)² (θ > 2) for each -fig3-rho, with their global minima.
Files are written to a temporary folder beside -out and moved in only when all are done;
an existing -out keeps its other files.`

// toyFlags holds the raw flag values of tsam toy.
type toyFlags struct {
	out, ts, fig3Rhos          string
	rho, sigma, lr, start, tol float64
	sign, fig3T                float64
	steps, quad                int
}

func runToy(args []string, stdout, stderr io.Writer) error {
	fset := newFlagSet("toy", toyUsage, stderr)
	var f toyFlags
	d1, d3 := toy.DefaultFig1(), toy.DefaultFig3()
	fset.StringVar(&f.out, "out", "", "output folder (required)")
	fset.Float64Var(&f.rho, "rho", d1.Rho, "Figure 1 radius ρ ≥ 0 of SAM and of TSAM's uniform ball")
	fset.Float64Var(&f.sigma, "sigma", 0, "if > 0, Figure 1 TSAM uses Gaussian perturbations N(0, σ²) instead of the uniform ball")
	fset.Float64Var(&f.lr, "lr", d1.GD.LR, "Figure 1 gradient-descent learning rate (> 0)")
	fset.Float64Var(&f.start, "start", d1.GD.Start, "Figure 1 start point θ, in [0.2, 2.5]")
	fset.IntVar(&f.steps, "steps", d1.GD.Steps, "Figure 1 maximum gradient steps (≥ 1)")
	fset.Float64Var(&f.tol, "tol", d1.GD.Tol, "stop a run once a step moves θ by less than this (≥ 0; 0 runs all steps)")
	fset.StringVar(&f.ts, "t", floatlist.Format(d1.Ts), "comma-separated TSAM tilts t ≥ 0 for Figure 1")
	fset.Float64Var(&f.sign, "sign", d1.Sign, "sign (+1 or -1) of the oscillating term of the Figure 1 loss (see docs/TOY.md)")
	fset.IntVar(&f.quad, "quad", d1.Quad.Nodes, "Gauss–Legendre nodes over the perturbation ball (≥ 1)")
	fset.StringVar(&f.fig3Rhos, "fig3-rho", floatlist.Format(d3.Rhos), "comma-separated radii ρ ≥ 0 for Figures 3/4")
	fset.Float64Var(&f.fig3T, "fig3-t", d3.T, "TSAM tilt t ≥ 0 of Figure 4")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	c1, c3, err := f.configs(d1, d3)
	if err != nil {
		return err
	}
	report, err := toy.Run(c1, c3)
	if err != nil {
		return err
	}
	if err := toy.WriteReport(f.out, report); err != nil {
		if errors.Is(err, toy.ErrNotDir) {
			return badFlag("out", "%s is a file; pass a folder path", f.out)
		}
		return err
	}
	fmt.Fprint(stdout, report.Markdown())
	fmt.Fprintf(stdout, "\nwrote %s, %s, %s, %s, %s in %s\n", toy.Fig1File, toy.Fig3File, toy.Fig4File,
		toy.SummaryJSON, toy.SummaryMarkdown, f.out)
	return nil
}

// configs validates the flags, naming the bad one, and builds the study settings.
func (f toyFlags) configs(c1 toy.Fig1Config, c3 toy.Fig3Config) (toy.Fig1Config, toy.Fig3Config, error) {
	fail := func(err error) (toy.Fig1Config, toy.Fig3Config, error) { return c1, c3, err }
	if f.out == "" {
		return fail(badFlag("out", "missing; pass the folder to write the figures into"))
	}
	if info, err := os.Stat(f.out); err == nil && !info.IsDir() {
		return fail(badFlag("out", "%s is a file; pass a folder path", f.out))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(badFlag("out", "cannot use %s: %v", f.out, err))
	}
	if info, err := os.Stat(filepath.Dir(filepath.Clean(f.out))); err == nil && !info.IsDir() {
		return fail(badFlag("out", "the parent of %s is a file", f.out))
	}
	checks := []struct {
		name string
		v    float64
		ok   bool
		want string
	}{
		{"rho", f.rho, f.rho >= 0, "must be ≥ 0"},
		{"sigma", f.sigma, f.sigma >= 0, "must be ≥ 0 (0 selects the uniform ball)"},
		{"lr", f.lr, f.lr > 0, "must be > 0"},
		{"start", f.start, f.start >= 0.2 && f.start <= 2.5, "must lie in the domain [0.2, 2.5]"},
		{"tol", f.tol, f.tol >= 0, "must be ≥ 0"},
		{"sign", f.sign, f.sign == 1 || f.sign == -1, "must be +1 or -1"},
		{"fig3-t", f.fig3T, f.fig3T >= 0, "must be ≥ 0"},
	}
	for _, c := range checks {
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) || !c.ok {
			return fail(badFlag(c.name, "%v %s", c.v, c.want))
		}
	}
	if f.steps < 1 {
		return fail(badFlag("steps", "%d must be ≥ 1", f.steps))
	}
	if f.quad < 1 {
		return fail(badFlag("quad", "%d must be ≥ 1 node", f.quad))
	}
	ts, err := toyFloatList("t", f.ts)
	if err != nil {
		return fail(err)
	}
	rhos, err := toyFloatList("fig3-rho", f.fig3Rhos)
	if err != nil {
		return fail(err)
	}
	q := toy.Quadrature{Nodes: f.quad}
	c1.Sign, c1.Rho, c1.Sigma, c1.Ts, c1.Quad = f.sign, f.rho, f.sigma, ts, q
	c1.GD = toy.GD{Start: f.start, LR: f.lr, Steps: f.steps, Tol: f.tol}
	c3.Rhos, c3.T, c3.Quad = rhos, f.fig3T, q
	return c1, c3, nil
}

// toyFloatList parses a comma-separated list of finite numbers ≥ 0 given to flag name.
func toyFloatList(name, s string) ([]float64, error) {
	out, err := floatlist.Parse(s)
	if err != nil {
		return nil, badFlag(name, "%v", err)
	}
	for _, v := range out {
		if v < 0 {
			return nil, badFlag(name, "%v is negative; every value must be ≥ 0", v)
		}
	}
	if len(out) == 0 {
		return nil, badFlag(name, "empty; pass at least one value")
	}
	return out, nil
}
