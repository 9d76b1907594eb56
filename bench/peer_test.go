package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/tsamgo/tsam/backend"
)

// testPeer returns the PyTorch peer on DefaultPeerPython, or skips the test naming what is missing.
func testPeer(t *testing.T) *peer {
	t.Helper()
	p, err := probePeer(DefaultPeerPython, 2)
	if err != nil {
		t.Skipf("PyTorch peer unavailable (needs %s with python3-torch): %v", DefaultPeerPython, err)
	}
	return p
}

// trainableParams builds m's graph once on be and counts its trainable variables' values.
func trainableParams(t *testing.T, be backends.Backend, m model) int {
	t.Helper()
	ctx := context.New()
	x, _ := randomBatch(m)
	exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *Node) *Node {
		return m.build(ctx, x, &flopCounter{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Exec(x); err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	n := 0
	ctx.EnumerateVariables(func(v *context.Variable) {
		if v.Trainable {
			n += v.Shape().Size()
		}
	})
	return n
}

// TestPeerModelsMatch requires each peer model to have exactly the trainable parameters of
// the Go model it stands for: a different layer (a bias, a width, a block) changes the count.
func TestPeerModelsMatch(t *testing.T) {
	p := testPeer(t)
	be, err := backend.NewBackend("gemm=go")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	seen := map[string]bool{}
	for _, m := range append(models(false), models(true)...) {
		if m.peer == "" || seen[m.peer] {
			continue
		}
		seen[m.peer] = true
		out, err := p.run("params", m.peer)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		var got struct{ Params int }
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v in %q", m.name, err, out)
		}
		if want := trainableParams(t, be, m); got.Params != want {
			t.Errorf("%s: PyTorch peer %q has %d trainable parameters, the Go model %d", m.name, m.peer, got.Params, want)
		}
	}
	if len(seen) != 4 {
		t.Errorf("peer models %v, want mlp, resnet8, resnet20, transformer", seen)
	}
}

// TestPeerServe steps the peer method by method, as tsam bench engine alternates it with its
// own steps: each step returns its time, the methods are the ones asked, and a bad method or
// index is an error carrying the script's message.
func TestPeerServe(t *testing.T) {
	p := testPeer(t)
	m := resnet8(true)
	s, err := p.serve(m, "erm", "tsam")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i, meth := range s.methods {
			ms, err := s.step(i)
			if err != nil || !(ms > 0) {
				t.Fatalf("round %d, %s: %v ms, %v", round, meth, ms, err)
			}
		}
	}
	if _, err := s.step(2); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("index past the methods: error %v, want the script's message", err)
	}
	if err := s.close(); err == nil {
		t.Errorf("close after the script failed: no error")
	}
	if _, err := p.serve(m, "adam"); err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Errorf("unknown method: error %v, want the script's message", err)
	}
	if st := peerStep("erm", []float64{3, 1, 2}); st.StepMS != 2 || st.BestMS != 1 {
		t.Errorf("peerStep: %+v, want median 2, best 1", st)
	}
}

// TestPeerMissing: an interpreter that does not exist is an error naming it when asked for
// explicitly, and "none" turns the peer off.
func TestPeerMissing(t *testing.T) {
	be, err := backend.NewBackend("gemm=go")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	if _, _, err := startPeer("/nonexistent/python3", be); err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Errorf("missing interpreter: error %v, want one naming it", err)
	}
	if p, line, err := startPeer("none", be); p != nil || err != nil || !strings.Contains(line, "off") {
		t.Errorf("none: %v %q %v", p, line, err)
	}
	// An interpreter without torch: the probe fails with the install hint.
	if _, err := probePeer("/bin/false", 2); err == nil || !strings.Contains(err.Error(), "python3-torch") {
		t.Errorf("/bin/false: error %v, want the python3-torch hint", err)
	}
}
