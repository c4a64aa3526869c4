package dynamics

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Params
		want Params
	}{
		{
			name: "flow",
			in:   Params{Algorithm: Direct, N: 4},
			want: Params{
				Algorithm: Direct, Mode: Flow, N: 4, K: 4,
				InputSpectrum: Spectrum{Min: 1, Max: 1, Spacing: LogSpacing},
				InputBasis:    "identity", InitScale: 1, InitShape: "identity", InitSpread: 10, InitBasis: "aligned",
				Eta: 0.01, Batch: 1, Tol: 0.01, Horizon: 1e4, Record: 1000,
			},
		},
		{
			name: "online horizon counts steps",
			in:   Params{Algorithm: Interneuron, Mode: Online, N: 2, K: 3, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, Seed: 7},
			want: Params{
				Algorithm: Interneuron, Mode: Online, N: 2, K: 3,
				InputSpectrum: Spectrum{Min: 0.5, Max: 2, Spacing: LogSpacing},
				InputBasis:    "identity", InitScale: 1, InitShape: "identity", InitSpread: 10, InitBasis: "aligned",
				Eta: 0.01, Batch: 1, Tol: 0.01, Horizon: 1e5, Hold: 1, Record: 1000, Seed: 7,
			},
		},
		{
			name: "explicit values keep no spacing",
			in:   Params{Algorithm: Direct, N: 2, InputSpectrum: Spectrum{Values: []float64{1, 2}}, Eta: 0.5, Horizon: 3},
			want: Params{
				Algorithm: Direct, Mode: Flow, N: 2, K: 2,
				InputSpectrum: Spectrum{Values: []float64{1, 2}},
				InputBasis:    "identity", InitScale: 1, InitShape: "identity", InitSpread: 10, InitBasis: "aligned",
				Eta: 0.5, Batch: 1, Tol: 0.01, Horizon: 3, Record: 1000,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.WithDefaults()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got: %+v\nwant: %+v", got, tc.want)
			}
			if again := got.WithDefaults(); !reflect.DeepEqual(again, got) {
				t.Errorf("WithDefaults is not idempotent: got: %+v want: %+v", again, got)
			}
			if err := got.Validate(DefaultLimits()); err != nil {
				t.Errorf("defaulted params do not validate: %v", err)
			}
		})
	}
}

