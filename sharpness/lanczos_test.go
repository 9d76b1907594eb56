package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// exactTop returns the k largest eigenvalues of the symmetric matrix a, largest first.
func exactTop(t *testing.T, a *mat.SymDense, k int) []float64 {
	t.Helper()
	var es mat.EigenSym
	if !es.Factorize(a, false) {
		t.Fatal("gonum EigenSym failed")
	}
	v := es.Values(nil)
	out := make([]float64, k)
	for i := range k {
		out[i] = v[len(v)-1-i]
	}
	return out
}

// symWithSpectrum returns QΛQᵀ for a random orthogonal Q.
func symWithSpectrum(rng *rand.Rand, lambda []float64) *mat.SymDense {
	n := len(lambda)
	var qr mat.QR
	qr.Factorize(mat.NewDense(n, n, randMatrix(rng, n, n, 1)))
	var q mat.Dense
	qr.QTo(&q)
	var a mat.Dense
	a.Mul(&q, mat.NewDiagDense(n, lambda))
	a.Mul(&a, q.T())
	s := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s.SetSym(i, j, (a.At(i, j)+a.At(j, i))/2)
		}
	}
	return s
}

func matOp(a *mat.SymDense) func([]float64) ([]float64, error) {
	return func(v []float64) ([]float64, error) {
		var out mat.VecDense
		out.MulVec(a, mat.NewVecDense(len(v), v))
		return append([]float64(nil), out.RawVector().Data...), nil
	}
}

// TestTopEigenKnownSpectrum runs Lanczos on a matrix with a prescribed spectrum including a
// repeated top eigenvalue and negative ones: the top 5 must match, with small residuals.
func TestTopEigenKnownSpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	lambda := make([]float64, 60)
	for i := range lambda {
		lambda[i] = 3 * math.Sin(float64(i)) // in [-3, 3]
	}
	copy(lambda, []float64{342, 342, 305, 261, 253, 211})
	a := symWithSpectrum(rng, lambda)
	res, err := topEigen(matOp(a), 60, EigenOptions{K: 5, Seed: 1, Tol: 1e-8}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := exactTop(t, a, 5)
	for i, p := range res.Pairs {
		if math.Abs(p.Value-want[i]) > 1e-8*want[0] {
			t.Errorf("λ%d = %.12g, want %.12g", i+1, p.Value, want[i])
		}
		if !p.Converged {
			t.Errorf("λ%d: residual %.3g not converged", i+1, p.Residual)
		}
	}
	if !res.Converged {
		t.Error("result not marked converged")
	}
	t.Logf("values %v after %d steps, %d HVPs", res.Values(), res.Iterations, res.HVPs)
}

// TestTopEigenDeterministic: the same seed gives the same numbers; a too-short run is
// reported as not converged rather than silently wrong.
func TestTopEigenDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 0))
	lambda := make([]float64, 200)
	for i := range lambda {
		lambda[i] = 1 / (1 + float64(i)*0.01) // slowly decaying: hard for few steps
	}
	a := symWithSpectrum(rng, lambda)
	r1, err := topEigen(matOp(a), 200, EigenOptions{K: 3, Seed: 9, MaxIter: 4, Tol: 1e-10}, false)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := topEigen(matOp(a), 200, EigenOptions{K: 3, Seed: 9, MaxIter: 4, Tol: 1e-10}, false)
	for i := range r1.Pairs {
		if r1.Pairs[i].Value != r2.Pairs[i].Value {
			t.Errorf("seed 9 twice: λ%d = %v then %v", i+1, r1.Pairs[i].Value, r2.Pairs[i].Value)
		}
	}
	if r1.Converged {
		t.Errorf("4 Lanczos steps on a clustered spectrum claimed convergence to 1e-10: %+v", r1.Values())
	}
	if r1.Iterations != 4 {
		t.Errorf("Iterations = %d, want the cap 4", r1.Iterations)
	}
}

