package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Files a TSV data set's splits are looked for under, first match wins.
var (
	tsvTrainFiles = []string{"train.tsv"}
	tsvDevFiles   = []string{"dev.tsv", "validation.tsv", "valid.tsv", "val.tsv"}
	tsvTestFiles  = []string{"test.tsv"}
)

// TSV loads split "train", "test" or "dev" of a user's labelled sentence data set from
// src: a folder holding train.tsv and test.tsv and/or dev.tsv (validation.tsv, valid.tsv
// and val.tsv are accepted for dev), a folder whose only subfolder holds them (as GLUE's
// SST-2/), or the training .tsv file itself, whose folder holds the others. Each file is
// read by ReadTSV (a header naming the "label" and "sentence"/"content"/"text" columns).
// The test split is test.tsv when it has a label column, else the dev file (GLUE's test
// files carry no labels). The classes are inferred from the training file, integer or
// string labels (see ReadTSV), and every other split is labelled with them, so an
// unknown label in it is an error.
func TSV(src, split string) (*Text, error) {
	dir, trainPath, err := tsvLayout(src)
	if err != nil {
		return nil, err
	}
	train, err := readTSVFile(trainPath, TSVOptions{})
	if err != nil {
		return nil, err
	}
	p := trainPath
	switch split {
	case "train":
	case "dev", "validation":
		p = firstFile(dir, tsvDevFiles)
		if p == "" {
			return nil, fmt.Errorf("%s holds no %s: add one, or train without a dev split", dir, strings.Join(tsvDevFiles, "/"))
		}
	case "test":
		if p, err = tsvTestFile(dir); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown TSV split %q: want train, dev or test", split)
	}
	t := train
	if p != trainPath {
		if t, err = readTSVFile(p, TSVOptions{ClassNames: train.ClassNames}); err != nil {
			return nil, err
		}
	}
	t.Name = "tsv:" + filepath.Base(dir) + "/" + strings.TrimSuffix(filepath.Base(p), ".tsv")
	return t, nil
}

// tsvLayout finds the folder of a TSV data set and its training file.
func tsvLayout(src string) (dir, train string, err error) {
	st, err := os.Stat(src)
	if err != nil {
		return "", "", fmt.Errorf("TSV data %s not found: pass a folder holding train.tsv and test.tsv (or dev.tsv), or the training .tsv file (%w)", src, err)
	}
	if !st.IsDir() {
		if isTarball(src) {
			return "", "", fmt.Errorf("%s is an archive: extract it and pass the folder holding train.tsv", src)
		}
		return filepath.Dir(src), src, nil
	}
	if p := firstFile(src, tsvTrainFiles); p != "" {
		return src, p, nil
	}
	if sub := subdirs(src); len(sub) == 1 {
		if p := firstFile(filepath.Join(src, sub[0]), tsvTrainFiles); p != "" {
			return filepath.Join(src, sub[0]), p, nil
		}
	}
	return "", "", fmt.Errorf("%s holds no train.tsv (nor does a single subfolder of it): pass the folder holding train.tsv, or the training .tsv file", src)
}

// tsvTestFile returns the labelled test file of dir: test.tsv with a label column, else
// the dev file.
func tsvTestFile(dir string) (string, error) {
	test := firstFile(dir, tsvTestFiles)
	if test != "" && tsvHasLabels(test) {
		return test, nil
	}
	if dev := firstFile(dir, tsvDevFiles); dev != "" {
		return dev, nil
	}
	if test != "" {
		return "", fmt.Errorf("%s has no \"label\" column and %s holds no %s to test on instead: add labels or a dev file", test, dir, strings.Join(tsvDevFiles, "/"))
	}
	return "", fmt.Errorf("%s holds no test.tsv or %s: add a labelled test or dev file next to the training file", dir, strings.Join(tsvDevFiles, "/"))
}

// tsvHasLabels reports whether the header of a TSV file names a label column.
func tsvHasLabels(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	head, _, _ := strings.Cut(strings.TrimPrefix(string(b[:n]), utf8BOM), "\n")
	return slices.Contains(strings.Split(strings.TrimRight(head, "\r"), "\t"), "label")
}

func firstFile(dir string, names []string) string {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func readTSVFile(p string, opts TSVOptions) (*Text, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadTSV(f, p, opts)
}