func TestValidateBadParams(t *testing.T) {
	base := Params{Algorithm: Direct, N: 4}
	with := func(f func(*Params)) Params {
		p := base
		f(&p)
		return p
	}
	tests := []struct {
		name     string
		p        Params
		lim      Limits
		field    string
		fragment string
	}{
		{"missing algorithm", with(func(p *Params) { p.Algorithm = "" }), Limits{}, "algorithm", `"" is required; set it to one of ` + strings.Join(NetworkNames(), ", ")},
		{"unknown algorithm", with(func(p *Params) { p.Algorithm = "hebbian" }), Limits{}, "algorithm", `"hebbian" is not a known network; use one of ` + strings.Join(NetworkNames(), ", ")},
		{"unknown mode", with(func(p *Params) { p.Mode = "euler" }), Limits{}, "mode", "use one of flow, online"},
		{"n missing", with(func(p *Params) { p.N = 0 }), Limits{}, "n", "n: 0 is out of range: n must be at least 1"},
		{"n negative", with(func(p *Params) { p.N = -3 }), Limits{}, "n", "n: -3 is out of range"},
		{"n above limit", with(func(p *Params) { p.N = 5000 }), Limits{}, "n", "n: 5000 is above the limit 1024; raise limits.max_n in the spec to allow it"},
		{"n above custom limit", with(func(p *Params) { p.N = 65 }), Limits{MaxN: 64}, "n", "above the limit 64"},
		{"k below n", with(func(p *Params) { p.Algorithm = Interneuron; p.K = 3 }), Limits{}, "k", "k: 3 is below n = 4: the interneuron network needs k ≥ n; set k ≥ 4"},
		{"k above limit", with(func(p *Params) { p.Algorithm = Interneuron; p.K = 2000 }), Limits{}, "k", "k: 2000 is above the limit 1024"},
		{"spectrum shape without init_spectrum", with(func(p *Params) { p.InitShape = ShapeSpectrum }), Limits{}, "init_spectrum", "is required by init_shape spectrum"},
		{"init_spectrum without its shape", with(func(p *Params) { p.InitSpectrum = Spectrum{Min: 1, Max: 4} }), Limits{}, "init_spectrum", `init_spectrum: "{min: 1, max: 4, spacing: log}" is used only by init_shape spectrum`},
		{"init_spectrum of another length", with(func(p *Params) { p.InitShape, p.InitSpectrum = ShapeSpectrum, Spectrum{Values: []float64{1, 2}} }), Limits{}, "init_spectrum", "has 2 values but n = 4"},
		{"gain's default k above limit", with(func(p *Params) { p.Algorithm, p.N = Gain, 50 }), Limits{}, "k", "k: 1275 (the gain network's default for n = 50) is above the limit 1024; raise limits.max_n in the spec to allow it, or set a smaller k"},
		{"wishart k below n", with(func(p *Params) { p.InitShape = ShapeWishart; p.K = 3 }), Limits{}, "k", "k: 3 is below n = 4: the wishart shape draws W₀ with k rows, and M₀ = W₀ᵀW₀ needs k ≥ n; set k ≥ 4"},
		{"wishart k above limit", with(func(p *Params) { p.InitShape = ShapeWishart; p.K = 2000 }), Limits{}, "k", "k: 2000 is above the limit 1024"},
		{"interneuron k negative", with(func(p *Params) { p.Algorithm = Interneuron; p.K = -1 }), Limits{}, "k", "k: -1 is out of range: k (interneurons) must be at least 1"},
		{"interneuron eta negative", with(func(p *Params) { p.Algorithm = Interneuron; p.Eta = -1 }), Limits{}, "eta", "eta: -1 is out of range: the learning rate needs 0 < eta"},
		{"interneuron eta ≥ 1", with(func(p *Params) { p.Algorithm = Interneuron; p.Eta = 1.5 }), Limits{}, "eta", "eta: 1.5 is out of range: the interneuron rule needs 0 < eta < 1"},
		{"interneuron eta = 1", with(func(p *Params) { p.Algorithm = Interneuron; p.Eta = 1 }), Limits{}, "eta", "eta: 1 is out of range"},
		{"negative eta", with(func(p *Params) { p.Eta = -0.1 }), Limits{}, "eta", "eta: -0.1 is out of range: the learning rate needs 0 < eta"},
		{"NaN eta", with(func(p *Params) { p.Eta = math.NaN() }), Limits{}, "eta", "eta: NaN is out of range"},
		{"infinite eta", with(func(p *Params) { p.Eta = math.Inf(1) }), Limits{}, "eta", "eta: +Inf is out of range"},
		{"batch", with(func(p *Params) { p.Batch = -1 }), Limits{}, "batch", "batch: -1 is out of range: batch (samples per step) must be at least 1"},
		{"tol 1", with(func(p *Params) { p.Tol = 1 }), Limits{}, "tol", "tol: 1 is out of range: the tolerance needs 0 < tol < 1"},
		{"tol negative", with(func(p *Params) { p.Tol = -0.01 }), Limits{}, "tol", "0 < tol < 1"},
		{"flow tol below the integrator", with(func(p *Params) { p.Mode = Flow; p.Tol = 1e-12 }), Limits{}, "tol", "tol: 1e-12 is below 1e-09, the smallest error a flow resolves in double precision; use tol ≥ 1e-09 (or online mode)"},
		{"spectrum length", with(func(p *Params) { p.InputSpectrum = Spectrum{Values: []float64{1, 2}} }), Limits{}, "input_spectrum", "has 2 values but n = 4"},
		{"spectrum value", with(func(p *Params) { p.InputSpectrum = Spectrum{Values: []float64{1, 2, 0, 4}} }), Limits{}, "input_spectrum.values[2]", "input_spectrum.values[2]: 0 is out of range: eigenvalues of a covariance must be positive"},
		{"spectrum mixed", with(func(p *Params) { p.InputSpectrum = Spectrum{Values: []float64{1, 2, 3, 4}, Min: 1} }), Limits{}, "input_spectrum", "mixes an explicit list with min/max/spacing"},
		{"spectrum min > max", with(func(p *Params) { p.InputSpectrum = Spectrum{Min: 3, Max: 2} }), Limits{}, "input_spectrum.min", "input_spectrum.min: 3 is above max = 2; swap them"},
		{"spectrum min zero", with(func(p *Params) { p.InputSpectrum = Spectrum{Max: 2} }), Limits{}, "input_spectrum.min", "input_spectrum.min: 0 is out of range"},
		{"spectrum max inf", with(func(p *Params) { p.InputSpectrum = Spectrum{Min: 1, Max: math.Inf(1)} }), Limits{}, "input_spectrum.max", "input_spectrum.max: +Inf is out of range"},
		{"spacing", with(func(p *Params) { p.InputSpectrum = Spectrum{Min: 1, Max: 2, Spacing: "geometric"} }), Limits{}, "input_spectrum.spacing", `"geometric" is not a known spacing; use one of log, linear`},
		{"input basis", with(func(p *Params) { p.InputBasis = "haar" }), Limits{}, "input_basis", `input_basis: "haar" is not a known basis; use one of identity, random`},
		{"init scale", with(func(p *Params) { p.InitScale = -1 }), Limits{}, "init_scale", "init_scale: -1 is out of range"},
		{"init scale NaN", with(func(p *Params) { p.InitScale = math.NaN() }), Limits{}, "init_scale", "init_scale: NaN is out of range"},
		{"init shape", with(func(p *Params) { p.InitShape = "spread" }), Limits{}, "init_shape", "use one of identity, logspread, spectrum, wishart"},
		{"init spread", with(func(p *Params) { p.InitSpread = 0.5 }), Limits{}, "init_spread", "init_spread: 0.5 is out of range"},
		{"init basis", with(func(p *Params) { p.InitBasis = "identity" }), Limits{}, "init_basis", `init_basis: "identity" is not a known basis; use one of aligned, random`},
		{"horizon negative", with(func(p *Params) { p.Horizon = -5 }), Limits{}, "horizon", "horizon: -5 is out of range: the horizon must be a positive finite number"},
		{"online horizon fraction", with(func(p *Params) { p.Mode = Online; p.Horizon = 10.5 }), Limits{}, "horizon", "horizon: 10.5 is not a whole number: online the horizon counts learning steps"},
		{"online horizon limit", with(func(p *Params) { p.Mode = Online; p.Horizon = 2e9 }), Limits{}, "horizon", "horizon: 2e+09 is above the limit 1e+09 steps; raise limits.max_online_steps"},
		{"flow horizon limit", with(func(p *Params) { p.Horizon = 1e8 }), Limits{}, "horizon", "horizon: 1e+08 is above the limit 1e+07; raise limits.max_flow_horizon"},
		{"online samples limit", with(func(p *Params) { p.Mode = Online; p.Batch = 1_000_000_000_000; p.Horizon = 1000 }), Limits{}, "batch",
			"batch: 1000000000000 × horizon 1000 = 1e+15 samples is above the limit limits.max_online_samples = 1e+10; lower batch or horizon, or raise limits.max_online_samples in the spec"},
		{"online samples, default horizon", with(func(p *Params) { p.Mode = Online; p.Batch = 1_000_000 }), Limits{}, "batch", "batch: 1000000 × horizon 100000 = 1e+11 samples is above the limit"},
		{"online samples, lowered limit", with(func(p *Params) { p.Mode = Online; p.Batch = 10; p.Horizon = 101 }), Limits{MaxOnlineSamples: 1000}, "batch", "batch: 10 × horizon 101 = 1010 samples is above the limit limits.max_online_samples = 1000;"},
		{"record", with(func(p *Params) { p.Record = 1 }), Limits{}, "record", "record: 1 is out of range: record must be at least 2"},
		{"seed", with(func(p *Params) { p.Seed = -1 }), Limits{}, "seed", "seed: -1 is out of range: seed must be ≥ 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate(tc.lim)
			if err == nil {
				t.Fatalf("got: nil want: an error on %s", tc.field)
			}
			fes := FieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("got: %d field errors (%v) want: 1", len(fes), err)
			}
			if fes[0].Field != tc.field {
				t.Errorf("field: got: %q want: %q", fes[0].Field, tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("errors.As(*FieldError) failed on %v", err)
			}
			if !strings.Contains(err.Error(), tc.fragment) {
				t.Errorf("message: got: %q want fragment: %q", err.Error(), tc.fragment)
			}
		})
	}
}

