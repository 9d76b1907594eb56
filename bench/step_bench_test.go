package bench

import (
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
