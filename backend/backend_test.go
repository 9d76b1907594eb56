package backend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []string{"gemm=fast", "threads=0", "threads=x", "bogus"} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%q) accepted a bad config", cfg)
		} else if !strings.Contains(err.Error(), "backend cpu") {
			t.Errorf("New(%q): error %q does not name the backend", cfg, err)
		}
	}
}

// TestThreads: Threads reports the threads=N of the config (the bench's PyTorch peer gets as
// many), and GOMAXPROCS without one.
func TestThreads(t *testing.T) {
	for cfg, want := range map[string]int{"gemm=go,threads=3": 3, "gemm=go": runtime.GOMAXPROCS(0)} {
		b, err := NewBackend(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Threads(); got != want {
			t.Errorf("New(%q).Threads() = %d, want %d", cfg, got, want)
		}
		b.Finalize()
	}
}

func TestFromFlag(t *testing.T) {
	t.Setenv(backends.ConfigEnvVar, "cpu:gemm=go")
	be, err := FromFlag("")
	if err != nil {
		t.Fatal(err)
	}
	if got := Describe(be); !strings.HasPrefix(got, "backend cpu, GEMM pure Go (gonum), ") {
		t.Errorf("from $GOMLX_BACKEND: %q", got)
	}
	if be, err = FromFlag("go"); err != nil || be.String() != "go" {
		t.Errorf("explicit -backend go: %v, %v", be, err)
	}
	os.Unsetenv(backends.ConfigEnvVar)
	if be, err = FromFlag(""); err != nil || be.String() != Name {
		t.Errorf("default: %v, %v", be, err)
	}
	if checkXLA == nil { // built without -tags xla (xla_test.go covers the tagged build)
		_, err = FromFlag("xla:/nonexistent/plugin.so")
		if err == nil || !strings.Contains(err.Error(), "rebuild with `go build -tags xla") {
			t.Errorf("xla should be reported as not compiled in, with the fix, got %v", err)
		}
	}
	if backends.DefaultConfig != Name {
		t.Errorf("backends.DefaultConfig = %q, want %q", backends.DefaultConfig, Name)
	}
}

// TestGEMMPathsAgree runs the same float32 products and convolution on the OpenBLAS and
// pure-Go paths. It is skipped when OpenBLAS is not installed.
func TestGEMMPathsAgree(t *testing.T) {
	blas, err := NewBackend("gemm=openblas")
	if err != nil {
		t.Skipf("OpenBLAS path unavailable: %v", err)
	}
	pure := newTestBackend(t, "gemm=go")
	t.Log(blas.Describe(), "|", pure.Describe())
	rng := rand.New(rand.NewPCG(21, 22))
	var data [][]float32
	dims := [][]int{{64, 300}, {300, 129}, {4, 12, 12, 8}, {3, 3, 8, 16}}
	for _, d := range dims {
		v := make([]float32, product(d))
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		data = append(data, v)
	}
	args := func() []any { // Tensors are bound to one backend: fresh ones for each.
		var ts []any
		for i, d := range dims {
			ts = append(ts, tensors.FromFlatDataAndDimensions(append([]float32(nil), data[i]...), d...))
		}
		return ts
	}
	fn := func(x, w, img, k *Node) (*Node, *Node) {
		conv := Convolve(img, k).StridePerAxis(1, 2).PadSame().Done()
		return MatMul(x, w), conv
	}
	var outs [2][]*tensors.Tensor
	for i, be := range []backends.Backend{blas, pure} {
		outs[i] = MustNewExec(be, fn).MustExec(args()...)
	}
	for j := range 2 {
		a, b := tensors.MustCopyFlatData[float32](outs[0][j]), tensors.MustCopyFlatData[float32](outs[1][j])
		af, bf := make([]float64, len(a)), make([]float64, len(b))
		for i := range a {
			af[i], bf[i] = float64(a[i]), float64(b[i])
		}
		closeTo(t, fmt.Sprint("output ", j), af, bf, 1e-5)
	}
}

// TestNoDeadlock runs eight independent 256×256 products in one graph — the pattern that
// hangs stock simplego on 2 cores — with 1, 2 and 16 threads, in parallel-ops mode too.
func TestNoDeadlock(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, n := range []int{1, 2, 16} {
		for _, mode := range []string{"ops_sequential", "ops_parallel"} {
			runtime.GOMAXPROCS(n)
			be := newTestBackend(t, fmt.Sprintf("threads=%d,%s", n, mode))
			fn := func(xs []*Node) *Node {
				sum := MatMul(xs[0], xs[1])
				for i := 1; i < 8; i++ {
					sum = Add(sum, MatMul(AddScalar(xs[0], float64(i)), xs[1]))
				}
				return sum
			}
			a := make([]float32, 256*256)
			done := make(chan error, 1)
			go func() {
				_, err := MustNewExec(be, fn).Exec(tensors.FromFlatDataAndDimensions(a, 256, 256), tensors.FromFlatDataAndDimensions(a, 256, 256))
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("threads=%d %s: no result after 2 minutes (deadlock)", n, mode)
			}
		}
	}
}

// TestEmptyContraction: a product over a zero-size axis is all zeros, on both GEMM paths.
func TestEmptyContraction(t *testing.T) {
	for _, cfg := range gemmConfigs {
		be := newTestBackend(t, cfg)
		got, dims := eval(t, be, func(xs []*Node) *Node { return DotGeneral(xs[0], []int{1}, nil, xs[1], []int{0}, nil) },
			arg{data: nil, dims: []int{3, 0}}, arg{data: nil, dims: []int{0, 2}})
		if fmt.Sprint(dims) != "[3 2]" || fmt.Sprint(got) != "[0 0 0 0 0 0]" {
			t.Errorf("%s: got %v %v", cfg, dims, got)
		}
		for _, g := range []gemmImpl{goGEMM{}, be.engine.gemm} {
			c := []float32{1, 2, 3, 4}
			g.sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0, c, 2)
			if fmt.Sprint(c) != "[0 0 0 0]" {
				t.Errorf("%s k=0: %v", g.name(), c)
			}
		}
	}
}
