package study

// PaperClaim is what the paper (Li, Zhou, Bilmes, "Tilted Sharpness-Aware Minimization",
// ICML 2025) reports for one of the report's sections.
// These are the only literal result numbers in the study package: every number of ours is
// read from run files.
type PaperClaim struct {
	// Ref locates the numbers in the paper.
	Ref string `json:"ref"`
	// Claim is the paper's statement that the section tests.
	Claim string `json:"claim"`
	// Header names the columns of Rows.
	Header []string `json:"header,omitempty"`
	// Rows are the paper's numbers, one row per method or setting.
	Rows []PaperRow `json:"rows,omitempty"`
}

// PaperRow is one row of a paper table.
type PaperRow struct {
	Label  string    `json:"label"`
	Values []float64 `json:"values"`
}

// table1Methods are the rows of the paper's Table 1 in order.
var table1Methods = []string{"ERM", "SAM", "ESAM1", "ESAM2", "PGN", "RSAM", "TSAM"}

// table1Column returns the paper's Table 1 rows for one column (test accuracy in %, the
// paper's ± in parentheses is dropped).
func table1Column(values ...float64) []PaperRow {
	rows := make([]PaperRow, len(values))
	for i, v := range values {
		rows[i] = PaperRow{Label: table1Methods[i], Values: []float64{v}}
	}
	return rows
}

// PaperClaims holds the paper's numbers and claims by section ID.
var PaperClaims = map[string]PaperClaim{
	"table1a": {
		Ref:    "Table 1 (Section 5.1), column Noisy CIFAR100, ResNet18",
		Claim:  "TSAM reaches higher test accuracy than ERM and every SAM variant under label noise.",
		Header: []string{"test accuracy (%)"},
		Rows:   table1Column(61.01, 69.00, 69.20, 67.27, 65.68, 69.31, 69.98),
	},
	"table1b": {
		Ref:    "Table 1 (Section 5.1), column CIFAR100, ResNet18",
		Claim:  "TSAM reaches higher test accuracy than ERM and every SAM variant.",
		Header: []string{"test accuracy (%)"},
		Rows:   table1Column(71.39, 76.52, 77.40, 77.52, 77.45, 77.35, 77.78),
	},
	"table1c": {
		Ref:    "Table 1 (Section 5.1), column Noisy CIFAR100, WideResNet (the paper has no Fashion-MNIST; its closest setting is label noise with a second architecture)",
		Claim:  "TSAM reaches higher test accuracy than ERM and every SAM variant under label noise.",
		Header: []string{"test accuracy (%)"},
		Rows:   table1Column(57.03, 68.02, 69.79, 66.83, 64.02, 65.93, 70.26),
	},
	"table1d": {
		Ref:    "Table 1 (Section 5.1), GLUE column SST-2 (DistilBERT; the paper reports no PGN or RSAM there)",
		Claim:  "TSAM reaches higher SST-2 accuracy than ERM, SAM, ESAM1 and ESAM2.",
		Header: []string{"SST-2 accuracy (%)"},
		Rows: []PaperRow{
			{Label: "ERM", Values: []float64{90.48}}, {Label: "SAM", Values: []float64{91.74}},
			{Label: "ESAM1", Values: []float64{91.63}}, {Label: "ESAM2", Values: []float64{91.63}},
			{Label: "TSAM", Values: []float64{91.86}},
		},
	},
	"table2": {
		Ref:    "Table 2 (Section 5.3), column noisy CIFAR100 (ResNet18)",
		Claim:  "s = 3 or s = 5 sampled perturbations already improve on SAM.",
		Header: []string{"test accuracy (%)"},
		Rows: []PaperRow{
			{Label: "SAM", Values: []float64{69.00}}, {Label: "TSAM, s=3", Values: []float64{69.55}},
			{Label: "TSAM, s=5", Values: []float64{69.98}},
		},
	},
	"table4": {
		Ref:    "Table 4 (Appendix C.3), column CIFAR100",
		Claim:  "N > 1 Euler steps of HMC cost N times more gradient evaluations per perturbation without significantly better accuracy.",
		Header: []string{"test accuracy (fraction)"},
		Rows: []PaperRow{
			{Label: "N = 1 (s = 3)", Values: []float64{0.7740}}, {Label: "N = 1 (s = 5)", Values: []float64{0.7778}},
			{Label: "N = 2 (s = 3)", Values: []float64{0.7745}}, {Label: "N = 3 (s = 3)", Values: []float64{0.7752}},
		},
	},
	"fig5": {
		Ref:   "Figure 5 (Appendix C.2), CIFAR100, t = 20 (curves only, no numbers)",
		Claim: "Naive sampling improves from s = 3 to s = 10, but even s = 10 ends below TSAM with the proposed sampler.",
	},
	"fig7": {
		Ref:   "Figure 7 (Appendix C.3), test accuracy against epochs for SAM and t ∈ {0, 1, 5, 20, 100}, s = 3 (curves only)",
		Claim: "Several values of t give higher accuracy than SAM; the best t must be found by a grid search.",
	},
	"fig8": {
		Ref:   "Figure 8 (Section 5.3, Appendix C.3), noisy CIFAR100 (curves only)",
		Claim: "Increasing or decreasing t linearly over training does not differ from a fixed t.",
	},
	"table5": {
		Ref:    "Table 5 (Appendix C.3), runtime in minutes, row CIFAR100",
		Claim:  "With the same epochs, TSAM costs several times ERM and SAM; ESAM1, ESAM2, PGN and RSAM were given about TSAM's computation budget, so their runtimes are close to TSAM's.",
		Header: []string{"minutes"},
		Rows:   table1Column(32, 65, 325, 310, 333, 320, 333),
	},
	"fig2": {
		Ref:   "Figure 2 (Section 5.2), CIFAR100, ResNet18 (curves only)",
		Claim: "For every δ, TSAM's solution has a lower mean and a lower variance of L(θ*+ε), ε ~ N(0, δ²I), than ERM's and SAM's.",
	},
	"hessian": {
		Ref:    "Section 5.2, text after Figure 2 (CIFAR100, ResNet18)",
		Claim:  "TSAM (t = 20) has the smallest top Hessian eigenvalues, then SAM, then ERM.",
		Header: []string{"λ1", "λ2", "λ3", "λ4", "λ5"},
		Rows: []PaperRow{
			{Label: "ERM", Values: []float64{342.11, 304.72, 260.71, 252.92, 210.88}},
			{Label: "SAM", Values: []float64{232.60, 198.35, 182.61, 153.74, 145.76}},
			{Label: "TSAM", Values: []float64{140.91, 113.38, 105.90, 92.94, 89.55}},
		},
	},
	"table3": {
		Ref: "Table 3 (Appendix C.3): rows trained on ERM/SAM/TSAM, columns evaluated on the ERM/SAM/TSAM objective; training loss then test loss",
		Claim: "(1) each objective's training loss is smallest for the model trained on it; (2) SAM and TSAM have larger training but smaller test ERM loss than ERM; " +
			"(3) TSAM has the smallest test loss under all three objectives.",
		Header: []string{"train: ERM", "train: SAM", "train: TSAM", "test: ERM", "test: SAM", "test: TSAM"},
		Rows: []PaperRow{
			{Label: "ERM", Values: []float64{0.1283, 1.35, 3.48, 0.9302, 2.05, 3.54}},
			{Label: "SAM", Values: []float64{0.1489, 0.22, 0.60, 0.7414, 0.91, 1.34}},
			{Label: "TSAM", Values: []float64{0.1763, 0.27, 0.46, 0.7163, 0.90, 1.08}},
		},
	},
}
