package dynamics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// sqrtAll returns the square roots of s.
func sqrtAll(s []float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = math.Sqrt(v)
	}
	return out
}

// TestContextsMatchOracle: with aligned contexts the re-adaptation time
// of a flow is the closed form started from M = C_old^{1/2}, logarithmic
// in the mismatch with interneurons and linear with direct recurrence.
// Context 0 starts at C_old^{1/2} (init_shape spectrum) or converges to it
// from μ = 1 over a long first context.
func TestContextsMatchOracle(t *testing.T) {
	cases := []struct {
		old, new []float64
		fromMu   bool // context 0 starts at μ = 1 and converges first
	}{
		{[]float64{4}, []float64{1}, false},
		{[]float64{100}, []float64{1}, false},
		{[]float64{1}, []float64{25}, false},
		{[]float64{0.25, 9}, []float64{4, 1}, false},
		{[]float64{0.5, 2, 50}, []float64{0.5, 2, 0.5}, false},
		{[]float64{16, 16}, []float64{1, 1}, true},
	}
	for _, alg := range []Algorithm{Direct, Interneuron} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%v->%v/mu=%v", alg, c.old, c.new, c.fromMu), func(t *testing.T) {
				n := len(c.old)
				p := Params{Algorithm: alg, N: n, InputSpectrum: Spectrum{Values: c.old}, Horizon: 200, Tol: 0.01,
					Contexts: []Context{{InputSpectrum: Spectrum{Values: c.new}, Duration: 500}}}
				if !c.fromMu {
					p.InitShape, p.InitSpectrum = ShapeSpectrum, Spectrum{Values: sqrtAll(c.old)}
				}
				r, err := Run(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Contexts) != 2 || r.Diverged {
					t.Fatalf("got: %d contexts, diverged %v want: 2, not diverged", len(r.Contexts), r.Diverged)
				}
				ctx1 := r.Contexts[1]
				if ctx1.ConvTime == nil {
					t.Fatalf("got: context 1 not converged (final error %g) want: converged", ctx1.FinalError)
				}
				want := OracleTimeAligned(alg, c.new, sqrtAll(c.old), p.Tol)
				if got := *ctx1.ConvTime; math.Abs(got-want) > 1e-4*want {
					t.Errorf("got: %.9g want: %.9g (relative gap %.2g)", got, want, math.Abs(got-want)/want)
				}
				if ctx1.Start != p.Horizon {
					t.Errorf("start: got: %g want: %g", ctx1.Start, p.Horizon)
				}
				if c.fromMu {
					if r.ConvTime == nil || r.Contexts[0].ConvTime == nil || *r.ConvTime != *r.Contexts[0].ConvTime {
						t.Errorf("conv_time: got: %v, context 0 %v want: context 0's", ptrString(r.ConvTime), ptrString(r.Contexts[0].ConvTime))
					}
					want0 := OracleTimeAligned(alg, c.old, []float64{1, 1}, p.Tol)
					if got := *r.ConvTime; math.Abs(got-want0) > 1e-4*want0 {
						t.Errorf("context 0: got: %.9g want: %.9g", got, want0)
					}
				}
				// The mismatch: √ of the ratio of the geometric means.
				wantRatio := math.Sqrt(geoMean(c.old) / geoMean(c.new))
				if got := ctx1.ScaleRatio; math.Abs(got-wantRatio) > 1e-6*wantRatio {
					t.Errorf("scale_ratio: got: %.9g want: %.9g", got, wantRatio)
				}
			})
		}
	}
}

func geoMean(x []float64) float64 {
	var l float64
	for _, v := range x {
		l += math.Log(v)
	}
	return math.Exp(l / float64(len(x)))
}

// TestContextsOnlineFollowsFlow: as eta → 0 the online re-adaptation time
// of every context approaches the flow's (t = η·step), each network, with
// a random basis that changes at the second switch.
func TestContextsOnlineFollowsFlow(t *testing.T) {
	const eta = 1e-4
	for _, alg := range []Algorithm{Direct, Interneuron, Gain} {
		t.Run(string(alg), func(t *testing.T) {
			p := Params{Algorithm: alg, N: 2, InputSpectrum: Spectrum{Values: []float64{1, 2}}, InputBasis: BasisRandom, InitScale: 2,
				Tol: 0.2, Horizon: 8, Seed: 5, Contexts: []Context{
					{InputSpectrum: Spectrum{Values: []float64{4, 6}}, Duration: 8},
					{InputSpectrum: Spectrum{Values: []float64{0.5, 1}}, InputBasis: BasisRandom, Duration: 8},
				}}
			flow, err := Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			p.Mode, p.Eta, p.Hold = Online, eta, 1e-9
			p.Horizon = 8 / eta
			for i := range p.Contexts {
				p.Contexts[i].Duration = 8 / eta
			}
			online, err := Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(flow.Contexts) != 3 || len(online.Contexts) != 3 {
				t.Fatalf("got: %d flow and %d online contexts want: 3", len(flow.Contexts), len(online.Contexts))
			}
			for i := range flow.Contexts {
				f, o := flow.Contexts[i], online.Contexts[i]
				if f.ConvTime == nil || o.ConvTime == nil {
					t.Fatalf("context %d: got: flow %s, online %s want: both converged", i, ptrString(f.ConvTime), ptrString(o.ConvTime))
				}
				if math.Abs(*o.ConvTime-*f.ConvTime) > 0.1*(*f.ConvTime)+0.05 {
					t.Errorf("context %d: got: online %.4g want: flow %.4g", i, *o.ConvTime, *f.ConvTime)
				}
				if math.Abs(o.Start-f.Start) > 1e-9 {
					t.Errorf("context %d start: got: online %g want: flow %g", i, o.Start, f.Start)
				}
			}
		})
	}
}

