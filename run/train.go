package run

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/internal/atomicfile"
)

// EvalTrainMax caps the number of training examples evaluated at the end of each epoch
// (the first ones of the run's training set), to keep the per-epoch cost small.
const EvalTrainMax = 10000

// evalBatch is the batch size of evaluation passes (inference only, so larger is fine).
const evalBatch = 500

// Options controls how Train treats the output folder and reports progress.
type Options struct {
	// Resume continues the run in the folder from its newest checkpoint. The configuration
	// is the stored one; cfg may differ only in MaxSteps, Backend and CheckpointEvery.
	Resume bool
	// Force starts afresh in a non-empty folder, deleting the files of a previous run there
	// (config, summary, metrics, curves, checkpoints); other files are left alone.
	Force bool
	// Log receives one line per epoch and notes such as "resumed at step N"; nil discards.
	Log io.Writer
	// Progress, when set, receives a one-line progress display (step, loss, accuracy,
	// time left) redrawn with carriage returns a few times a second.
	Progress io.Writer
}

// session is one Train call: the pieces shared by the loop's callbacks.
type session struct {
	cfg        Config
	dir        string
	log        io.Writer
	data       *splits
	ds         trainStream
	trainer    *train.Trainer
	ctx        *context.Context
	saver      *saver
	metrics    []EpochMetrics
	summary    *Summary
	started    time.Time
	prevWall   float64 // training wall time of earlier sessions of this run
	lastSave   time.Time
	acc        epochAccumulator
	lineStart  string // written before each log line: clears the progress line if any
	totalSteps int    // steps this run goes to: fullSteps, or MaxSteps if smaller
	fullSteps  int    // steps of the complete run (see plannedSteps)
}

// epochAccumulator sums per-step values over the steps of the current epoch.
type epochAccumulator struct {
	steps     int
	batchLoss float64
	stepTime  time.Duration
	stats     map[string]float64
}

// Train runs (or resumes) one training run into dir and returns its summary. Bad input —
// configuration, data set, folder state or a damaged checkpoint — is an *InputError and
// is reported before anything in dir is touched.
func Train(cfg Config, dir string, opts Options) (*Summary, error) {
	s, err := prepare(cfg, dir, opts)
	if err != nil {
		return nil, err
	}
	return s.run(opts)
}

// prepare validates everything and sets up the session; only then does it write to dir.
func prepare(cfg Config, dir string, opts Options) (*session, error) {
	if dir == "" {
		return nil, inputErrorf("out", "an output folder is needed, e.g. -out runs/mnist-tsam")
	}
	if opts.Resume && opts.Force {
		return nil, inputErrorf("force", "cannot be combined with -resume: -resume continues the run in the folder, -force discards it")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, prev, err := checkFolder(cfg, dir, opts)
	if err != nil {
		return nil, err
	}
	data, err := loadSplits(cfg)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	s := &session{cfg: cfg, dir: dir, log: log, data: data, summary: prev}
	if prev != nil {
		s.prevWall = prev.WallSeconds
	}
	return s, nil
}

// checkFolder decides what to do with dir and returns the configuration to run (the stored
// one when resuming) and the previous summary, if any.
func checkFolder(cfg Config, dir string, opts Options) (Config, *Summary, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return cfg, nil, inputErrorf("out", "cannot read %s: %v", dir, err)
	}
	switch {
	case opts.Resume:
		return resumeConfig(cfg, dir)
	case len(entries) > 0 && !opts.Force:
		return cfg, nil, inputErrorf("out", "%s is not empty: pass -resume to continue the run in it, -force to replace it, or choose another -out folder", dir)
	}
	return cfg, nil, nil
}

// resumeConfig reads the stored configuration of the run in dir and checks that cfg asks
// for the same experiment; the newest checkpoint is checked later, when it is loaded.
func resumeConfig(cfg Config, dir string) (Config, *Summary, error) {
	stored, err := ReadConfig(dir)
	if err != nil {
		return cfg, nil, inputErrorf("resume", "%v; there is no run to resume in %s (drop -resume to start one)", err, dir)
	}
	if field := stored.sameResult(cfg); field != "" {
		return cfg, nil, inputErrorf(field, "differs from the run being resumed in %s (see its %s); drop the flag, or start a new run in another folder", dir, ConfigFile)
	}
	stored.MaxSteps, stored.Backend, stored.CheckpointEvery = cfg.MaxSteps, cfg.Backend, cfg.CheckpointEvery
	var prev *Summary
	if sum, err := ReadSummary(dir); err == nil {
		prev = sum
	}
	return stored, prev, nil
}

