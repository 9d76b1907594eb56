package sharpness

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestNewRejectsBadProblems: each missing piece gets an error naming it.
func TestNewRejectsBadProblems(t *testing.T) {
	good, _ := linearProblem(t, 3, 4, 1, 1)
	cases := map[string]func(p *Problem){
		"Backend": func(p *Problem) { p.Backend = nil },
		"Context": func(p *Problem) { p.Context = nil },
		"Model":   func(p *Problem) { p.Model = nil },
		"Loss":    func(p *Problem) { p.Loss = nil },
		"Batches": func(p *Problem) { p.Batches = nil },
		"no trainable": func(p *Problem) {
			p.Context = context.New() // the model's GetVariable finds nothing: the graph fails
		},
	}
	for want, mutate := range cases {
		p := good
		mutate(&p)
		e, err := New(p)
		if err == nil {
			e.Close()
			t.Errorf("%s: accepted", want)
			continue
		}
		if want != "no trainable" && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not name it", want, err)
		}
	}
	e, _ := New(good)
	defer e.Close()
	if _, err := e.HVP(make([]float64, 2)); err == nil {
		t.Error("HVP accepted a vector of the wrong length")
	}
	if _, err := e.Loss(make([]float64, 7)); err == nil {
		t.Error("Loss accepted a perturbation of the wrong length")
	}
}

// TestHVPFloat32Accuracy measures the float32 exact HVP against the float64 one of the same
// network: the error is float32 rounding, about 1e-6 relative.
func TestHVPFloat32Accuracy(t *testing.T) {
	p64 := tanhProblem(t, 4, 8, 16, 2, 9)
	p32 := p64
	p32.Context = context.New()
	for v := range p64.Context.IterVariables() {
		data, _ := tensors.CopyFlatData[float64](v.MustValue())
		f := make([]float32, len(data))
		for i, x := range data {
			f[i] = float32(x)
		}
		p32.Context.InAbsPath(v.Scope()).VariableWithValue(v.Name(), tensors.FromFlatDataAndDimensions(f, v.Shape().Dimensions...))
	}
	p32.Batches = nil
	for _, b := range p64.Batches {
		p32.Batches = append(p32.Batches, Batch{Inputs: []*tensors.Tensor{to32(t, b.Inputs[0])}, Labels: []*tensors.Tensor{to32(t, b.Labels[0])}})
	}
	e64, err := New(p64)
	if err != nil {
		t.Fatal(err)
	}
	defer e64.Close()
	e32, err := New(p32)
	if err != nil {
		t.Fatal(err)
	}
	defer e32.Close()
	if e32.DType() != dtypes.Float32 {
		t.Fatalf("dtype %s", e32.DType())
	}
	v := randMatrix(rand.New(rand.NewPCG(1, 9)), 1, e64.NumParams(), 1)
	h64, _ := e64.HVP(v)
	h32, err := e32.HVP(v)
	if err != nil {
		t.Fatal(err)
	}
	fd32, _ := e32.HVPFiniteDiff(v, 0)
	rel := maxAbsDiff(h32, h64) / norm(h64)
	relFD := maxAbsDiff(fd32, h64) / norm(h64)
	if rel > 1e-5 {
		t.Errorf("float32 exact HVP relative error %.3g", rel)
	}
	if relFD < rel {
		t.Logf("note: float32 finite differences (%.3g) beat autodiff (%.3g)", relFD, rel)
	}
	t.Logf("float32 HVP max error / ‖Hv‖: exact autodiff %.3g, central differences (default h) %.3g", rel, relFD)
	if math.IsNaN(rel) {
		t.Fatal("NaN")
	}
}

func to32(t *testing.T, x *tensors.Tensor) *tensors.Tensor {
	data, err := tensors.CopyFlatData[float64](x)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(data))
	for i, v := range data {
		f[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f, x.Shape().Dimensions...)
}
