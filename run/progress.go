package run

import (
	"fmt"
	"io"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// progressEvery is the least time between two redraws of the progress line.
const progressEvery = 500 * time.Millisecond

// progress draws "step 120/2811 [##----] loss 0.31 acc 0.91 | 2m10s left" on one line.
// GoMLX's own progress bar (ui/commandline) needs modules this project's go.mod does not
// list, so this small one stands in.
type progress struct {
	w         io.Writer
	total     int
	start     time.Time
	startStep int
	last      time.Time
}

func attachProgress(loop *train.Loop, w io.Writer, total int) {
	p := &progress{w: w, total: total, start: time.Now(), startStep: loop.LoopStep}
	loop.OnStep("tsam.progress", 200, p.onStep)
	loop.OnEnd("tsam.progress", 200, func(*train.Loop, []*tensors.Tensor) error {
		_, err := fmt.Fprintln(p.w)
		return err
	})
}

func (p *progress) onStep(loop *train.Loop, m []*tensors.Tensor) error {
	step := loop.LoopStep + 1
	if time.Since(p.last) < progressEvery && step != p.total {
		return nil
	}
	p.last = time.Now()
	done := step - p.startStep
	left := time.Duration(0)
	if done > 0 {
		left = time.Duration(float64(time.Since(p.start)) / float64(done) * float64(p.total-step))
	}
	// Train metrics: [batch loss, moving-average loss, moving-average loss w/o regularization, accuracy, ...].
	acc := ""
	if len(m) > 3 {
		acc = fmt.Sprintf(" acc %.3f", scalar(m[3]))
	}
	_, err := fmt.Fprintf(p.w, "\rstep %d/%d %s loss %.4f%s | %s left   ", step, p.total, bar(step, p.total, 20),
		scalar(m[1]), acc, left.Round(time.Second))
	return err
}

func bar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = done * width / total
	}
	b := make([]byte, width+2)
	b[0], b[width+1] = '[', ']'
	for i := 1; i <= width; i++ {
		b[i] = '-'
		if i <= n {
			b[i] = '#'
		}
	}
	return string(b)
}
