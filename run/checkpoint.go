package run

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/tsamgo/tsam/internal/atomicfile"
)

// CheckpointDir is the name of the GoMLX checkpoint folder inside a run folder.
const CheckpointDir = "checkpoint"

// stagingDir is where GoMLX writes a new checkpoint before it is moved into CheckpointDir.
// GoMLX's Handler.Save writes its .bin and .json files in place, without syncing, so a
// process killed mid-write would leave a truncated newest checkpoint that the loader picks
// first. Writing into this sub-folder (the loader ignores sub-folders), syncing, and then
// renaming the .bin and finally the .json (the loader lists checkpoints by their .json)
// makes each checkpoint appear all at once.
const stagingDir = ".staging"

// keepCheckpoints is how many checkpoints stay in CheckpointDir: the newest and one more,
// in case the newest is damaged by something other than our own writes.
const keepCheckpoints = 2

// checkpointHook, when set (tests only), is called at each stage of a checkpoint write.
var checkpointHook func(stage string)

// saver writes atomic GoMLX checkpoints of a context into a run folder.
type saver struct {
	handler *checkpoints.Handler
	dir     string // the run's CheckpointDir
	staging string
}

// newSaver prepares saving ctx into runDir/checkpoint. Leftovers of a killed write are removed.
func newSaver(ctx *context.Context, runDir string) (*saver, error) {
	dir := filepath.Join(runDir, CheckpointDir)
	staging := filepath.Join(dir, stagingDir)
	if err := os.RemoveAll(staging); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, err
	}
	h, err := checkpoints.Build(ctx).Dir(staging).Keep(-1).Done()
	if err != nil {
		return nil, fmt.Errorf("preparing checkpoints in %s: %w", dir, err)
	}
	return &saver{handler: h, dir: dir, staging: staging}, nil
}

// save writes a checkpoint of the context's current variables and parameters.
func (s *saver) save() error {
	if err := s.handler.Save(); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	staged, err := s.handler.ListCheckpoints()
	if err != nil || len(staged) != 1 {
		return fmt.Errorf("writing checkpoint: expected one staged checkpoint in %s, found %d (%v)", s.staging, len(staged), err)
	}
	hook("staged")
	src := filepath.Join(s.staging, staged[0])
	for _, suffix := range []string{checkpoints.BinDataSuffix, checkpoints.JsonNameSuffix} {
		if err := syncFile(src + suffix); err != nil {
			return err
		}
	}
	existing, err := listCheckpoints(s.dir)
	if err != nil {
		return err
	}
	dst := filepath.Join(s.dir, checkpointName(nextCheckpointNumber(existing), staged[0]))
	if err := os.Rename(src+checkpoints.BinDataSuffix, dst+checkpoints.BinDataSuffix); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	hook("bin-moved")
	if err := os.Rename(src+checkpoints.JsonNameSuffix, dst+checkpoints.JsonNameSuffix); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	atomicfile.SyncDir(s.dir)
	hook("done")
	return prune(s.dir, keepCheckpoints)
}

func hook(stage string) {
	if checkpointHook != nil {
		checkpointHook(stage)
	}
}

var checkpointNumber = regexp.MustCompile(`^checkpoint-n(\d+)-`)

// checkpointName renames a staged checkpoint with number n, keeping GoMLX's naming
// (checkpoint-nNNNNNNN-...) so that its loader still takes the newest as the last in order.
func checkpointName(n int, staged string) string {
	rest := checkpointNumber.ReplaceAllString(staged, "")
	return fmt.Sprintf("checkpoint-n%07d-%s", n, rest)
}

func nextCheckpointNumber(existing []string) int {
	next := 0
	for _, name := range existing {
		if m := checkpointNumber.FindStringSubmatch(name); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil && v >= next {
				next = v + 1
			}
		}
	}
	return next
}

// listCheckpoints returns the base names of the complete checkpoints in dir, oldest first.
func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasPrefix(n, "checkpoint-") && strings.HasSuffix(n, checkpoints.JsonNameSuffix) {
			names = append(names, strings.TrimSuffix(n, checkpoints.JsonNameSuffix))
		}
	}
	sort.Strings(names)
	return names, nil
}

// prune removes all but the newest keep checkpoints: the .json first, so that a prune cut
// short never leaves a listed checkpoint without its data. It also removes any .bin
// without its .json, left by a process killed while pruning or before a checkpoint's
// .json was moved in: no loader can reach it, and it would stay forever otherwise.
func prune(dir string, keep int) error {
	names, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	if err := removeOrphanData(dir, names); err != nil {
		return err
	}
	for len(names) > keep {
		base := filepath.Join(dir, names[0])
		if err := os.Remove(base + checkpoints.JsonNameSuffix); err != nil {
			return err
		}
		if err := os.Remove(base + checkpoints.BinDataSuffix); err != nil && !os.IsNotExist(err) {
			return err
		}
		names = names[1:]
	}
	return nil
}

// loadCheckpoint loads the newest checkpoint of runDir into ctx (variables are handed over
// lazily, as the graph asks for them). A damaged checkpoint is an *InputError for flag.
func loadCheckpoint(ctx *context.Context, runDir, flag string) (*checkpoints.Handler, error) {
	dir := filepath.Join(runDir, CheckpointDir)
	names, err := listCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, inputErrorf(flag, "no checkpoint in %s", dir)
	}
	h, err := checkpoints.Load(ctx).Dir(dir).Done()
	if err != nil {
		newest := filepath.Join(dir, names[len(names)-1])
		return nil, inputErrorf(flag, "checkpoint %s is damaged (%v): delete its .json and .bin files to fall back to the previous checkpoint, or start the run again with -force", newest, err)
	}
	// GoMLX marks variables it creates from a checkpoint trainable; the RNG state must not
	// be (its creator only sets that when it makes the variable itself).
	if v := ctx.GetVariableByScopeAndName(context.RootScope, context.RNGStateVariableName); v != nil {
		v.SetTrainable(false)
	}
	return h, nil
}

// removeOrphanData removes the checkpoint .bin files in dir whose checkpoint (listed in
// names) has no .json.
func removeOrphanData(dir string, names []string) error {
	listed := map[string]bool{}
	for _, n := range names {
		listed[n] = true
	}
	bins, err := filepath.Glob(filepath.Join(dir, "checkpoint-*"+checkpoints.BinDataSuffix))
	if err != nil {
		return err
	}
	for _, b := range bins {
		if !listed[strings.TrimSuffix(filepath.Base(b), checkpoints.BinDataSuffix)] {
			if err := os.Remove(b); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