// TestContextsGainReadapts: the gain network has no closed form; after
// every switch its flow converges again, to M = C_new^{1/2}.
func TestContextsGainReadapts(t *testing.T) {
	p := Params{Algorithm: Gain, N: 3, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, InputBasis: BasisRandom, InitScale: 3, Tol: 1e-6, Horizon: 300, Seed: 2,
		Contexts: []Context{
			{InputSpectrum: Spectrum{Values: []float64{4, 1, 9}}, Duration: 300},
			{InputBasis: BasisRandom, Duration: 300},
			{InputSpectrum: Spectrum{Min: 0.1, Max: 0.1}, InputBasis: BasisIdentity, Duration: 300},
		}}
	out, err := run(context.Background(), p, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contexts) != 4 {
		t.Fatalf("got: %d contexts want: 4", len(out.Contexts))
	}
	for i, c := range out.Contexts {
		if c.ConvTime == nil || c.Diverged {
			t.Errorf("context %d: got: conv %s diverged %v (final error %g) want: converged", i, ptrString(c.ConvTime), c.Diverged, c.FinalError)
		}
		if i > 0 && !(c.StartError > p.Tol) {
			t.Errorf("context %d: got: start error %g want: above tol (a switch)", i, c.StartError)
		}
	}
	// The last context is C = 0.1·I: the fixed point is √0.1·I.
	want := math.Sqrt(0.1)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			w := 0.0
			if i == j {
				w = want
			}
			if got := out.finalM.Data[i*3+j]; math.Abs(got-w) > 1e-5 {
				t.Errorf("M[%d][%d]: got: %.8g want: %.8g", i, j, got, w)
			}
		}
	}
}

// TestContextsDegenerate: a context that starts converged takes 0; a last
// context too short to converge has no time (and stops at its end); a
// context with a hold longer than itself cannot converge; divergence
// inside a context ends the run there, the contexts after it without a
// result; a point without contexts has none.
func TestContextsDegenerate(t *testing.T) {
	base := Params{Algorithm: Interneuron, N: 2, InputSpectrum: Spectrum{Values: []float64{1, 4}}, InitShape: ShapeSpectrum,
		InitSpectrum: Spectrum{Values: []float64{1, 2}}, Horizon: 5}
	cases := []struct {
		name     string
		p        func(p Params) Params
		conv     []bool // per context result: converged
		diverged bool
		steps    int64 // > 0: want these total steps (online)
	}{
		{"same context starts converged", func(p Params) Params {
			p.Contexts = []Context{{Duration: 5}}
			return p
		}, []bool{true, true}, false, 0},
		{"short last context", func(p Params) Params {
			p.Contexts = []Context{{InputSpectrum: Spectrum{Values: []float64{100, 100}}, Duration: 0.1}}
			return p
		}, []bool{true, false}, false, 0},
		{"online short last context", func(p Params) Params {
			p.Mode, p.Eta, p.Horizon, p.Tol = Online, 0.001, 5000, 0.2
			p.Contexts = []Context{{InputSpectrum: Spectrum{Values: []float64{100, 100}}, Duration: 3}}
			return p
		}, []bool{true, false}, false, 5003},
		{"online hold longer than the context", func(p Params) Params {
			p.Mode, p.Eta, p.Horizon, p.Hold, p.Tol = Online, 0.001, 5000, 2, 0.4
			p.Contexts = []Context{{Duration: 1500}, {InputSpectrum: Spectrum{Values: []float64{2, 2}}, Duration: 4000}}
			return p
		}, []bool{true, false, true}, false, 0},
		{"direct online diverges in context 1", func(p Params) Params {
			p.Algorithm, p.Mode, p.Eta, p.Horizon = Direct, Online, 0.5, 200
			p.Hold = 1e-9
			p.InputSpectrum = Spectrum{Values: []float64{100, 100}}
			p.InitSpectrum = Spectrum{Values: []float64{10, 10}}
			p.Contexts = []Context{{InputSpectrum: Spectrum{Values: []float64{1e-4, 1e-4}}, Duration: 200}, {Duration: 200}}
			return p
		}, []bool{true, false}, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.p(base)
			r, err := Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, cr := range r.Contexts {
				got = append(got, cr.ConvTime != nil)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.conv) || r.Diverged != c.diverged {
				t.Fatalf("got: converged %v, diverged %v (%s) want: %v, %v", got, r.Diverged, r.DivergeReason, c.conv, c.diverged)
			}
			if c.diverged && !r.Contexts[len(r.Contexts)-1].Diverged {
				t.Errorf("got: the last context result not diverged want: diverged")
			}
			if c.conv[0] && c.conv[1] && *r.Contexts[1].ConvTime != 0 {
				t.Errorf("got: %g want: 0 (starts converged)", *r.Contexts[1].ConvTime)
			}
			if c.steps > 0 && r.Steps != c.steps {
				t.Errorf("steps: got: %d want: %d", r.Steps, c.steps)
			}
		})
	}

	r, err := Run(context.Background(), base)
	if err != nil || r.Contexts != nil {
		t.Errorf("no contexts: got: %v, %v want: no context results", r.Contexts, err)
	}
}

