// Package backend is tsam's CPU backend for GoMLX, registered as "cpu".
//
// It embeds GoMLX's pure-Go backend simplego and adds what simplego lacks for training:
// native Pad, Reverse, SelectAndScatterMax/Min, ConvGeneral for any layout, stride, padding,
// dilation and channel grouping, batch norm, and matrix products and their gradients through a
// fast GEMM — OpenBLAS loaded at run time when the system has it, else gonum's pure-Go GEMM.
// The hot elementwise ops, reductions, broadcasts and transposes run natively too, split among
// worker goroutines. For a given number of threads the results are the same bits whatever the
// goroutine schedule. docs/BACKEND.md describes the design, that guarantee and the tests.
//
// Config string (after "cpu:"), comma separated:
//
//	gemm=auto|openblas|go   GEMM implementation (default auto: OpenBLAS if loadable, else pure Go)
//	threads=N               worker goroutines of every parallel op (default: GOMAXPROCS);
//	                        OpenBLAS itself always runs single-threaded inside them
//	ops_parallel            let simplego run independent ops concurrently (default: sequential,
//	                        which avoids simplego's nested-parallelism deadlock on few cores)
//	parallelism=N           simplego worker-pool size
//
// Use it with backends.NewWithConfig("cpu:gemm=go"), GOMLX_BACKEND=cpu, New, or FromFlag.
package backend

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// Name is the backend's registered name, for GOMLX_BACKEND and -backend.
const Name = "cpu"

func init() {
	backends.Register(Name, New)
	// Without an accelerator backend compiled in, GoMLX's default ("xla") is absent and
	// backends.New() would pick whichever backend registered first; with -tags xla it would
	// load a plugin the machine may not have. Make it ours (this init runs after GoMLX's xla
	// package registers, which leaves DefaultConfig alone).
	backends.DefaultConfig = Name
}

// xlaNames are the names GoMLX registers its XLA backend under.
var xlaNames = []string{"xla", "stablehlo", "hlo", "shlo"}

// checkXLA, set only in builds with -tags xla (backend/xla.go), checks that the PJRT plugin
// named after "xla:" is installed; nil means the xla backend is not compiled in.
var checkXLA func(config string) error

// Backend is simplego with native ops and a fast GEMM; see the package documentation.
type Backend struct {
	*simplego.Backend
	engine *engine
	config string
}

// New creates the backend from a config string such as "gemm=go,threads=2" (see the package
// documentation). It is the constructor registered with GoMLX under Name.
func New(config string) (backends.Backend, error) {
	return NewBackend(config)
}

// NewBackend is New returning the concrete type.
func NewBackend(config string) (*Backend, error) {
	if err := install(); err != nil {
		return nil, err
	}
	gemmChoice, threads := "auto", 0
	sgOptions := []string{"ops_sequential"}
	for _, part := range strings.Split(config, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch key {
		case "":
		case "gemm":
			if value != "auto" && value != "openblas" && value != "go" {
				return nil, fmt.Errorf("backend %s: gemm=%q is not known: use gemm=auto, gemm=openblas or gemm=go", Name, value)
			}
			gemmChoice = value
		case "threads":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("backend %s: threads=%q must be a positive integer", Name, value)
			}
			threads = n
		case "ops_parallel":
			sgOptions[0] = "ops_parallel"
		case "ops_sequential":
		case "parallelism":
			if _, err := strconv.Atoi(value); err != nil {
				return nil, fmt.Errorf("backend %s: parallelism=%q must be an integer", Name, value)
			}
			sgOptions = append(sgOptions, part)
		default:
			return nil, fmt.Errorf("backend %s: unknown option %q; valid options: gemm=auto|openblas|go, threads=N, ops_parallel, ops_sequential, parallelism=N", Name, key)
		}
	}
	gemm, err := selectGEMM(gemmChoice)
	if err != nil {
		return nil, err
	}
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	sg, err := simplego.New(strings.Join(sgOptions, ","))
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: sg.(*simplego.Backend), engine: &engine{gemm: gemm, workers: threads}, config: config}, nil
}

// selectGEMM picks the GEMM implementation for choice ("auto", "openblas" or "go").
func selectGEMM(choice string) (gemmImpl, error) {
	if choice == "go" {
		return goGEMM{}, nil
	}
	lib, err := loadOpenBLAS()
	if err == nil {
		return lib, nil
	}
	if choice == "openblas" {
		return nil, fmt.Errorf("backend %s: gemm=openblas: %w", Name, err)
	}
	return goGEMM{}, nil
}