// TestTopEigenBadOptions: clear errors, no panics.
func TestTopEigenBadOptions(t *testing.T) {
	op := matOp(mat.NewSymDense(3, []float64{1, 0, 0, 0, 2, 0, 0, 0, 3}))
	for _, o := range []EigenOptions{{K: 4}, {K: -1}, {K: 2, MaxIter: 1}, {Tol: -1}, {Tol: math.NaN()}} {
		if _, err := topEigen(op, 3, o, false); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	res, err := topEigen(op, 3, EigenOptions{K: 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Values(); math.Abs(v[0]-3) > 1e-12 || math.Abs(v[1]-2) > 1e-12 || math.Abs(v[2]-1) > 1e-12 {
		t.Errorf("diag(1,2,3): got %v", v)
	}
}

// TestTopEigenLinearRegression: for 0.5·mean((Xw − y)²) the Hessian is XᵀX/N exactly; the
// eigenvalues found through the model's Hessian-vector products must match gonum's.
func TestTopEigenLinearRegression(t *testing.T) {
	const d = 12
	p, rows := linearProblem(t, d, 16, 3, 4)
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h := mat.NewSymDense(d, nil)
	for _, r := range rows {
		for i := range d {
			for j := i; j < d; j++ {
				h.SetSym(i, j, h.At(i, j)+r[i]*r[j]/float64(len(rows)))
			}
		}
	}
	want := exactTop(t, h, 5)
	res, err := e.TopEigen(EigenOptions{K: 5, Seed: 2, Tol: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Pairs {
		if math.Abs(p.Value-want[i]) > 1e-9*want[0] {
			t.Errorf("λ%d = %.12g, exact %.12g", i+1, p.Value, want[i])
		}
		if !p.Converged {
			t.Errorf("λ%d residual %.3g not converged", i+1, p.Residual)
		}
	}
	t.Logf("top-5 %v (exact %v), %d Lanczos steps", res.Values(), want, res.Iterations)
}

// TestTopEigenFloat32Products: keeping H·q in float32 (as for float32 models) still finds the
// eigenvalues to float64 accuracy (they come from QᵀHQ) and residuals near float32 rounding.
func TestTopEigenFloat32Products(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 0))
	lambda := make([]float64, 80)
	for i := range lambda {
		lambda[i] = 10 / (1 + float64(i))
	}
	a := symWithSpectrum(rng, lambda)
	res, err := topEigen(matOp(a), 80, EigenOptions{K: 5, Seed: 3, Tol: 1e-5}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := exactTop(t, a, 5)
	for i, p := range res.Pairs {
		if math.Abs(p.Value-want[i]) > 1e-9*want[0] || !p.Converged || p.Residual < 1e-12 {
			t.Errorf("λ%d = %.12g (exact %.12g), residual %.3g converged %v", i+1, p.Value, want[i], p.Residual, p.Converged)
		}
	}
}

// TestTopEigenTanhNetwork: on a non-quadratic network (indefinite Hessian), Lanczos through
// the model's HVPs matches the eigenvalues of the dense Hessian assembled from HVPs of the unit
// vectors (symmetrized) and solved by gonum.
func TestTopEigenTanhNetwork(t *testing.T) {
	e, err := New(tanhProblem(t, 4, 6, 10, 2, 17))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := e.NumParams()
	h := mat.NewSymDense(n, nil)
	cols := make([][]float64, n)
	for j := range n {
		u := make([]float64, n)
		u[j] = 1
		if cols[j], err = e.HVP(u); err != nil {
			t.Fatal(err)
		}
	}
	asym := 0.0
	for i := range n {
		for j := i; j < n; j++ {
			h.SetSym(i, j, (cols[j][i]+cols[i][j])/2)
			asym = math.Max(asym, math.Abs(cols[j][i]-cols[i][j]))
		}
	}
	if asym > 1e-12 {
		t.Errorf("assembled Hessian asymmetric by %.3g", asym)
	}
	want := exactTop(t, h, 5)
	res, err := e.TopEigen(EigenOptions{K: 5, Seed: 6, Tol: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Pairs {
		if math.Abs(p.Value-want[i]) > 1e-8*math.Abs(want[0]) || !p.Converged {
			t.Errorf("λ%d = %.12g (dense %.12g), residual %.3g", i+1, p.Value, want[i], p.Residual)
		}
	}
	t.Logf("%d params: top-5 %v after %d steps (dense %v)", n, res.Values(), res.Iterations, want)
}