// TestContextsValidate: every problem of a context names its field and
// the fix.
func TestContextsValidate(t *testing.T) {
	cases := []struct {
		p    Params
		want string
	}{
		{Params{Algorithm: Direct, N: 2, Contexts: []Context{{}}}, "contexts[0].duration: 0 is out of range: every context needs a duration > 0"},
		{Params{Algorithm: Direct, N: 2, Contexts: []Context{{Duration: 1, InputBasis: "aligned"}}}, `contexts[0].input_basis: "aligned" is not a known basis; use one of identity, random, previous`},
		{Params{Algorithm: Direct, N: 2, Contexts: []Context{{Duration: 1}, {Duration: 1, InputSpectrum: Spectrum{Values: []float64{1}}}}}, "contexts[1].input_spectrum: [1] has 1 values but n = 2"},
		{Params{Algorithm: Direct, N: 2, Mode: Online, Contexts: []Context{{Duration: 1.5}}}, "contexts[0].duration: 1.5 is not a whole number"},
		{Params{Algorithm: Direct, N: 2, Horizon: 6e6, Contexts: []Context{{Duration: 5e6}}}, "is the time of the whole run (horizon and the durations), above the limit 1e+07"},
	}
	for _, c := range cases {
		err := c.p.Validate(Limits{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got: %v want: %q", err, c.want)
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("got: %T want: *FieldError", err)
		}
	}
}

// TestInheritedContextSpectrumIsNotBlamed: a context's spectrum taken from
// the one before (the user wrote none) is checked where it was written:
// the error names input_spectrum once, not also contexts[i].input_spectrum,
// a field the user never wrote (found by the hostile tester).
func TestInheritedContextSpectrumIsNotBlamed(t *testing.T) {
	p := Params{Algorithm: Direct, N: 1, InputSpectrum: Spectrum{Values: []float64{4, 4}}, Contexts: []Context{{Duration: 1}, {Duration: 1}}}
	err := p.WithDefaults().Validate(Limits{})
	var fields []string
	for _, fe := range FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if want := []string{"input_spectrum"}; !slices.Equal(fields, want) {
		t.Errorf("fields: got: %q want: %q (%v)", fields, want, err)
	}
}

// TestContextsWithDefaults: a context's spectrum and basis default to the
// previous one's; "previous" after the identity is the identity.
func TestContextsWithDefaults(t *testing.T) {
	p := Params{Algorithm: Direct, N: 2, InputSpectrum: Spectrum{Min: 1, Max: 4}, Contexts: []Context{
		{Duration: 1}, {InputBasis: BasisRandom, InputSpectrum: Spectrum{Min: 2, Max: 3}, Duration: 1}, {Duration: 1},
	}}.WithDefaults()
	got := fmt.Sprint(p.Contexts)
	want := "[{{[] 1 4 log} identity 1} {{[] 2 3 log} random 1} {{[] 2 3 log} previous 1}]"
	if got != want {
		t.Errorf("got: %s want: %s", got, want)
	}
	if again := fmt.Sprint(p.WithDefaults().Contexts); again != want {
		t.Errorf("twice: got: %s want: %s", again, want)
	}
}

// TestContextsHoldAtTheFixedPoint: a context runs on long after it
// converged; the gain network started from M₀ = I (g₀ = 0, which made the
// absolute tolerance vanish) used to take ten million steps there.
func TestContextsHoldAtTheFixedPoint(t *testing.T) {
	for _, alg := range []Algorithm{Direct, Interneuron, Gain} {
		p := Params{Algorithm: alg, N: 2, InputSpectrum: Spectrum{Min: 4, Max: 4}, InputBasis: BasisRandom, Seed: 1, Horizon: 400,
			Contexts: []Context{{InputSpectrum: Spectrum{Min: 1, Max: 1}, Duration: 400}}}
		r, err := RunWithLimits(context.Background(), p, Limits{MaxFlowSteps: 1e5})
		if err != nil {
			t.Fatal(err)
		}
		if r.Diverged || len(r.Contexts) != 2 || r.Contexts[1].ConvTime == nil {
			t.Errorf("%s: got: diverged %v (%s) after %d steps, %d contexts want: both contexts converged", alg, r.Diverged, r.DivergeReason, r.Steps, len(r.Contexts))
		}
	}
}
