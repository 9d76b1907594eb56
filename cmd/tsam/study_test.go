package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/study"
)

// TestStudySmokeEndToEnd runs the smoke plan through the CLI, checks every report file
// (the markdown, its figures as PNGs, results.json, the published copy), then runs it
// again: nothing trains and the report is rewritten.
func TestStudySmokeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out, docs := filepath.Join(dir, "study"), filepath.Join(dir, "docs")
	args := []string{"study", "-plan", "smoke", "-out", out, "-publish", docs, "-quiet"}
	var stdout, stderr bytes.Buffer
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "0 not completed") {
		t.Errorf("some smoke runs did not complete:\n%s", stdout.String())
	}
	plan := study.Smoke()
	checkReport(t, plan, filepath.Join(out, study.ReportDir), filepath.Join(out, study.ReportDir), "")
	checkReport(t, plan, docs, filepath.Join(docs, "results"), "results/")
	for _, c := range plan.Cells {
		for _, s := range c.Seeds {
			if _, err := run.ReadSummary(filepath.Join(out, study.RunsDir, c.Name+"-s"+strconv.FormatInt(s, 10))); err != nil {
				t.Errorf("cell %s seed %d: %v", c.Name, s, err)
			}
		}
	}

	stdout.Reset()
	if code := runMain(args, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "study: 0 trained, 0 resumed,") || !strings.Contains(stdout.String(), "0 measured") {
		t.Errorf("second run trained or measured again:\n%s", stdout.String())
	}
}

// checkReport checks RESULTS.md in mdDir and results.json and the figures in filesDir.
func checkReport(t *testing.T, plan *study.Plan, mdDir, filesDir, ref string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(mdDir, study.ResultsMD))
	if err != nil {
		t.Fatal(err)
	}
	var res study.Results
	b, err := os.ReadFile(filepath.Join(filesDir, study.ResultsJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if len(res.Sections) != len(plan.Sections) || res.Runs == 0 || res.TrainSeconds <= 0 {
		t.Fatalf("results.json: %d sections (want %d), %d runs, %gs", len(res.Sections), len(plan.Sections), res.Runs, res.TrainSeconds)
	}
	// Every planned run finished: those the tables show plus unchosen tuning candidates.
	if res.Runs+res.Unused != res.Planned {
		t.Errorf("results.json: %d runs in the tables + %d unused = %d, want the plan's %d", res.Runs, res.Unused, res.Runs+res.Unused, res.Planned)
	}
	figures := 0
	for i, s := range res.Sections {
		if s.ID != plan.Sections[i].ID || !strings.Contains(string(md), "## "+s.ID+": ") {
			t.Errorf("section %s missing from RESULTS.md", plan.Sections[i].ID)
		}
		if s.Verdict != study.SmokeVerdict {
			t.Errorf("smoke section %s has verdict %q (%s), want %q: a smoke plan judges no claim", s.ID, s.Verdict, s.Reason, study.SmokeVerdict)
		}
		for _, r := range s.Rows {
			if r.TestAcc.N == 0 || len(r.Missing) > 0 {
				t.Errorf("section %s row %s: %d runs, missing %v", s.ID, r.Label, r.TestAcc.N, r.Missing)
			}
		}
		for _, f := range s.Figures {
			figures++
			if !strings.Contains(string(md), "]("+ref+f+")") {
				t.Errorf("RESULTS.md does not link %s%s", ref, f)
			}
			checkPNG(t, filepath.Join(filesDir, f), 300, 200)
		}
	}
	// curves (fig5, fig8), flatness mean and variance (fig2), Hessian
	if !res.Smoke || !strings.Contains(string(md), "Smoke plan: no verdicts") {
		t.Errorf("RESULTS.md of the smoke plan is not marked smoke")
	}
	if figures < 5 {
		t.Errorf("%d figures, want at least 5", figures)
	}
	// Every number in a results table of ours must come from the runs: spot-check that the
	// first row of table1a shows the mean test accuracy of results.json.
	first := res.Sections[0].Rows[0]
	want := fmt.Sprintf("%.2f ± ", 100*first.TestAcc.Mean)
	if !regexp.MustCompile(`\| ` + regexp.QuoteMeta(first.Label) + ` \|[^\n]*\| ` + regexp.QuoteMeta(want)).Match(md) {
		t.Errorf("RESULTS.md's %s row does not show the test accuracy %s of results.json", first.Label, want)
	}
}

func TestStudyBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"study", "-out", "x"}, "-plan"},
		{[]string{"study", "-plan", "nope", "-out", "x"}, "unknown plan"},
		{[]string{"study", "-plan", "smoke"}, "-out"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runMain(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
