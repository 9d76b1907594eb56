package run

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tsamgo/tsam/models"
	"github.com/tsamgo/tsam/sam"
	"github.com/tsamgo/tsam/tilt"
)

// Config is everything that defines one training run. It is stored in the run folder
// (config.json and, at the end, summary.json) so that a run can be resumed and evaluated
// later. Zero values are not defaults: start from DefaultConfig.
type Config struct {
	// Data names the data set: one of DataSets.
	Data string `json:"data"`
	// DataDir holds the data set files; empty means the built-in location (see LocateData).
	DataDir string `json:"data_dir"`
	// Model names the network: any image model of models.New (mlp, cnn, resnet20, ...).
	Model string `json:"model"`
	// Head is the initialisation of the model's logits layer: "zero" (DefaultConfig's: the
	// first prediction is uniform and the loss starts at ln K) or "he" (GoMLX's He-normal,
	// as every other layer; see models.HeadHe for what it does to sharpness-aware runs).
	// Runs recorded before this option existed were "he" and have none: "" reads as "he",
	// and Canonical stores "he" as "", so their configurations and fingerprints stay.
	Head string `json:"head,omitempty"`
	// Method is the optimizer family: one of Methods.
	Method string `json:"method"`

	// Sharpness-aware hyperparameters (the paper's Algorithms 1 and 3, Eq. 8 and the baselines of its Section 5). Each method reads the ones it uses.
	T     float64 `json:"t"`     // tilt t ≥ 0
	S     int     `json:"s"`     // number of sampled perturbations
	Rho   float64 `json:"rho"`   // ascent radius ρ
	Delta float64 `json:"delta"` // sampling tilt δ ∈ [0, t]; negative means t/2 (sam.Config.Delta)
	R     float64 `json:"r"`     // radius of the random perturbation z
	// RRelative makes R relative to the weights (each variable's z has norm ≈ R·‖v‖, see
	// sam.Config.RRelative); false is an absolute radius, as every run recorded before it.
	RRelative bool    `json:"r_relative,omitempty"`
	Sampler   string  `json:"sampler"`    // TSAM sampler: practical, hmc or naive
	TSchedule string  `json:"t_schedule"` // a tilt.ScheduleKind's name: constant, linear-up or linear-down
	Lambda    float64 `json:"lambda"`     // PGN mixing weight λ
	HMCSteps  int     `json:"hmc_steps"`  // leapfrog steps N of the HMC sampler
	// Naive is where the naive sampler draws ε: "start" (the random start of radius r, as the
	// paper's public code; "" means start) or "mu" (the ρ ball). Stored only for naive runs.
	Naive string `json:"naive,omitempty"`
	// Budget "tsam" gives the method as many gradient evaluations as TSAM with the run's s,
	// sampler and r would spend in Epochs (more steps, see PlannedSteps), as the paper gave
	// ESAM1, ESAM2, PGN and RSAM TSAM's runtime (Table 5); "" trains Epochs passes. ESAM1
	// always has TSAM's budget.
	Budget string `json:"budget,omitempty"`
	// Revision is the revision of the method's update rule the run was recorded with, set by
	// Canonical (see UpdateRevision); 0 where the rule never changed, so that older runs of
	// those methods keep their configuration and fingerprint.
	Revision int `json:"revision,omitempty"`

	// Optimizer is the base optimizer the method's gradient is handed to: "" (SGD with
	// momentum and weight decay, the paper's choice; runs recorded before this option existed
	// have none), "adam" (Momentum and WeightDecay unused) or "adamw" (decoupled WeightDecay).
	// "sgd" is accepted and stored as "" (see Canonical), so that configurations stay comparable.
	Optimizer      string  `json:"optimizer,omitempty"`
	LR             float64 `json:"lr"`
	Momentum       float64 `json:"momentum"`
	WeightDecay    float64 `json:"weight_decay"`
	LabelSmoothing float64 `json:"label_smoothing"`

	Epochs int `json:"epochs"`
	// EvalEvery evaluates (and records a metrics row) after every EvalEvery-th epoch and
	// after the last one; 0 or 1 is every epoch. A run with more epochs than its method's own
	// (ESAM1, Budget "tsam") can so be evaluated as often as the runs it is compared with, at
	// the same fractions of training, instead of paying for its extra evaluations. Every
	// epoch still ends with a checkpoint.
	EvalEvery int     `json:"eval_every,omitempty"`
	Batch     int     `json:"batch"`
	Seed      int64   `json:"seed"`
	Noise     float64 `json:"noise"`  // fraction of training labels replaced by a different class
	Subset    int     `json:"subset"` // train on the first N examples (after the seeded shuffle); 0 = all
	Val       float64 `json:"val"`    // fraction of the training set held out for validation
	// TestSubset evaluates on a fixed choice of N test examples (0: all). The choice depends
	// on N and the test split only, never on Seed, so runs that are compared are compared on
	// the same examples; it is spread over the split (a seeded permutation), because test
	// folders are often sorted by class.
	TestSubset int `json:"test_subset,omitempty"`
	// Augment trains on random crops (4-pixel zero padding) and horizontal flips of the
	// images, the CIFAR recipe; validation and test images are not augmented.
	Augment bool `json:"augment,omitempty"`
	// Normalize standardises image inputs per channel with the mean and standard deviation
	// of the run's training images (after the validation hold-out and -subset); validation
	// and test images get the same transform. Runs recorded before this option existed
	// read it as false, which is how they trained.
	Normalize bool `json:"normalize,omitempty"`

	// The fields below may change when a run is resumed: they do not change its result.

	// MaxSteps stops the run after this many global steps (0: run all epochs). For tests and smoke runs.
	MaxSteps int `json:"max_steps"`
	// Backend is the GoMLX backend configuration ("" for the default).
	Backend string `json:"backend"`
	// CheckpointEvery is the wall time between checkpoints (one is also written after every epoch).
	CheckpointEvery Duration `json:"checkpoint_every"`
}

