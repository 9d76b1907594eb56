package sam

// What a step costs: gradient evaluations and forward-only passes per method, and the
// step counts that give a method another's budget.

import (
	"math"
	"time"
)

// GradEvalsPerStep is the number of forward+backward passes one step costs (the clean
// forward pass at θ that train.Trainer always runs is counted only when its gradient is
// used). ESAM2 also runs len(ESAM2Scales) forward-only passes, see ForwardOnlyPerStep.
//
//	erm 1; sam, asam, esam1, pgn, esam2 2; rsam 2;
//	tsam practical: 2s with a random start (R > 0); 2 without (all s samples coincide,
//	so the pass is built once);
//	tsam hmc: s·(N+1); tsam naive: s.
func (c Config) GradEvalsPerStep() int {
	switch c.Method {
	case ERM:
		return 1
	case SAM, ASAM, ESAM1, PGN, ESAM2, RSAM:
		return 2
	case TSAM:
		switch c.Sampler {
		case SamplerHMC:
			return c.S * (c.HMCSteps + 1)
		case SamplerNaive:
			return c.S
		default:
			if c.R > 0 {
				return 2 * c.S
			}
			return 2
		}
	}
	return 0
}

// ForwardOnlyPerStep is the number of extra forward-only passes per step (ESAM2's trial
// step sizes); 0 for the other methods.
func (c Config) ForwardOnlyPerStep() int {
	if c.Method == ESAM2 {
		return len(c.ESAM2Scales)
	}
	return 0
}

// ESAM1Steps returns how many SAM steps spend the gradient budget of `steps` steps of the
// reference configuration (usually TSAM): steps·ref.GradEvalsPerStep()/2, rounded to the
// nearest step. For an equal wall-time budget, measure both step times (`tsam bench
// methods`) and scale by their ratio instead.
func ESAM1Steps(ref Config, steps int) int {
	sam := DefaultConfig(SAM).GradEvalsPerStep()
	return int(math.Round(float64(steps) * float64(ref.GradEvalsPerStep()) / float64(sam)))
}

// ESAM1StepsForTime returns how many SAM steps fill the wall time of `steps` steps of the
// reference method, given both measured step times (e.g. bench.MethodRow.StepTime from
// bench.TimeMethods on the run's model and batch): steps·refStep/samStep, rounded. It
// returns 0 when samStep is not positive.
func ESAM1StepsForTime(steps int, refStep, samStep time.Duration) int {
	if samStep <= 0 {
		return 0
	}
	return int(math.Round(float64(steps) * float64(refStep) / float64(samStep)))
}

// statSlots is the length of the per-step losses and weights vectors for this method.
func (c Config) statSlots() int {
	switch c.Method {
	case TSAM:
		return c.S
	case ESAM2:
		return len(c.ESAM2Scales)
	}
	return 1
}
