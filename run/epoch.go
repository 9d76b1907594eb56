package run

import (
	"fmt"
	"math"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/data"
)

// onStep accumulates the step's numbers and, at the end of an epoch or of the run,
// evaluates, records metrics and checkpoints; a checkpoint is also written every
// CheckpointEvery.
func (s *session) onStep(loop *train.Loop, stepMetrics []*tensors.Tensor) error {
	step := loop.LoopStep + 1 // global step after this one
	s.step = step
	s.accumulate(stepMetrics)
	if loss := scalar(stepMetrics[0]); s.divergedLoss(loss) {
		return s.divergence(step, "training batch loss", loss)
	}
	spe := s.ds.NumBatches()
	if step == s.totalSteps || step%spe == 0 && (step/spe)%max(s.cfg.EvalEvery, 1) == 0 {
		return s.endEpoch(step, step%spe != 0)
	}
	if step%spe == 0 || time.Since(s.lastSave) >= time.Duration(s.cfg.CheckpointEvery) {
		return s.checkpoint()
	}
	return nil
}

// accumulate adds the step's numbers to the epoch's. The step's time runs from the moment
// its batch was yielded (timedStream) to this hook, the first one GoMLX calls after the
// step. GoMLX's own Loop.TrainStepDurations cannot be used: each also counts the hooks run
// after its step, so the first step of an epoch carried the previous epoch's evaluation and
// checkpoint.
func (s *session) accumulate(stepMetrics []*tensors.Tensor) {
	a := &s.acc
	if a.stats == nil {
		a.stats = map[string]float64{}
	}
	a.steps++
	a.batchLoss += scalar(stepMetrics[0])
	a.stepTime += time.Now().Sub(s.ds.(*timedStream).yielded)
	for name, v := range stepStats(s.ctx) {
		a.stats[name] += v
	}
}

func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	}
	return 0
}

// checkpoint saves the context, with the run's wall time and session count as context
// parameters so that a resumed run continues them.
func (s *session) checkpoint() error {
	start := time.Now()
	s.lastSave = start
	s.ctx.SetParam(paramWallSeconds, s.wallSeconds())
	s.ctx.SetParam(paramSessions, float64(s.sessions))
	err := s.saver.save()
	s.acc.checkpointTime += time.Now().Sub(start)
	if err == nil {
		s.lastGood = s.step
	}
	return err
}

// wallSeconds is the run's training wall time: earlier sessions plus this one.
func (s *session) wallSeconds() float64 { return s.prevWall + time.Now().Sub(s.started).Seconds() }

// Context parameters that checkpoints carry for the run's own bookkeeping.
const (
	paramWallSeconds = "tsam_run_wall_seconds"
	paramSessions    = "tsam_run_sessions"
	// paramBatchOrder marks checkpoints whose augmented batches follow data.EpochOrder (see
	// checkBatchOrder); plain batches always did.
	paramBatchOrder = "tsam_run_batch_order"
)

// batchOrder is paramBatchOrder's value: the training stream's order is data.EpochOrder.
const batchOrder = "epoch-order"

// readSessionParams returns the wall time and session count stored with a checkpoint just
// loaded into ctx, and the session count of the resuming process.
func readSessionParams(ctx *context.Context) (wall float64, sessions int) {
	wall = context.GetParamOr(ctx, paramWallSeconds, 0.0)
	sessions = int(context.GetParamOr(ctx, paramSessions, 0.0)) + 1
	return wall, sessions
}

