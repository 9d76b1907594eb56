package bench

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// torchStepPy is the PyTorch peer (peer/torch_step.py): embedded so that the tsam binary
// runs it from anywhere, fed to the interpreter on standard input ("python3 -").
//
//go:embed peer/torch_step.py
var torchStepPy string

// DefaultPeerPython is the interpreter of the PyTorch peer: Debian's, where python3-torch
// installs torch.
const DefaultPeerPython = "/usr/bin/python3"

// PeerStep is the PyTorch peer's timing of one model's step (medians over its timed steps).
type PeerStep struct {
	Method  string    `json:"method"`
	StepMS  float64   `json:"step_ms"`
	BestMS  float64   `json:"best_step_ms"`
	StepsMS []float64 `json:"steps_ms"`
}

// peer runs the PyTorch step script with python, threads intra-op threads.
type peer struct {
	python  string
	threads int
	version string // torch.__version__
}

// probePeer checks that python imports torch. The error says what is missing and how to
// install it.
func probePeer(python string, threads int) (*peer, error) {
	if _, err := os.Stat(python); err != nil {
		if _, lerr := exec.LookPath(python); lerr != nil {
			return nil, fmt.Errorf("no Python interpreter %s (install python3 and python3-torch, or pass -peer none)", python)
		}
	}
	p := &peer{python: python, threads: threads}
	out, err := p.run("probe", strconv.Itoa(threads))
	if err != nil {
		return nil, fmt.Errorf("%s cannot run the PyTorch peer (Debian: apt-get install python3-torch): %w", python, err)
	}
	var probe struct {
		Torch   string `json:"torch"`
		Threads int    `json:"threads"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &probe); err != nil || probe.Torch == "" {
		return nil, fmt.Errorf("%s: the PyTorch peer's probe printed %q, not its JSON line", python, out)
	}
	p.version = probe.Torch
	return p, nil
}

// Describe is the peer's line in the report, e.g. "PyTorch 1.13.0 (/usr/bin/python3), 2 threads".
func (p *peer) Describe() string {
	return fmt.Sprintf("PyTorch %s (%s), %d threads", p.version, p.python, p.threads)
}

// run runs the script with args and returns its standard output; a failure carries the
// script's standard error.
func (p *peer) run(args ...string) ([]byte, error) {
	cmd := exec.Command(p.python, append([]string{"-"}, args...)...)
	cmd.Stdin = strings.NewReader(torchStepPy)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 3 {
			msg = strings.Join(lines[len(lines)-3:], "\n")
		}
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", err, msg)
	}
	return stdout.Bytes(), nil
}

// steps times steps training steps of each method on the peer's copy of model m (methods
// interleaved round by round) and returns them in the order asked.
func (p *peer) steps(m model, steps int, methods ...string) ([]PeerStep, error) {
	if m.peer == "" {
		return nil, errors.New("no PyTorch peer model")
	}
	out, err := p.run("step", m.peer, strconv.Itoa(m.batch), strconv.Itoa(p.threads), strconv.Itoa(steps), strings.Join(methods, ","))
	if err != nil {
		return nil, fmt.Errorf("PyTorch peer, %s: %w", m.name, err)
	}
	var res []PeerStep
	for line := range strings.Lines(string(out)) {
		var r PeerStep
		if err := json.Unmarshal([]byte(line), &r); err != nil || len(r.StepsMS) != steps {
			return nil, fmt.Errorf("PyTorch peer, %s: unexpected output line %q", m.name, line)
		}
		r.StepMS, r.BestMS = median(r.StepsMS), slices.Min(r.StepsMS)
		res = append(res, r)
	}
	for i, meth := range methods {
		if i >= len(res) || res[i].Method != meth {
			return nil, fmt.Errorf("PyTorch peer, %s: wanted methods %v, got %q", m.name, methods, out)
		}
	}
	return res, nil
}
