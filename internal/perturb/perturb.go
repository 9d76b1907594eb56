// Package perturb builds a model's pass at other values of its variables inside one graph and
// puts the variables back afterwards: the perturbed pass at θ+ε that sam's extra passes (in
// the train-step graph) and sharpness's losses, gradients and Hessian-vector products (in
// inference graphs) both need. Restoring every variable's node before the graph ends is what
// keeps context.Exec from writing θ+ε, or any state the pass touched, back into the context.
package perturb

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import of the graph API.
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// InUse lists the variables of ctx (all scopes, in the context's order) that g reads so far.
func InUse(ctx *context.Context, g *Graph) []*context.Variable {
	var used []*context.Variable
	for v := range ctx.IterVariables() {
		if v.InUseByGraph(g) {
			used = append(used, v)
		}
	}
	return used
}

// At builds pass with each vars[i] set to the node at[i] in g, then gives every variable of
// keep, and of vars, back the node it had in g before the call: θ comes back, and so does
// whatever state pass changed (batch-norm averages, the RNG state). pass returns nothing; it
// captures what it builds. keep is typically InUse(ctx, g) taken before the call, or every
// variable the model reads (a variable of keep that g did not read yet gets its stored value).
func At(g *Graph, keep, vars []*context.Variable, at []*Node, pass func()) {
	saved := make(map[*context.Variable]*Node, len(keep)+len(vars))
	for _, list := range [][]*context.Variable{keep, vars} {
		for _, v := range list {
			saved[v] = v.ValueGraph(g)
		}
	}
	for i, v := range vars {
		v.SetValueGraph(at[i])
	}
	pass()
	for v, value := range saved {
		v.SetValueGraph(value)
	}
}