// ReadConfig reads the configuration stored in a run folder.
func ReadConfig(dir string) (Config, error) {
	var cfg Config
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return cfg, nil
}

// newBackend returns the GoMLX backend named by the configuration (see backend.FromFlag:
// "" means $GOMLX_BACKEND or the project's CPU backend).
func newBackend(name string) (backends.Backend, error) {
	b, err := backend.FromFlag(name)
	if err != nil {
		return nil, inputErrorf("backend", "%v", err)
	}
	return b, nil
}

// newContext returns a context holding the run's seeds and hyperparameters.
func newContext(cfg Config) *context.Context {
	ctx := context.New()
	ctx.SetParam(context.ParamInitialSeed, cfg.Seed)
	return ctx
}

func (s *session) run(opts Options) (*Summary, error) {
	be, err := newBackend(s.cfg.Backend)
	if err != nil {
		return nil, err
	}
	ctx := newContext(s.cfg)
	resumed := false
	if opts.Resume {
		names, _ := listCheckpoints(filepath.Join(s.dir, CheckpointDir))
		if len(names) > 0 {
			if _, err := loadCheckpoint(ctx, s.dir, "resume"); err != nil {
				return nil, err
			}
			resumed = true
		}
	}
	model, err := modelFn(s.cfg, s.data)
	if err != nil {
		return nil, err
	}
	if s.ds, err = newTrainStream(s.cfg, s.data.train); err != nil {
		return nil, err
	}
	spe := s.ds.stepsPerEpoch()
	s.fullSteps = plannedSteps(s.cfg, spe)
	s.totalSteps = s.fullSteps
	if s.cfg.MaxSteps > 0 {
		s.totalSteps = min(s.totalSteps, s.cfg.MaxSteps)
	}
	trainer, err := buildTrainer(s.cfg, s.fullSteps, be, ctx, model)
	if err != nil {
		return nil, err
	}
	// From here on the folder is written to.
	if err := s.initFolder(opts, resumed); err != nil {
		return nil, err
	}
	fmt.Fprintf(s.log, "training %s %s on %s into %s: %d steps of batch %d (%s)\n", s.cfg.Method, s.cfg.Model,
		s.cfg.Data, s.dir, s.totalSteps, s.cfg.Batch, backend.Describe(be))
	if !resumed {
		if err := ctx.SetRNGStateFromSeed(s.cfg.Seed); err != nil {
			return nil, err
		}
	}
	s.trainer, s.ctx = trainer, ctx
	if s.saver, err = newSaver(ctx, s.dir); err != nil {
		return nil, err
	}
	return s.loop(be, opts)
}

// initFolder clears a forced folder, writes the configuration and, on resume, drops
// metrics recorded after the checkpoint (they will be measured again).
func (s *session) initFolder(opts Options, resumed bool) error {
	if opts.Force {
		for _, name := range []string{ConfigFile, SummaryFile, MetricsJSON, MetricsCSV, CurvesPNG, CheckpointDir} {
			if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return inputErrorf("out", "cannot create %s: %v", s.dir, err)
	}
	if resumed {
		ms, err := ReadMetrics(s.dir)
		if err != nil {
			return err
		}
		s.metrics = ms
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir, ConfigFile), s.cfg)
}

func (s *session) loop(backend backends.Backend, opts Options) (*Summary, error) {
	spe := s.ds.stepsPerEpoch()
	loop := train.NewLoop(s.trainer)
	start := loop.LoopStep
	s.ds.seek(start)
	s.keepMetricsUpTo(start)
	if start > 0 {
		fmt.Fprintf(s.log, "resumed %s at step %d of %d (epoch %d)\n", s.dir, start, s.totalSteps, start/spe+1)
	}
	if opts.Progress != nil {
		attachProgress(loop, opts.Progress, s.totalSteps)
		s.lineStart = "\r\033[K" // epoch lines overwrite the progress line
	}
	s.started, s.lastSave = time.Now(), time.Now()
	loop.OnStep("tsam.run", 100, s.onStep)
	if start < s.totalSteps {
		if _, err := loop.RunToGlobalStep(s.ds, s.totalSteps); err != nil {
			return nil, err
		}
	}
	if err := s.finish(backend, loop.LoopStep); err != nil {
		return nil, err
	}
	return s.summary, nil
}

