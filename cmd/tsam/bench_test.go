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
	for _, args := range [][]string{{"bench"}, {"bench", "gpu"}, {"bench", "engine", "-gemm", "fast"}, {"bench", "engine", "-backend", "go", "-gemm", "go"}} {
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
