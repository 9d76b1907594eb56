package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestQuickRun runs the quick benchmark on the pure-Go path and checks the report's contents.
func TestQuickRun(t *testing.T) {
	var progress bytes.Buffer
	res, err := Run(Options{Backend: "cpu:gemm=go", Quick: true, Steps: 1, GEMMSize: 128, Peer: "none"}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 3 || res.MachineGEMMGFLOPS <= 0 || !strings.Contains(res.Backend, "pure Go") {
		t.Fatalf("unexpected result: %+v", res)
	}
	for _, m := range res.Models {
		if m.ForwardGFLOP <= 0 || m.StepMS <= 0 || m.Ratio <= 0 {
			t.Errorf("%s: empty measurement %+v", m.Name, m)
		}
	}
	// ResNet-8 at batch 16: stem 3→16, blocks, shortcuts, head — forward FLOPs by hand.
	want := 2.0 * 16 * (32*32*16*3*9 + 2*32*32*16*16*9 + 16*16*32*16*9 + 16*16*32*32*9 + 16*16*32*16 +
		8*8*64*32*9 + 8*8*64*64*9 + 8*8*64*32 + 64*10) / 1e9
	if got := res.Models[1].ForwardGFLOP; got < want*0.999 || got > want*1.001 {
		t.Errorf("ResNet-8 forward GFLOP %.6f, want %.6f", got, want)
	}
	if len(res.Methods) != 1 {
		t.Fatalf("methods %+v, want TSAM against ERM on ResNet-8", res.Methods)
	}
	// TSAM s = 3 runs 6 gradient passes to ERM's one; the ratio of times cannot be below 1.
	if mr := res.Methods[0]; mr.Model != "ResNet-8" || mr.EvalRatio != 6 || mr.Ratio < 1 || mr.PyTorchRatio != 0 {
		t.Errorf("TSAM against ERM: %+v", mr)
	}
	for _, m := range res.Models {
		if m.PyTorch != nil {
			t.Errorf("%s: a PyTorch step with -peer none", m.Name)
		}
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil || !strings.Contains(table.String(), "ResNet-8") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
}