// keepMetricsUpTo drops metric records past step (written after the checkpoint the run
// resumes from) and records of partial epochs (the resumed run completes them).
func (s *session) keepMetricsUpTo(step int) {
	kept := s.metrics[:0]
	for _, m := range s.metrics {
		if m.Step <= step && !m.Partial {
			kept = append(kept, m)
		}
	}
	s.metrics = kept
}

// onStep accumulates the step's numbers and, at the end of an epoch or of the run,
// evaluates, records metrics and checkpoints; a checkpoint is also written every
// CheckpointEvery.
func (s *session) onStep(loop *train.Loop, stepMetrics []*tensors.Tensor) error {
	s.accumulate(loop, stepMetrics)
	step := loop.LoopStep + 1 // global step after this one
	spe := s.ds.stepsPerEpoch()
	if step%spe == 0 || step == s.totalSteps {
		return s.endEpoch(step, step%spe != 0)
	}
	if time.Since(s.lastSave) >= time.Duration(s.cfg.CheckpointEvery) {
		return s.checkpoint()
	}
	return nil
}

func (s *session) accumulate(loop *train.Loop, stepMetrics []*tensors.Tensor) {
	a := &s.acc
	if a.stats == nil {
		a.stats = map[string]float64{}
	}
	a.steps++
	a.batchLoss += scalar(stepMetrics[0])
	if n := len(loop.TrainStepDurations); n > 0 {
		a.stepTime += loop.TrainStepDurations[n-1]
	}
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

func (s *session) checkpoint() error {
	s.lastSave = time.Now()
	return s.saver.save()
}

// endEpoch evaluates the model, appends the epoch's record and writes metrics, curves and
// a checkpoint. Metrics go first: if the process dies before the checkpoint, resume drops
// the records past the checkpoint it loads.
func (s *session) endEpoch(step int, partial bool) error {
	m, err := s.evaluate()
	if err != nil {
		return err
	}
	spe := s.ds.stepsPerEpoch()
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
	m.ElapsedSeconds = s.prevWall + time.Since(s.started).Seconds()
	s.acc = epochAccumulator{}
	s.metrics = append(s.metrics, m)
	fmt.Fprintf(s.log, "%sepoch %d step %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.0f ms/step\n",
		s.lineStart, m.Epoch, m.Step, m.TrainLoss, m.TrainAcc, m.TestLoss, m.TestAcc, 1000*m.StepSeconds)
	if err := writeMetrics(s.dir, s.metrics); err != nil {
		return err
	}
	if err := writeCurves(curvesPath(s.dir), []curveSet{{label: s.dir, metrics: s.metrics}}); err != nil {
		return err
	}
	return s.checkpoint()
}

// evaluate measures loss and accuracy on the training (up to EvalTrainMax), validation and
// test sets in inference mode.
func (s *session) evaluate() (EpochMetrics, error) {
	var m EpochMetrics
	trainEx := s.data.train
	if trainEx.n() > EvalTrainMax {
		trainEx = trainEx.subset(trainEx.name, firstN(EvalTrainMax))
	}
	var err error
	if m.TrainLoss, m.TrainAcc, err = evalSet(s.trainer, trainEx); err != nil {
		return m, err
	}
	if s.data.val != nil {
		l, a, err := evalSet(s.trainer, s.data.val)
		if err != nil {
			return m, err
		}
		m.ValLoss, m.ValAcc = &l, &a
	}
	m.TestLoss, m.TestAcc, err = evalSet(s.trainer, s.data.test)
	return m, err
}

// evalSet returns the mean loss (without regularization) and accuracy of ex.
func evalSet(t *train.Trainer, ex *examples) (loss, acc float64, err error) {
	res, err := t.Eval(&evalBatches{ex: ex, batch: evalBatch})
	if err != nil {
		return 0, 0, fmt.Errorf("evaluating %s: %w", ex.name, err)
	}
	// Eval returns [mean loss+regularization, mean loss, accuracy, ...].
	return scalar(res[1]), scalar(res[2]), nil
}

// finish writes the final checkpoint (when the last step did not), summary and curves.
func (s *session) finish(backend backends.Backend, step int) error {
	if len(s.metrics) == 0 || s.metrics[len(s.metrics)-1].Step != step {
		if err := s.endEpoch(step, true); err != nil {
			return err
		}
	}
	s.summary = newSummary(s.cfg, s.metrics, s.summary, backend, s.prevWall+time.Since(s.started).Seconds(), step, s.totalSteps, s.fullSteps)
	return atomicfile.WriteJSON(filepath.Join(s.dir, SummaryFile), s.summary)
}
