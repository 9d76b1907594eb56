package backend

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
)

// FromFlag returns the backend to use: flag when non-empty (a GoMLX config such as "cpu",
// "cpu:gemm=go" or "xla:/abs/path/pjrt_plugin.so"), else $GOMLX_BACKEND, else "cpu". Print
// Describe(backend) at start so runs record what computed them.
//
// The xla backend is not compiled into this module (it needs cgo and the go-xla module):
// asking for it returns an error saying so; see docs/BACKEND.md for how to build with it.
func FromFlag(flag string) (backends.Backend, error) {
	config, source := flag, "-backend"
	if config == "" {
		if env, ok := os.LookupEnv(backends.ConfigEnvVar); ok && env != "" {
			config, source = env, "$"+backends.ConfigEnvVar
		} else {
			config, source = Name, "default"
		}
	}
	name, _, _ := strings.Cut(config, ":")
	if !slices.Contains(backends.List(), name) {
		hint := ""
		if name == "xla" {
			hint = " (the xla backend needs cgo and github.com/gomlx/go-xla, which this build leaves out; see docs/BACKEND.md)"
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
