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

// progress draws "step 120/2811 [##----] loss 0.31 acc 0.91 | 2m10s left" on one line,
// and "evaluating test: batch 3/20" while the epoch's evaluation runs. GoMLX's own
// progress bar (ui/commandline) needs modules this project's go.mod does not list, so
// this small one stands in. Lines go to w only (a terminal): the log gets no carriage
// returns or escape codes, and clear erases the line before each log line.
type progress struct {
	w         io.Writer
	total     int
	start     time.Time
	startStep int
	last      time.Time
	drawn     bool // a progress line is on screen
	skipStep  int  // a step whose epoch line was just printed: not redrawn
}

func attachProgress(loop *train.Loop, w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), startStep: loop.LoopStep, skipStep: -1}
	loop.OnStep("tsam.progress", 200, p.onStep)
	loop.OnEnd("tsam.progress", 200, func(*train.Loop, []*tensors.Tensor) error {
		p.clear()
		return nil
	})
	return p
}

func (p *progress) onStep(loop *train.Loop, m []*tensors.Tensor) error {
	step := loop.LoopStep + 1
	if step == p.skipStep || (time.Since(p.last) < progressEvery && step != p.total) {
		return nil
	}
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
	p.draw(fmt.Sprintf("step %d/%d %s loss %.4f%s | %s left", step, p.total, bar(step, p.total, 20),
		scalar(m[1]), acc, left.Round(time.Second)))
	return nil
}

// evaluating shows the progress of an evaluation pass over set.
func (p *progress) evaluating(set string, batch, batches int) {
	if batch > 1 && batch < batches && time.Since(p.last) < progressEvery {
		return
	}
	p.draw(fmt.Sprintf("evaluating %s: batch %d/%d %s", set, batch, batches, bar(batch, batches, 20)))
}

func (p *progress) draw(line string) {
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// clear erases the progress line, so that a log line written next starts clean.
func (p *progress) clear() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
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
