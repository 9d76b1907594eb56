package sam

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/tilt"
)

// runningStatModel is the linear model plus two non-trainable variables its forward pass
// moves, as batch-norm moves its running averages: avg ← 0.9·avg + 0.1·mean(pred), which
// depends on the weights (so a perturbed pass would move it differently), and count ← count+1
// (so every pass that leaked would show).
func runningStatModel(p *linProblem) train.ModelFn {
	inner := p.modelFn(&probes{})
	return func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		pred := inner(ctx, spec, inputs)
		g := inputs[0].Graph()
		stats := ctx.In("running").WithInitializer(initializers.Zero)
		avg := stats.VariableWithShape("avg", pred[0].Shape().Clone()).SetTrainable(false)
		if ctx.IsTraining(g) {
			avg.SetValueGraph(Add(MulScalar(avg.ValueGraph(g), 0.9), MulScalar(ReduceAllMean(pred[0]), 0.1)))
			count := stats.VariableWithValue("count", 0.0).SetTrainable(false)
			count.SetValueGraph(AddScalar(count.ValueGraph(g), 1))
		}
		return pred
	}
}

func TestExtraPassesDoNotMoveRunningStatistics(t *testing.T) {
	p := newLinProblem()
	runOne := func(cfg Config) (avg []float64, count float64) {
		opt, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, int64(3))
		trainer := NewTrainer(backendForTest(t), ctx, runningStatModel(p), p.lossFn, opt, nil, nil)
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{tensors.FromValue(p.X)}, []*tensors.Tensor{tensors.FromValue(p.y)}); err != nil {
			t.Fatal(err)
		}
		avg = ctx.GetVariableByScopeAndName("/running", "avg").MustValue().Value().([]float64)
		count = ctx.GetVariableByScopeAndName("/running", "count").MustValue().Value().(float64)
		return avg, count
	}
	wantAvg, wantCount := runOne(linConfig(ERM))
	if wantCount != 1 {
		t.Fatalf("ERM step moved the statistics %g times, want 1", wantCount)
	}
	for name, cfg := range methodCases() {
		cfg.LearningRate, cfg.R, cfg.Rho = 0.1, 0.5, 0.3
		avg, count := runOne(cfg)
		if count != 1 {
			t.Errorf("%s: running statistics moved by %g passes, want 1 (the clean pass)", name, count)
		}
		assertClose(t, name+" running average vs ERM's", avg, wantAvg, 1e-12)
	}
}

func TestDropoutMasksAreSharedByAllPassesOfAStep(t *testing.T) {
	// With ρ = 0 and no random start every pass of SAM is at θ: if all passes use the same
	// dropout mask, the perturbed loss equals the clean loss exactly.
	x, y := mnistSample(t, 32)
	cfg := DefaultConfig(SAM)
	cfg.Rho = 0
	opt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(5))
	trainer := NewTrainer(backendForTest(t), ctx, mlp(16), opt.Loss(), opt, nil, nil)
	for range 2 {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatal(err)
		}
		st, err := ReadStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Losses[0] != st.LossClean {
			t.Fatalf("loss at θ+0 is %.7g, clean loss %.7g: the passes used different dropout masks", st.Losses[0], st.LossClean)
		}
	}
}

func TestLargeTiltAndLossesStayFinite(t *testing.T) {
	// Logits scaled so cross-entropy losses reach ~1e3, t = 1e4: t·L ≈ 1e7 in float32.
	x, y := mnistSample(t, 64)
	base := mlp(16)
	model := func(ctx *context.Context, spec any, inputs []*Node) []*Node {
		return []*Node{MulScalar(base(ctx, spec, inputs)[0], 2000)}
	}
	for _, sampler := range []string{SamplerPractical, SamplerHMC, SamplerNaive} {
		cfg := DefaultConfig(TSAM)
		cfg.T, cfg.R, cfg.Sampler, cfg.S, cfg.LearningRate = 1e4, 1, sampler, 5, 1e-6
		opt, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		ctx.SetParam(context.ParamInitialSeed, int64(8))
		trainer := NewTrainer(backendForTest(t), ctx, model, opt.Loss(), opt, nil, nil)
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			t.Fatal(err)
		}
		st, err := ReadStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for j, w := range st.Weights {
			if math.IsNaN(w) || math.IsInf(w, 0) || math.IsNaN(st.Losses[j]) || math.IsInf(st.Losses[j], 0) {
				t.Fatalf("%s: non-finite weight or loss: weights %v losses %v", sampler, st.Weights, st.Losses)
			}
			sum += w
		}
		if math.Abs(sum-1) > 1e-6 || st.LossClean < 100 {
			t.Fatalf("%s: weights sum to %g (want 1); clean loss %g (want ≥ 100 for this test)", sampler, sum, st.LossClean)
		}
		for v := range ctx.IterVariables() {
			if v.Trainable {
				for _, f := range flatFloat32(v.MustValue()) {
					if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
						t.Fatalf("%s: variable %s is not finite after the step", sampler, v.ScopeAndName())
					}
				}
			}
		}
		t.Logf("%s: clean loss %.1f, losses %v, weights %v, ESS %.3f", sampler, st.LossClean, st.Losses, st.Weights, st.ESS)
	}
}

