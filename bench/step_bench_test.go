package bench

import (
	"io"
	"os"
	"testing"

	"github.com/tsamgo/tsam/backend"
)

// BenchmarkStep times one training step of each benchmark model on the default cpu backend;
// run with -cpuprofile to see where a step goes.
func BenchmarkStep(b *testing.B) {
	be, err := backend.FromFlag("")
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range models(false) {
		b.Run(m.name, func(b *testing.B) {
			if _, err := timeModel(be, m, b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkMethodTable prints `tsam bench methods`' table (each method's step against ERM's,
// in one run) for the MLP 784-512-512-10 and the small CNN, on the default backend:
//
//	go test -run '^$' -bench BenchmarkMethodTable -benchtime 1x ./bench/
func BenchmarkMethodTable(b *testing.B) {
	for _, name := range []string{"mlp", "cnn"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				t, err := RunMethods(MethodsOptions{Model: name}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				if err := t.WriteTable(os.Stdout); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
