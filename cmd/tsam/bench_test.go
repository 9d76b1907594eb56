package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchEngineQuick(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"bench", "engine", "-quick", "-steps", "1", "-gemm", "go", "-peer", "none", "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "backend cpu, GEMM pure Go") || !strings.Contains(stdout.String(), "ratio to GEMM") ||
		!strings.Contains(stdout.String(), "PyTorch peer: off") || !strings.Contains(stdout.String(), "tsam s=3") {
		t.Errorf("missing backend line or table:\n%s\n%s", stderr.String(), stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Models []struct{ Name string } `json:"models"`
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Models) != 3 {
		t.Errorf("JSON %v: %s", err, data)
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{{"bench"}, {"bench", "gpu"}, {"bench", "engine", "-gemm", "fast"}, {"bench", "engine", "-backend", "go", "-gemm", "go"}, {"bench", "engine", "-model", "mlp"}} {
		var stdout, stderr bytes.Buffer
		if code := runMain(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

// TestBenchPeerMissing: an explicit -peer interpreter that does not exist fails before any
// timing, naming it.
func TestBenchPeerMissing(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"bench", "engine", "-quick", "-gemm", "go", "-peer", "/nonexistent/python3"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "/nonexistent/python3") || strings.Contains(stderr.String(), "ms/step") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

// TestBenchMethodsQuick: a tiny run prints each method's ratio to ERM and its gradient
// evaluations, and -out writes the same rows as JSON.
func TestBenchMethodsQuick(t *testing.T) {
	out := filepath.Join(t.TempDir(), "methods.json")
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"bench", "methods", "-quick", "-gemm", "go", "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "MLP 784-512-512-10 batch 64: 3 methods") || !strings.Contains(stdout.String(), "time ratio to ERM") ||
		!strings.Contains(stdout.String(), "tsam s=3") {
		t.Errorf("missing progress line or table:\n%s\n%s", stderr.String(), stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Methods []struct {
			Name      string  `json:"name"`
			GradEvals int     `json:"grad_evals"`
			TimeRatio float64 `json:"time_ratio"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(data, &res); err != nil || len(res.Methods) != 3 {
		t.Fatalf("JSON %v: %s", err, data)
	}
	if erm, tsam := res.Methods[0], res.Methods[2]; erm.Name != "erm" || erm.TimeRatio != 1 || erm.GradEvals != 1 || tsam.GradEvals != 6 || tsam.TimeRatio <= 0 {
		t.Errorf("rows %+v", res.Methods)
	}
}

// TestBenchMethodsBadFlags: each bad flag exits 2 naming the flag, before any timing, and
// writes no -out file.
func TestBenchMethodsBadFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "methods.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "vgg"}, "-model"},
		{[]string{"-steps", "-1"}, "-steps"},
		{[]string{"-gemm", "fast"}, "-gemm"},
		{[]string{"-backend", "xla", "-gemm", "go"}, "-gemm"},
		{[]string{"-peer", "none"}, "-peer"}, // the engine's flag only
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"bench", "methods", "-out", out}, tc.args...)
		if code := runMain(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "warm-up") {
			t.Errorf("%v: exit %d, want 2 naming %s (%s)", tc.args, code, tc.want, stderr.String())
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v wrote %s", tc.args, out)
		}
	}
}