func flatFloat32(t *tensors.Tensor) []float32 {
	var out []float32
	t.ConstFlatData(func(flat any) { out = append(out, flat.([]float32)...) })
	return out
}

func TestTScheduleFollowsTheGlobalStep(t *testing.T) {
	p := newLinProblem()
	for _, tc := range []struct {
		schedule tilt.ScheduleKind
		want     []float64
	}{
		{tilt.Constant, []float64{10, 10, 10}},
		{tilt.LinearUp, []float64{0, 5, 10}},
		{tilt.LinearDown, []float64{10, 5, 0}},
	} {
		cfg := linConfig(TSAM)
		cfg.T, cfg.TSchedule, cfg.TotalSteps, cfg.S, cfg.R = 10, tc.schedule, 3, 2, 0.1
		opt, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		trainer := NewTrainer(backendForTest(t), ctx, p.modelFn(&probes{}), p.lossFn, opt, nil, nil)
		var got []float64
		for range 3 {
			if _, err := trainer.TrainStep(nil, []*tensors.Tensor{tensors.FromValue(p.X)}, []*tensors.Tensor{tensors.FromValue(p.y)}); err != nil {
				t.Fatal(err)
			}
			st, err := ReadStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, st.T)
		}
		assertClose(t, tc.schedule.String()+" t per step", got, tc.want, 1e-12)
	}
}

func TestStandardNormalMoments(t *testing.T) {
	// The both-halves Box–Muller draws: mean 0, variance 1, E z⁴ = 3, odd size handled.
	const n = 200001
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(12))
	exec, err := context.NewExec(backendForTest(t), ctx, func(ctx *context.Context, g *Graph) *Node {
		s := &step{ctx: ctx, g: g}
		return s.normal(shapes.Make(dtypes.Float64, n), 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	z := out[0].Value().([]float64)
	var m1, m2, m4 float64
	for _, v := range z {
		m1 += v
		m2 += v * v
		m4 += v * v * v * v
	}
	m1, m2, m4 = m1/n, m2/n, m4/n
	if math.Abs(m1) > 0.01 || math.Abs(m2-1) > 0.015 || math.Abs(m4-3) > 0.1 {
		t.Errorf("moments of %d draws: mean %.4f var %.4f fourth %.4f, want 0, 1, 3", n, m1, m2, m4)
	}
}

func TestSinCosPiPolynomials(t *testing.T) {
	// sinPi and cosPi against math.Sin/Cos over the whole period, v in [−1, 1].
	const n = 20001
	for _, dtype := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		exec, err := NewExec(backendForTest(t), func(g *Graph) []*Node {
			v := AddScalar(DivScalar(Iota(g, shapes.Make(dtype, n), 0), (n-1)/2), -1) // [−1, 1]
			sq := Square(v)
			s, c := sinPi(v, sq), cosPi(sq)
			return []*Node{ConvertDType(v, dtypes.Float64), ConvertDType(s, dtypes.Float64), ConvertDType(c, dtypes.Float64)}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec()
		if err != nil {
			t.Fatal(err)
		}
		v, s, c := out[0].Value().([]float64), out[1].Value().([]float64), out[2].Value().([]float64)
		tol := 1e-8
		if dtype == dtypes.Float32 {
			tol = 1e-6
		}
		worst := 0.0
		for i := range v {
			worst = math.Max(worst, math.Max(math.Abs(s[i]-math.Sin(math.Pi*v[i])), math.Abs(c[i]-math.Cos(math.Pi*v[i]))))
		}
		if worst > tol {
			t.Errorf("%s: sinPi/cosPi off by %g (tolerance %g)", dtype, worst, tol)
		}
	}
}

func TestGaussianAcrossVariables(t *testing.T) {
	// One draw shared by all variables: each variable gets its own slice of it (the one that
	// straddles the cosine and sine halves included), shaped like the variable, with the
	// moments of N(0, std²) overall and no value repeated between variables.
	sizes := [][]int{{5}, {300, 40}, {3}, {20001}, {7, 1, 3}}
	const std = 0.5
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, int64(3))
	exec, err := context.NewExec(backendForTest(t), ctx, func(ctx *context.Context, g *Graph) []*Node {
		s := &step{ctx: ctx, g: g}
		for i, dims := range sizes {
			v := ctx.VariableWithShape(fmt.Sprintf("v%d", i), shapes.Make(dtypes.Float64, dims...))
			s.vars = append(s.vars, v)
			s.size += v.Shape().Size()
		}
		return s.gaussian(std)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[float64]int{}
	var n, m1, m2 float64
	for i, o := range out {
		if got := o.Shape().Dimensions; !slices.Equal(got, sizes[i]) {
			t.Errorf("variable %d: noise shaped %v, want %v", i, got, sizes[i])
		}
		for _, v := range tensors.MustCopyFlatData[float64](o) {
			if j, dup := seen[v]; dup && j != i {
				t.Fatalf("value %v appears in variables %d and %d: the slices overlap", v, j, i)
			}
			seen[v] = i
			n++
			m1 += v
			m2 += v * v
		}
	}
	m1, m2 = m1/n, m2/n
	if math.Abs(m1) > 0.02 || math.Abs(m2/(std*std)-1) > 0.03 {
		t.Errorf("moments over %v draws: mean %.4f, variance/std² %.4f; want 0 and 1", n, m1, m2/(std*std))
	}
}
