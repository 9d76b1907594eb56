package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTrain is a run of two steps on 64 MNIST examples.
var tinyTrain = []string{"-method", "erm", "-subset", "64", "-batch", "32", "-epochs", "1", "-val", "0.01", "-max-steps", "2"}

// tsam runs the CLI in-process and returns its exit status, stdout and stderr.
func tsamCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runMain(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestTrainBadFlags checks that each bad value exits with status 2, names its flag, and
// creates no output folder.
func TestTrainBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		flag string
	}{
		{[]string{"-lr", "-1"}, "-lr"},
		{[]string{"-lr", "NaN"}, "-lr"},
		{[]string{"-t", "3e38"}, "-t"},
		{[]string{"-method", "erm", "-t", "50"}, "-t"},
		{[]string{"-method", "sam", "-sampler", "hmc"}, "-sampler"},
		{[]string{"-method", "tsam", "-lambda", "0.5"}, "-lambda"},
		{[]string{"-hmc-steps", "3"}, "-hmc-steps"},
		{[]string{"-optimizer", "adam", "-momentum", "0.5"}, "-momentum"},
		{[]string{"-method", "adamsam"}, "-method"},
		{[]string{"-optimizer", "rmsprop"}, "-optimizer"},
		{[]string{"-epochs", "0"}, "-epochs"},
		{[]string{"-batch", "0"}, "-batch"},
		{[]string{"-t", "4", "-delta", "5"}, "-delta"},
		{[]string{"-s", "0"}, "-s"},
		{[]string{"-noise", "1.5"}, "-noise"},
		{[]string{"-val", "0.95"}, "-val"},
		{[]string{"-sampler", "gibbs"}, "-sampler"},
		{[]string{"-t-schedule", "cosine"}, "-t-schedule"},
		{[]string{"-checkpoint-every", "0s"}, "-checkpoint-every"},
		{[]string{"-model", "resnet21"}, "-model"},
		{[]string{"-model", "mlp-0"}, "-model"},
		{[]string{"-model", "transformer"}, "-model"},
		{[]string{"-data", "imagenet"}, "-data"},
		{[]string{"-backend", "tpu"}, "-backend"},
		{[]string{"-backend", "xla:/nonexistent/pjrt_plugin.so"}, "xla"}, // rebuild with -tags xla, or (tagged) the missing path
		{[]string{"-subset", "100000"}, "-subset"},
		{[]string{"-resume", "-force"}, "-force"},
		{[]string{"-epochs", "two"}, "-epochs"},
		{[]string{"stray"}, "stray"},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "-out", out}, c.args...)
		code, _, stderr := tsamCLI(args...)
		if code != 2 || !strings.Contains(stderr, c.flag) {
			t.Errorf("tsam %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(args, " "), code, stderr, c.flag)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("tsam %s created %s", strings.Join(args, " "), out)
		}
	}
}

