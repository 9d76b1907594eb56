package tilt

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleEndpoints(t *testing.T) {
	const total = 11
	cases := []struct {
		kind         string
		first, mid   float64
		last, beyond float64
	}{
		{"constant", 20, 20, 20, 20},
		{"linear-up", 0, 10, 20, 20},
		{"linear-down", 20, 10, 0, 0},
	}
	for _, c := range cases {
		s, err := NewSchedule(c.kind, 20)
		if err != nil {
			t.Fatal(err)
		}
		got := []float64{s.At(0, total), s.At(5, total), s.At(total-1, total), s.At(total+5, total)}
		want := []float64{c.first, c.mid, c.last, c.beyond}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Errorf("%s: At = %v, want %v", c.kind, got, want)
				break
			}
		}
		if s.At(-3, total) != c.first {
			t.Errorf("%s: negative step not clamped to the first value", c.kind)
		}
	}
}

func TestScheduleMonotone(t *testing.T) {
	inc := Schedule{Kind: LinearUp, T: 5}
	dec := Schedule{Kind: LinearDown, T: 5}
	for i := 1; i < 100; i++ {
		if inc.At(i, 100) < inc.At(i-1, 100) || dec.At(i, 100) > dec.At(i-1, 100) {
			t.Fatalf("schedules not monotone at step %d", i)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	for _, name := range []string{"constant", " Linear-Up", "LINEAR-DOWN "} {
		k, err := ParseScheduleKind(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if back, _ := ParseScheduleKind(k.String()); back != k {
			t.Errorf("%q does not round-trip through String", name)
		}
	}
	for _, name := range []string{"linear", "increase", "decrease"} {
		if _, err := ParseScheduleKind(name); err == nil || !strings.Contains(err.Error(), "linear-up") {
			t.Errorf("%q: %v, want an error naming the kinds", name, err)
		}
	}
	if got := ScheduleNames(); len(got) != 3 || got[LinearDown] != "linear-down" {
		t.Errorf("ScheduleNames() = %v", got)
	}
	if _, err := NewSchedule("constant", -1); err == nil {
		t.Error("negative t accepted")
	}
	if _, err := NewSchedule("linear-up", math.NaN()); err == nil {
		t.Error("NaN t accepted")
	}
}
