package tilt_test

import (
	"fmt"

	"github.com/tsamgo/tsam/tilt"
)

// Aggregating the gradients of s = 3 perturbed losses as in Algorithm 1, with δ = t/2.
func Example() {
	losses := []float64{0.9, 1.2, 2.0}
	t := 4.0
	w, err := tilt.Weights(losses, t, t/2) // softmax((t−δ)·L)
	if err != nil {
		panic(err)
	}
	obj, _ := tilt.Objective(losses, t) // (1/t)·log mean exp(t·L)
	mean, sharp, _ := tilt.Moments(losses, t)
	sched, _ := tilt.NewSchedule("linear-up", t)
	fmt.Printf("weights %.3f, ESS %.2f\n", w, tilt.ESS(w))
	fmt.Printf("L_t %.4f, t-weighted mean %.4f, t-sharpness %.4f\n", obj, mean, sharp)
	fmt.Printf("t at steps 0, 50, 100 of 101: %g %g %g\n", sched.At(0, 101), sched.At(50, 101), sched.At(100, 101))
	// Output:
	// weights [0.084 0.154 0.762], ESS 1.64
	// L_t 1.7383, t-weighted mean 1.9562, t-sharpness 0.0370
	// t at steps 0, 50, 100 of 101: 0 2 4
}
