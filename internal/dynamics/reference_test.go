package dynamics

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

var updateReference = flag.Bool("update-reference", false, "rewrite testdata/reference.json from the current numerics")

// referencePoints are the points whose outputs pin the numerics: every
// network in both modes, every initial shape and basis, the batch paths of
// the online rules (1, Woodbury below n, explicit at n and above),
// converged at t = 0, diverged and not converged.
func referencePoints() []Params {
	var ps []Params
	for _, net := range Networks() {
		alg := net.Name()
		for _, mode := range []Mode{Flow, Online} {
			base := Params{Algorithm: alg, Mode: mode, N: 3, InputSpectrum: Spectrum{Min: 0.5, Max: 4}, Seed: 7, Record: 20, Eta: 0.02, Tol: 0.05}
			if mode == Online {
				base.Horizon = 3000
			}
			vary := []func(p *Params){
				func(p *Params) {},
				func(p *Params) { p.InitScale = 30 },
				func(p *Params) { p.InitScale = 0.05; p.InputBasis = BasisRandom },
				func(p *Params) { p.InitShape = ShapeLogSpread; p.InitBasis = BasisRandom; p.InputBasis = BasisRandom },
				func(p *Params) { p.InitShape = ShapeWishart; p.K = 5 },
				func(p *Params) {
					p.InitShape, p.InitSpectrum, p.InitBasis, p.InitScale = ShapeSpectrum, Spectrum{Values: []float64{0.5, 3, 20}}, BasisRandom, 2
				},
				func(p *Params) { p.N = 5; p.K = 8; p.Seed = 11 },
				func(p *Params) { p.InputSpectrum = Spectrum{Values: []float64{1, 1, 1}} }, // converged at t = 0
				func(p *Params) { p.Horizon = 2; p.Tol = 1e-6 },                            // not converged
				func(p *Params) { // contexts: a spectrum switch, then a basis switch
					p.InitScale, p.Contexts = 3, []Context{{InputSpectrum: Spectrum{Values: []float64{2, 0.25, 9}}, Duration: p.Horizon / 2}, {InputBasis: BasisRandom, Duration: p.Horizon / 2}}
					if p.Mode == Flow {
						p.Horizon, p.Contexts[0].Duration, p.Contexts[1].Duration = 20, 20, 20
					}
				},
			}
			if mode == Online {
				vary = append(vary,
					func(p *Params) { p.N = 6; p.Batch = 3 },           // Woodbury below n
					func(p *Params) { p.Batch = 70 },                   // explicit, two blocks
					func(p *Params) { p.Eta = 0.9; p.InitScale = 0.2 }, // large steps
				)
			}
			for _, v := range vary {
				p := base
				v(&p)
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// referenceOutput is what the reference file keeps of a Result: every
// scalar, and a fingerprint of the trajectory's bits.
type referenceOutput struct {
	ConvTime   *float64 `json:"conv_time"`
	ConvStep   *int64   `json:"conv_step"`
	FinalError float64  `json:"final_error"`
	MinError   float64  `json:"min_error"`
	Reason     string   `json:"diverge_reason,omitempty"`
	Steps      int64    `json:"steps"`
	RHSEvals   int64    `json:"rhs_evals"`
	Samples    int      `json:"samples"`
	Trajectory string   `json:"trajectory_fnv"`
}

type referenceFile struct {
	// Numerics is the NumericsVersion the outputs were made with.
	Numerics int `json:"numerics"`
	// Outputs maps a point's parameters (JSON) to its output.
	Outputs map[string]referenceOutput `json:"outputs"`
}

func referenceOf(r Result) referenceOutput {
	h := fnv.New64a()
	for _, s := range r.Trajectory {
		for _, v := range []float64{s.T, float64(s.Step), s.Error, s.EigMin, s.EigMax} {
			fmt.Fprintf(h, "%x,", math.Float64bits(v))
		}
	}
	return referenceOutput{ConvTime: r.ConvTime, ConvStep: r.ConvStep, FinalError: r.FinalError, MinError: r.MinError,
		Reason: r.DivergeReason, Steps: r.Steps, RHSEvals: r.RHSEvals, Samples: len(r.Trajectory), Trajectory: strconv.FormatUint(h.Sum64(), 16)}
}

// TestReferenceOutputsPinTheNumerics runs referencePoints and compares
// their outputs with testdata/reference.json, bit for bit on amd64 (the
// architecture the file is made on, where Go does not fuse multiply-adds),
// to 1e-9 elsewhere. An integrator change that moves any output must bump
// NumericsVersion, so that a sweep does not mix old and new results: the
// test fails when outputs changed and the version did not. After a bump,
// rewrite the file with
//
//	go test ./internal/dynamics -run TestReferenceOutputsPinTheNumerics -update-reference
func TestReferenceOutputsPinTheNumerics(t *testing.T) {
	path := filepath.Join("testdata", "reference.json")
	got := referenceFile{Numerics: NumericsVersion, Outputs: map[string]referenceOutput{}}
	for _, p := range referencePoints() {
		key, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(context.Background(), p)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		got.Outputs[string(key)] = referenceOf(r)
	}
	if *updateReference {
		body, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(body, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d outputs, numerics version %d", path, len(got.Outputs), NumericsVersion)
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (make it with -update-reference)", err)
	}
	var want referenceFile
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if want.Numerics != NumericsVersion {
		t.Fatalf("got: NumericsVersion %d want: %d, the version of %s; after a bump, rewrite the file with -update-reference", NumericsVersion, want.Numerics, path)
	}
	exact := runtime.GOARCH == "amd64"
	changed := 0
	for key, g := range got.Outputs {
		w, ok := want.Outputs[key]
		if !ok {
			t.Errorf("point %s: not in %s; add it with -update-reference (a new point does not need a bump)", key, path)
			continue
		}
		if !sameOutput(g, w, exact) {
			changed++
			if changed <= 5 {
				t.Errorf("point %s:\n got: %+v\nwant: %+v", key, g, w)
			}
		}
	}
	if changed > 0 {
		t.Errorf("%d of %d reference outputs changed while NumericsVersion is still %d: bump NumericsVersion in numerics.go (sweeps must not mix old and new results), then rewrite %s with -update-reference", changed, len(got.Outputs), NumericsVersion, path)
	}
	for key := range want.Outputs {
		if _, ok := got.Outputs[key]; !ok {
			t.Errorf("point %s of %s: no longer a reference point; rewrite the file with -update-reference", key, path)
		}
	}
}

func sameOutput(a, b referenceOutput, exact bool) bool {
	if exact {
		return a.Trajectory == b.Trajectory && fmt.Sprint(a.plain()) == fmt.Sprint(b.plain())
	}
	close := func(x, y float64) bool { return x == y || math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y)) }
	closePtr := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || close(*x, *y)) }
	return closePtr(a.ConvTime, b.ConvTime) && close(a.FinalError, b.FinalError) && close(a.MinError, b.MinError) &&
		a.Reason == b.Reason && a.Samples == b.Samples
}

// plain is the output with its pointers followed, for printing.
func (o referenceOutput) plain() []any {
	var ct any = "nil"
	if o.ConvTime != nil {
		ct = math.Float64bits(*o.ConvTime)
	}
	var cs any = "nil"
	if o.ConvStep != nil {
		cs = *o.ConvStep
	}
	return []any{ct, cs, math.Float64bits(o.FinalError), math.Float64bits(o.MinError), o.Reason, o.Steps, o.RHSEvals, o.Samples}
}