// Name implements backends.Backend.
func (b *Backend) Name() string { return "tsam CPU (simplego + " + b.GEMMName() + ")" }

// String implements backends.Backend: the name to use in GOMLX_BACKEND.
func (b *Backend) String() string { return Name }

// Description implements backends.Backend.
func (b *Backend) Description() string { return b.Describe() }

// Describe is the one-line summary printed at start, e.g.
// "backend cpu, GEMM OpenBLAS 0.3.21 (SKYLAKEX), 2 threads, float32 kernels AVX2".
func (b *Backend) Describe() string {
	return "backend " + Name + ", GEMM " + b.GEMMName() + ", float32 kernels " + simdName()
}

// GEMMName names the GEMM in use and its parallelism, e.g. "pure Go (gonum), 2 threads".
func (b *Backend) GEMMName() string {
	return fmt.Sprintf("%s, %d threads", b.engine.gemm.name(), b.engine.workers)
}

// Threads is the number of worker goroutines of the backend's parallel ops and GEMM.
func (b *Backend) Threads() int { return b.engine.workers }

// Builder implements backends.Backend.
func (b *Backend) Builder(name string) backends.Builder {
	return &Builder{Builder: b.Backend.Builder(name).(*simplego.Builder), backend: b}
}

// MeasureGEMM times reps float32 n×n×n products through the backend's GEMM and returns the
// best rate in GFLOP/s (2n³ flops each), after one untimed warm-up product.
func (b *Backend) MeasureGEMM(n, reps int) float64 {
	a, m, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], m[i] = float32(i%7)-3, float32(i%5)-2
	}
	gemmPar(b.engine, false, false, n, n, n, a, n, m, n, 0, c, n)
	best := 0.0
	for range max(reps, 1) {
		start := time.Now()
		gemmPar(b.engine, false, false, n, n, n, a, n, m, n, 0, c, n)
		if s := time.Since(start).Seconds(); s > 0 {
			best = max(best, 2*float64(n)*float64(n)*float64(n)/s/1e9)
		}
	}
	return best
}

// FromFlag returns the backend to use: flag when non-empty (a GoMLX config such as "cpu",
// "cpu:gemm=go" or "xla:/abs/path/pjrt_plugin.so"), else $GOMLX_BACKEND, else "cpu". Print
// Describe(backend) at start so runs record what computed them.
//
// The xla backend (GoMLX's XLA/PJRT, needing cgo) is linked only with -tags xla (backend/xla.go):
// without the tag, asking for it returns an error saying to rebuild; with it, a plugin that is
// not installed is reported, with the fix, before GoMLX tries to load it. See docs/BACKEND.md.
func FromFlag(flag string) (backends.Backend, error) {
	config, source := flag, "-backend"
	if config == "" {
		if env, ok := os.LookupEnv(backends.ConfigEnvVar); ok && env != "" {
			config, source = env, "$"+backends.ConfigEnvVar
		} else {
			config, source = Name, "default"
		}
	}
	name, rest, _ := strings.Cut(config, ":")
	isXLA := slices.Contains(xlaNames, name)
	if isXLA && checkXLA != nil {
		if err := checkXLA(rest); err != nil {
			return nil, fmt.Errorf("backend %q (from %s): %w", config, source, err)
		}
	}
	if !slices.Contains(backends.List(), name) {
		hint := ""
		if isXLA {
			hint = " (this binary was built without the xla backend: rebuild with `go build -tags xla ./cmd/tsam` (needs cgo and a C compiler), which links github.com/gomlx/go-xla; see docs/BACKEND.md)"
		}
		return nil, fmt.Errorf("backend %q (from %s) is not available%s: choose one of %s, e.g. %q or %q",
			name, source, hint, strings.Join(backends.List(), ", "), Name, Name+":gemm=go")
	}
	be, err := backends.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("backend %q (from %s): %w", config, source, err)
	}
	return be, nil
}

// Describe is the one-line description of any backend, e.g.
// "backend cpu, GEMM OpenBLAS 0.3.21 (SKYLAKEX), 2 threads, float32 kernels AVX2" for this
// package's.
func Describe(be backends.Backend) string {
	if b, ok := be.(*Backend); ok {
		return b.Describe()
	}
	return fmt.Sprintf("backend %s (%s)", be.String(), be.Description())
}
