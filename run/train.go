package run

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/internal/atomicfile"
	"github.com/tsamgo/tsam/sam"
	"github.com/tsamgo/tsam/tilt"
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
	prevWall   float64 // training wall time of earlier sessions, up to the checkpoint resumed from
	sessions   int     // processes that trained this run, this one included
	lastSave   time.Time
	acc        epochAccumulator
	progress   *progress // nil without Options.Progress
	totalSteps int       // steps this run goes to: fullSteps, or MaxSteps if smaller
	fullSteps  int       // steps of the complete run (see PlannedSteps)
	step       int       // global step after the one just trained
	lastGood   int       // step of the newest checkpoint in the folder; -1 when there is none
}

// epochAccumulator sums per-step values over the steps of the current epoch.
type epochAccumulator struct {
	steps          int
	batchLoss      float64
	stepTime       time.Duration
	checkpointTime time.Duration
	stats          map[string]float64
}

// Train runs (or resumes) one training run into dir and returns its summary. Bad input —
// configuration, data set, folder state or a damaged checkpoint — is an *InputError and
// is reported before anything in dir is touched.
//
// The folder is locked (LockFile) while Train works in it: a second Train or resume of the
// same folder, in this process or another, is refused until the first ends; a lock left by
// a killed process is taken over.
func Train(cfg Config, dir string, opts Options) (*Summary, error) {
	if dir == "" {
		return nil, inputErrorf("out", "an output folder is needed, e.g. -out runs/mnist-tsam")
	}
	release, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	defer release()
	s, err := prepare(cfg, dir, opts)
	if err != nil {
		return nil, err
	}
	return s.run(opts)
}

// prepare validates everything and sets up the session; only then does it write to dir.
func prepare(cfg Config, dir string, opts Options) (*session, error) {
	if opts.Resume && opts.Force {
		return nil, inputErrorf("force", "cannot be combined with -resume: -resume continues the run in the folder, -force discards it")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, err := checkFolder(cfg.Canonical(), dir, opts)
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
	return &session{cfg: cfg, dir: dir, log: log, data: data, sessions: 1}, nil
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
			s.prevWall, s.sessions = readSessionParams(ctx)
		} else {
			// Killed before its first checkpoint was complete: nothing to continue from.
			fmt.Fprintf(s.log, "no complete checkpoint in %s (the run was stopped before its first one): starting from step 0\n", filepath.Join(s.dir, CheckpointDir))
		}
	}
	model, err := modelFn(s.cfg, s.data)
	if err != nil {
		return nil, err
	}
	ds, err := newTrainStream(s.cfg, s.data.train)
	if err != nil {
		return nil, err
	}
	s.ds = &timedStream{trainStream: ds}
	spe := s.ds.NumBatches()
	s.fullSteps = PlannedSteps(s.cfg, spe)
	s.totalSteps = s.fullSteps
	if s.cfg.MaxSteps > 0 {
		s.totalSteps = min(s.totalSteps, s.cfg.MaxSteps)
	}
	if resumed {
		if err := s.checkStoredMethod(ctx); err != nil {
			return nil, err
		}
		if err := s.checkBatchOrder(ctx); err != nil {
			return nil, err
		}
	}
	ctx.SetParam(paramBatchOrder, batchOrder)
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
	fmt.Fprintln(s.log, s.data.describe())
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

// checkStoredMethod reads back the method's configuration that the checkpoint carries as
// context parameters (sam.NewTrainer writes them) and refuses to continue when it is not the
// one config.json describes: a hand-edited config.json or a checkpoint copied from another
// run. The t schedule's length is not compared when t is constant (extending a run changes
// it without changing any step).
func (s *session) checkStoredMethod(ctx *context.Context) error {
	var skip []string
	if s.cfg.schedule() == tilt.Constant {
		skip = append(skip, sam.ParamTotalSteps)
	}
	if m := MethodConfig(s.cfg, s.fullSteps).Mismatch(ctx, skip...); m != "" {
		return inputErrorf("resume", "the checkpoint in %s was not written by the run %s describes (%s): restore the run's own files, or start again with -force", filepath.Join(s.dir, CheckpointDir), ConfigFile, m)
	}
	return nil
}

// checkBatchOrder refuses to continue an augmented run whose checkpoint predates its batches'
// one shuffle (data.EpochOrder): its first steps saw another order, so continuing would not
// be the run that config.json describes.
func (s *session) checkBatchOrder(ctx *context.Context) error {
	if _, found := ctx.GetParam(paramBatchOrder); found || !s.cfg.Augment {
		return nil
	}
	return inputErrorf("resume", "the checkpoint in %s was written when -augment drew its batches in another order than now: resumed, the run would continue on other batches than it started with; start again with -force", filepath.Join(s.dir, CheckpointDir))
}

func (s *session) loop(backend backends.Backend, opts Options) (*Summary, error) {
	spe := s.ds.NumBatches()
	loop := train.NewLoop(s.trainer)
	start := loop.LoopStep
	s.ds.Seek(start)
	s.step, s.lastGood = start, -1
	if start > 0 {
		s.lastGood = start
	}
	s.keepMetricsUpTo(start)
	if start > 0 {
		fmt.Fprintf(s.log, "resumed %s at step %d of %d (epoch %d)\n", s.dir, start, s.totalSteps, start/spe+1)
	}
	if opts.Progress != nil {
		s.progress = attachProgress(loop, opts.Progress, s.totalSteps)
	}
	s.started, s.lastSave = time.Now(), time.Now()
	loop.OnStep("tsam.run", 100, s.onStep)
	if start < s.totalSteps {
		if _, err := loop.RunToGlobalStep(s.ds, s.totalSteps); err != nil {
			s.progress.clear() // the error message that follows starts on a clean line
			var div *DivergedError
			if errors.As(err, &div) {
				return nil, s.markDiverged(div)
			}
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

// finish writes the final checkpoint (when the last step did not), summary and curves.
func (s *session) finish(backend backends.Backend, step int) error {
	if len(s.metrics) == 0 || s.metrics[len(s.metrics)-1].Step != step {
		if err := s.endEpoch(step, true); err != nil {
			return err
		}
	}
	s.summary = newSummary(s.cfg, s.metrics, s.sessions, backend, s.wallSeconds(), step, s.totalSteps, s.fullSteps)
	return atomicfile.WriteJSON(filepath.Join(s.dir, SummaryFile), s.summary)
}
