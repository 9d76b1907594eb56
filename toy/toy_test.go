package toy

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// polyProblem is a smooth test loss with closed-form smoothed objectives.
func polyProblem(f, d1, d2 func(float64) float64) Problem {
	return Problem{Name: "poly", L: f, D1: d1, D2: d2, Lo: -10, Hi: 10}
}

var (
	square = polyProblem(func(x float64) float64 { return x * x },
		func(x float64) float64 { return 2 * x }, func(float64) float64 { return 2 })
	linear = polyProblem(func(x float64) float64 { return x },
		func(float64) float64 { return 1 }, func(float64) float64 { return 0 })
)

func value(t *testing.T, o Objective, prob Problem, theta float64) float64 {
	t.Helper()
	v, err := o.Value(prob, theta)
	if err != nil {
		t.Fatalf("%s at θ=%v: %v", o.Label(), theta, err)
	}
	return v
}

func TestQuadratureAgainstClosedForms(t *testing.T) {
	const rho, sigma = 0.3, 0.25
	for _, theta := range []float64{-1, 0.2, 1.7} {
		// E_uniform[(θ+ε)²] = θ² + ρ²/3.
		if got, want := value(t, NewTSAM(0, rho), square, theta), theta*theta+rho*rho/3; math.Abs(got-want) > 1e-13 {
			t.Errorf("uniform E[L]=%.16g, want %.16g", got, want)
		}
		// (1/t)·log E_uniform[exp(t(θ+ε))] = θ + (1/t)·log(sinh(tρ)/(tρ)).
		for _, tt := range []float64{0.5, 5, 50} {
			want := theta + math.Log(math.Sinh(tt*rho)/(tt*rho))/tt
			if got := value(t, NewTSAM(tt, rho), linear, theta); math.Abs(got-want) > 1e-12 {
				t.Errorf("uniform t=%v: %.16g, want %.16g", tt, got, want)
			}
		}
		// Gaussian: E[(θ+ε)²] = θ² + σ², and (1/t)·log E[exp(t(θ+ε))] = θ + tσ²/2.
		g := Objective{Kind: TSAM, Measure: Gaussian{Sigma: sigma}, Quad: DefaultQuadrature}
		if got, want := value(t, g, square, theta), theta*theta+sigma*sigma; math.Abs(got-want) > 1e-12 {
			t.Errorf("gaussian E[L]=%.16g, want %.16g", got, want)
		}
		g.T = 3
		if got, want := value(t, g, linear, theta), theta+3*sigma*sigma/2; math.Abs(got-want) > 1e-12 {
			t.Errorf("gaussian t=3: %.16g, want %.16g", got, want)
		}
	}
}

func TestQuadratureOnKinkedLoss(t *testing.T) {
	// E_uniform[|θ+ε−1|] − 0.01 at θ = 1 is ρ/2 − 0.01; the kink at 1 is a panel boundary,
	// so even a coarse rule is exact.
	prob := Fig3()
	o := Objective{Kind: TSAM, Measure: Uniform{Rho: 0.4}, Quad: Quadrature{Nodes: 8}}
	if got := value(t, o, prob, 1); math.Abs(got-(0.2-0.01)) > 1e-14 {
		t.Errorf("E|ε|−0.01 = %.16g, want 0.19", got)
	}
}

