package bench

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// torchStepPy is the PyTorch peer (peer/torch_step.py): embedded so that the tsam binary
// runs it from anywhere, passed to the interpreter as "python3 -c SCRIPT ARGS" (its standard
// input carries the serve mode's commands).
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
	cmd := p.command(args...)
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

// command is the interpreter running the script with args.
func (p *peer) command(args ...string) *exec.Cmd {
	return exec.Command(p.python, append([]string{"-c", torchStepPy}, args...)...)
}

// peerSession is the script's serve mode on one model: it times one step of a method each
// time it is asked, so that the Go benchmark can alternate its steps with the peer's.
type peerSession struct {
	model   string
	methods []string
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	stderr  *bytes.Buffer
	waited  bool
	waitErr error
}

// serve starts the peer's copy of model m with one stepper per method, warmed up (two
// untimed steps each), ready for step.
func (p *peer) serve(m model, methods ...string) (*peerSession, error) {
	if m.peer == "" {
		return nil, errors.New("no PyTorch peer model")
	}
	cmd := p.command("serve", m.peer, strconv.Itoa(m.batch), strconv.Itoa(p.threads), strings.Join(methods, ","))
	s := &peerSession{model: m.name, methods: methods, cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	var err error
	if s.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("PyTorch peer, %s: %w", m.name, err)
	}
	var ready struct{ Ready []string }
	if err := s.read(&ready); err != nil {
		s.close()
		return nil, err
	}
	if !slices.Equal(ready.Ready, methods) {
		s.close()
		return nil, fmt.Errorf("PyTorch peer, %s: wanted methods %v, got %v", m.name, methods, ready.Ready)
	}
	return s, nil
}

// read decodes the peer's next line into v; at the end of its output the error carries the
// script's last lines of standard error.
func (s *peerSession) read(v any) error {
	if !s.out.Scan() {
		err := s.wait()
		msg := strings.TrimSpace(s.stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 3 {
			msg = strings.Join(lines[len(lines)-3:], "\n")
		}
		return fmt.Errorf("PyTorch peer, %s: ended (%v): %s", s.model, err, msg)
	}
	if err := json.Unmarshal(s.out.Bytes(), v); err != nil {
		return fmt.Errorf("PyTorch peer, %s: unexpected output line %q", s.model, s.out.Text())
	}
	return nil
}

// step times one step of methods[i] and returns it in milliseconds.
func (s *peerSession) step(i int) (float64, error) {
	if _, err := fmt.Fprintf(s.in, "%d\n", i); err != nil {
		return 0, fmt.Errorf("PyTorch peer, %s: %w", s.model, err)
	}
	var r struct{ MS *float64 }
	if err := s.read(&r); err != nil {
		return 0, err
	}
	if r.MS == nil || !(*r.MS > 0) {
		return 0, fmt.Errorf("PyTorch peer, %s: step %s returned no time", s.model, s.methods[i])
	}
	return *r.MS, nil
}

// close ends the peer's input and waits for it to exit.
func (s *peerSession) close() error {
	s.in.Close()
	for s.out.Scan() {
	}
	return s.wait()
}

// wait waits for the peer's process once and keeps its outcome.
func (s *peerSession) wait() error {
	if !s.waited {
		s.waited, s.waitErr = true, s.cmd.Wait()
	}
	return s.waitErr
}

// peerStep summarises the peer's timed steps of one method.
func peerStep(method string, stepsMS []float64) PeerStep {
	return PeerStep{Method: method, StepsMS: stepsMS, StepMS: median(stepsMS), BestMS: slices.Min(stepsMS)}
}
