package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/tsamgo/tsam/run"
	"github.com/tsamgo/tsam/sam"
)

// TestTSAMDefaultsTrainLikeSAM: at its defaults (the same in tsam train and the library:
// a relative random start r = 0.1) TSAM trains at least as fast as SAM in its first epoch on
// two model sizes, 51k and 670k parameters. An absolute radius cannot do that for every
// model: the former default r = 5 stopped a text transformer from training.
func TestTSAMDefaultsTrainLikeSAM(t *testing.T) {
	lib, cli := sam.DefaultConfig(sam.TSAM), run.DefaultConfig()
	if lib.R != cli.R || lib.RRelative != cli.RRelative || !cli.RRelative {
		t.Fatalf("library r = %v (relative %v), tsam train r = %v (relative %v): one relative default wanted", lib.R, lib.RRelative, cli.R, cli.RRelative)
	}
	for _, model := range []string{"mlp-64", "mlp-512-512"} {
		acc := map[string]float64{}
		for _, method := range []string{"sam", "tsam"} {
			dir := filepath.Join(t.TempDir(), method)
			var stdout, stderr bytes.Buffer
			args := []string{"train", "-method", method, "-model", model, "-epochs", "1", "-subset", "3000", "-batch", "64", "-out", dir}
			if code := runMain(args, &stdout, &stderr); code != 0 {
				t.Fatalf("%s %s: exit %d: %s", model, method, code, stderr.String())
			}
			r, err := run.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			acc[method] = r.Summary.Final.TestAcc
		}
		t.Logf("%s, first epoch: SAM %.4f, TSAM %.4f", model, acc["sam"], acc["tsam"])
		if acc["tsam"] < acc["sam"]-0.01 {
			t.Errorf("%s: TSAM at its defaults reached %.4f after one epoch, SAM %.4f", model, acc["tsam"], acc["sam"])
		}
	}
}

// TestTrainLRDefaultFollowsTheOptimizer: -optimizer adam without -lr trains at Adam's 0.001,
// not SGD's 0.05; an explicit -lr wins; ASAM without -rho gets its own ρ.
func TestTrainLRDefaultFollowsTheOptimizer(t *testing.T) {
	for _, c := range []struct {
		args    []string
		lr, rho float64
	}{
		{[]string{"-optimizer", "adam"}, 0.001, 0.05},
		{[]string{"-optimizer", "adamw", "-lr", "0.02"}, 0.02, 0.05},
		{[]string{}, run.DefaultConfig().LR, 0.05},
		{[]string{"-method", "asam"}, run.DefaultConfig().LR, 0.5},
		{[]string{"-method", "asam", "-rho", "1"}, run.DefaultConfig().LR, 1},
	} {
		cfg, _, err := parseTrainFlags(c.args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LR != c.lr || cfg.Rho != c.rho {
			t.Errorf("%v: lr %v, ρ %v; want %v, %v", c.args, cfg.LR, cfg.Rho, c.lr, c.rho)
		}
	}
}

// TestBudgetAndSamplerFlagsApply: -budget tsam lets a baseline read the TSAM flags that size
// its budget; -budget with TSAM itself, -naive without the naive sampler and -s without a
// budget are refused.
func TestBudgetAndSamplerFlagsApply(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-method", "pgn", "-budget", "tsam", "-s", "5", "-r", "0.2"}, true},
		{[]string{"-method", "pgn", "-s", "5"}, false},
		{[]string{"-method", "tsam", "-budget", "tsam"}, false},
		{[]string{"-method", "tsam", "-sampler", "naive", "-naive", "mu"}, true},
		{[]string{"-method", "tsam", "-naive", "mu"}, false},
	} {
		_, _, err := parseTrainFlags(c.args, &bytes.Buffer{})
		if (err == nil) != c.ok {
			t.Errorf("%v: error %v, want ok = %v", c.args, err, c.ok)
		}
	}
}
