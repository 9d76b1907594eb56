package toy

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"github.com/tsamgo/tsam/internal/plotstyle"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	lossBlue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	trajOrange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	globalRed  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	minGreen   = color.RGBA{R: 44, G: 160, B: 44, A: 255}
)

// starGlyph draws a filled five-pointed star, the paper's marker of final solutions.
type starGlyph struct{}

func (starGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	for i := 0; i < 10; i++ {
		r := sty.Radius
		if i%2 == 1 {
			r *= 0.45
		}
		a := math.Pi/2 + float64(i)*math.Pi/5
		q := vg.Point{X: pt.X + r*vg.Length(math.Cos(a)), Y: pt.Y + r*vg.Length(math.Sin(a))}
		if i == 0 {
			p.Move(q)
		} else {
			p.Line(q)
		}
	}
	p.Close()
	c.Fill(p)
}

// curve samples f on n points of [lo, hi].
func curve(f func(float64) (float64, error), lo, hi float64, n int) (plotter.XYs, error) {
	xys := make(plotter.XYs, n)
	for i := range xys {
		x := lo + (hi-lo)*float64(i)/float64(n-1)
		y, err := f(x)
		if err != nil {
			return nil, err
		}
		xys[i] = plotter.XY{X: x, Y: y}
	}
	return xys, nil
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color, width vg.Length, legend string) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, width
	p.Add(l)
	if legend != "" {
		p.Legend.Add(legend, l)
	}
	return nil
}

func addPoints(p *plot.Plot, xys plotter.XYs, c color.Color, shape draw.GlyphDrawer, r vg.Length, legend string) error {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: r, Shape: shape}
	p.Add(s)
	if legend != "" {
		p.Legend.Add(legend, s)
	}
	return nil
}

// curveSamples is the number of points each plotted curve is sampled at.
const curveSamples = 400

// fig1Panel draws one Figure 1 panel: the loss (blue), the run's objective (red), the
// gradient-descent trajectory (orange dots) and its final point (orange star), and the
// objective's global minimiser (green ring).
func fig1Panel(prob Problem, run Fig1Run) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = run.Objective
	p.X.Label.Text, p.Y.Label.Text = "θ", "loss"
	p.Y.Tick.Marker = plotstyle.Ticks{}
	p.Legend.Top = true
	loss, err := curve(func(x float64) (float64, error) { return prob.L(x), nil }, prob.Lo, prob.Hi, curveSamples)
	if err != nil {
		return nil, err
	}
	if err := addLine(p, loss, lossBlue, vg.Points(1), "L(θ)"); err != nil {
		return nil, err
	}
	if run.obj.Kind != ERM {
		obj, err := curve(func(x float64) (float64, error) { return run.obj.Value(prob, x) }, prob.Lo, prob.Hi, curveSamples)
		if err != nil {
			return nil, err
		}
		if err := addLine(p, obj, globalRed, vg.Points(1), "objective"); err != nil {
			return nil, err
		}
	}
	traj := make(plotter.XYs, len(run.Trajectory))
	for i, x := range run.Trajectory {
		traj[i] = plotter.XY{X: x, Y: prob.L(x)}
	}
	if err := addPoints(p, traj, trajOrange, draw.CircleGlyph{}, vg.Points(1.5), "GD path"); err != nil {
		return nil, err
	}
	final := plotter.XYs{{X: run.Final.Theta, Y: run.Final.Loss}}
	if err := addPoints(p, final, trajOrange, starGlyph{}, vg.Points(7), "GD end"); err != nil {
		return nil, err
	}
	global := plotter.XYs{{X: run.GlobalMin.Theta, Y: run.GlobalMin.Loss}}
	if err := addPoints(p, global, minGreen, draw.RingGlyph{}, vg.Points(5), "global min"); err != nil {
		return nil, err
	}
	entries := 4 // L(θ), GD path, GD end, global min
	if run.obj.Kind != ERM {
		entries++ // the objective
	}
	plotstyle.RoomForLegend(p, entries)
	return p, nil
}