// TestTrainMissingDataset checks that a missing data set exits 2 with how to get it.
func TestTrainMissingDataset(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct{ data, hint string }{
		{"mnist", "go mod download"},
		{"fashion-mnist", "apt-get install dataset-fashion-mnist"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := tsamCLI(append([]string{"train", "-data", c.data, "-data-dir", empty, "-out", out}, tinyTrain...)...)
		if code != 2 || !strings.Contains(stderr, "-data-dir") || !strings.Contains(stderr, c.hint) {
			t.Errorf("%s from an empty folder: exit %d, stderr %q; want exit 2 naming -data-dir and %q", c.data, code, stderr, c.hint)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("a failed start created %s", out)
		}
	}
}

// TestTrainOutputFolderRules: a non-empty folder is refused without touching it, -force
// replaces the run's files (and leaves others), -resume refuses changed hyperparameters,
// and a damaged checkpoint is refused without touching anything.
func TestTrainOutputFolderRules(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	os.MkdirAll(out, 0o755)
	notes := filepath.Join(out, "notes.txt")
	os.WriteFile(notes, []byte("mine"), 0o644)
	code, _, stderr := tsamCLI(append([]string{"train", "-out", out}, tinyTrain...)...)
	if code != 2 || !strings.Contains(stderr, "-out") || !strings.Contains(stderr, "not empty") {
		t.Fatalf("non-empty -out: exit %d, stderr %q; want exit 2 saying it is not empty", code, stderr)
	}
	if code, _, stderr = tsamCLI(append([]string{"train", "-force", "-out", out}, tinyTrain...)...); code != 0 {
		t.Fatalf("-force: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(notes); string(b) != "mine" {
		t.Errorf("-force touched a file that is not part of the run")
	}

	code, _, stderr = tsamCLI("train", "-resume", "-lr", "0.5", "-out", out)
	if code != 2 || !strings.Contains(stderr, "-lr") || !strings.Contains(stderr, "differs") {
		t.Errorf("-resume with another -lr: exit %d, stderr %q; want exit 2 naming -lr", code, stderr)
	}

	bins, _ := filepath.Glob(filepath.Join(out, "checkpoint", "checkpoint-*.bin"))
	if len(bins) == 0 {
		t.Fatal("no checkpoint written")
	}
	newest := bins[len(bins)-1]
	if err := os.WriteFile(newest, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := folderContents(t, out)
	code, _, stderr = tsamCLI("train", "-resume", "-out", out)
	if code != 2 || !strings.Contains(stderr, "-resume") || !strings.Contains(stderr, "damaged") {
		t.Errorf("-resume from a damaged checkpoint: exit %d, stderr %q; want exit 2 naming -resume", code, stderr)
	}
	if after := folderContents(t, out); len(after) != len(before) {
		t.Errorf("a refused resume changed the folder: %d files before, %d after", len(before), len(after))
	} else {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("a refused resume changed %s", k)
			}
		}
	}
}

// folderContents maps every file under dir to its content.
func folderContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompareBadInput: no folders, or a folder without a run, exit 2.
func TestCompareBadInput(t *testing.T) {
	if code, _, stderr := tsamCLI("compare"); code != 2 || !strings.Contains(stderr, "run folders") {
		t.Errorf("compare without folders: exit %d, stderr %q", code, stderr)
	}
	empty := t.TempDir()
	if code, _, stderr := tsamCLI("compare", empty); code != 2 || !strings.Contains(stderr, "does not hold a tsam run") {
		t.Errorf("compare of an empty folder: exit %d, stderr %q", code, stderr)
	}
}

// TestTrainDiverged: a run whose loss blows up exits with status 3 and a message naming
// the step and the fix, and leaves no run behind (it had no checkpoint yet).
func TestTrainDiverged(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	args := append(append([]string{"train"}, tinyTrain...), "-lr", "1000", "-out", out)
	code, _, stderr := tsamCLI(args...)
	if code != exitDiverged || !strings.Contains(stderr, "diverged at step") || !strings.Contains(stderr, "-lr") {
		t.Errorf("exit %d, stderr %q; want exit %d naming the step and -lr", code, stderr, exitDiverged)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s should not exist after a run that diverged before its first checkpoint", out)
	}
}

// TestUsageEdges: bare tsam is a usage error (exit 2, usage on stderr), help exits 0,
// and compare -h prints one usage line.
func TestUsageEdges(t *testing.T) {
	if code, stdout, stderr := tsamCLI(); code != 2 || stdout != "" || !strings.Contains(stderr, "usage: tsam COMMAND") {
		t.Errorf("bare tsam: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, stdout, stderr)
	}
	if code, stdout, _ := tsamCLI("help"); code != 0 || !strings.Contains(stdout, "commands:") {
		t.Errorf("tsam help: exit %d, stdout %q", code, stdout)
	}
	code, _, stderr := tsamCLI("compare", "-h")
	if code != 0 || strings.Count(stderr, "usage:") != 1 || !strings.Contains(stderr, "usage: tsam compare [-out DIR] RUN_DIR...") {
		t.Errorf("compare -h: exit %d, want one usage line naming the arguments:\n%s", code, stderr)
	}
}
