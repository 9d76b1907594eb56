package study

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/internal/plotstyle"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// series is one line of a figure: points with ±1 standard deviation bars.
type series struct {
	label     string
	xs, ys, e []float64
}

// drawSection writes the section's figures into dir and returns their file names.
func drawSection(s *SectionResult, dir string) ([]string, error) {
	var figs []figure
	switch s.Kind {
	case KindFlatness:
		figs = flatnessFigures(s)
	case KindHessian:
		figs = []figure{hessianFigure(s)}
	default:
		if s.Curves {
			figs = []figure{curveFigure(s)}
		}
	}
	var names []string
	for _, f := range figs {
		if len(f.lines) == 0 {
			continue
		}
		if err := f.write(filepath.Join(dir, f.name)); err != nil {
			return nil, err
		}
		names = append(names, f.name)
	}
	return names, nil
}

// figure is one PNG.
type figure struct {
	name, title, x, y string
	lines             []series
}

// curveFigure draws every row's test accuracy against training progress. Rows given TSAM's
// budget train more epochs than the others and are evaluated every few, so each point is
// placed at its fraction of the run's steps times the epochs of the section's shortest run:
// the curves of a column line up, and without budgeted rows the x axis is the epoch.
func curveFigure(s *SectionResult) figure {
	epochs := curveEpochs(s.Rows)
	f := figure{name: s.ID + "-curves.png", title: s.ID + ": test accuracy (mean ± sd over seeds)", x: "epoch", y: "test accuracy"}
	if curvesDiffer(s.Rows) {
		f.x = fmt.Sprintf("epoch of a %d-epoch run (longer runs placed at the same fraction of their steps)", epochs)
	}
	for _, r := range s.Rows {
		var l series
		l.label = r.Label
		for _, p := range r.Curve {
			x := float64(p.Epoch)
			if p.Fraction > 0 {
				x = p.Fraction * float64(epochs)
			}
			l.xs, l.ys, l.e = append(l.xs, x), append(l.ys, p.TestAcc.Mean), append(l.e, p.TestAcc.SD)
		}
		if len(l.xs) > 0 {
			f.lines = append(f.lines, l)
		}
	}
	return f
}

// curveEpochs is the number of epochs of the section's shortest run (its last curve point).
func curveEpochs(rows []RowResult) int {
	epochs := 0
	for _, r := range rows {
		if n := len(r.Curve); n > 0 && (epochs == 0 || r.Curve[n-1].Epoch < epochs) {
			epochs = r.Curve[n-1].Epoch
		}
	}
	return max(epochs, 1)
}

// curvesDiffer says whether the rows' runs train different numbers of epochs.
func curvesDiffer(rows []RowResult) bool {
	last := -1
	for _, r := range rows {
		if n := len(r.Curve); n > 0 {
			if last >= 0 && r.Curve[n-1].Epoch != last {
				return true
			}
			last = r.Curve[n-1].Epoch
		}
	}
	return false
}

func flatnessFigures(s *SectionResult) []figure {
	mean := figure{name: s.ID + "-mean.png", title: s.ID + ": mean of L(θ*+ε), ε ~ N(0, δ²I)", x: "δ", y: "mean training loss (± standard error over seeds)"}
	vari := figure{name: s.ID + "-variance.png", title: s.ID + ": variance of L(θ*+ε), ε ~ N(0, δ²I)", x: "δ", y: "variance over draws (± standard error over seeds)"}
	for _, r := range s.Rows {
		m, v := series{label: r.Label}, series{label: r.Label}
		for _, p := range r.Flatness {
			m.xs, m.ys, m.e = append(m.xs, p.Delta), append(m.ys, p.Mean.Mean), append(m.e, p.Mean.SE())
			v.xs, v.ys, v.e = append(v.xs, p.Delta), append(v.ys, p.Variance.Mean), append(v.e, p.Variance.SE())
		}
		if len(m.xs) > 0 {
			mean.lines, vari.lines = append(mean.lines, m), append(vari.lines, v)
		}
	}
	return []figure{mean, vari}
}

func hessianFigure(s *SectionResult) figure {
	f := figure{name: s.ID + ".png", title: s.ID + ": top Hessian eigenvalues of the training loss", x: "rank", y: "eigenvalue (± standard error over seeds)"}
	for _, r := range s.Rows {
		l := series{label: r.Label}
		for i, e := range r.Eigen {
			l.xs, l.ys, l.e = append(l.xs, float64(i+1)), append(l.ys, e.Mean), append(l.e, e.SE())
		}
		if len(l.xs) > 0 {
			f.lines = append(f.lines, l)
		}
	}
	return f
}

// errPoints is a line with vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// write draws the figure to path atomically.
func (f figure) write(path string) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = f.title, f.x, f.y
	p.Legend.Top = true
	p.Y.Tick.Marker = plotstyle.Ticks{}
	if strings.HasPrefix(f.x, "epoch") || f.x == "rank" {
		p.X.Tick.Marker = plotstyle.IntegerTicks{} // counts: no fractional ticks
	}
	for i, l := range f.lines {
		pts := errPoints{XYs: make(plotter.XYs, len(l.xs)), YErrors: make(plotter.YErrors, len(l.xs))}
		for j := range l.xs {
			pts.XYs[j] = plotter.XY{X: l.xs[j], Y: l.ys[j]}
			pts.YErrors[j].Low, pts.YErrors[j].High = l.e[j], l.e[j]
		}
		line, points, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		line.Dashes, points.Shape = plotutil.Dashes(i), plotutil.Shape(i)
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		bars.Color = plotutil.Color(i)
		p.Add(line, points, bars)
		p.Legend.Add(l.label, line, points)
	}
	plotstyle.RoomForLegend(p, len(f.lines))
	png, err := plotstyle.PNG([][]*plot.Plot{{p}}, draw.Tiles{Rows: 1, Cols: 1}, 7*vg.Inch, 4.5*vg.Inch)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, png, 0o644)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
