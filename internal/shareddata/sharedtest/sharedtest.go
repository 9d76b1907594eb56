// Package sharedtest lets tests use the data kept outside the repository: Require skips a
// test with a message saying what is missing. It is a package of its own so that the
// testing package never links into the tsam binary (package shareddata, which the study
// uses, does not import it).
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tsamgo/tsam/internal/shareddata"
)

// Require returns the path of file inside the shared data folder, or skips the test with a
// message naming the missing file when it is absent.
func Require(t testing.TB, file string) string {
	t.Helper()
	dir, ok := shareddata.Dir()
	if !ok {
		t.Skipf("shared data folder not found (looked for ../shared/data beside the module root, or $TSAM_SHARED_DATA): %s is needed", file)
	}
	p := filepath.Join(dir, file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found: this test needs it (CI provides ../shared/data)", p)
	}
	return p
}
