package schemas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
			checkMessage(t, check(src), tc.want)
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
			checkMessage(t, err, tc.want)
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
		{"input_spectra", "input_spectrum"},
		{"init_spectra", "init_spectrum"},
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

// TestValidateChecksAxesNotPoints validates a grid of 10⁹ points whose axes
// check independently: the checks are the axes' values (3 × 1000), not the
// points.
func TestValidateChecksAxesNotPoints(t *testing.T) {
	spec := mustParse(t, `apiVersion: isweep/v1
name: big
output: o
grid:
  seed: {range: [0, 1000, 1]}
  init_scale: {linspace: [1, 10, 1000]}
  eta: {linspace: [0.001, 0.5, 1000]}
fixed: {algorithm: interneuron, n: 2}
limits: {max_points: 1000000000}
`)
	var done, total int64
	err := spec.ValidateContext(context.Background(), func(d, n int64) { done, total = d, n })
	if err != nil {
		t.Fatalf("got: %v want: valid", err)
	}
	if done != total || total != 3000 {
		t.Errorf("got: %d of %d checks want: 3000 of 3000 (the values of the three axes)", done, total)
	}
}

// TestValidateCancel stops a long validation with its context.
func TestValidateCancel(t *testing.T) {
	spec := mustParse(t, `apiVersion: isweep/v1
name: long
output: o
grid:
  algorithm: [direct, interneuron]
  eta: {linspace: [0.001, 0.5, 100000]}
  horizon: {linspace: [100, 1000, 10000]}
fixed: {n: 2}
limits: {max_points: 2000000000}
`)
	ctx, cancel := context.WithCancel(context.Background())
	var reports int
	err := spec.ValidateContext(ctx, func(done, total int64) {
		reports++
		if done >= total {
			t.Errorf("got: all %d checks done, want: a stop at the first report", total)
		}
		cancel()
	})
	if !errors.Is(err, context.Canceled) || reports != 1 {
		t.Errorf("got: %v after %d reports want: context.Canceled after 1", err, reports)
	}
}

// pools are values of each parameter for random grids, valid and not,
// some at the default limits.
var pools = map[string][]any{
	"algorithm":      {"direct", "interneuron", "bogus"},
	"mode":           {"flow", "online", "sideways"},
	"n":              {int64(1), int64(2), int64(4), int64(1024), int64(1025), int64(-1)},
	"k":              {int64(1), int64(2), int64(4), int64(8), int64(1025), int64(-3)},
	"input_spectrum": {[]float64{1, 2}, []float64{0.5, 1, 2, 4}, dynamics.Spectrum{Min: 0.5, Max: 2}, dynamics.Spectrum{Min: 2, Max: 1}, []float64{-1, 1}, dynamics.Spectrum{Min: 1e-40, Max: 1}},
	"input_basis":    {"identity", "random", "bogus"},
	"init_scale":     {1.0, 10.0, 1e31, -1.0},
	"init_shape":     {"identity", "logspread", "wishart", "spectrum", "bogus"},
	"init_spectrum":  {[]float64{1, 2}, []float64{0.5, 1, 2, 4}, dynamics.Spectrum{Min: 0.5, Max: 2}, dynamics.Spectrum{Min: 2, Max: 1}},
	"init_spread":    {1.0, 10.0, 0.5},
	"init_basis":     {"aligned", "random", "bogus"},
	"eta":            {0.01, 0.5, 1.5, -0.1},
	"batch":          {int64(1), int64(8), int64(-1)},
	"tol":            {0.01, 0.5, 1.5, 1e-12},
	"horizon":        {100.0, 1e5, 1e8, 1e10, 2.5},
	"hold":           {1.0, 1e-9, 5.0, -1.0},
	"record":         {int64(2), int64(1000), int64(1)},
	"seed":           {int64(0), int64(5), int64(-1)},
	"noise":          {int64(0), int64(3), int64(-2)},
	"contexts": {[]dynamics.Context{{Duration: 5}}, []dynamics.Context{{InputSpectrum: dynamics.Spectrum{Values: []float64{4, 4}}, Duration: 100}},
		[]dynamics.Context{{Duration: 0}}, []dynamics.Context{{InputBasis: "random", Duration: 2.5}, {InputBasis: "bogus", Duration: 1}}},
}

func pick(rng *rand.Rand, name string, k int) []any {
	pool := pools[name]
	out := make([]any, k)
	for i := range out {
		out[i] = pool[rng.IntN(len(pool))]
	}
	return out
}

// pickUsable is pick without the values no point takes
// (dynamics.UnusableValue), which Validate refuses before the points.
func pickUsable(rng *rand.Rand, name string, k int) []any {
	var pool []any
	for _, v := range pools[name] {
		var x float64
		switch v := v.(type) {
		case int64:
			x = float64(v)
		case float64:
			x = v
		}
		if dynamics.UnusableValue(name, x) == nil {
			pool = append(pool, v)
		}
	}
	out := make([]any, k)
	for i := range out {
		out[i] = pool[rng.IntN(len(pool))]
	}
	return out
}

// validateEveryPoint is Validate as it was: every point checked.
func validateEveryPoint(g *Grid) (invalid int64, examples []PointProblem) {
	lim := g.limits.Dynamics()
	for i := range g.size {
		p := g.params(i, false)
		if err := p.Validate(lim); err != nil {
			invalid++
			if len(examples) < MaxPointExamples {
				examples = append(examples, PointProblem{Index: i, Axes: g.Describe(i), Err: err})
			}
		}
	}
	return invalid, examples
}

