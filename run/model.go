package run

import (
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/tsamgo/tsam/models"
)

// modelFn returns the GoMLX model function named by cfg.Model for the run's data: any
// name of models.New, or "mlp-W1-W2-..." for an MLP with hidden layers of widths W1, W2,
// ... (models.MLP; the default run's "mlp-256" trains fast on two cores). Text data sets
// need a text model and image data sets an image model. Its logits layer starts as
// cfg.Head says. Failures are *InputError for -model.
func modelFn(cfg Config, d *splits) (train.ModelFn, error) {
	text := d.train.IsText()
	if text != models.IsText(cfg.Model) {
		kind := map[bool]string{true: "a text model (transformer)", false: "an image model (mlp-256, mlp, cnn, resnet20, vit, ...)"}[text]
		return nil, inputErrorf("model", "%s does not fit the data set %s, which needs %s", cfg.Model, cfg.Data, kind)
	}
	numClasses := d.train.NumClasses
	if widths, ok, err := mlpWidths(cfg.Model); ok {
		if err != nil {
			return nil, err
		}
		return models.WithHeadInit(models.MLP(models.MLPConfig{NumClasses: numClasses, Hidden: widths}), cfg.headInit())
	}
	m, err := models.New(cfg.Model, models.Options{NumClasses: numClasses, VocabSize: d.vocab, MaxLen: d.maxLen})
	if err != nil {
		return nil, inputErrorf("model", "%v; or mlp-W1-W2-... for an MLP with hidden widths W1, W2, ...", err)
	}
	return models.WithHeadInit(m, cfg.headInit())
}

// mlpWidths parses "mlp-W1-W2-...": ok reports whether name has that form.
func mlpWidths(name string) (widths []int, ok bool, err error) {
	rest, ok := strings.CutPrefix(name, "mlp-")
	if !ok {
		return nil, false, nil
	}
	for _, part := range strings.Split(rest, "-") {
		w, convErr := strconv.Atoi(part)
		if convErr != nil || w < 1 {
			return nil, true, inputErrorf("model", "%q: each hidden width of mlp-W1-W2-... must be a positive integer, e.g. mlp-256 or mlp-512-512", name)
		}
		widths = append(widths, w)
	}
	return widths, true, nil
}