func TestTSAMDerivativeMatchesFiniteDifferences(t *testing.T) {
	prob, err := Fig1(Fig1Sign)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []float64{0, 1, 20, 100} {
		o := NewTSAM(tt, 0.2)
		for _, theta := range []float64{0.45, 0.8, 1.3, 2.1} {
			_, g, err := o.ValueGrad(prob, theta)
			if err != nil {
				t.Fatal(err)
			}
			h := 1e-5
			fd := (value(t, o, prob, theta+h) - value(t, o, prob, theta-h)) / (2 * h)
			if math.Abs(fd-g) > 1e-6*math.Max(1, math.Abs(g)) {
				t.Errorf("t=%v θ=%v: tilted-average gradient %.10g, finite difference %.10g", tt, theta, g, fd)
			}
		}
	}
	// Fig1's analytic L' and L'' against finite differences, including near θ = 0 where the
	// Taylor branch takes over.
	for _, x := range []float64{-0.3, -1e-3, 5e-4, 0.0011, 0.37, 1.9} {
		h := 1e-6
		if fd := (prob.L(x+h) - prob.L(x-h)) / (2 * h); math.Abs(fd-prob.D1(x)) > 1e-5*math.Max(1, math.Abs(fd)) {
			t.Errorf("L'(%v) = %v, finite difference %v", x, prob.D1(x), fd)
		}
		if fd := (prob.D1(x+h) - prob.D1(x-h)) / (2 * h); math.Abs(fd-prob.D2(x)) > 1e-5*math.Max(1, math.Abs(fd)) {
			t.Errorf("L''(%v) = %v, finite difference %v", x, prob.D2(x), fd)
		}
	}
}

func TestSAMMaxAgainstDenseScan(t *testing.T) {
	prob, _ := Fig1(Fig1Sign)
	for _, theta := range []float64{0.3, 0.5, 0.61, 1.1, 2.3} {
		eps, v := samMax(prob, theta, 0.2)
		best := math.Inf(-1)
		for i := 0; i <= 200000; i++ {
			best = math.Max(best, prob.L(theta-0.2+0.4*float64(i)/200000))
		}
		if v < best-1e-12 || v > best+1e-6 || math.Abs(prob.L(theta+eps)-v) > 0 {
			t.Errorf("θ=%v: samMax %.12g at ε=%v, dense scan %.12g", theta, v, eps, best)
		}
	}
	// A monotone loss has its max at the endpoint.
	if eps, _ := samMax(linear, 0, 0.5); eps != 0.5 {
		t.Errorf("linear loss: argmax ε=%v, want the endpoint 0.5", eps)
	}
}

var (
	fig1Once sync.Once
	fig1Runs []Fig1Run
	fig1Err  error
)

// defaultFig1Runs runs the paper's Figure 1 setting once for all tests.
func defaultFig1Runs(t *testing.T) []Fig1Run {
	fig1Once.Do(func() { fig1Runs, fig1Err = RunFig1(DefaultFig1()) })
	if fig1Err != nil {
		t.Fatal(fig1Err)
	}
	return fig1Runs
}

func TestFig1FlatterAsTGrows(t *testing.T) {
	runs := defaultFig1Runs(t)
	var erm Fig1Run
	var tsam []Fig1Run
	for _, r := range runs {
		switch r.Kind {
		case "ERM":
			erm = r
		case "TSAM":
			tsam = append(tsam, r)
		}
	}
	if len(tsam) != 4 {
		t.Fatalf("%d TSAM runs, want 4", len(tsam))
	}
	if !erm.Converged || erm.Final.Curvature <= 0 {
		t.Errorf("ERM should converge to a minimum: %+v", erm.Final)
	}
	strict := false
	for i, r := range tsam {
		if math.Abs(erm.Final.Curvature) <= math.Abs(r.Final.Curvature) {
			t.Errorf("ERM |L''|=%v not sharper than %s |L''|=%v", erm.Final.Curvature, r.Objective, r.Final.Curvature)
		}
		if i == 0 {
			continue
		}
		prev, cur := math.Abs(tsam[i-1].Final.Curvature), math.Abs(r.Final.Curvature)
		if cur > prev+1e-9 {
			t.Errorf("|L''| at the final point grew from %v (%s) to %v (%s)", prev, tsam[i-1].Objective, cur, r.Objective)
		}
		strict = strict || cur < prev-1
	}
	if !strict {
		t.Error("|L''| at the TSAM solutions never decreased as t grew")
	}
	// The global minimisers of the TSAM objective for t ≥ 1 move right, into flatter minima.
	for i := 2; i < len(tsam); i++ {
		a, b := tsam[i-1].GlobalMin, tsam[i].GlobalMin
		if b.Theta < a.Theta-1e-6 || math.Abs(b.Curvature) > math.Abs(a.Curvature)+1e-6 {
			t.Errorf("global minimiser went from θ=%v (L''=%v) to θ=%v (L''=%v)", a.Theta, a.Curvature, b.Theta, b.Curvature)
		}
	}
	if tsam[1].GlobalMin.Theta >= tsam[3].GlobalMin.Theta {
		t.Errorf("global minimiser did not move right from t=1 to t=100: %v → %v", tsam[1].GlobalMin.Theta, tsam[3].GlobalMin.Theta)
	}
}

