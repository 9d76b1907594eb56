package sharpness

import (
	"fmt"
	"regexp"
	"strconv"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX's idiomatic dot-import of the graph API.
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26 defines no gradient for the BatchNormForInference op, which its batch-norm
// layer uses by default in inference mode: any gradient (and so every Hessian-vector product
// and SAM ascent step) of a batch-norm model evaluated in inference mode would panic. This
// package therefore registers one, written in differentiable graph ops so that it can itself
// be differentiated (Hessians), unless GoMLX already has one.
func init() {
	if _, ok := VJPRegistration[NodeTypeBatchNormForInference]; !ok {
		VJPRegistration[NodeTypeBatchNormForInference] = batchNormInferenceVJP
	}
}

// bnParamsRE reads epsilon and the feature axis from the node's description: GoMLX keeps
// them in unexported fields, and its String() is the only public view of them.
var bnParamsRE = regexp.MustCompile(`epsilon=([^,)\s]+), featureAxis=(-?\d+)`)

// batchNormParams returns the epsilon and (non-negative) feature axis of a
// BatchNormForInference node.
func batchNormParams(node *Node) (float64, int) {
	m := bnParamsRE.FindStringSubmatch(node.String())
	if m == nil {
		panic(fmt.Errorf("sharpness: cannot read epsilon and featureAxis of %s (GoMLX changed its format?)", node))
	}
	eps, err1 := strconv.ParseFloat(m[1], 32)
	axis, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		panic(fmt.Errorf("sharpness: cannot parse epsilon %q / featureAxis %q of %s", m[1], m[2], node))
	}
	if rank := node.Inputs()[0].Rank(); axis < 0 {
		axis += rank
	}
	return eps, axis
}

// batchNormInferenceVJP is the VJP of y = scale·(x − mean)·r + offset, r = 1/√(variance+ε),
// with per-feature scale, offset, mean and variance broadcast along the feature axis.
func batchNormInferenceVJP(node *Node, vjps []*Node, _ shapes.Shape) []*Node {
	v := vjps[0]
	in := node.Inputs()
	x, scale, mean, variance := in[0], in[1], in[3], in[4]
	eps, axis := batchNormParams(node)
	bcastDims := make([]int, x.Rank())
	var others []int
	for i := range bcastDims {
		bcastDims[i] = 1
		if i != axis {
			others = append(others, i)
		}
	}
	bcastDims[axis] = x.Shape().Dimensions[axis]
	bc := func(p *Node) *Node { return Reshape(p, bcastDims...) }

	r := Rsqrt(AddScalar(variance, eps))
	sr := Mul(scale, r)
	xc := Sub(x, bc(mean))
	sumV := ReduceSum(v, others...)
	sumVxc := ReduceSum(Mul(v, xc), others...)
	dx := Mul(v, bc(sr))
	dScale := Mul(sumVxc, r)
	dOffset := sumV
	dMean := Neg(Mul(sumV, sr))
	dVariance := MulScalar(Mul(sumVxc, Mul(sr, Mul(r, r))), -0.5)
	return []*Node{dx, dScale, dOffset, dMean, dVariance}
}
