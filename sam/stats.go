package sam

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
	"github.com/tsamgo/tsam/internal/tensorfloat"
)

// StatsScope is the absolute context scope of the per-step statistics variables. After each
// train step (train.Trainer.TrainStep, or each step of a train.Loop) they hold that step's
// values, in the loss dtype:
//
//	loss_clean  []   L(θ), the trainer's loss at the unperturbed weights
//	losses      [n]  L(θ+ε_j) at each evaluated perturbation (n = S for TSAM, the number of
//	                 trial step sizes for ESAM2, 1 for SAM/ASAM/ESAM1/PGN/RSAM, L(θ) for ERM)
//	weights     [n]  the weight of each gradient in the update (TSAM: the tilted softmax
//	                 weights; ESAM2: one-hot of the chosen step; otherwise 1)
//	ess         []   effective sample size of the weights, 1/Σ w_j²
//	hmc_accept  []   fraction of HMC proposals accepted this step (1 for other samplers)
//	hmc_log_ratio [n] HMC: log of each chain's Metropolis ratio (0 for other samplers)
//	hmc_cos     [n]  HMC: cosine between each chain's ε and the gradient ∇L(θ+ε_0) at its
//	                 start, how much of ε points uphill (0 for other samplers)
//	grad_evals  []   forward+backward passes built into the step
//	forwards    []   extra forward-only passes (ESAM2's trial steps)
//	t           []   the tilt t used this step (after its schedule; 0 for non-TSAM methods)
//
// Read them with ReadStats, or directly with
// ctx.GetVariableByScopeAndName(sam.StatsScope, "losses").MustValue().
const StatsScope = "/sam/stats"

// Stats is one step's statistics, read by ReadStats.
type Stats struct {
	LossClean float64
	Losses    []float64
	Weights   []float64
	ESS       float64
	HMCAccept float64
	// HMCLogRatio is each HMC chain's log Metropolis ratio (zeros for other samplers).
	HMCLogRatio []float64
	// HMCCos is the cosine between each HMC chain's ε and ∇L(θ+ε_0) (zeros otherwise).
	HMCCos    []float64
	GradEvals int
	Forwards  int
	T         float64
}

// writeStats stores the step's statistics as non-trainable variables in StatsScope.
func (s *step) writeStats(ctx *context.Context) {
	c := ctx.InAbsPath(StatsScope).Checked(false).WithInitializer(initializers.Zero)
	set := func(name string, value *Node) {
		value = ConvertDType(value, s.dtype)
		c.VariableWithShape(name, value.Shape()).SetTrainable(false).SetValueGraph(value)
	}
	w := Stack(s.weights, 0)
	set("loss_clean", s.loss)
	set("losses", Stack(s.losses, 0))
	set("weights", w)
	set("ess", Inverse(ReduceAllSum(Square(w))))
	accept := s.accept
	if accept == nil {
		accept = s.scalar(1)
	}
	set("hmc_accept", accept)
	set("hmc_log_ratio", Stack(s.perChain(s.logRatios), 0))
	set("hmc_cos", Stack(s.perChain(s.epsCos), 0))
	set("grad_evals", s.scalar(float64(s.gradEvals)))
	set("forwards", s.scalar(float64(s.forwards)))
	t := s.tilt
	if t == nil {
		t = s.scalar(0)
	}
	set("t", t)
}

// perChain returns the HMC per-chain values, or zeros (one per loss) for other samplers.
func (s *step) perChain(values []*Node) []*Node {
	if values != nil {
		return values
	}
	zeros := make([]*Node, len(s.losses))
	for j := range zeros {
		zeros[j] = s.scalar(0)
	}
	return zeros
}

// ReadStats returns the statistics of the last train step run with ctx. It errors if no
// step of a sam.Optimizer has run yet.
func ReadStats(ctx *context.Context) (Stats, error) {
	read := func(name string) ([]float64, error) {
		v := ctx.GetVariableByScopeAndName(StatsScope, name)
		if v == nil || !v.HasValue() {
			return nil, fmt.Errorf("sam: no statistic %q in %s: run a train step with a sam.Optimizer first", name, StatsScope)
		}
		t, err := v.Value()
		if err != nil {
			return nil, err
		}
		vals, err := tensorfloat.Float64s(t)
		if err != nil {
			return nil, fmt.Errorf("sam: statistic %q: %w", name, err)
		}
		return vals, nil
	}
	var st Stats
	var err error
	one := func(name string, dst *float64) {
		if err != nil {
			return
		}
		var xs []float64
		if xs, err = read(name); err == nil {
			*dst = xs[0]
		}
	}
	var evals, forwards float64
	one("loss_clean", &st.LossClean)
	one("ess", &st.ESS)
	one("hmc_accept", &st.HMCAccept)
	one("grad_evals", &evals)
	one("forwards", &forwards)
	one("t", &st.T)
	if err != nil {
		return Stats{}, err
	}
	if st.Losses, err = read("losses"); err != nil {
		return Stats{}, err
	}
	if st.Weights, err = read("weights"); err != nil {
		return Stats{}, err
	}
	if st.HMCLogRatio, err = read("hmc_log_ratio"); err != nil {
		return Stats{}, err
	}
	if st.HMCCos, err = read("hmc_cos"); err != nil {
		return Stats{}, err
	}
	st.GradEvals, st.Forwards = int(evals), int(forwards)
	return st, nil
}

// StatMetrics returns train metrics that report this step's scalar statistics in the
// trainer's per-step metric outputs (after the trainer's own loss metrics), in this order:
// loss at θ ("θ-loss"), largest perturbed loss ("max ε-loss"), largest weight ("max w"),
// effective sample size ("ess"), HMC acceptance rate ("accept"), gradient evaluations
// ("evals") and t ("t"). Pass them as trainMetrics to NewTrainer; they read the StatsScope
// variables the optimizer sets in the same graph. The vectors (losses, weights) are read
// with ReadStats.
func StatMetrics() []metrics.Interface {
	stat := func(name, short, variable string, reduce func(*Node) *Node) metrics.Interface {
		return metrics.NewBaseMetric(name, short, "sam", func(ctx *context.Context, _, predictions []*Node) *Node {
			g := predictions[0].Graph()
			v := ctx.GetVariableByScopeAndName(StatsScope, variable)
			if v == nil {
				panic(fmt.Errorf("sam.StatMetrics: no %s statistic: use them as train metrics of a sam.NewTrainer trainer", variable))
			}
			value := v.ValueGraph(g)
			if reduce != nil {
				value = reduce(value)
			}
			return value
		}, nil)
	}
	maxOf := func(x *Node) *Node { return ReduceAllMax(x) }
	return []metrics.Interface{
		stat("Loss at θ", "θ-loss", "loss_clean", nil),
		stat("Largest perturbed loss", "max ε-loss", "losses", maxOf),
		stat("Largest tilted weight", "max w", "weights", maxOf),
		stat("Effective sample size", "ess", "ess", nil),
		stat("HMC acceptance rate", "accept", "hmc_accept", nil),
		stat("Gradient evaluations", "evals", "grad_evals", nil),
		stat("Tilt t", "t", "t", nil),
	}
}
