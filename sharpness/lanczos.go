package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"gonum.org/v1/gonum/mat"
)

// EigenOptions configures TopEigen. Zero values pick the defaults.
type EigenOptions struct {
	// K is how many of the largest (algebraic) eigenvalues to find; default 5.
	K int
	// MaxIter caps the Lanczos steps (Hessian-vector products), restarts included; default
	// 2·(max(3K, 30) + 20), at most the number of parameters.
	MaxIter int
	// Tol is the relative residual that counts as converged: ‖Hv − λv‖ ≤ Tol·|λ_max|, with v of
	// unit norm; default 1e-3.
	Tol float64
	// Seed fixes the random start vector: same seed, same result.
	Seed uint64
	// SkipRestart stops at the first convergence, halving the cost but missing extra copies of
	// a repeated eigenvalue (a single Krylov sequence sees only one).
	SkipRestart bool
}

func (o EigenOptions) withDefaults(n int) (EigenOptions, error) {
	if o.K == 0 {
		o.K = 5
	}
	if o.K < 0 {
		return o, fmt.Errorf("sharpness: K = %d eigenvalues; ask for at least 1", o.K)
	}
	if o.K > n {
		return o, fmt.Errorf("sharpness: K = %d eigenvalues of a model with %d parameters; ask for at most %d", o.K, n, n)
	}
	if o.MaxIter == 0 {
		o.MaxIter = 2 * (max(3*o.K, 30) + 20)
	}
	if o.MaxIter < o.K {
		return o, fmt.Errorf("sharpness: MaxIter = %d Lanczos steps cannot find K = %d eigenvalues; use MaxIter ≥ K", o.MaxIter, o.K)
	}
	o.MaxIter = min(o.MaxIter, n)
	if o.Tol == 0 {
		o.Tol = 1e-3
	}
	if !(o.Tol > 0) || math.IsInf(o.Tol, 0) {
		return o, fmt.Errorf("sharpness: Tol = %v; use a small positive relative tolerance such as 1e-3", o.Tol)
	}
	return o, nil
}

// Eigenpair is one Ritz pair of the Hessian.
type Eigenpair struct {
	Value float64 `json:"value"`
	// Residual is ‖H·v − λ·v‖ for the unit Ritz vector v, computed from the stored products
	// H·q (exact up to float32 rounding of H·q, not the Lanczos estimate).
	Residual float64 `json:"residual"`
	// Converged is Residual ≤ Tol·|λ_max|.
	Converged bool `json:"converged"`
	// Vector is the unit Ritz vector, flattened like the parameters.
	Vector []float64 `json:"-"`
}

// EigenResult is the outcome of TopEigen.
type EigenResult struct {
	// Pairs holds the top K eigenpairs, largest eigenvalue first.
	Pairs []Eigenpair `json:"pairs"`
	// Iterations is the number of Lanczos steps taken.
	Iterations int `json:"iterations"`
	// HVPs counts the Hessian-vector products (one per step).
	HVPs int `json:"hvps"`
	// Tol is the relative tolerance the pairs were checked against.
	Tol float64 `json:"tol"`
	// Converged is true when every pair converged.
	Converged bool `json:"converged"`
	// Restarted is true when a second Krylov sequence ran to check for multiplicity.
	Restarted bool `json:"restarted"`
}

// Values returns the eigenvalues, largest first.
func (r EigenResult) Values() []float64 {
	out := make([]float64, len(r.Pairs))
	for i, p := range r.Pairs {
		out[i] = p.Value
	}
	return out
}

// TopEigen finds the K largest eigenvalues of the Hessian of L at θ by the Lanczos method
// with full reorthogonalization: each new direction H·q is Gram–Schmidt-orthogonalized twice
// against the whole basis Q, and the Ritz pairs come from the exact projection QᵀHQ (the stored
// products H·q, not the tridiagonal recurrence), so a restart cannot spoil them.
//
// A single Krylov sequence only sees one copy of a repeated eigenvalue. So once the top K Ritz
// pairs converge after m steps, Lanczos restarts from a fresh random vector orthogonal to Q and
// runs m more steps; it stops when that round changes no eigenvalue by more than Tol·|λ_max|
// (or at MaxIter). SkipRestart saves that second round. Each residual ‖H·v − λ·v‖ is exact up to rounding: H·v = Σ s_j·H·q_j by linearity.
func (e *Evaluator) TopEigen(opts EigenOptions) (EigenResult, error) {
	return topEigen(e.HVP, e.n, opts, e.dtype == dtypes.Float32)
}

// topEigen is TopEigen for any symmetric operator hvp on R^n; low keeps the products H·q in
// float32.
func topEigen(hvp func([]float64) ([]float64, error), n int, opts EigenOptions, low bool) (EigenResult, error) {
	opts, err := opts.withDefaults(n)
	if err != nil {
		return EigenResult{}, err
	}
	l := lanczos{n: n, rng: rand.New(rand.NewPCG(opts.Seed, 0x1a2c205)), low: low}
	q := l.freshVector()
	res := EigenResult{Tol: opts.Tol}
	var prev []float64 // top K after the first round, once it converged
	roundLen := 0      // length of the first round; the restart round runs as long
	for q != nil && len(l.q) < opts.MaxIter {
		w, err := hvp(q)
		if err != nil {
			return res, err
		}
		res.HVPs++
		if err := checkFinite(w); err != nil {
			return res, err
		}
		r := l.add(q, w)
		pairs, ok := l.ritz(opts.K, opts.Tol)
		res.Pairs, res.Converged = pairs, ok
		switch {
		case len(l.q) >= n:
			q = nil // the basis spans R^n: the pairs are exact
		case ok && prev == nil && opts.SkipRestart:
			q = nil
		case ok && prev == nil:
			prev, roundLen = valuesOf(pairs), len(l.q)
			q = l.freshVector() // a second Krylov sequence: does it see a missed copy?
		case ok && len(l.q) >= 2*roundLen:
			res.Restarted = true
			if sameValues(prev, pairs, opts.Tol) {
				q = nil
			} else {
				prev, roundLen = valuesOf(pairs), len(l.q) // it did: check again
				q = l.freshVector()
			}
		default:
			q = l.continueFrom(r)
		}
	}
	res.Iterations = len(l.q)
	return res, nil
}