// Duration is a time.Duration that reads and writes JSON as a string like "2m0s".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", time.Duration(d).String())), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Methods lists the training methods a run accepts.
var Methods = []string{"erm", "sam", "asam", "esam1", "esam2", "pgn", "rsam", "tsam"}

// Samplers lists TSAM's samplers of perturbations (the paper's Section 4: Algorithm 3, Eq. 8, Appendix C.2).
var Samplers = []string{"practical", "hmc", "naive"}

// TSchedules lists the schedules of the tilt t over training (paper Fig. 8): the names of
// tilt.ScheduleKind.
var TSchedules = tilt.ScheduleNames()

// Optimizers lists the base optimizers ("sgd" is stored in Config.Optimizer as "").
var Optimizers = []string{"sgd", "adam", "adamw"}

// Budgets lists the values of Config.Budget ("" is the run's own Epochs).
var Budgets = []string{"", "tsam"}

// NaiveDraws lists the values of Config.Naive.
var NaiveDraws = []string{sam.NaiveStart, sam.NaiveMu}

// UpdateRevision is the revision of c's update rule: 1 for the rules that changed when the
// samplers and baselines were brought to the paper's scale (ASAM's weights-only scaling and
// ρ, TSAM's HMC sampler scaled to the dimension with leapfrog steps, naive sampling at
// radius r), 0 for every other method, whose rule never changed.
func UpdateRevision(c Config) int {
	switch {
	case c.Method == "asam", c.Method == "tsam" && (c.Sampler == "hmc" || c.Sampler == "naive"):
		return 1
	}
	return 0
}

// DataSets lists the data sets a run can load.
var DataSets = []string{"mnist", "fashion-mnist", "cifar10", "cifar100", "imagefolder", "sst2", "tsv"}

// DefaultConfig is the configuration of `tsam train` without flags: TSAM with the paper's
// hyperparameters (sam.DefaultConfig) on MNIST with an MLP 784-256-10, sized to finish in a
// few minutes on two CPU cores. Two values differ from the paper's, for this small model and
// short run (docs/TRAINING.md): learning rate 0.05 instead of 0.01 (inputs standardised), and random-start radius
// r = 5 instead of 20 (z ~ N(0, r²/d·I) has per-coordinate scale r/√d, and d is 2·10⁵ here
// against 1.1·10⁷ for the paper's ResNet-18).
func DefaultConfig() Config {
	sc := sam.DefaultConfig(sam.TSAM)
	return Config{
		Data:            "mnist",
		Model:           "mlp-256",
		Head:            models.HeadZero,
		Method:          "tsam",
		T:               sc.T,
		S:               sc.S,
		Rho:             sc.Rho,
		Delta:           -1,
		R:               sc.R,
		RRelative:       sc.RRelative,
		Sampler:         sc.Sampler,
		TSchedule:       tilt.Constant.String(),
		Lambda:          sc.PGNLambda,
		HMCSteps:        sc.HMCSteps,
		LR:              0.05,
		Momentum:        sc.Momentum,
		WeightDecay:     sc.WeightDecay,
		LabelSmoothing:  sc.LabelSmoothing,
		Epochs:          3,
		Batch:           128,
		Seed:            1,
		Val:             0.1,
		Normalize:       true,
		CheckpointEvery: Duration(2 * time.Minute),
	}
}

// InputError is bad user input: a configuration value, a missing data set, an output
// folder that cannot be used, or a corrupt checkpoint. Flag names the command-line flag
// at fault (empty when the fault is a positional argument, such as a run folder given to
// Open or Compare) and Msg says what is wrong and how to fix it. Commands exit with status 2.
type InputError struct {
	Flag string
	Msg  string
}

func (e *InputError) Error() string {
	if e.Flag == "" {
		return e.Msg
	}
	return "-" + e.Flag + ": " + e.Msg
}

