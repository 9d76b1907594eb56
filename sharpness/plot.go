package sharpness

import (
	"errors"
	"io"
	"math"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// errPoints is a line with vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// WriteFlatnessPNG draws the paper's Fig. 2 for the runs that have flatness: the mean loss
// at θ+ε against δ with ±1 standard deviation bars, one line per run. The PNG is written
// atomically.
func WriteFlatnessPNG(path string, runs []RunReport) error {
	p := plot.New()
	p.Title.Text = "flatness: training loss at θ+ε, ε ~ N(0, δ²I)"
	p.X.Label.Text = "δ"
	p.Y.Label.Text = "mean loss (bars: ±1 std over draws)"
	p.Legend.Top, p.Legend.Left = true, true
	drawn := 0
	for i, r := range runs {
		if r.Flatness == nil {
			continue
		}
		pts := errPoints{XYs: make(plotter.XYs, len(r.Flatness.Points)), YErrors: make(plotter.YErrors, len(r.Flatness.Points))}
		for j, pt := range r.Flatness.Points {
			sd := math.Sqrt(pt.Variance)
			pts.XYs[j] = plotter.XY{X: pt.Delta, Y: pt.Mean}
			pts.YErrors[j].Low, pts.YErrors[j].High = sd, sd
		}
		if err := addStyledLine(p, r.Label, pts.XYs, i); err != nil {
			return err
		}
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		p.Add(bars)
		drawn++
	}
	if drawn == 0 {
		return errors.New("sharpness: no run has flatness measurements to plot")
	}
	return savePNG(p, path)
}

// WriteHessianPNG draws the top Hessian eigenvalues of each run against their rank, one
// line per run. The PNG is written atomically.
func WriteHessianPNG(path string, runs []RunReport) error {
	p := plot.New()
	p.Title.Text = "top Hessian eigenvalues of the training loss"
	p.X.Label.Text = "rank"
	p.Y.Label.Text = "eigenvalue"
	p.Legend.Top = true
	drawn := 0
	for i, r := range runs {
		if r.Hessian == nil {
			continue
		}
		xys := make(plotter.XYs, len(r.Hessian.Pairs))
		for j, e := range r.Hessian.Pairs {
			xys[j] = plotter.XY{X: float64(j + 1), Y: e.Value}
		}
		if err := addStyledLine(p, r.Label, xys, i); err != nil {
			return err
		}
		drawn++
	}
	if drawn == 0 {
		return errors.New("sharpness: no run has Hessian eigenvalues to plot")
	}
	return savePNG(p, path)
}

// addStyledLine adds a line with point markers in the i-th colour and shape.
func addStyledLine(p *plot.Plot, label string, xys plotter.XYs, i int) error {
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	line.Color = plotutil.Color(i)
	line.Dashes = plotutil.Dashes(i)
	points.Color = plotutil.Color(i)
	points.Shape = plotutil.Shape(i)
	p.Add(line, points)
	p.Legend.Add(label, line, points)
	return nil
}

func savePNG(p *plot.Plot, path string) error {
	w, err := p.WriterTo(vg.Points(560), vg.Points(400), "png")
	if err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, 0o644, func(out io.Writer) error {
		_, err := w.WriteTo(out)
		return err
	})
}