// TestValidateMatchesEveryPoint compares Validate with checking every
// point, on random grids of valid and invalid values of every parameter,
// in grid axes, zip groups and fixed values.
func TestValidateMatchesEveryPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	names := ParamNames()
	for trial := range 400 {
		spec := &Spec{APIVersion: APIVersion, Name: "random", Output: "o",
			GridAxes: map[string]Axis{}, Fixed: map[string]any{}}
		var zip map[string]Axis
		zipLen := 1 + rng.IntN(3)
		// Every other trial gives only values some point takes, so that
		// the points' checks are compared on those too.
		pick := pick
		if trial%2 == 1 {
			pick = pickUsable
		}
		for _, name := range names {
			switch r := rng.IntN(10); {
			case r < 3:
				spec.GridAxes[name] = Axis{Values: pick(rng, name, 1+rng.IntN(4))}
			case r < 4:
				if zip == nil {
					zip = map[string]Axis{}
					spec.Zip = append(spec.Zip, zip)
				}
				zip[name] = Axis{Values: pick(rng, name, zipLen)}
			case r < 6:
				spec.Fixed[name] = pick(rng, name, 1)[0]
			}
		}
		for _, name := range []string{"algorithm", "n"} {
			_, inGrid := spec.GridAxes[name]
			_, inZip := zip[name]
			if _, fixed := spec.Fixed[name]; !fixed && !inGrid && !inZip {
				spec.Fixed[name] = pools[name][rng.IntN(2)]
			}
		}
		g, err := spec.Grid()
		if err != nil {
			t.Fatalf("trial %d: Grid: %v", trial, err)
		}
		err = spec.Validate()
		// A value no point takes, of a parameter some points ignore, is
		// refused before the points are checked.
		if unusable := spec.checkUnusable(g); len(unusable) > 0 {
			if err == nil || err.Error() != joinErrors(unusable).Error() {
				t.Fatalf("trial %d: got: %v want: %v", trial, err, joinErrors(unusable))
			}
			continue
		}
		wantInvalid, wantExamples := validateEveryPoint(g)
		var pe *PointsError
		switch {
		case wantInvalid == 0 && err != nil:
			t.Fatalf("trial %d: got: %v want: valid", trial, err)
		case wantInvalid == 0:
			continue
		case !errors.As(err, &pe):
			t.Fatalf("trial %d: got: %v want: %d invalid points", trial, err, wantInvalid)
		}
		if pe.Invalid != wantInvalid || pe.Total != g.Len() || len(pe.Examples) != len(wantExamples) {
			t.Fatalf("trial %d: got: %d of %d invalid, %d examples want: %d of %d, %d examples\n%v", trial,
				pe.Invalid, pe.Total, len(pe.Examples), wantInvalid, g.Len(), len(wantExamples), err)
		}
		for j, ex := range pe.Examples {
			want := wantExamples[j]
			if ex.Index != want.Index || ex.Axes != want.Axes || ex.Err.Error() != want.Err.Error() {
				t.Errorf("trial %d, example %d: got: point %d (%s): %v want: point %d (%s): %v", trial, j, ex.Index, ex.Axes, ex.Err, want.Index, want.Axes, want.Err)
			}
		}
	}
}

// TestIndependentParams holds the parameters Validate checks one axis at a
// time to dynamics.Params.Validate: the problems it finds with such a
// parameter depend on its value alone, and those it finds with the others
// do not depend on it.
func TestIndependentParams(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	draw := func() dynamics.Params {
		var p dynamics.Params
		for f, def := range paramDefs {
			if rng.IntN(3) == 0 {
				continue
			}
			v, err := coerceKind(f, pick(rng, def.name, 1)[0], "")
			if err != nil {
				t.Fatal(err)
			}
			setParam(&p, f, &v)
		}
		return p
	}
	// mix takes the independent parameters from ind, the others from rest.
	mix := func(rest, ind dynamics.Params) dynamics.Params {
		for f := range numParams {
			if independent[f] {
				v := getParam(&ind, f)
				setParam(&rest, f, &v)
			}
		}
		return rest
	}
	// problems returns the problems Validate finds with the parameters
	// for which keep is true.
	problems := func(p dynamics.Params, lim dynamics.Limits, keep func(f int) bool) string {
		var b strings.Builder
		for _, fe := range dynamics.FieldErrors(defaulted(p).Validate(lim)) {
			if keep(fieldOf(fe.Field)) {
				b.WriteString(fe.Error() + "\n")
			}
		}
		return b.String()
	}
	for trial := range 20000 {
		lim := dynamics.Limits{}
		if trial%2 == 1 {
			lim = dynamics.Limits{MaxN: 4, MaxFlowHorizon: 1000, MaxOnlineSteps: 1e6}
		}
		p1, p2, q1, q2 := draw(), draw(), draw(), draw()
		coupled := func(f int) bool { return f < 0 || !independent[f] }
		if a, b := problems(mix(p1, q1), lim, coupled), problems(mix(p1, q2), lim, coupled); a != b {
			t.Fatalf("problems with the coupled parameters of %+v change with the independent ones:\ngot: %s\nand: %s", mix(p1, q1), a, b)
		}
		for f := range numParams {
			if !independent[f] {
				continue
			}
			other := q2
			v := getParam(&q1, f)
			setParam(&other, f, &v)
			only := func(g int) bool { return g == f }
			if a, b := problems(mix(p1, q1), lim, only), problems(mix(p2, other), lim, only); a != b {
				t.Fatalf("problems with %s in %+v change with the other parameters:\ngot: %s\nand: %s", paramDefs[f].name, mix(p1, q1), a, b)
			}
		}
	}
}

// checkMessage checks err against want: no error for "", else an error
// whose message holds want.
func checkMessage(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("got: %v want: no error", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("got: %v want a message with: %s", err, want)
	}
}