// PlotFig1 renders the Figure 1 panels (one per objective, three per row) as a PNG.
func PlotFig1(r *Report) ([]byte, error) {
	if err := r.checkBuilt(); err != nil {
		return nil, err
	}
	prob, err := Fig1(r.Fig1Sign)
	if err != nil {
		return nil, err
	}
	const cols = 3
	rows := (len(r.Fig1) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, run := range r.Fig1 {
		if plots[i/cols][i%cols], err = fig1Panel(prob, run); err != nil {
			return nil, err
		}
	}
	return renderTiles(plots, vg.Points(330*cols), vg.Points(260*float64(rows)))
}

// renderTiles draws a grid of plots (nil entries left blank) into one PNG.
func renderTiles(plots [][]*plot.Plot, w, h vg.Length) ([]byte, error) {
	tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	return plotstyle.PNG(plots, tiles, w, h)
}

// shade returns red darkened with the radius: light for small ρ, dark for the largest.
func shade(i, n int) color.Color {
	f := 1.0
	if n > 1 {
		f = float64(i) / float64(n-1)
	}
	return color.RGBA{R: uint8(255 - 120*f), G: uint8(170 - 170*f), B: uint8(170 - 170*f), A: 255}
}

// PlotFig3 renders Figure 3 (tsam = false: the SAM objective for each ρ) or Figure 4
// (tsam = true: the TSAM objective with the report's t) with the loss in blue and each
// objective's global minimum as an orange dot.
func PlotFig3(r *Report, tsam bool) ([]byte, error) {
	if err := r.checkBuilt(); err != nil {
		return nil, err
	}
	prob, c := Fig3(), r.fig3Cfg
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = "θ", "objective value"
	p.Y.Tick.Marker = plotstyle.Ticks{}
	p.Legend.Top = true
	p.Title.Text = "SAM objective: max of L(θ+ε) over |ε| ≤ ρ"
	if tsam {
		p.Title.Text = fmt.Sprintf("TSAM objective (t=%g, ε uniform on |ε|≤ρ)", r.Fig3T)
	}
	loss, err := curve(func(x float64) (float64, error) { return prob.L(x), nil }, c.Lo, c.Hi, 801)
	if err != nil {
		return nil, err
	}
	if err := addLine(p, loss, lossBlue, vg.Points(1.5), "L(θ)"); err != nil {
		return nil, err
	}
	for i, row := range r.Fig3 {
		o, m := NewSAM(row.Rho), row.SAM
		if tsam {
			o, m = Objective{Kind: TSAM, T: r.Fig3T, Measure: Uniform{Rho: row.Rho}, Quad: c.Quad}, row.TSAM
		}
		xys, err := curve(func(x float64) (float64, error) { return o.Value(prob, x) }, c.Lo, c.Hi, 801)
		if err != nil {
			return nil, err
		}
		if err := addLine(p, xys, shade(i, len(r.Fig3)), vg.Points(1), fmt.Sprintf("ρ=%g", row.Rho)); err != nil {
			return nil, err
		}
		if err := addPoints(p, plotter.XYs{{X: m.Theta, Y: m.Objective}}, trajOrange, draw.CircleGlyph{}, vg.Points(3.5), ""); err != nil {
			return nil, err
		}
	}
	plotstyle.RoomForLegend(p, 1+len(r.Fig3)) // L(θ) and one line per ρ
	return renderTiles([][]*plot.Plot{{p}}, vg.Points(520), vg.Points(380))
}

// checkBuilt reports a Report that did not come from Run (for example one decoded from JSON),
// which lacks the settings the plots need.
func (r *Report) checkBuilt() error {
	if r.fig3Cfg.Grid == 0 || len(r.fig1Cfg.Ts) == 0 {
		return errors.New("toy: the report was not built by toy.Run; plots need its settings")
	}
	return nil
}