// TestFig1SignChoice records why Fig1Sign is −1: with +1, gradient descent on ERM from
// θ = 0.5 goes left into a minimum with L″ ≈ 491 > 2/lr = 400 and never settles.
func TestFig1SignChoice(t *testing.T) {
	cfg := DefaultFig1()
	for _, sign := range []float64{1, -1} {
		prob, _ := Fig1(sign)
		tr, err := Descend(prob, NewERM(), cfg.GD)
		if err != nil {
			t.Fatal(err)
		}
		if converged := tr.Converged; converged != (sign == Fig1Sign) {
			t.Errorf("sign %+g: ERM converged=%v after %d steps at θ=%v", sign, converged, tr.Steps, tr.Final())
		}
	}
}

func TestFig3KinkAndFlatMinimum(t *testing.T) {
	rows, err := RunFig3(DefaultFig3())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Rho == 0 {
			// ERM: the sharp minimum at θ = 1 wins (L(1) = −0.01 < L(3) = 0).
			if math.Abs(r.SAM.Theta-1) > 1e-6 || math.Abs(r.TSAM.Theta-1) > 1e-6 {
				t.Errorf("ρ=0: minimisers %v, %v, want 1", r.SAM.Theta, r.TSAM.Theta)
			}
			continue
		}
		// Both objectives prefer the flat minimum for every ρ ≥ 0.2.
		if math.Abs(r.SAM.Theta-3) > 1e-5 || math.Abs(r.TSAM.Theta-3) > 1e-5 {
			t.Errorf("ρ=%v: SAM argmin %v, TSAM argmin %v, want 3", r.Rho, r.SAM.Theta, r.TSAM.Theta)
		}
		// Closed forms at θ = 3: SAM = ρ², TSAM ≈ E + (t/2)·Var with E = ρ²/3.
		if math.Abs(r.SAM.Objective-r.Rho*r.Rho) > 1e-9 {
			t.Errorf("ρ=%v: SAM min %v, want ρ² = %v", r.Rho, r.SAM.Objective, r.Rho*r.Rho)
		}
		mean, variance := r.Rho*r.Rho/3, 4*math.Pow(r.Rho, 4)/45
		if math.Abs(r.TSAM.Objective-(mean+0.005*variance)) > 1e-6 {
			t.Errorf("ρ=%v: TSAM min %v, want ≈ %v", r.Rho, r.TSAM.Objective, mean+0.005*variance)
		}
		// SAM has a kink at its minimiser (slopes ∓2ρ); TSAM is smooth there.
		if r.SAMRightSlope-r.SAMLeftSlope < 2*r.Rho {
			t.Errorf("ρ=%v: SAM slopes %v, %v show no kink", r.Rho, r.SAMLeftSlope, r.SAMRightSlope)
		}
		if math.Abs(r.TSAMRightSlope-r.TSAMLeftSlope) > 1e-3 {
			t.Errorf("ρ=%v: TSAM slopes %v, %v differ", r.Rho, r.TSAMLeftSlope, r.TSAMRightSlope)
		}
	}
}

