package schemas

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
)

// TestValidatePoints checks the count, the examples and their order when
// some points break rules between parameters.
func TestValidatePoints(t *testing.T) {
	// 20 seeds × n in {2, 8} × k in {4, 8}: k = 4 < n = 8 fails, a quarter
	// of the points: 20 of 80. Seed varies fastest, so the failing points
	// are 40 … 59.
	spec := mustParse(t, `
apiVersion: isweep/v1
name: kn
output: results/kn
grid:
  seed: {range: [0, 20, 1]}
  n: [2, 8]
  k: [4, 8]
fixed: {algorithm: interneuron}
`)
	err := spec.Validate()
	var pe *PointsError
	if !errors.As(err, &pe) {
		t.Fatalf("got: %v want: a *PointsError", err)
	}
	if pe.Invalid != 20 || pe.Total != 80 {
		t.Errorf("got: %d of %d invalid want: 20 of 80", pe.Invalid, pe.Total)
	}
	if len(pe.Examples) != MaxPointExamples {
		t.Fatalf("examples: got: %d want: %d", len(pe.Examples), MaxPointExamples)
	}
	for j, ex := range pe.Examples {
		wantIndex := int64(40 + j)
		wantAxes := fmt.Sprintf("n=8, k=4, seed=%d", j)
		if ex.Index != wantIndex || ex.Axes != wantAxes {
			t.Errorf("example %d: got: point %d (%s) want: point %d (%s)", j, ex.Index, ex.Axes, wantIndex, wantAxes)
		}
	}
	fes := dynamics.FieldErrors(err)
	if len(fes) != MaxPointExamples || fes[0].Field != "k" {
		t.Errorf("FieldErrors: got: %v want: %d errors on k", fes, MaxPointExamples)
	}
	msg := err.Error()
	for _, want := range []string{
		"test.yaml: 20 of 80 points are invalid; the first 5:",
		"\n  point 40 (n=8, k=4, seed=0): k: 4 is below n = 8",
		"\n  point 44 (n=8, k=4, seed=4): k: 4 is below n = 8",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("got: %s\nwant a message with: %q", msg, want)
		}
	}
	if strings.Contains(msg, "point 45") {
		t.Errorf("got: %s\nwant only 5 examples", msg)
	}
}

// TestValidateLimits checks that the spec's limits reach the point checks.
func TestValidateLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits string
		want   string // message fragment, "" for a valid spec
	}{
		{"defaults refuse n 2048", "", "n: 2048 is above the limit 1024"},
		{"raised max_n", "limits: {max_n: 4096}\n", ""},
		{"flow horizon above a lowered limit", "limits: {max_n: 4096, max_flow_horizon: 100}\n", "horizon: 2000 is above the limit 100; raise limits.max_flow_horizon"},
		{"max_points at the size of the grid", "limits: {max_n: 4096, max_points: 2}\n", ""},
		{"max_points below the size of the grid", "limits: {max_n: 4096, max_points: 1}\n", "the grid has 2 points, above limits.max_points = 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "apiVersion: isweep/v1\nname: big\noutput: o\nfixed: {algorithm: direct, horizon: 2000}\ngrid: {n: [2, 2048]}\n" + tc.limits
			err := check(src)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got: %v want: no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got: %v want a message with: %s", err, tc.want)
			}
		})
	}
}

