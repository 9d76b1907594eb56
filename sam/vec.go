package sam

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // the graph DSL reads best unqualified
)

// vec is one value per trainable variable: parameters, perturbations or gradients. All the
// norms and inner products below are global: over all trainable parameters together.
type vec []*Node

// scalarLike converts a scalar node to x's dtype (variables may differ from the loss dtype).
func scalarLike(s, x *Node) *Node {
	if s.DType() != x.DType() {
		return ConvertDType(s, x.DType())
	}
	return s
}

func (a vec) add(b vec) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = Add(a[i], b[i])
	}
	return out
}

// scale returns s·a for a scalar node s.
func (a vec) scale(s *Node) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = Mul(a[i], scalarLike(s, a[i]))
	}
	return out
}

// mul is the elementwise product a⊙b.
func (a vec) mul(b vec) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = Mul(a[i], b[i])
	}
	return out
}

// sqNorm is Σ‖a_i‖², a scalar in dtype.
func (a vec) sqNorm(dtype dtypeT) *Node {
	var sum *Node
	for _, x := range a {
		s := ReduceAllSum(Square(x))
		if s.DType() != dtype {
			s = ConvertDType(s, dtype)
		}
		if sum == nil {
			sum = s
		} else {
			sum = Add(sum, s)
		}
	}
	return sum
}

// dot is Σ⟨a_i, b_i⟩, a scalar in dtype.
func (a vec) dot(b vec, dtype dtypeT) *Node {
	var sum *Node
	for i, x := range a {
		s := ReduceAllSum(Mul(x, b[i]))
		if s.DType() != dtype {
			s = ConvertDType(s, dtype)
		}
		if sum == nil {
			sum = s
		} else {
			sum = Add(sum, s)
		}
	}
	return sum
}

// cosine is ⟨a, b⟩/(‖a‖·‖b‖), 0 when either is zero.
func (a vec) cosine(b vec, dtype dtypeT) *Node {
	return Div(a.dot(b, dtype), AddScalar(Mul(a.norm(dtype), b.norm(dtype)), 1e-30))
}

// norm is the global L2 norm √Σ‖a_i‖².
func (a vec) norm(dtype dtypeT) *Node { return Sqrt(a.sqNorm(dtype)) }

// withNorm returns a·length/(‖a‖+1e-12): a rescaled to the given global norm in one
// multiplication per variable. The tiny constant keeps a zero vector (a flat point) from
// producing NaN; the result is then 0. length is a scalar node.
func (a vec) withNorm(length *Node, dtype dtypeT) vec {
	return a.scale(Div(length, AddScalar(a.norm(dtype), 1e-12)))
}

// where picks a where the scalar boolean cond is true, b elsewhere.
func where(cond *Node, a, b vec) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = Where(cond, a[i], b[i])
	}
	return out
}

// zerosLike returns zeros shaped like a.
func (a vec) zerosLike() vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = ZerosLike(a[i])
	}
	return out
}

// weightedSum returns Σ_j w_j·vs[j] for scalar weights w_j.
func weightedSum(ws []*Node, vs []vec) vec {
	out := vs[0].scale(ws[0])
	for j := 1; j < len(vs); j++ {
		out = out.add(vs[j].scale(ws[j]))
	}
	return out
}

// projectBall scales a into the ball ‖a‖ ≤ radius (a unchanged inside it).
func (a vec) projectBall(radius float64, dtype dtypeT) vec {
	n := a.norm(dtype)
	factor := Min(ScalarOne(n.Graph(), dtype), MulScalar(Inverse(AddScalar(n, 1e-12)), radius))
	return a.scale(factor)
}
