package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toyFast trims the toy run for tests: fewer nodes and steps, same figures.
var toyFast = []string{"-quad", "64", "-steps", "200", "-t", "0,1,20"}

func TestToyWritesFiguresAndSummaries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if code := runMain(append([]string{"toy", "-out", dir}, toyFast...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"fig1.png", "fig3.png", "fig4.png"} {
		checkPNG(t, filepath.Join(dir, name), 400, 300)
	}
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var summary struct {
		Fig1 []struct {
			Objective string
			Final     struct{ Theta, Curvature float64 }
		}
		Fig3 []struct {
			Rho float64
			SAM struct{ Theta float64 }
		}
	}
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if len(summary.Fig1) != 5 || summary.Fig1[0].Objective != "ERM" || summary.Fig1[4].Objective != "TSAM t=20" {
		t.Errorf("Figure 1 runs: %+v", summary.Fig1)
	}
	if len(summary.Fig3) != 5 || summary.Fig3[4].Rho != 0.8 {
		t.Errorf("Figure 3 rows: %+v", summary.Fig3)
	}
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil || !strings.Contains(string(md), "| TSAM t=1 |") {
		t.Errorf("summary.md: %v\n%s", err, md)
	}
	if !strings.Contains(stdout.String(), "wrote fig1.png") {
		t.Errorf("stdout: %s", stdout.String())
	}
}

func TestToyBadFlags(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "afile")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	cases := []struct {
		args []string
		flag string
	}{
		{[]string{"-t", "0,-1"}, "-t"},
		{[]string{"-t", "NaN"}, "-t"},
		{[]string{"-t", ""}, "-t"},
		{[]string{"-rho", "-0.1"}, "-rho"},
		{[]string{"-rho", "NaN"}, "-rho"},
		{[]string{"-fig3-rho", "0.2,-1"}, "-fig3-rho"},
		{[]string{"-fig3-t", "-0.01"}, "-fig3-t"},
		{[]string{"-lr", "0"}, "-lr"},
		{[]string{"-steps", "0"}, "-steps"},
		{[]string{"-quad", "0"}, "-quad"},
		{[]string{"-sign", "2"}, "-sign"},
		{[]string{"-start", "3"}, "-start"},
		{[]string{"-sigma", "Inf"}, "-sigma"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := runMain(append([]string{"toy", "-out", out}, c.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.flag+":") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", c.args, code, stderr.String(), c.flag)
		}
	}
	for _, args := range [][]string{{"toy", "-out", file}, {"toy"}} {
		var stdout, stderr bytes.Buffer
		if code := runMain(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-out:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming -out", args, code, stderr.String())
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a rejected run created the output folder")
	}
}