func inputErrorf(flag, format string, args ...any) error {
	return &InputError{Flag: flag, Msg: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// Validate checks every field and returns an *InputError naming the first bad one. The
// method's own hyperparameters (s, sampler, λ, N, δ, …) are checked once, by
// sam.Config.Validate (see validateMethod); the checks here bound what the float32 graph
// can hold and what only a run has (data, epochs, batch, …).
func (c Config) Validate() error {
	checks := []func() error{
		func() error { return oneOf("data", c.Data, DataSets) },
		func() error { return oneOf("method", c.Method, Methods) },
		func() error { return c.validateHead() },
		func() error { return oneOf("t-schedule", c.TSchedule, TSchedules) },
		func() error { return c.validateNaive() },
		func() error { return oneOf("budget", c.Budget, Budgets) },
		func() error { return c.validateOptimizer() },
		func() error { return inRange("momentum", c.Momentum, 0, 0.9999) },
		func() error { return inRange("label-smoothing", c.LabelSmoothing, 0, 0.9999) },
		func() error { return intAtLeast("epochs", c.Epochs, 1) },
		func() error { return intAtLeast("batch", c.Batch, 1) },
		func() error { return inRange("noise", c.Noise, 0, 1) },
		func() error { return intAtLeast("subset", c.Subset, 0) },
		func() error { return intAtLeast("eval-every", c.EvalEvery, 0) },
		func() error { return intAtLeast("test-subset", c.TestSubset, 0) },
		func() error { return inRange("val", c.Val, 0, 0.9) },
		func() error { return intAtLeast("max-steps", c.MaxSteps, 0) },
		func() error {
			if c.CheckpointEvery <= 0 {
				return inputErrorf("checkpoint-every", "must be a positive duration such as 2m or 30s, got %s", time.Duration(c.CheckpointEvery))
			}
			return nil
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return validateMethod(c)
}

// schedule is the t schedule TSchedule names. Validate refuses an unknown name; "" (never
// written by this version) reads as constant.
func (c Config) schedule() tilt.ScheduleKind {
	k, _ := tilt.ParseScheduleKind(cmp.Or(c.TSchedule, tilt.Constant.String()))
	return k
}

func (c Config) validateNaive() error {
	if c.Method != "tsam" || c.Sampler != "naive" || c.Naive == "" {
		return nil // "" is the default, start (see Canonical)
	}
	return oneOf("naive", c.Naive, NaiveDraws)
}

// Canonical is the configuration as a run stores and compares it: the default base
// optimizer, SGD, named "sgd" or left empty, is recorded as "" (runs made before Optimizer
// existed have none). Train applies it; code comparing configurations (resume checks, the
// study's fingerprints) compares canonical forms.
func (c Config) Canonical() Config {
	if c.Optimizer == "sgd" {
		c.Optimizer = ""
	}
	switch {
	case c.Method != "tsam" || c.Sampler != "naive":
		c.Naive = ""
	case c.Naive == "":
		c.Naive = sam.NaiveStart
	}
	if c.EvalEvery == 1 {
		c.EvalEvery = 0 // every epoch either way
	}
	if c.Head == models.HeadHe {
		c.Head = "" // how runs recorded before Head existed read
	}
	c.Revision = UpdateRevision(c)
	return c
}

// headInit is the models.WithHeadInit value Head names ("" reads as models.HeadHe).
func (c Config) headInit() string {
	return cmp.Or(c.Head, models.HeadHe)
}

func (c Config) validateHead() error {
	if c.Head == "" {
		return nil // a run recorded before Head existed (see Canonical)
	}
	return oneOf("head", c.Head, models.HeadInits)
}

func (c Config) validateOptimizer() error {
	if c.Optimizer == "" {
		return nil
	}
	return oneOf("optimizer", c.Optimizer, Optimizers)
}

func oneOf(flag, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return inputErrorf(flag, "unknown value %q: choose one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

func inRange(flag string, v, lo, hi float64) error {
	if math.IsNaN(v) || v < lo || v > hi {
		return inputErrorf(flag, "must be between %g and %g, got %v", lo, hi, v)
	}
	return nil
}

func intAtLeast(flag string, v, lo int) error {
	if v < lo {
		return inputErrorf(flag, "must be an integer ≥ %d, got %d", lo, v)
	}
	return nil
}

// sameResult reports the first field, by flag name, in which c and other differ among
// those that change a run's result; "" when they agree. Resume uses it to refuse flags
// that would make the continued run a different experiment.
func (c Config) sameResult(other Config) string {
	a, b := c.Canonical(), other.Canonical()
	for _, x := range []*Config{&a, &b} {
		x.MaxSteps, x.Backend, x.CheckpointEvery = 0, "", 0
	}
	if a == b {
		return ""
	}
	return firstDifference(a, b)
}

// firstDifference returns the flag name of the first field in which a and b differ.
func firstDifference(a, b Config) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if va.Field(i).Interface() != vb.Field(i).Interface() {
			tag := strings.Split(va.Type().Field(i).Tag.Get("json"), ",")[0]
			return strings.ReplaceAll(tag, "_", "-")
		}
	}
	return ""
}
