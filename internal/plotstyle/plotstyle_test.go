package plotstyle

import (
	"slices"
	"testing"

	"gonum.org/v1/plot"
)

func labels(ticks []plot.Tick) []string {
	var out []string
	for _, t := range ticks {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

// TestTicksAreDistinct: gonum labels 1.02 as "1" on a narrow loss axis; these labels
// carry the decimals the spacing needs and are all different.
func TestTicksAreDistinct(t *testing.T) {
	for _, r := range [][2]float64{{1, 1.1}, {0.6, 0.64}, {0, 1}, {2.28, 2.31}, {10, 250}} {
		ls := labels(Ticks{}.Ticks(r[0], r[1]))
		sorted := slices.Clone(ls)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(ls) || len(ls) < 2 {
			t.Errorf("range %v: labels %v are not distinct", r, ls)
		}
		t.Logf("%v: %v", r, ls)
	}
	if ls := labels(Ticks{}.Ticks(1, 1.1)); !slices.Contains(ls, "1.02") && !slices.Contains(ls, "1.05") {
		t.Errorf("labels %v lack the decimals", ls)
	}
}

// TestIntegerTicks: an epoch axis from 1 to 3 has ticks 1, 2, 3 only.
func TestIntegerTicks(t *testing.T) {
	if ls := labels(IntegerTicks{}.Ticks(0.9, 3.1)); !slices.Equal(ls, []string{"1", "2", "3"}) {
		t.Errorf("labels %v, want 1 2 3", ls)
	}
	for _, tk := range (IntegerTicks{}).Ticks(0, 200) {
		if tk.Value != float64(int(tk.Value)) {
			t.Errorf("fractional tick %v", tk.Value)
		}
	}
}

// TestRoomForLegend raises the axis top so that the curves fill the lower part only.
func TestRoomForLegend(t *testing.T) {
	p := plot.New()
	p.Y.Min, p.Y.Max = 0, 1
	RoomForLegend(p, 4)
	if want := 1 / (1 - 4*legendRow); p.Y.Max < want-1e-9 || p.Y.Max > want+1e-9 {
		t.Errorf("top %v, want %v", p.Y.Max, want)
	}
}
