// Package shareddata finds the project's test data kept outside the repository
// (../shared/data relative to the module root). A user's fresh clone has none: tests call
// sharedtest.Require, which skips with a message saying what is missing.
package shareddata

import (
	"os"
	"path/filepath"
)

// Dir returns the shared data folder: $TSAM_SHARED_DATA if set, else ../shared/data beside
// the module root found by walking up from the working directory to go.mod. ok is false
// when the folder does not exist.
func Dir() (dir string, ok bool) {
	if d := os.Getenv("TSAM_SHARED_DATA"); d != "" {
		return d, isDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir = filepath.Join(filepath.Dir(d), "shared", "data")
			return dir, isDir(dir)
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