func TestValidation(t *testing.T) {
	prob, _ := Fig1(Fig1Sign)
	bad := []Objective{
		NewSAM(-0.1), NewSAM(math.NaN()), NewTSAM(-1, 0.2), NewTSAM(math.Inf(1), 0.2),
		NewTSAM(1, -0.2), {Kind: TSAM, T: 1}, {Kind: TSAM, T: 1, Measure: Gaussian{Sigma: -1}, Quad: DefaultQuadrature},
		{Kind: TSAM, T: 1, Measure: Uniform{Rho: 0.2}},
	}
	for _, o := range bad {
		if _, err := o.Value(prob, 1); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := NewERM().Value(prob, math.NaN()); err == nil {
		t.Error("θ = NaN accepted")
	}
	for _, g := range []GD{{Start: 0.5, LR: 0, Steps: 1}, {Start: 0.5, LR: 0.1, Steps: 0}, {Start: 3, LR: 0.1, Steps: 1}, {Start: 0.5, LR: math.NaN(), Steps: 1}} {
		if _, err := Descend(prob, NewERM(), g); err == nil {
			t.Errorf("GD %+v accepted", g)
		}
	}
	if _, err := Fig1(0.5); err == nil {
		t.Error("sign 0.5 accepted")
	}
	c := DefaultFig3()
	c.Rhos = []float64{0.2, -0.2}
	if _, err := RunFig3(c); err == nil {
		t.Error("negative ρ in Figure 3 accepted")
	}
}

func TestGDStaysInDomain(t *testing.T) {
	prob, _ := Fig1(Fig1Sign)
	// A huge learning rate throws θ out at once: it must be clipped to the domain.
	tr, err := Descend(prob, NewERM(), GD{Start: 0.5, LR: 1, Steps: 50})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Clipped == 0 {
		t.Error("no step was clipped")
	}
	for _, x := range tr.Theta {
		if x < prob.Lo || x > prob.Hi {
			t.Fatalf("θ=%v left [%v, %v]", x, prob.Lo, prob.Hi)
		}
	}
}

func smallReport(t *testing.T) *Report {
	t.Helper()
	c1 := DefaultFig1()
	c1.Ts, c1.GD.Steps, c1.Quad, c1.GlobalGrid = []float64{0, 5}, 50, Quadrature{Nodes: 64}, 101
	c3 := DefaultFig3()
	c3.Rhos, c3.Grid, c3.Quad = []float64{0, 0.4}, 101, Quadrature{Nodes: 64}
	r, err := Run(c1, c3)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWriteReportIsAllOrNothing(t *testing.T) {
	r := smallReport(t)
	root := t.TempDir()

	fresh := filepath.Join(root, "new", "out")
	if err := WriteReport(fresh, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{Fig1File, Fig3File, Fig4File, SummaryJSON, SummaryMarkdown} {
		if _, err := os.Stat(filepath.Join(fresh, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}

	// An existing folder keeps its other files.
	existing := filepath.Join(root, "existing")
	os.Mkdir(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "keep.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(existing, SummaryMarkdown), []byte("old"), 0o644)
	if err := WriteReport(existing, r); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(existing, "keep.txt")); string(b) != "mine" {
		t.Error("an unrelated file was changed")
	}
	if b, _ := os.ReadFile(filepath.Join(existing, SummaryMarkdown)); string(b) == "old" {
		t.Error("summary.md was not replaced")
	}

	// A failing render leaves the folder exactly as it was and no temporary folder behind.
	broken := *r
	broken.Fig1Sign = 0 // PlotFig1 rejects it, after nothing has been moved
	os.WriteFile(filepath.Join(existing, SummaryMarkdown), []byte("old"), 0o644)
	if err := WriteReport(existing, &broken); err == nil {
		t.Fatal("broken report written")
	}
	if b, _ := os.ReadFile(filepath.Join(existing, SummaryMarkdown)); string(b) != "old" {
		t.Error("a failed write changed summary.md")
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("temporary folders left behind: %v", entries)
	}

	// A file where the folder should be.
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o644)
	if err := WriteReport(file, r); !errors.Is(err, ErrNotDir) {
		t.Errorf("writing into a file: %v, want ErrNotDir", err)
	}
}
