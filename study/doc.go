// Package study runs the paper's experiments as a resumable grid of training runs and
// writes the report that sets each result next to the paper's number or claim.
//
// # Plans
//
// A Plan has Cells (a run.Config each, trained once per seed), Picks (the candidate of a
// tuning group with the best mean final validation accuracy, trained for more seeds) and
// Sections (the tables and figures of the report, each naming its rows and how its claim is
// judged, see Kinds). Plans() has three: Smoke (every method and sampler for a few steps on
// an MNIST subset, for tests and CI; marked Smoke, so its report says "no verdict (smoke plan)"
// instead of judging claims on 8-step runs), Paper (the paper's Tables 1–5, Figs. 2, 5, 7, 8, the
// Hessian spectrum and Table 3 at 2-core scale in short runs) and Noisy (the same tables with
// a small CNN trained until ERM has memorised its noisy labels, the regime the paper's
// label-noise gains come from; about 9.6 hours). Estimate gives a plan's compute per section.
// Execute trains the tuning candidates first, then the picks' seeds, then the other cells:
// a plan stopped part-way has its tuned comparison (the noisy plan's main column) complete.
// Paper and Noisy read CIFAR-10 and SST-2 from the project's shared data folder (../shared/data beside
// the module root, or $TSAM_SHARED_DATA); its absolute path is part of those runs'
// configuration, so keep running the study from a checkout whose shared folder is at the
// same place.
//
//	p, _ := study.Lookup("paper")
//	out, err := study.Execute(p, "runs/study-paper", study.Options{Log: os.Stdout, Publish: "docs"})
//
// # Study folder
//
//	DIR/runs/<cell or pick>-s<seed>/   a run folder (package run's contract) plus
//	    study.json                     Mark: plan, row, seed, configuration and its Fingerprint
//	    study-eval.json                EvalRecord: sharpness measurements (rows with Eval)
//	DIR/report/RESULTS.md, results.json, *.png
//	DIR/study.lock                     the process id of the study running in DIR
//
// # Resuming and never mixing
//
// Execute decides per run folder from its files alone: a summary of the planned
// configuration means done (skipped), a checkpoint means resume (run.Options.Resume), and
// anything else starts the run afresh. study.json is written atomically before a run
// starts, and run writes its checkpoints, metrics and summary atomically, so a study killed
// at any moment loses at most the run in progress since its last checkpoint (run writes
// one every epoch and every Config.CheckpointEvery). A folder whose study.json, config.json
// or summary.json holds another configuration than the plan's — the plan was edited, a
// tuning choice changed, someone trained into it by hand — is refused before anything is
// trained, naming the folder and the first field that differs: the study never reuses or
// extends a run of another configuration. Delete or move such folders (or study into a new
// DIR) to retrain them. The Fingerprint covers every result-changing field of run.Config,
// MaxSteps included; Backend and CheckpointEvery are left out. Measurements are redone when
// the EvalSpec or the run's final weights change. DIR/study.lock refuses a second process
// studying the same DIR (a lock left by a killed study is taken over).
//
// # Report
//
// Collect reads every number from the run folders (summary.json, metrics.jsonl,
// study-eval.json; a measurement of another EvalSpec or of other weights is left out) and
// judges each section's claim: a plan with Paired (noisy) compares accuracy, and Fig. 2's
// flatness, the Hessian's λ1 and Table 3's objectives, paired by seed with Holm's correction
// within a claim (PairedRule: 95% intervals, seeds an inconclusive comparison would need);
// the sharpness tables show each mean ± its standard error over seeds with the runs'
// Monte-Carlo standard errors. A plan with MemoriseTrainAcc lists every ERM run's final
// noisy-train accuracy of a label-noise section against the threshold (and in the summary
// table) and leaves a section whose ERM runs fell short unjudged. A partial report says per
// section how many of its runs have finished ("not run yet" when none), and in its header
// what the finished runs took against their estimate. A Smoke plan gives no verdicts, and
// the rest use VerdictRule; the paper's numbers are PaperClaims, the only literal result
// numbers in the package. WriteReport writes
// RESULTS.md, results.json and the figures; Options.Publish writes a copy as
// PUBLISH/RESULTS.md with its files in PUBLISH/results/.
package study
