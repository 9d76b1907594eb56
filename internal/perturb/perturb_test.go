package perturb

import (
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import.
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestAtEvaluatesThereAndRestores: the pass sees the variables at the given nodes, may change
// state (a counter), and after the graph has run the context holds what it held before.
func TestAtEvaluatesThereAndRestores(t *testing.T) {
	be, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	w := ctx.VariableWithValue("w", []float32{1, 2})
	count := ctx.VariableWithValue("count", float32(7)).SetTrainable(false)
	var inUse []string
	exec := context.MustNewExec(be, ctx, func(ctx *context.Context, x *Node) []*Node {
		g := x.Graph()
		clean := ReduceAllSum(Mul(w.ValueGraph(g), x))
		count.ValueGraph(g)
		for _, v := range InUse(ctx, g) {
			inUse = append(inUse, v.Name())
		}
		var perturbed, seen *Node
		At(g, InUse(ctx, g), []*context.Variable{w}, []*Node{Add(w.ValueGraph(g), OnePlus(ZerosLike(x)))}, func() {
			perturbed = ReduceAllSum(Mul(w.ValueGraph(g), x))
			seen = count.ValueGraph(g)
			count.SetValueGraph(AddScalar(seen, 1)) // state the pass changes
		})
		return []*Node{clean, perturbed, seen}
	})
	out := exec.MustExec([]float32{10, 100})
	if got := [3]float32{out[0].Value().(float32), out[1].Value().(float32), out[2].Value().(float32)}; got != [3]float32{210, 320, 7} {
		t.Errorf("L(θ), L(θ+1), state seen = %v, want [210 320 7]", got)
	}
	if len(inUse) != 2 || inUse[0] != "w" || inUse[1] != "count" {
		t.Errorf("InUse = %v, want [w count]", inUse)
	}
	if got := w.MustValue().Value().([]float32); got[0] != 1 || got[1] != 2 {
		t.Errorf("w after the graph = %v, want [1 2] (θ written back as θ+ε)", got)
	}
	if got := count.MustValue().Value().(float32); got != 7 {
		t.Errorf("count after the graph = %v, want 7 (the pass's change written back)", got)
	}
}