// TestValidateAdmitsBoundedWork checks the points at and below the limits
// on the work of a point, which Validate must accept.
func TestValidateAdmitsBoundedWork(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		lim  Limits
	}{
		{"the longest online horizon", Params{Algorithm: Direct, Mode: Online, N: 4, Horizon: 1e9}, Limits{}},
		{"batch × horizon at the limit", Params{Algorithm: Direct, Mode: Online, N: 4, Batch: 10, Horizon: 1e9}, Limits{}},
		{"one step of the most samples", Params{Algorithm: Interneuron, Mode: Online, N: 4, Batch: 10_000_000_000, Horizon: 1}, Limits{}},
		{"a raised limit", Params{Algorithm: Direct, Mode: Online, N: 4, Batch: 1_000_000_000_000, Horizon: 1000}, Limits{MaxOnlineSamples: 1e15}},
		{"flow ignores batch", Params{Algorithm: Direct, N: 4, Batch: 1_000_000_000_000, Horizon: 1e7}, Limits{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(tc.lim); err != nil {
				t.Errorf("got: %v, want: nil", err)
			}
		})
	}
}

func TestValidateJoinsAllProblems(t *testing.T) {
	p := Params{Algorithm: Interneuron, N: 4, K: 2, Eta: 2, Tol: 5, Record: 1}
	var fields []string
	for _, fe := range FieldErrors(p.Validate(Limits{})) {
		fields = append(fields, fe.Field)
	}
	want := []string{"k", "eta", "tol", "record"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("got: %v want: %v", fields, want)
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	p := Params{Algorithm: Interneuron, Mode: Online, N: 16, K: 20, InputSpectrum: Spectrum{Min: 0.1, Max: 10}, InputBasis: "random", Eta: 0.1}
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Validate(DefaultLimits()); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("allocations per Validate: got: %v want: 0", allocs)
	}
}

