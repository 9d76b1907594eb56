package run

import (
	"image/color"
	"path/filepath"

	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/internal/plotstyle"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// curveSet is the metrics of one run under a label, for plotting.
type curveSet struct {
	label   string
	metrics []EpochMetrics
}

// writeCurves draws loss and accuracy against epoch for each set side by side and
// writes the PNG atomically. One set draws train/val/test; several draw one colour per
// run with train dashed and test solid.
func writeCurves(path string, sets []curveSet) error {
	lossPlot, accPlot := plot.New(), plot.New()
	lossPlot.Title.Text, accPlot.Title.Text = "loss", "accuracy"
	lossPlot.Y.Label.Text = "cross-entropy (with the run's label smoothing)"
	accPlot.Y.Label.Text = "accuracy"
	for _, p := range []*plot.Plot{lossPlot, accPlot} {
		p.X.Label.Text = "epoch"
		p.X.Tick.Marker, p.Y.Tick.Marker = plotstyle.IntegerTicks{}, plotstyle.Ticks{}
	}
	// Losses fall and accuracies rise: put each legend where its curves end up least.
	lossPlot.Legend.Top, accPlot.Legend.Top = true, false
	for i, set := range sets {
		addRunLines(lossPlot, accPlot, set, i, len(sets) > 1)
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	png, err := plotstyle.PNG([][]*plot.Plot{{lossPlot, accPlot}}, tiles, vg.Points(900), vg.Points(380))
	if err != nil {
		return err
	}
	return atomicfile.Write(path, png, 0o644)
}

// addRunLines adds one run's curves; overlay mode names lines after the run.
func addRunLines(lossPlot, accPlot *plot.Plot, set curveSet, idx int, overlay bool) {
	type series struct {
		name     string
		loss     func(EpochMetrics) (float64, bool)
		acc      func(EpochMetrics) (float64, bool)
		dashes   []vg.Length
		colorIdx int
	}
	always := func(f func(EpochMetrics) float64) func(EpochMetrics) (float64, bool) {
		return func(m EpochMetrics) (float64, bool) { return f(m), true }
	}
	optional := func(f func(EpochMetrics) *float64) func(EpochMetrics) (float64, bool) {
		return func(m EpochMetrics) (float64, bool) {
			if v := f(m); v != nil {
				return *v, true
			}
			return 0, false
		}
	}
	all := []series{
		{"train", always(func(m EpochMetrics) float64 { return m.TrainLoss }), always(func(m EpochMetrics) float64 { return m.TrainAcc }), []vg.Length{vg.Points(4), vg.Points(3)}, 0},
		{"val", optional(func(m EpochMetrics) *float64 { return m.ValLoss }), optional(func(m EpochMetrics) *float64 { return m.ValAcc }), []vg.Length{vg.Points(1), vg.Points(2)}, 1},
		{"test", always(func(m EpochMetrics) float64 { return m.TestLoss }), always(func(m EpochMetrics) float64 { return m.TestAcc }), nil, 2},
	}
	for _, s := range all {
		if overlay && s.name == "val" {
			continue // keeps an overlay of several runs readable
		}
		name, col := s.name, plotutil.Color(s.colorIdx)
		if overlay {
			name, col = set.label+" "+s.name, plotutil.Color(idx)
		}
		addLine(lossPlot, name, col, s.dashes, set.metrics, s.loss)
		addLine(accPlot, name, col, s.dashes, set.metrics, s.acc)
	}
}

func addLine(p *plot.Plot, name string, col color.Color, dashes []vg.Length, ms []EpochMetrics, get func(EpochMetrics) (float64, bool)) {
	var pts plotter.XYs
	for _, m := range ms {
		if v, ok := get(m); ok && finite(v) {
			pts = append(pts, plotter.XY{X: float64(m.Epoch), Y: v})
		}
	}
	if len(pts) == 0 {
		return
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return
	}
	line.Color, points.Color = col, col
	line.Dashes = dashes
	points.Radius = vg.Points(2)
	p.Add(line, points)
	p.Legend.Add(name, line)
}

// curvesPath is where a run's curves go.
func curvesPath(runDir string) string { return filepath.Join(runDir, CurvesPNG) }