func valuesOf(pairs []Eigenpair) []float64 {
	out := make([]float64, len(pairs))
	for i, p := range pairs {
		out[i] = p.Value
	}
	return out
}

// sameValues reports whether pairs hold the values prev to within tol·|λ_max|.
func sameValues(prev []float64, pairs []Eigenpair, tol float64) bool {
	scale := math.Abs(pairs[0].Value)
	for i, p := range pairs {
		if math.Abs(p.Value-prev[i]) > tol*math.Max(scale, 1e-300) {
			return false
		}
	}
	return true
}

func checkFinite(x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sharpness: Hessian-vector product has %v at index %d; the loss is not finite near θ", v, i)
		}
	}
	return nil
}

// lanczos holds the orthonormal basis Q, the projected matrix QᵀHQ and the products H·q.
// QᵀHQ is accumulated from the float64 products as they arrive; the products themselves only
// enter the residuals, so for a float32 model (whose products carry float32 rounding anyway)
// they are kept in float32: memory is then 12 bytes × steps × parameters instead of 16.
type lanczos struct {
	n    int
	rng  *rand.Rand
	q    [][]float64 // orthonormal basis
	hq   [][]float64 // hq[j] = H·q[j] (full precision)
	hq32 [][]float32 // or in float32 when low is set
	low  bool
	t    [][]float64 // t[j][i] = q[i]·H·q[j] for i ≤ j
	// hqScale is the largest ‖H·q‖ seen, the yardstick for a vanished direction.
	hqScale float64
}

// add stores q and w = H·q and returns w orthogonalized against the basis (two passes of
// Gram–Schmidt): the unnormalized next Lanczos direction.
func (l *lanczos) add(q, w []float64) []float64 {
	l.q = append(l.q, q)
	row := make([]float64, len(l.q))
	for i, b := range l.q {
		row[i] = dot(b, w)
	}
	l.t = append(l.t, row)
	if l.low {
		w32 := make([]float32, len(w))
		for i, v := range w {
			w32[i] = float32(v)
		}
		l.hq32 = append(l.hq32, w32)
	} else {
		l.hq = append(l.hq, w)
	}
	l.hqScale = math.Max(l.hqScale, norm(w))
	r := append([]float64(nil), w...)
	for range 2 {
		for _, b := range l.q {
			axpy(r, -dot(b, r), b)
		}
	}
	return r
}

// continueFrom normalizes the next direction r, or draws a fresh random direction when r has
// vanished (the Krylov space is invariant).
func (l *lanczos) continueFrom(r []float64) []float64 {
	if b := norm(r); b > 1e-10*math.Max(l.hqScale, 1e-300) {
		return scaled(r, 1/b)
	}
	return l.freshVector()
}

// freshVector draws a random unit vector orthogonal to the basis (nil if none is found).
func (l *lanczos) freshVector() []float64 {
	for range 5 {
		v := make([]float64, l.n)
		for i := range v {
			v[i] = l.rng.NormFloat64()
		}
		for range 2 {
			for _, b := range l.q {
				axpy(v, -dot(b, v), b)
			}
		}
		if nv := norm(v); nv > 1e-8 {
			return scaled(v, 1/nv)
		}
	}
	return nil
}

// ritz solves the projected eigenproblem QᵀHQ·s = θ·s and returns the top k Ritz pairs with
// their exact residuals ‖Σ s_j·H·q_j − θ·Σ s_j·q_j‖, and whether all are within tol·|λ_max|.
func (l *lanczos) ritz(k int, tol float64) ([]Eigenpair, bool) {
	m := len(l.q)
	t := mat.NewSymDense(m, nil)
	for j, row := range l.t {
		for i, v := range row {
			t.SetSym(i, j, v)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(t, true) {
		return nil, false
	}
	asc := es.Values(nil)
	var ev mat.Dense
	es.VectorsTo(&ev)
	k = min(k, m)
	pairs := make([]Eigenpair, k)
	scale := 0.0
	for i := range k {
		col := m - 1 - i
		v, hv := make([]float64, l.n), make([]float64, l.n)
		for j := range m {
			c := ev.At(j, col)
			axpy(v, c, l.q[j])
			if l.low {
				for i, x := range l.hq32[j] {
					hv[i] += c * float64(x)
				}
			} else {
				axpy(hv, c, l.hq[j])
			}
		}
		axpy(hv, -asc[col], v)
		pairs[i] = Eigenpair{Value: asc[col], Residual: norm(hv), Vector: v}
		scale = math.Max(scale, math.Abs(asc[col]))
	}
	ok := true
	for i := range pairs {
		pairs[i].Converged = pairs[i].Residual <= tol*math.Max(scale, 1e-300)
		ok = ok && pairs[i].Converged
	}
	return pairs, ok
}
