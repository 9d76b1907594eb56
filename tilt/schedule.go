package tilt

import (
	"fmt"
	"math"
	"strings"
)

// ScheduleKind says how t moves over training (the paper's Fig. 8 compares the three).
type ScheduleKind int

const (
	// Constant keeps t fixed at its target value.
	Constant ScheduleKind = iota
	// Increase grows t linearly from 0 at the first step to the target at the last step.
	Increase
	// Decrease shrinks t linearly from the target at the first step to 0 at the last step.
	Decrease
)

var scheduleNames = [...]string{Constant: "constant", Increase: "increase", Decrease: "decrease"}

// String returns the name ParseScheduleKind accepts.
func (k ScheduleKind) String() string {
	if k < 0 || int(k) >= len(scheduleNames) {
		return fmt.Sprintf("ScheduleKind(%d)", int(k))
	}
	return scheduleNames[k]
}

// ParseScheduleKind parses "constant", "increase" or "decrease" (case-insensitive, surrounding
// spaces ignored), for command-line flags.
func ParseScheduleKind(s string) (ScheduleKind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for k, n := range scheduleNames {
		if name == n {
			return ScheduleKind(k), nil
		}
	}
	return 0, fmt.Errorf("tilt: unknown t schedule %q; use one of constant, increase, decrease", s)
}

// Schedule is a t schedule over training: a kind and the target tilt T (the constant value,
// the end of an increase, the start of a decrease). The zero value is the constant t = 0.
type Schedule struct {
	Kind ScheduleKind
	T    float64
}

// NewSchedule parses kind (see ParseScheduleKind) and validates t (finite, ≥ 0).
func NewSchedule(kind string, t float64) (Schedule, error) {
	k, err := ParseScheduleKind(kind)
	if err != nil {
		return Schedule{}, err
	}
	if err := checkT(t); err != nil {
		return Schedule{}, err
	}
	return Schedule{Kind: k, T: t}, nil
}

// At returns t at step (0-based) of totalSteps steps. The linear schedules reach their
// endpoints exactly: Increase gives 0 at step 0 and T at step totalSteps−1, Decrease the
// reverse. Steps outside [0, totalSteps−1] are clamped to the nearest endpoint; a run of a
// single step (totalSteps ≤ 1) is treated as being at its last step.
func (s Schedule) At(step, totalSteps int) float64 {
	switch s.Kind {
	case Increase:
		return s.T * progress(step, totalSteps)
	case Decrease:
		return s.T * (1 - progress(step, totalSteps))
	default:
		return s.T
	}
}

// progress is step/(totalSteps−1) clamped to [0, 1].
func progress(step, totalSteps int) float64 {
	if totalSteps <= 1 {
		return 1
	}
	f := float64(step) / float64(totalSteps-1)
	return math.Min(1, math.Max(0, f))
}

// String renders the schedule as "kind(t=T)".
func (s Schedule) String() string {
	return fmt.Sprintf("%s(t=%g)", s.Kind, s.T)
}
