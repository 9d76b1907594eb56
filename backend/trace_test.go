package backend_test

import (
	"fmt"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/bench"
)

// TestTraceStep prints where a training step's time goes, per op type and per native op
// shape. It runs only with TSAM_TRACE_MODEL set to a benchmark model name prefix.
func TestTraceStep(t *testing.T) {
	name := os.Getenv("TSAM_TRACE_MODEL")
	if name == "" {
		t.Skip("set TSAM_TRACE_MODEL (e.g. ResNet-8) to trace a benchmark model's training step")
	}
	byType := map[string]time.Duration{}
	byDesc := map[string]time.Duration{}
	calls := map[string]int{}
	counting := false
	backend.TraceOps(func(opType backends.OpType, desc string, d time.Duration) {
		if !counting {
			return
		}
		byType[opType.String()] += d
		byDesc[opType.String()+" "+desc] += d
		calls[opType.String()+" "+desc]++
	})
	defer backend.TraceOps(nil)
	steps := 3
	var cpuStart time.Duration
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var cpuUsed time.Duration
	res, err := bench.TraceModel(name, steps, func(on bool) {
		counting = on
		if on {
			cpuStart = cpu()
		} else {
			cpuUsed = cpu() - cpuStart
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("wall: median %.1f ms/step, steps %v; CPU %.1f ms/step\n", res.StepMS, res.StepsMS, float64(cpuUsed.Microseconds())/1000/float64(steps))
	report := func(m map[string]time.Duration, top int) {
		type kv struct {
			k string
			d time.Duration
		}
		var all []kv
		var total time.Duration
		for k, d := range m {
			all = append(all, kv{k, d})
			total += d
		}
		sort.Slice(all, func(i, j int) bool { return all[i].d > all[j].d })
		fmt.Printf("total %.1f ms/step\n", float64(total.Microseconds())/1000/float64(steps))
		for i, e := range all {
			if i == top {
				break
			}
			fmt.Printf("%8.2f ms  %s", float64(e.d.Microseconds())/1000/float64(steps), e.k)
			if n := calls[e.k]; n > 0 {
				fmt.Printf("  (%d calls/step)", n/steps)
			}
			fmt.Println()
		}
	}
	report(byType, 25)
	report(byDesc, 40)
}
