// Package sam provides Tilted Sharpness-Aware Minimization (TSAM, Li, Zhou and Bilmes, ICML
// 2025) and the sharpness-aware baselines ERM, SAM, ASAM, ESAM1, ESAM2, PGN and RSAM as GoMLX
// optimizers. Each step is one compiled graph: the extra passes at perturbed weights θ+ε are
// built into the train-step graph by re-running the model with the trainable variables set
// to θ+ε, and the aggregated gradient is handed to a base optimizer (SGD with momentum 0.9
// and weight decay 5e-4 by default; GoMLX's Adam/AdamW, or any optimizer with
// UpdateGraphWithGradients, through NewWithBase).
//
// Using TSAM is as short as using SGD:
//
//	opt, err := sam.New(sam.DefaultConfig(sam.TSAM)) // s=3, t=20, δ=t/2, ρ=0.05, r=20
//	if err != nil { return err }
//	trainer := sam.NewTrainer(backend, ctx, modelFn, opt.Loss(), opt, nil, nil)
//	loop := train.NewLoop(trainer)
//	_, err = loop.RunSteps(ds, 1000)
//
// sam.NewTrainer is train.NewTrainer with the model and loss functions wrapped (Optimizer.Wrap)
// so the optimizer sees each step's inputs and labels; opt.Loss() is cross-entropy with label
// smoothing 0.1 (any train.LossFn works).
//
// Configuration: Config holds every hyperparameter with the paper's defaults
// (DefaultConfig), Validate refuses bad values at construction, and ToContext / FromContext
// store and read them as context parameters ("sam_method", "sam_t", ...) so command lines and
// checkpoints carry them. GradEvalsPerStep and ESAM1Steps express ESAM1's equal budget.
//
// Per-step statistics (loss at θ, losses at each θ+ε_j, their tilted weights, effective
// sample size, HMC acceptance rate, gradient evaluations, t) are variables in StatsScope,
// updated by every train step; ReadStats returns them as float64.
//
// Side effects of the extra passes: batch-norm running averages (and every other
// non-trainable variable) are moved by the clean pass at θ only, which train.Trainer runs
// for every method; the extra passes restore them. Dropout: every pass of a step starts from
// the RNG state the clean pass started from, so all passes of one step use the same dropout
// masks (the same sub-network is perturbed and differentiated); the samplers' own random
// draws advance the context RNG, so runs are reproducible from the context seed
// (context.ParamInitialSeed) and checkpoints carry the RNG state.
//
// docs/OPTIMIZERS.md gives each method's exact update and the benchmark numbers.
package sam
