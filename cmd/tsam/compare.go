package main

import (
	"errors"
	"flag"
	"io"
	"path/filepath"

	"github.com/tsamgo/tsam/run"
)

const compareUsage = `Compares finished (or running) training runs: prints a markdown table of their final
numbers and writes it, with an overlay of their loss and accuracy curves, into -out.

  tsam compare runs/mnist-erm-seed1 runs/mnist-tsam-seed1
  tsam compare -out report runs/*`

func init() {
	register("compare", "compare run folders: markdown table and overlaid curves", cmdCompare)
}

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSetArgs("compare", "[-out DIR] RUN_DIR...", compareUsage, stderr)
	out := fs.String("out", "", "folder for compare.md and curves.png (default: compare/ beside the first run)")
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return &usageError{msg: "name the run folders to compare, e.g. tsam compare runs/a runs/b"}
	}
	if *out == "" {
		*out = filepath.Join(filepath.Dir(filepath.Clean(dirs[0])), "compare")
	}
	return asUsageError(run.Compare(dirs, *out, stdout))
}

// parseInterleaved parses flags that may come before, between or after positional
// arguments and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
