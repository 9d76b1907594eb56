package floatlist

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	got, err := Parse(" 0.5, 1,,2e-3 ")
	if err != nil || !reflect.DeepEqual(got, []float64{0.5, 1, 2e-3}) {
		t.Fatalf("Parse: %v, %v", got, err)
	}
	if s := Format([]float64{0.1, 1, 1e-12}); s != "0.1,1,1e-12" {
		t.Errorf("Format: %q", s)
	}
	xs := []float64{math.Pi, 1.0 / 3, -2}
	if back, err := Parse(Format(xs)); err != nil || !reflect.DeepEqual(back, xs) {
		t.Errorf("round trip %v → %v (%v)", xs, back, err)
	}
	for _, bad := range []string{"1,x", "NaN", "1,Inf"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "not a finite number") {
			t.Errorf("Parse(%q): %v", bad, err)
		}
	}
}
