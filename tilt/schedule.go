package tilt

import (
	"fmt"
	"math"
	"strings"
)

// ScheduleKind says how t moves over training (the paper's Fig. 8 compares the three). Its
// names ("constant", "linear-up", "linear-down") are the one vocabulary of t schedules: the
// -t-schedule flag, a run's stored configuration and the optimizer's context parameter.
type ScheduleKind int

const (
	// Constant keeps t fixed at its target value.
	Constant ScheduleKind = iota
	// LinearUp grows t linearly from 0 at the first step to the target at the last step.
	LinearUp
	// LinearDown shrinks t linearly from the target at the first step to 0 at the last step.
	LinearDown
)

var scheduleNames = [...]string{Constant: "constant", LinearUp: "linear-up", LinearDown: "linear-down"}

// ScheduleNames lists the names of the kinds, in the order of their values.
func ScheduleNames() []string { return append([]string(nil), scheduleNames[:]...) }

// String returns the name ParseScheduleKind accepts.
func (k ScheduleKind) String() string {
	if k < 0 || int(k) >= len(scheduleNames) {
		return fmt.Sprintf("ScheduleKind(%d)", int(k))
	}
	return scheduleNames[k]
}

// ParseScheduleKind parses "constant", "linear-up" or "linear-down" (case-insensitive,
// surrounding spaces ignored).
func ParseScheduleKind(s string) (ScheduleKind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for k, n := range scheduleNames {
		if name == n {
			return ScheduleKind(k), nil
		}
	}
	return 0, fmt.Errorf("tilt: unknown t schedule %q; use one of %s", s, strings.Join(scheduleNames[:], ", "))
}

// Schedule is a t schedule over training: a kind and the target tilt T (the constant value,
// the end of LinearUp, the start of LinearDown). The zero value is the constant t = 0.
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
// endpoints exactly: LinearUp gives 0 at step 0 and T at step totalSteps−1, LinearDown the
// reverse. Steps outside [0, totalSteps−1] are clamped to the nearest endpoint; a run of a
// single step (totalSteps ≤ 1) is treated as being at its last step.
func (s Schedule) At(step, totalSteps int) float64 {
	switch s.Kind {
	case LinearUp:
		return s.T * progress(step, totalSteps)
	case LinearDown:
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
