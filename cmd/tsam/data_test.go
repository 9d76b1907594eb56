package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeQuestions writes a 6-class question set with string labels: train.tsv (with a
// byte-order mark), an unlabelled test.tsv as GLUE ships them, and a labelled dev.tsv.
func writeQuestions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	labels := []string{"NUM", "LOC", "HUM", "DESC", "ENTY", "ABBR"}
	words := []string{"how many", "where is", "who was", "what is", "which animal", "what does"}
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString("label\tsentence\n")
		for i := range n {
			fmt.Fprintf(&b, "%s\t%s thing %d ?\n", labels[i%6], words[i%6], i)
		}
		return b.String()
	}
	for name, text := range map[string]string{
		"train.tsv": "\ufeff" + rows(96),
		"dev.tsv":   rows(12),
		"test.tsv":  "index\tsentence\n0\twhere is it ?\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTrainOwnTSV trains a transformer on a user's 6-class TSV with string labels through
// the CLI: the run folder records the label mapping and the log names the data set; then
// the finished run is extended by an epoch with -resume.
func TestTrainOwnTSV(t *testing.T) {
	dir := writeQuestions(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "-data", "tsv", "-data-dir", dir, "-model", "transformer", "-method", "erm",
		"-optimizer", "adam", "-lr", "0.001", "-batch", "16", "-epochs", "1", "-val", "0", "-out", out}
	code, stdout, stderr := tsamCLI(args...)
	if code != 0 {
		t.Fatalf("tsam %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if !strings.Contains(stdout, "data tsv:"+filepath.Base(dir)+"/train: 96 training, 0 validation, 12 test examples") ||
		!strings.Contains(stdout, "6 classes: ABBR, DESC, ENTY, HUM, LOC, NUM") {
		t.Errorf("log does not name the data set, its sizes and classes:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "classes.json"))
	var classes []string
	if err != nil || json.Unmarshal(b, &classes) != nil || !slices.Equal(classes, []string{"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}) {
		t.Fatalf("classes.json: %s %v", b, err)
	}
	code, stdout, stderr = tsamCLI("train", "-resume", "-epochs", "2", "-out", out)
	if code != 0 || !strings.Contains(stdout, "done: 12 steps") {
		t.Fatalf("extending by an epoch: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestTrainTSVInputErrors checks that bad text data is a usage error (exit 2) naming the
// file, the line and the fix, and that no run folder is created.
func TestTrainTSVInputErrors(t *testing.T) {
	dir := writeQuestions(t)
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "train.tsv"), []byte("label\tsentence\nA\tcaf\xe9\nB\tok\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "dev.tsv"), []byte("label\tsentence\nA\tok\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-data", "tsv", "-data-dir", bad}, "train.tsv:2: invalid UTF-8"},
		{[]string{"-data", "sst2", "-data-dir", filepath.Join(dir, "train.tsv")}, "use the data set tsv"},
		{[]string{"-data", "tsv", "-data-dir", t.TempDir()}, "holds no train.tsv"},
	}
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "-model", "transformer", "-out", out}, c.args...)
		code, _, stderr := tsamCLI(args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("tsam %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("tsam %s created %s", strings.Join(args, " "), out)
		}
	}
}
