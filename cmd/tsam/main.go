// Command tsam trains, evaluates and studies Tilted Sharpness-Aware Minimization (TSAM) and the
// sharpness-aware baselines on GoMLX. Each subcommand lives in its own file and registers
// itself in commands; `tsam help` lists them and `tsam CMD -h` documents each.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/tsamgo/tsam/run"
)

// command is one subcommand of tsam.
type command struct {
	summary string
	// run parses args (without the subcommand name) and does the work. A *usageError
	// (from badFlag or a flag parse failure) makes tsam exit with status 2.
	run func(args []string, stdout, stderr io.Writer) error
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("tsam: subcommand registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// usageError is bad input from the user: tsam prints it and exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badFlag returns a usage error naming the flag and what would fix it.
func badFlag(name, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf("-%s: %s", name, fmt.Sprintf(format, args...))}
}

// newFlagSet returns a FlagSet that reports parse errors as usage errors instead of exiting,
// so tests can run subcommands in-process.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	return newFlagSetArgs(name, "[flags]", usage, stderr)
}

// newFlagSetArgs is newFlagSet for a command that also takes arguments: synopsis is what
// follows the command's name on its one usage line.
func newFlagSetArgs(name, synopsis, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tsam "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tsam %s %s\n\n%s\n\nflags:\n", name, synopsis, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs, turning parse failures into usage errors. It returns
// errHelp when -h was asked for (help is printed and the exit status is 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q: all options are flags (see %s -h)", fs.Arg(0), fs.Name())}
	}
	return nil
}

var errHelp = errors.New("help requested")

// givenFlags is the set of the flags fs's command line set (by name), parsed already: a
// default a command adapts (Adam's learning rate, the measured run's radii) only where no
// flag gave a value.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tsam: Tilted Sharpness-Aware Minimization for GoMLX")
	fmt.Fprintln(w, "\nusage: tsam COMMAND [flags]   (tsam COMMAND -h for its flags)\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
}

// exitDiverged is the exit status of a training run stopped by a diverged loss (see
// run.DivergedError), distinct from bad input (2) and other failures (1).
const exitDiverged = 3

// runMain is main without os.Exit, for tests: it returns the process exit status.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// No command is a usage error, as for every other tool with subcommands: a script
		// that forgot its arguments must not look successful.
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tsam: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	var ue *usageError
	var div *run.DivergedError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tsam %s: %v\n", args[0], err)
		return 2
	case errors.As(err, &div):
		fmt.Fprintf(stderr, "tsam %s: %v\n", args[0], err)
		return exitDiverged
	default:
		fmt.Fprintf(stderr, "tsam %s: %v\n", args[0], err)
		return 1
	}
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}
