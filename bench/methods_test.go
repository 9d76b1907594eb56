package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tsamgo/tsam/backend"
	"github.com/tsamgo/tsam/sam"
)

// TestTimeMethodsRows: the rows carry each method's pass count and its ratios to the first
// case, and the table prints them.
func TestTimeMethodsRows(t *testing.T) {
	be, err := backend.FromFlag("cpu:gemm=go")
	if err != nil {
		t.Fatal(err)
	}
	m := mlp(8)
	x, y := randomBatch(m)
	loss, _ := sam.SmoothedCrossEntropy(0.1)
	setup := MethodSetup{Backend: be, Model: methodModelFn(m), Loss: loss,
		Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}, Steps: 3, Seed: 1}
	esam2 := sam.DefaultConfig(sam.ESAM2)
	rows, err := TimeMethods(setup, []MethodCase{{"erm", sam.DefaultConfig(sam.ERM)}, {"tsam", sam.DefaultConfig(sam.TSAM)}, {"esam2", esam2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].TimeRatio != 1 || rows[0].EvalRatio != 1 || rows[1].GradEvals != 6 || rows[1].EvalRatio != 6 ||
		rows[1].StepTime <= 0 || rows[2].Forwards != esam2.ForwardOnlyPerStep() || rows[2].Forwards == 0 {
		t.Errorf("rows: %+v", rows)
	}
	var b bytes.Buffer
	if err := (&MethodTable{Model: m.name, Batch: m.batch, Rows: rows}).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "tsam") || !strings.Contains(b.String(), "time ratio to ERM") || !strings.Contains(b.String(), "(+") {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := TimeMethods(setup, nil); err == nil {
		t.Error("TimeMethods accepted no cases")
	}
}

// TestRunMethodsRefusesAnUnknownModel names the models it knows.
func TestRunMethodsRefusesAnUnknownModel(t *testing.T) {
	_, err := RunMethods(MethodsOptions{Model: "vgg"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "vgg") || !strings.Contains(err.Error(), "resnet8") || !strings.Contains(err.Error(), "cnn") {
		t.Errorf("RunMethods with model vgg: %v", err)
	}
}
