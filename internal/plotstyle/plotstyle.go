// Package plotstyle holds the axis and legend conventions shared by the project's gonum
// plots: tick labels precise enough to tell ticks apart, integer ticks for counts such as
// epochs, room above the curves for a legend at the top, and a margin so that the last
// tick label is not cut off.
package plotstyle

import (
	"bytes"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Ticks is gonum's default ticker with labels written with as many decimals as the
// spacing of the major ticks needs: gonum's own labels keep two significant digits, so a
// loss axis from 1.00 to 1.10 labels its 1.02 tick "1".
type Ticks struct{}

// Ticks implements plot.Ticker.
func (Ticks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	decimals := majorDecimals(ticks)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', decimals, 64)
		}
	}
	return ticks
}

// majorDecimals is the number of decimals that writes the smallest spacing of the major
// ticks exactly (0 for spacings ≥ 1).
func majorDecimals(ticks []plot.Tick) int {
	step := math.Inf(1)
	prev := math.NaN()
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		if !math.IsNaN(prev) {
			step = math.Min(step, t.Value-prev)
		}
		prev = t.Value
	}
	if math.IsInf(step, 1) || step <= 0 || step >= 1 {
		return 0
	}
	d := int(math.Ceil(-math.Log10(step) - 1e-9))
	// A spacing like 0.25 needs one decimal more than its order of magnitude.
	for d < 15 && math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) > 1e-6 {
		d++
	}
	return d
}

// IntegerTicks labels whole numbers only, for axes that count (epochs, ranks): every
// integer when there are at most ten, otherwise gonum's ticks that fall on integers.
type IntegerTicks struct{}

// Ticks implements plot.Ticker.
func (IntegerTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := math.Ceil(min), math.Floor(max)
	if hi-lo <= 10 {
		var ticks []plot.Tick
		for v := lo; v <= hi; v++ {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
		}
		return ticks
	}
	var ticks []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
		if t.Value == math.Trunc(t.Value) {
			if t.Label != "" {
				t.Label = strconv.FormatFloat(t.Value, 'f', 0, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// legendRow is the share of the data area's height that one legend entry takes, roughly.
const legendRow = 0.075

// RoomForLegend raises the top of the y axis so that a legend of rows entries at the top
// of the plot sits above the curves instead of over them. Call it after adding the data
// (it reads the axis range the data set) and with p.Legend.Top set.
func RoomForLegend(p *plot.Plot, rows int) {
	if rows == 0 || p.Y.Max <= p.Y.Min || p.Y.Scale != nil && !isLinear(p.Y.Scale) {
		return
	}
	share := math.Min(legendRow*float64(rows), 0.6)
	span := p.Y.Max - p.Y.Min
	p.Y.Max = p.Y.Min + span/(1-share)
}

func isLinear(s plot.Normalizer) bool {
	_, ok := s.(plot.LinearScale)
	return ok
}

// rightMargin keeps the last x tick label, centred on the plot's right edge, inside the
// image.
const rightMargin = 14

// PNG renders the grid of plots (nil entries left blank) as one PNG of size w×h.
func PNG(plots [][]*plot.Plot, tiles draw.Tiles, w, h vg.Length) ([]byte, error) {
	img := vgimg.New(w, h)
	dc := draw.Crop(draw.New(img), 0, -vg.Points(rightMargin), 0, 0)
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j, p := range plots[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