func TestSpectrumEigenvalues(t *testing.T) {
	tests := []struct {
		name string
		s    Spectrum
		n    int
		want []float64
	}{
		{"empty is ones", Spectrum{}, 3, []float64{1, 1, 1}},
		{"constant", Spectrum{Min: 2, Max: 2}, 2, []float64{2, 2}},
		{"log", Spectrum{Min: 0.5, Max: 2}, 3, []float64{0.5, 1, 2}},
		{"log explicit", Spectrum{Min: 1, Max: 1000, Spacing: LogSpacing}, 4, []float64{1, 10, 100, 1000}},
		{"linear", Spectrum{Min: 1, Max: 3, Spacing: LinearSpacing}, 5, []float64{1, 1.5, 2, 2.5, 3}},
		{"n = 1 takes min", Spectrum{Min: 0.5, Max: 2}, 1, []float64{0.5}},
		{"values", Spectrum{Values: []float64{3, 1, 2}}, 3, []float64{3, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Eigenvalues(tc.n)
			if len(got) != len(tc.want) {
				t.Fatalf("got: %v want: %v", got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12*tc.want[i] {
					t.Errorf("got: %v want: %v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestSpectrumJSON(t *testing.T) {
	tests := []struct {
		in       string
		want     Spectrum
		canonial string
	}{
		{`[0.5, 1, 2]`, Spectrum{Values: []float64{0.5, 1, 2}}, `[0.5,1,2]`},
		{`{"min":0.1,"max":10,"spacing":"log"}`, Spectrum{Min: 0.1, Max: 10, Spacing: LogSpacing}, `{"min":0.1,"max":10,"spacing":"log"}`},
		{` {"max": 3, "min": 1} `, Spectrum{Min: 1, Max: 3}, `{"min":1,"max":3}`},
		{`{"values":[1,2]}`, Spectrum{Values: []float64{1, 2}}, `[1,2]`},
		{`null`, Spectrum{}, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got Spectrum
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded: got: %+v want: %+v", got, tc.want)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.canonial {
				t.Errorf("encoded: got: %s want: %s", out, tc.canonial)
			}
		})
	}
}

func TestSpectrumJSONErrors(t *testing.T) {
	tests := []struct{ in, fragment string }{
		{`{"min":1,"mx":2}`, `spectrum: unknown key "mx"; allowed keys are max, min, spacing, values`},
		{`{"min":"low","max":2}`, "spectrum.min: \"low\" has the wrong type; min is a number"},
		{`{"min":1,"max":2,"spacing":3}`, `spacing is "log" or "linear"`},
		{`[1, "two"]`, `is not a list of numbers`},
		{`"log"`, `is neither a list of numbers nor an object`},
		{`3`, `is neither a list of numbers nor an object`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var s Spectrum
			err := json.Unmarshal([]byte(tc.in), &s)
			if err == nil || !strings.Contains(err.Error(), tc.fragment) {
				t.Errorf("got: %v want fragment: %q", err, tc.fragment)
			}
		})
	}
}

func TestParamsJSONRoundTrip(t *testing.T) {
	in := `{"algorithm":"interneuron","mode":"online","n":3,"k":5,"input_spectrum":{"min":0.5,"max":2,"spacing":"linear"},"input_basis":"random","init_scale":10,"init_shape":"logspread","init_spread":4,"init_basis":"random","eta":0.05,"batch":2,"tol":0.1,"horizon":500,"record":10,"seed":9}`
	var p Params
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("got: %s\nwant: %s", out, in)
	}
}

// TestSmallTolIsAFlowLimitOnly: the floor on tol is the flow integrator's;
// an online point evaluates its error directly and takes any tol in (0, 1),
// and a flow point takes FlowMinTol itself.
func TestSmallTolIsAFlowLimitOnly(t *testing.T) {
	for _, p := range []Params{
		{Algorithm: Direct, N: 4, Mode: Online, Tol: 1e-12},
		{Algorithm: Direct, N: 4, Mode: Flow, Tol: FlowMinTol},
	} {
		if err := p.WithDefaults().Validate(DefaultLimits()); err != nil {
			t.Errorf("%s tol %g: got: %v want: valid", p.Mode, p.Tol, err)
		}
	}
}