// endEpoch evaluates the model, appends the epoch's record and writes metrics, curves and
// a checkpoint. Metrics go first: if the process dies before the checkpoint, resume drops
// the records past the checkpoint it loads.
func (s *session) endEpoch(step int, partial bool) error {
	evalStart := time.Now()
	m, err := s.evaluate()
	if err != nil {
		return err
	}
	m.EvalSeconds = time.Now().Sub(evalStart).Seconds()
	if s.divergedLoss(m.TrainLoss) {
		return s.divergence(step, "loss on the training set", m.TrainLoss)
	}
	spe := s.ds.NumBatches()
	m.Epoch, m.Step, m.Partial = (step+spe-1)/spe, step, partial
	if a := s.acc; a.steps > 0 {
		m.BatchLoss = a.batchLoss / float64(a.steps)
		m.StepSeconds = a.stepTime.Seconds() / float64(a.steps)
		m.Stats = map[string]float64{}
		for k, v := range a.stats {
			if avg := v / float64(a.steps); finite(avg) {
				m.Stats[k] = avg
			}
		}
	}
	m.ElapsedSeconds = s.wallSeconds()
	m.CheckpointSeconds = s.acc.checkpointTime.Seconds() // periodic ones; the epoch's is added below
	s.acc = epochAccumulator{}
	if err := writeMetrics(s.dir, append(s.metrics, m)); err != nil {
		return err
	}
	if err := writeCurves(curvesPath(s.dir), []curveSet{{label: s.dir, metrics: append(s.metrics, m)}}); err != nil {
		return err
	}
	if err := s.checkpoint(); err != nil {
		return err
	}
	// The record is written again with the epoch's own checkpoint time; a kill between the
	// two writes keeps the first record, short of that time only.
	m.CheckpointSeconds += s.acc.checkpointTime.Seconds()
	s.acc.checkpointTime = 0
	s.metrics = append(s.metrics, m)
	s.progress.clear()
	if s.progress != nil {
		s.progress.skipStep = step // its line would repeat the step just reported
	}
	fmt.Fprintf(s.log, "epoch %d step %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.0f ms/step, evaluation %.1f s, checkpoints %.1f s\n",
		m.Epoch, m.Step, m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, 1000*m.StepSeconds, m.EvalSeconds, m.CheckpointSeconds)
	s.warnIfNotLearning(m)
	return writeMetrics(s.dir, s.metrics)
}

// notLearning is the share of ln(classes), the loss of a uniform guess, above which the
// training-set loss after an epoch shows a model that has not started to learn.
const notLearning = 0.99

// AtChance reports whether a training-set loss is still (or again) that of a uniform guess
// over the classes: at least 0.99·ln(classes). A model there predicts nothing it has learned
// (it never started, or collapsed to a constant output, e.g. every ReLU dead).
func AtChance(trainLoss float64, classes int) bool {
	return trainLoss >= notLearning*math.Log(float64(max(classes, 2)))
}

// warnIfNotLearning says so in the log when the model is still at chance after an epoch
// (the CIFAR-10 CNN stays at loss 2.3024 = ln 10 with lr 0.05): the run goes on, since a
// later epoch may still start, but a user should not wait hours for nothing.
func (s *session) warnIfNotLearning(m EpochMetrics) {
	if !AtChance(m.TrainLoss, s.data.train.NumClasses) {
		return
	}
	uniform := math.Log(float64(max(s.data.train.NumClasses, 2)))
	than := "still that of"
	if m.TrainLoss > 1.01*uniform {
		than = "above that of" // e.g. a He-initialised head's start, or a run diverging
	}
	fmt.Fprintf(s.log, "warning: after epoch %d the training loss %.4f is %s a uniform guess (ln %d = %.4f): the model is not learning; try another -lr (a tenth, or ten times, %g)\n",
		m.Epoch, m.TrainLoss, than, s.data.train.NumClasses, uniform, s.cfg.LR)
}

// evaluate measures loss and accuracy on the training (up to EvalTrainMax), validation and
// test sets in inference mode.
func (s *session) evaluate() (EpochMetrics, error) {
	var m EpochMetrics
	trainEx := s.data.train
	trainEx = trainEx.Head(EvalTrainMax)
	var err error
	if m.TrainLoss, m.TrainAcc, err = s.evalSet(trainEx); err != nil {
		return m, err
	}
	if s.data.val != nil {
		l, a, err := s.evalSet(s.data.val)
		if err != nil {
			return m, err
		}
		m.ValLoss, m.ValAcc = &l, &a
	}
	m.TestLoss, m.TestAcc, err = s.evalSet(s.data.test)
	return m, err
}

// evalSet returns the mean loss (without regularization) and accuracy of ex, showing its
// progress (an evaluation of a large model takes minutes).
func (s *session) evalSet(ex *data.Examples) (loss, acc float64, err error) {
	d, err := evalStream(ex)
	if err != nil {
		return 0, 0, err
	}
	if p := s.progress; p != nil {
		d.OnBatch(func(batch, batches int) { p.evaluating(ex.Name, batch, batches) })
	}
	res, err := s.trainer.Eval(d)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluating %s: %w", ex.Name, err)
	}
	// Eval returns [mean loss+regularization, mean loss, accuracy, ...].
	return scalar(res[1]), scalar(res[2]), nil
}