// TestValidateWorkLimits checks the limits on the work of one point:
// limits.max_online_samples (batch × horizon of an online point) reaches
// the point checks, and limits.max_flow_steps the limits of the points.
func TestValidateWorkLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits string
		want   string // message fragment, "" for a valid spec
		steps  float64
	}{
		{"defaults refuse 1e15 samples", "", "point 1 (batch=1000000000000): batch: 1000000000000 × horizon 1000 = 1e+15 samples is above the limit limits.max_online_samples = 1e+10; lower batch or horizon, or raise limits.max_online_samples in the spec", 1e7},
		{"raised max_online_samples", "limits: {max_online_samples: 1e15}\n", "", 1e7},
		{"lowered max_online_samples", "limits: {max_online_samples: 999}\n", "point 0 (batch=1): batch: 1 × horizon 1000 = 1000 samples is above the limit limits.max_online_samples = 999;", 1e7},
		{"zero max_online_samples", "limits: {max_online_samples: 0}\n", "limits.max_online_samples: 0 is not positive", 0},
		{"max_online_samples not a number", "limits: {max_online_samples: many}\n", "limits.max_online_samples:", 0},
		{"raised max_flow_steps", "limits: {max_online_samples: 1e15, max_flow_steps: 1e9}\n", "", 1e9},
		{"negative max_flow_steps", "limits: {max_flow_steps: -5}\n", "limits.max_flow_steps: -5 is not positive", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "apiVersion: isweep/v1\nname: work\noutput: o\nfixed: {algorithm: direct, mode: online, n: 2, horizon: 1000}\ngrid: {batch: [1, 1000000000000]}\n" + tc.limits
			err := check(src)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got: %v want: no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got: %v want a message with: %s", err, tc.want)
			}
			if err != nil {
				return
			}
			spec := mustParse(t, src)
			if got := spec.Limits.Dynamics().MaxFlowSteps; got != tc.steps {
				t.Errorf("Limits.Dynamics().MaxFlowSteps: got: %g want: %g", got, tc.steps)
			}
		})
	}
}

// TestExamplesValidate checks that the default limits admit the examples
// of the repository (examples/*.yaml).
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples under ../examples (%v)", err)
	}
	for _, file := range files {
		spec, err := ParseFile(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if err := spec.Validate(); err != nil {
			t.Errorf("%s: got: %v want: a valid spec", file, err)
		}
	}
}

// TestValidateSpecBuiltInGo checks a spec written as Go values, with the
// looser Go types a caller may use.
func TestValidateSpecBuiltInGo(t *testing.T) {
	spec := &Spec{
		APIVersion: APIVersion,
		Name:       "go-built",
		Output:     "s3://bucket/sweeps/go-built",
		GridAxes: map[string]Axis{
			"algorithm":      {Values: []any{dynamics.Direct, dynamics.Interneuron}},
			"input_spectrum": {Values: []any{[]float64{1, 2}, dynamics.Spectrum{Min: 0.5, Max: 2}}},
		},
		Zip:   []map[string]Axis{{"n": {Values: []any{2}}, "k": {Values: []any{uint8(3)}}}},
		Fixed: map[string]any{"mode": dynamics.Online, "eta": float32(0.5), "horizon": 100},
	}
	if err := spec.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	g, _ := spec.Grid()
	p := g.Point(3).Params
	if p.Algorithm != dynamics.Interneuron || p.K != 3 || p.Eta != 0.5 || p.InputSpectrum.Max != 2 || p.Horizon != 100 {
		t.Errorf("Point(3): got: %+v", p)
	}
	// Bad Go values are reported like bad YAML ones, without a file.
	spec.Fixed["eta"] = "fast"
	err := spec.Validate()
	if err == nil || err.Error() != `fixed.eta: "fast" is a string; eta takes a number, like 0.01` {
		t.Errorf("got: %v want: fixed.eta: \"fast\" is a string; eta takes a number, like 0.01", err)
	}
	if got := spec.Chunks(); got != 0 {
		t.Errorf("Chunks of a spec with errors: got: %d want: 0", got)
	}
}

func TestSuggestions(t *testing.T) {
	tests := []struct {
		word string
		want string
	}{
		{"etaa", "eta"},
		{"ETA", "eta"},
		{"nn", "n"},
		{"sed", "seed"},
		{"intit_scale", "init_scale"},
		{"spectrum", "input_spectrum"},
		{"input_spectra", "input_spectrum"},
		{"algoritm", "algorithm"},
		{"temperature", ""},
		{"x", ""},
	}
	for _, tc := range tests {
		if got := closest(tc.word, paramNames); got != tc.want {
			t.Errorf("closest(%q): got: %q want: %q", tc.word, got, tc.want)
		}
	}
}
