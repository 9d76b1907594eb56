package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tsamgo/tsam/study"
)

const studyUsage = `Runs a plan of tsam train runs (and tsam eval measurements) into -out, then writes the
report: OUT/report/RESULTS.md, results.json and the figures. Every run lives in
OUT/runs/<cell>-s<seed>; a finished run is skipped and a checkpointed one resumed, so a killed
study loses at most the run in progress since its last checkpoint: start the same command
again. A run folder trained with another configuration than the plan's is never reused: the
study stops before training anything and names it (delete or move it, or use a new -out).

Plans: smoke (every method and sampler, a few steps on MNIST, minutes), paper (the paper's
tables and figures at 2-core scale, short runs, about 4 hours) and noisy (the same tables
trained to the end of label-noise memorisation with a small CNN, about 9.6 hours); -dry-run
prints a plan's estimate.

  tsam study -plan smoke -out runs/study-smoke
  tsam study -plan noisy -out runs/study-noisy -dry-run      (list the runs and the estimate)
  tsam study -plan paper -out runs/study-paper -publish docs (also write docs/RESULTS.md and docs/results/)
  tsam study -plan paper -out runs/study-paper -report-only  (report what has finished so far)

See the study package documentation (go doc ./study).`

func init() {
	register("study", "run a resumable grid of training runs and write the paper-style report", cmdStudy)
}

func cmdStudy(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("study", studyUsage, stderr)
	planName := fs.String("plan", "", "plan to run: "+strings.Join(study.PlanNames(), " or "))
	out := fs.String("out", "", "study folder (runs/ and report/ go inside)")
	reportDir := fs.String("report-dir", "", "folder for the report (default OUT/report)")
	publish := fs.String("publish", "", "also write PUBLISH/RESULTS.md and PUBLISH/results/ (e.g. docs)")
	dryRun := fs.Bool("dry-run", false, "list the runs and the time estimate; train nothing")
	reportOnly := fs.Bool("report-only", false, "write the report from the runs that exist; train and measure nothing")
	quiet := fs.Bool("quiet", false, "no per-step progress line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *planName == "" {
		return badFlag("plan", "name a plan: %s", strings.Join(study.PlanNames(), " or "))
	}
	plan, err := study.Lookup(*planName)
	if err != nil {
		return badFlag("plan", "%v", err)
	}
	if *out == "" {
		return badFlag("out", "name the study folder, e.g. -out study-%s", *planName)
	}
	if st, err := os.Stat(*out); err == nil && !st.IsDir() {
		return badFlag("out", "%s is a file; name a folder", *out)
	}
	opts := study.Options{Log: stdout, DryRun: *dryRun, ReportOnly: *reportOnly, ReportDir: *reportDir, Publish: *publish, Command: studyCommand(*planName, *out, *publish)}
	if !*quiet && isTerminal(stderr) {
		opts.Progress = stderr // a log file gets no carriage returns or escape codes
	}
	res, err := study.Execute(plan, *out, opts)
	if err != nil {
		return err
	}
	return studyOutcome(res, stdout)
}

// studyCommand is the command line quoted in the report to regenerate it.
func studyCommand(plan, out, publish string) string {
	cmd := fmt.Sprintf("tsam study -plan %s -out %s", plan, out)
	if publish != "" {
		cmd += " -publish " + publish
	}
	return cmd
}

// studyOutcome prints the counts; runs that crashed make the command fail (status 1),
// after the report has been written.
func studyOutcome(res *study.Outcome, stdout io.Writer) error {
	fmt.Fprintf(stdout, "study: %d trained, %d resumed, %d skipped, %d measured, %d not completed\n",
		res.Trained, res.Resumed, res.Skipped, res.Measured, len(res.Failures))
	crashed := 0
	for _, f := range res.Failures {
		if !f.Unavailable {
			crashed++
		}
	}
	if crashed > 0 {
		return fmt.Errorf("%d run(s) or measurement(s) failed; see the report's last section, fix the cause and run the same command again", crashed)
	}
	return nil
}
