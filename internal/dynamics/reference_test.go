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
	"strings"
	"testing"
)

var updateReference = flag.Bool("update-reference", false, "rewrite testdata/reference.json from the current numerics")

// referencePoints are the points whose outputs pin the numerics: every
// network in both modes, every initial shape and basis, the batch paths of
// the online rules (1, Woodbury below n, explicit at n and above),
// converged at t = 0, diverged and not converged (all at n ≤ 6, below every
// vector kernel), and kernelPoints.
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
	return append(ps, kernelPoints()...)
}

// kernelPoints are reference points large enough for the vector kernels
// (kernels.go), whose rounding differs from the pure-Go kernels': every
// network in both modes at orders on both sides of the kernels' thresholds
// and block edges, random bases, and one batch online point; the direct
// network also at n = 163, past the Cholesky's in-cache panel threshold.
func kernelPoints() []Params {
	var ps []Params
	for _, net := range Networks() {
		alg := net.Name()
		sizes := []int{8, 17, 64}
		if alg == Gain {
			sizes = []int{8, 17} // k = n(n+1)/2 gains: 2080 at n = 64
		}
		if alg == Direct {
			sizes = append(sizes, 163)
		}
		for _, n := range sizes {
			for _, mode := range []Mode{Flow, Online} {
				p := Params{Algorithm: alg, Mode: mode, N: n, InputSpectrum: Spectrum{Min: 0.5, Max: 4, Spacing: LogSpacing}, InputBasis: BasisRandom,
					InitScale: 3, InitShape: ShapeLogSpread, InitBasis: BasisRandom, Seed: 5, Record: 20, Eta: 0.005, Tol: 0.05}
				if mode == Online {
					p.Horizon = 200
				}
				ps = append(ps, p)
			}
		}
	}
	return append(ps, Params{Algorithm: Interneuron, Mode: Online, N: 17, Batch: 5, InputSpectrum: Spectrum{Min: 0.5, Max: 4}, InputBasis: BasisRandom,
		InitScale: 2, Seed: 9, Record: 20, Eta: 0.005, Tol: 0.05, Horizon: 200})
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
	// Outputs maps a point's parameters (JSON) to its output on the
	// pure-Go kernels (the purego build, other processors).
	Outputs map[string]referenceOutput `json:"outputs"`
	// VecOutputs maps the points whose output on the vector kernels
	// (amd64 with AVX2/FMA) differs from Outputs to that output.
	VecOutputs map[string]referenceOutput `json:"vec_outputs"`
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
// to 1e-9 elsewhere. Each point runs on the pure-Go kernels and, where the
// processor has them, on the vector kernels, and each path is held to its
// own outputs. An integrator or kernel change that moves any output must
// bump NumericsVersion, so that a sweep does not mix old and new results:
// the test fails when outputs changed and the version did not. After a
// bump, rewrite the file (on an amd64 with AVX2/FMA, so that both paths
// are written) with
//
//	go test ./internal/dynamics -run TestReferenceOutputsPinTheNumerics -update-reference
func TestReferenceOutputsPinTheNumerics(t *testing.T) {
	path := filepath.Join("testdata", "reference.json")
	if *updateReference && !haveVecKernels {
		t.Fatal("-update-reference writes the outputs of both kernel paths: run it on an amd64 processor with AVX2/FMA, without the purego tag")
	}
	pure := map[string]referenceOutput{}
	vec := map[string]referenceOutput{}
	for _, p := range referencePoints() {
		key, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		run := func(onVec bool) referenceOutput {
			var r Result
			withKernels(onVec, func() { r, err = Run(context.Background(), p) })
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			return referenceOf(r)
		}
		pure[string(key)] = run(false)
		if haveVecKernels {
			vec[string(key)] = run(true)
		}
		if haveAVX512Kernels {
			// The AVX-512 forms of the vector kernels round as their
			// AVX2 forms do: a point's outputs do not depend on which
			// of the two ran.
			useAVX512Kernels = false
			avx2 := run(true)
			useAVX512Kernels = haveAVX512Kernels
			if !sameOutput(avx2, vec[string(key)], true) {
				t.Errorf("point %s: got: %v with the AVX-512 kernels want: %v, the outputs with their AVX2 forms", key, vec[string(key)], avx2)
			}
		}
	}
	if *updateReference {
		file := referenceFile{Numerics: NumericsVersion, Outputs: pure, VecOutputs: map[string]referenceOutput{}}
		for key, v := range vec {
			if !sameOutput(v, pure[key], true) {
				file.VecOutputs[key] = v
			}
		}
		body, err := json.MarshalIndent(file, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(body, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d outputs (%d of them differ on the vector kernels), numerics version %d", path, len(file.Outputs), len(file.VecOutputs), NumericsVersion)
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
	compare := func(kernels string, got map[string]referenceOutput, wantOf func(key string) (referenceOutput, bool)) {
		for key, g := range got {
			w, ok := wantOf(key)
			if !ok {
				t.Errorf("point %s: not in %s; add it with -update-reference (a new point does not need a bump)", key, path)
				continue
			}
			if !sameOutput(g, w, exact) {
				changed++
				if changed <= 5 {
					t.Errorf("point %s on the %s kernels:\n got: %+v\nwant: %+v", key, kernels, g, w)
				}
			}
		}
	}
	compare("pure-Go", pure, func(key string) (referenceOutput, bool) { w, ok := want.Outputs[key]; return w, ok })
	compare("vector", vec, func(key string) (referenceOutput, bool) {
		if w, ok := want.VecOutputs[key]; ok {
			return w, true
		}
		w, ok := want.Outputs[key]
		return w, ok
	})
	if changed > 0 {
		t.Errorf("%d of %d reference outputs changed while NumericsVersion is still %d: bump NumericsVersion in numerics.go (sweeps must not mix old and new results), then rewrite %s with -update-reference", changed, len(pure)+len(vec), NumericsVersion, path)
	}
	for key := range want.Outputs {
		if _, ok := pure[key]; !ok {
			t.Errorf("point %s of %s: no longer a reference point; rewrite the file with -update-reference", key, path)
		}
	}
	if haveVecKernels {
		differ := 0
		for key, v := range vec {
			if !sameOutput(v, pure[key], true) {
				differ++
			}
		}
		if differ == 0 {
			t.Errorf("no reference point's output differs between the vector and the pure-Go kernels: the points do not reach the vector kernels (kernelPoints)")
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

// TestSameResults: what an older numerics version may lend this one, and
// that SameResultsText says it. Version 3's flows agree with version 4 at
// tol ≥ 1e-4 (flowTolScale 1) and nowhere else.
func TestSameResults(t *testing.T) {
	flow := func(tol float64) Params { return Params{Mode: Flow, Tol: tol} }
	for _, tc := range []struct {
		p    Params
		v    int
		want bool
	}{
		{flow(0.01), NumericsVersion, true},
		{Params{Mode: Online, Tol: 0.01}, NumericsVersion, true},
		{flow(0.01), 3, true},
		{flow(1e-4), 3, true},
		{flow(9.9e-5), 3, false},
		{flow(1e-8), 2, false},
		{Params{Mode: Online, Tol: 0.01}, 3, false},
		{flow(0.01), 1, true},
		{flow(0.01), 0, false},
		{flow(0.01), NumericsVersion + 1, false},
	} {
		if got := SameResults(tc.p, tc.v); got != tc.want {
			t.Errorf("SameResults(%s tol %g, %d): got: %v want: %v", tc.p.Mode, tc.p.Tol, tc.v, got, tc.want)
		}
	}
	if !strings.Contains(SameResultsText, "tol ≥ 1e-4") || FlowRelTol/flowTolRatio != 1e-4 {
		t.Errorf("SameResultsText %q does not say the threshold %g", SameResultsText, FlowRelTol/flowTolRatio)
	}
}
