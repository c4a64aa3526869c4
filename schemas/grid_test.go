package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
)

// axisValues expands one axis over eta (float; online points, which use
// it) or seed (integer) and returns the values of the points in order.
func axisValues(t *testing.T, param string, a Axis) []float64 {
	t.Helper()
	spec := &Spec{APIVersion: APIVersion, Name: "gen", Output: "out",
		GridAxes: map[string]Axis{param: a},
		Fixed:    map[string]any{"algorithm": "direct", "n": 1, "mode": "online"}}
	g, err := spec.Grid()
	if err != nil {
		t.Fatalf("Grid: %v", err)
	}
	out := make([]float64, g.Len())
	for i := range g.Len() {
		p := g.Point(i).Params
		if param == "seed" {
			out[i] = float64(p.Seed)
		} else {
			out[i] = p.Eta
		}
	}
	return out
}

func TestGenerators(t *testing.T) {
	tests := []struct {
		name  string
		param string
		axis  Axis
		want  []float64
	}{
		{"linspace", "eta", Axis{Linspace: &Linspace{0.5, 1.5, 5}}, []float64{0.5, 0.75, 1, 1.25, 1.5}},
		{"linspace one value", "eta", Axis{Linspace: &Linspace{0.3, 7, 1}}, []float64{0.3}},
		{"linspace decreasing", "eta", Axis{Linspace: &Linspace{2, 1, 3}}, []float64{2, 1.5, 1}},
		{"logspace", "eta", Axis{Logspace: &Logspace{-3, 0, 4}}, []float64{0.001, 0.01, 0.1, 1}},
		{"range of integers", "seed", Axis{Range: &Range{0, 10, 3}}, []float64{0, 3, 6, 9}},
		{"range of integers down", "seed", Axis{Range: &Range{10, 0, -4}}, []float64{10, 6, 2}},
		{"range excludes stop", "seed", Axis{Range: &Range{1, 4, 1}}, []float64{1, 2, 3}},
		{"range of fractions", "eta", Axis{Range: &Range{0.25, 1, 0.25}}, []float64{0.25, 0.5, 0.75}},
		{"range of integers over a number", "eta", Axis{Range: &Range{1, 4, 1}}, []float64{1, 2, 3}},
		{"integral linspace over an integer", "seed", Axis{Linspace: &Linspace{0, 100, 5}}, []float64{0, 25, 50, 75, 100}},
		{"logspace over an integer", "seed", Axis{Logspace: &Logspace{0, 3, 4}}, []float64{1, 10, 100, 1000}},
		{"list", "seed", Axis{Values: []any{3, int64(1), 2.0}}, []float64{3, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := axisValues(t, tc.param, tc.axis)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got: %v want: %v", got, tc.want)
			}
		})
	}
}

// TestGeneratorsMatchNumPy compares the generators with NumPy itself:
// linspace and arange bit for bit, logspace to within 4 ulp (NumPy's pow
// and Go's math.Pow round differently).
func TestGeneratorsMatchNumPy(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found; .ci installs it with numpy")
	}
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skip("numpy not importable; .ci installs it (python3 -m pip install numpy)")
	}
	cases := []struct {
		numpy string
		axis  Axis
		ulps  float64
	}{
		{"np.linspace(0.01, 0.05, 3)", Axis{Linspace: &Linspace{0.01, 0.05, 3}}, 0},
		{"np.linspace(0.1, 0.7, 7)", Axis{Linspace: &Linspace{0.1, 0.7, 7}}, 0},
		{"np.linspace(-1.3, 2.9, 11)", Axis{Linspace: &Linspace{-1.3, 2.9, 11}}, 0},
		{"np.linspace(1e-3, 1, 1000)", Axis{Linspace: &Linspace{1e-3, 1, 1000}}, 0},
		{"np.linspace(5, 5, 4)", Axis{Linspace: &Linspace{5, 5, 4}}, 0},
		{"np.linspace(2.5, 9, 1)", Axis{Linspace: &Linspace{2.5, 9, 1}}, 0},
		{"np.logspace(0, 3, 10)", Axis{Logspace: &Logspace{0, 3, 10}}, 4},
		{"np.logspace(-4, -1, 13)", Axis{Logspace: &Logspace{-4, -1, 13}}, 4},
		{"np.logspace(-2.5, 2.5, 101)", Axis{Logspace: &Logspace{-2.5, 2.5, 101}}, 4},
		{"np.arange(0.1, 1, 0.3)", Axis{Range: &Range{0.1, 1, 0.3}}, 0},
		{"np.arange(0.05, 1, 0.1)", Axis{Range: &Range{0.05, 1, 0.1}}, 0},
		{"np.arange(1, 0, -0.07)", Axis{Range: &Range{1, 0, -0.07}}, 0},
		{"np.arange(0.5, 3.2, 1)", Axis{Range: &Range{0.5, 3.2, 1}}, 0},
		{"np.arange(2, 20, 3)", Axis{Range: &Range{2, 20, 3}}, 0},
		{"np.arange(-7, 8, 5)", Axis{Range: &Range{-7, 8, 5}}, 0},
	}
	exprs := make([]string, len(cases))
	for i, c := range cases {
		exprs[i] = c.numpy + ".astype(float).tolist()"
	}
	script := "import json, numpy as np\nprint(json.dumps([" + strings.Join(exprs, ", ") + "]))"
	out, err := exec.Command(python, "-c", script).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][]float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("decoding NumPy's output: %v\n%s", err, out)
	}
	for i, c := range cases {
		got := axisValues(t, "eta", c.axis)
		if len(got) != len(want[i]) {
			t.Errorf("%s: got: %d values want: %d", c.numpy, len(got), len(want[i]))
			continue
		}
		for j := range got {
			if d := ulpDistance(got[j], want[i][j]); d > c.ulps {
				t.Errorf("%s[%d]: got: %v want: %v (%v ulp apart, at most %v allowed)", c.numpy, j, got[j], want[i][j], d, c.ulps)
			}
		}
	}
}

func ulpDistance(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / (math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b))
}

// TestPointIDEncoding recomputes ids from the encoding that PointID
// documents, written out here by hand, and pins a few ids as literal strings:
// ids name results stored by earlier versions, so they must never change.
func TestPointIDEncoding(t *testing.T) {
	tests := []struct {
		name     string
		params   dynamics.Params
		encoding string
		id       string
	}{
		{
			name:   "defaults",
			params: dynamics.Params{Algorithm: dynamics.Direct, N: 4},
			encoding: `isweep.point.v1
algorithm="direct"
mode="flow"
n=4
k=4
input_spectrum={min=1,max=1,spacing="log"}
input_basis="identity"
init_scale=1
init_shape="identity"
init_spread=10
init_basis="aligned"
eta=0.01
batch=1
tol=0.01
horizon=10000
record=1000
seed=0
`,
			id: "bc5f56a17c4278b0d4d1eef51280e390",
		},
		{
			name: "everything set",
			params: dynamics.Params{Algorithm: dynamics.Interneuron, Mode: dynamics.Online, N: 3, K: 5,
				InputSpectrum: dynamics.Spectrum{Values: []float64{0.5, 1, 2e-5}}, InputBasis: "random",
				InitScale: 1e21, InitShape: "logspread", InitSpread: 100, InitBasis: "random",
				Eta: 0.001, Batch: 8, Tol: 1e-3, Horizon: 20000, Hold: 2.5, Record: 50, Seed: 42},
			encoding: `isweep.point.v1
algorithm="interneuron"
mode="online"
n=3
k=5
input_spectrum=[0.5,1,2e-05]
input_basis="random"
init_scale=1e+21
init_shape="logspread"
init_spread=100
init_basis="random"
eta=0.001
batch=8
tol=0.001
horizon=20000
hold=2.5
record=50
seed=42
`,
			id: "8a7e0b219f4a1746a1b758760735efdb", // online ids include hold since numerics version 2
		},
		{
			name: "spectrum end points",
			params: dynamics.Params{Algorithm: dynamics.Direct, N: 2, Mode: dynamics.Online,
				InputSpectrum: dynamics.Spectrum{Min: 0.1, Max: 10, Spacing: dynamics.LinearSpacing}},
			encoding: `isweep.point.v1
algorithm="direct"
mode="online"
n=2
k=2
input_spectrum={min=0.1,max=10,spacing="linear"}
input_basis="identity"
init_scale=1
init_shape="identity"
init_spread=10
init_basis="aligned"
eta=0.01
batch=1
tol=0.01
horizon=100000
hold=1
record=1000
seed=0
`,
			id: "3afcdafd532aef68db1d238023376d96",
		},
		{
			name: "contexts",
			params: dynamics.Params{Algorithm: dynamics.Direct, N: 2, Horizon: 50, Contexts: []dynamics.Context{
				{InputSpectrum: dynamics.Spectrum{Values: []float64{4, 4}}, Duration: 30},
				{InputBasis: dynamics.BasisRandom, Duration: 20.5},
				{Duration: 10},
			}},
			encoding: `isweep.point.v1
algorithm="direct"
mode="flow"
n=2
k=2
input_spectrum={min=1,max=1,spacing="log"}
input_basis="identity"
init_scale=1
init_shape="identity"
init_spread=10
init_basis="aligned"
eta=0.01
batch=1
tol=0.01
horizon=50
record=1000
seed=0
contexts=[{input_spectrum=[4,4],input_basis="identity",duration=30},{input_spectrum=[4,4],input_basis="random",duration=20.5},{input_spectrum=[4,4],input_basis="previous",duration=10}]
`,
			id: "4d8a8416c7dbe9efcf1f51d98312089e",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(tc.encoding))
			fromEncoding := hex.EncodeToString(sum[:16])
			got := PointID(tc.params)
			if got != fromEncoding {
				t.Errorf("PointID: got: %s want: %s (the hash of the documented encoding)", got, fromEncoding)
			}
			if got != tc.id {
				t.Errorf("PointID: got: %s want: %s (the id earlier versions gave)", got, tc.id)
			}
		})
	}
}

// TestPointIDDefaults checks that ids name defaulted parameters.
func TestPointIDDefaults(t *testing.T) {
	base := dynamics.Params{Algorithm: dynamics.Interneuron, N: 4}
	same := []dynamics.Params{
		{Algorithm: dynamics.Interneuron, N: 4, K: 4},
		{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Flow, Eta: 0.01, Tol: 0.01, Horizon: 1e4},
		{Algorithm: dynamics.Interneuron, N: 4, InputSpectrum: dynamics.Spectrum{Min: 1, Max: 1}},
		// The flow has no learning rate, batch or hold.
		{Algorithm: dynamics.Interneuron, N: 4, Eta: 0.5, Batch: 8, Hold: 3},
		base.WithDefaults(),
	}
	// A context's spectrum and basis default to the previous one's.
	withContext := dynamics.Params{Algorithm: dynamics.Interneuron, N: 4, Contexts: []dynamics.Context{{Duration: 5}}}
	if got, want := PointID(withContext), PointID(dynamics.Params{Algorithm: dynamics.Interneuron, N: 4, Contexts: []dynamics.Context{
		{InputSpectrum: dynamics.Spectrum{Min: 1, Max: 1}, InputBasis: dynamics.BasisPrevious, Duration: 5}}}); got != want {
		t.Errorf("PointID(default context): got: %s want: %s", got, want)
	}
	if PointID(withContext) == PointID(base) {
		t.Errorf("PointID(with a context): got: the id of the point without")
	}
	different := []dynamics.Params{
		{Algorithm: dynamics.Interneuron, N: 4, K: 5},
		{Algorithm: dynamics.Direct, N: 4},
		{Algorithm: dynamics.Interneuron, N: 4, Seed: 1},
		{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Online},

		{Algorithm: dynamics.Interneuron, N: 4, InputSpectrum: dynamics.Spectrum{Values: []float64{1, 1, 1, 1}}},
	}
	id := PointID(base)
	for _, p := range same {
		if got := PointID(p); got != id {
			t.Errorf("PointID(%+v): got: %s want: %s (same defaulted point)", p, got, id)
		}
	}
	for _, p := range different {
		if got := PointID(p); got == id {
			t.Errorf("PointID(%+v): got: %s, the id of %+v", p, got, base)
		}
	}

	// Online points differ in the least eta, batch and hold.
	online := dynamics.Params{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Online}
	onlineID := PointID(online)
	for _, p := range []dynamics.Params{
		{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Online, Eta: 0.010000000000000002},
		{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Online, Batch: 2},
		{Algorithm: dynamics.Interneuron, N: 4, Mode: dynamics.Online, Hold: 1.0000000000000002},
	} {
		if got := PointID(p); got == onlineID {
			t.Errorf("PointID(%+v): got: %s, the id of %+v", p, got, online)
		}
	}

	// In a spec: {n: 4} and {n: 4, k: 4} are the same point.
	a := mustParse(t, "apiVersion: isweep/v1\nname: a\noutput: o\nfixed: {algorithm: interneuron, n: 4}\n")
	b := mustParse(t, "apiVersion: isweep/v1\nname: a\noutput: o\nfixed: {algorithm: interneuron, n: 4, k: 4}\n")
	ga, _ := a.Grid()
	gb, _ := b.Grid()
	if pa, pb := ga.Point(0), gb.Point(0); pa.ID != pb.ID || pa.ID != id {
		t.Errorf("point ids: got: %s and %s want: %s", pa.ID, pb.ID, id)
	}
}

// TestPointIDsStayStable pins the ids of points whose parameters some
// other part of the code treats specially: an id is how stored markers,
// members and plans name a point, so changing the defaulting rules
// (ignoredParams) changes stored sweeps' ids, and their markers are taken
// for another output's and quarantined. Making init_spread and init_basis
// ignored by the shapes that do not use them did that to every version 3
// sweep that gave them (found by the hostile tester); such a change needs
// an id scheme recorded in the plan. The ids below are those of the first
// release of the scheme.
func TestPointIDsStayStable(t *testing.T) {
	base := dynamics.Params{Algorithm: dynamics.Interneuron, N: 3, InitScale: 5}
	for _, tc := range []struct {
		shape, basis string
		spread       float64
		mode         dynamics.Mode
		eta          float64
		want         string
	}{
		{dynamics.ShapeIdentity, dynamics.BasisRandom, 100, dynamics.Flow, 0, "9693105f4158bc0729d3d8a98669f481"},
		{dynamics.ShapeWishart, dynamics.BasisRandom, 50, dynamics.Flow, 0, "d97662e81a94090cdd6e6ee71823f842"},
		{dynamics.ShapeLogSpread, dynamics.BasisAligned, 10, dynamics.Online, 0.003, "1b6288b6c006691317da3358b0be8c28"},
		{"", "", 0, dynamics.Flow, 0.5, "af3b1827f5abb64d58f5f7cf2d0365ee"},
	} {
		p := base
		p.InitShape, p.InitBasis, p.InitSpread, p.Mode, p.Eta = tc.shape, tc.basis, tc.spread, tc.mode, tc.eta
		if got := PointID(p); got != tc.want {
			t.Errorf("PointID(%s %s %g %s eta %g): got: %s want: %s (ids of stored points must not change)", tc.shape, tc.basis, tc.spread, tc.mode, tc.eta, got, tc.want)
		}
	}
}

// TestPointOwnsItsSpectrum checks that changing a point's spectrum does not
// change the grid.
func TestPointOwnsItsSpectrum(t *testing.T) {
	spec := mustParse(t, "apiVersion: isweep/v1\nname: a\noutput: o\nfixed: {algorithm: direct, n: 2}\ngrid: {input_spectrum: [[1, 2]]}\n")
	g, _ := spec.Grid()
	p := g.Point(0)
	p.Params.InputSpectrum.Values[0] = 99
	if got := g.Point(0).Params.InputSpectrum.Values[0]; got != 1 {
		t.Fatalf("after changing a point's copy: got: %v want: 1", got)
	}
}

// TestGridIndexDecoding checks the mixed-radix order on a grid built in Go:
// the last axis (in canonical order) varies fastest.
func TestGridIndexDecoding(t *testing.T) {
	spec := &Spec{APIVersion: APIVersion, Name: "radix", Output: "out", Chunk: 7,
		GridAxes: map[string]Axis{
			"seed": {Range: &Range{0, 5, 1}},            // fastest, 5 values
			"n":    {Values: []any{1, 2, 3}},            // slowest, 3 values
			"eta":  {Values: []any{0.1, 0.2, 0.3, 0.4}}, // 4 values
		},
		Fixed: map[string]any{"algorithm": dynamics.Direct, "mode": "online"}}
	g, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 60 {
		t.Fatalf("Len: got: %d want: 60", g.Len())
	}
	for i := range g.Len() {
		p := g.Point(i).Params
		wantN, wantEta, wantSeed := int(i/20)+1, []float64{0.1, 0.2, 0.3, 0.4}[i/5%4], i%5
		if p.N != wantN || p.Eta != wantEta || p.Seed != wantSeed {
			t.Fatalf("Point(%d): got: n=%d eta=%v seed=%d want: n=%d eta=%v seed=%d", i, p.N, p.Eta, p.Seed, wantN, wantEta, wantSeed)
		}
	}
	// Chunks of 7 points: 9 chunks, the last one with 4 points.
	if got := g.Chunks(); got != 9 {
		t.Errorf("Chunks: got: %d want: 9", got)
	}
	for c, want := range map[int64][2]int64{0: {0, 7}, 1: {7, 14}, 8: {56, 60}} {
		if start, end := g.ChunkRange(c); start != want[0] || end != want[1] {
			t.Errorf("ChunkRange(%d): got: [%d, %d) want: [%d, %d)", c, start, end, want[0], want[1])
		}
	}
}

func TestGridPanicsOutOfRange(t *testing.T) {
	spec := mustParse(t, "apiVersion: isweep/v1\nname: a\noutput: o\nfixed: {algorithm: direct}\ngrid: {n: [1, 2]}\n")
	g, _ := spec.Grid()
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"Point(-1)", func() { g.Point(-1) }},
		{"Point(Len)", func() { g.Point(2) }},
		{"Describe(Len)", func() { g.Describe(2) }},
		{"ChunkRange(Chunks)", func() { g.ChunkRange(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: got: no panic want: a panic", tc.name)
				}
			}()
			tc.call()
		})
	}
}

// TestParamTableMatchesParams keeps the parameter table of this package in
// step with dynamics.Params: same names in the same order, and setParam
// and getParam reach the field of that name.
func TestParamTableMatchesParams(t *testing.T) {
	typ := reflect.TypeFor[dynamics.Params]()
	if typ.NumField() != numParams {
		t.Fatalf("dynamics.Params has %d fields, the table %d: add the new field to paramDefs, setParam, getParam, the schema and the point encoding (written only when not its default)", typ.NumField(), numParams)
	}
	for f := range numParams {
		field := typ.Field(f)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name != paramDefs[f].name {
			t.Errorf("field %d: got: %s want: %s (the JSON name of dynamics.Params.%s)", f, paramDefs[f].name, name, field.Name)
		}
		// Write a distinctive value and read it back through reflection.
		var v paramValue
		var want any
		switch paramDefs[f].kind {
		case kindString:
			v.str, want = "x"+name, "x"+name
		case kindInt:
			v.int, want = int64(f+100), int64(f+100)
		case kindFloat:
			v.num, want = float64(f)+0.5, float64(f)+0.5
		case kindSpectrum:
			v.spectrum = dynamics.Spectrum{Values: []float64{float64(f)}}
			want = v.spectrum
		case kindContexts:
			v.contexts = []dynamics.Context{{Duration: float64(f)}}
			want = v.contexts
		}
		var p dynamics.Params
		setParam(&p, f, &v)
		rv := reflect.ValueOf(p).Field(f)
		var got any
		switch rv.Kind() {
		case reflect.String:
			got = rv.String()
		case reflect.Int, reflect.Int64:
			got = rv.Int()
		case reflect.Float64:
			got = rv.Float()
		default:
			got = rv.Interface()
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("setParam(%s): got: %v in dynamics.Params.%s want: %v", name, got, field.Name, want)
		}
		if back := getParam(&p, f); !reflect.DeepEqual(back, v) {
			t.Errorf("getParam(%s): got: %+v want: %+v", name, back, v)
		}
	}
}

func ExampleGrid_Point() {
	spec, err := Parse([]byte(`
apiVersion: isweep/v1
name: k-scan
output: results/k-scan
grid:
  k: [4, 8]
  eta: {logspace: [-3, -2, 2]}
fixed: {algorithm: interneuron, n: 4, mode: online}
`), "k-scan.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := spec.Grid()
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range g.Len() {
		p := g.Point(i)
		fmt.Printf("%d %s k=%d eta=%g horizon=%g\n", p.Index, p.ID[:8], p.Params.K, p.Params.Eta, p.Params.Horizon)
	}
	// Output:
	// 0 9a537633 k=4 eta=0.001 horizon=100000
	// 1 56976f59 k=4 eta=0.01 horizon=100000
	// 2 5cbf5de5 k=8 eta=0.001 horizon=100000
	// 3 2d84b736 k=8 eta=0.01 horizon=100000
}

// TestAppendFloat holds the number form of the point encoding to strconv's
// 'g' format with precision -1, which PointID documents.
func TestAppendFloat(t *testing.T) {
	values := []float64{1, -1, 7, 0.5, 0.01, 1e-5, 10000, 99999, 100000, 999999, 1e6, -1e6, 1234567, 1e21, 2.5e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, 123456.5, -999999}
	for _, f := range values {
		want := strconv.FormatFloat(f, 'g', -1, 64)
		if got := string(appendFloat(nil, f)); got != want {
			t.Errorf("appendFloat(%v): got: %s want: %s", f, got, want)
		}
	}
	if got := string(appendFloat(nil, math.Copysign(0, -1))); got != "0" {
		t.Errorf("appendFloat(-0): got: %s want: 0", got)
	}
}

func TestMayRepeat(t *testing.T) {
	for _, tt := range []struct {
		grid string
		want bool
	}{
		{`{n: [2, 3], init_scale: [1, 10]}`, false},
		{`{n: [4, 4]}`, true},
		{`{init_scale: [1, 1.0]}`, true},
		{`{algorithm: [direct, direct]}`, true},
		{`{seed: [0, 1]}`, false},
		{`{seed: {range: [0, 3, 1]}, init_scale: [1, 10, 1e1]}`, true},
		{`{eta: {linspace: [0.001, 0.01, 4]}}`, true}, // eta means nothing to flow points
		{`{tol: {linspace: [0.001, 0.01, 4]}}`, false},
		{`{algorithm: [direct, interneuron], k: [4, 8]}`, true}, // k means nothing to direct points
	} {
		text := "apiVersion: isweep/v1\nname: r\noutput: out\ngrid: " + tt.grid + "\nfixed: {mode: flow}\n"
		if !strings.Contains(tt.grid, "algorithm") {
			text += "zip: []\n"
			text = strings.Replace(text, "fixed: {mode: flow}", "fixed: {mode: flow, algorithm: direct"+map[bool]string{true: "", false: ", n: 2"}[strings.Contains(tt.grid, "n:")]+"}", 1)
		} else {
			text = strings.Replace(text, "fixed: {mode: flow}", "fixed: {mode: flow, n: 2}", 1)
		}
		spec, err := Parse([]byte(text), "t.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tt.grid, err)
		}
		g, err := spec.Grid()
		if err != nil {
			t.Fatalf("%s: %v", tt.grid, err)
		}
		if got := g.MayRepeat(); got != tt.want {
			t.Errorf("grid %s: got: MayRepeat %v want: %v", tt.grid, got, tt.want)
		}
		// MayRepeat false means the ids are distinct.
		ids := map[string]bool{}
		for i := range g.Len() {
			ids[g.Point(i).ID] = true
		}
		if !g.MayRepeat() && int64(len(ids)) != g.Len() {
			t.Errorf("grid %s: got: %d distinct ids of %d entries, yet MayRepeat is false", tt.grid, len(ids), g.Len())
		}
	}
}

// TestDirectIgnoresK checks that k, the number of interneurons, means
// nothing to the direct network: a direct point's k is its default (n)
// whatever the spec says, so its id does not change with k and no rule on
// k applies to it, while the ids of direct points without k stay those
// earlier versions gave.
func TestDirectIgnoresK(t *testing.T) {
	for _, tc := range []struct {
		p  dynamics.Params
		id string
	}{
		{dynamics.Params{Algorithm: dynamics.Direct, N: 4}, "bc5f56a17c4278b0d4d1eef51280e390"},
		{dynamics.Params{Algorithm: dynamics.Direct, N: 4, K: 4}, "bc5f56a17c4278b0d4d1eef51280e390"},
		{dynamics.Params{Algorithm: dynamics.Direct, N: 4, K: 2}, "bc5f56a17c4278b0d4d1eef51280e390"},
		{dynamics.Params{Algorithm: dynamics.Direct, N: 4, K: 4096}, "bc5f56a17c4278b0d4d1eef51280e390"},
		{dynamics.Params{Algorithm: dynamics.Direct, N: 8, K: 16, Mode: dynamics.Online, Seed: 3}, "31562b7c20889997a3a62d66ed2a591b"},
	} {
		if got := PointID(tc.p); got != tc.id {
			t.Errorf("PointID(%+v): got: %s want: %s", tc.p, got, tc.id)
		}
	}
	if a, b := PointID(dynamics.Params{Algorithm: dynamics.Interneuron, N: 4, K: 8}), PointID(dynamics.Params{Algorithm: dynamics.Interneuron, N: 4}); a == b {
		t.Errorf("interneuron points with k 8 and k 4 (= n): got: one id %s want: two", a)
	}

	// 2 algorithms × k in {2, 8, 4096} with n = 4: only the interneuron
	// points are checked against k (k = 2 < n, k = 4096 > max_n).
	spec := mustParse(t, `apiVersion: isweep/v1
name: k-direct
output: o
grid:
  algorithm: [direct, interneuron]
  k: [2, 8, 4096]
fixed: {n: 4}
`)
	err := spec.Validate()
	var pe *PointsError
	if !errors.As(err, &pe) || pe.Invalid != 2 {
		t.Fatalf("got: %v want: 2 of 6 points invalid (the interneuron ones with k 2 and 4096)", err)
	}
	for _, ex := range pe.Examples {
		if !strings.HasPrefix(ex.Axes, "algorithm=interneuron") {
			t.Errorf("got: point %d (%s) refused: %v want: no direct point refused", ex.Index, ex.Axes, ex.Err)
		}
	}
	g, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(3) {
		p := g.Point(i)
		if p.ID != "bc5f56a17c4278b0d4d1eef51280e390" || p.Params.K != 4 {
			t.Errorf("direct point %d (%s): got: id %s, k %d want: id %s, k 4 (n)", i, g.Describe(i), p.ID, p.Params.K, "bc5f56a17c4278b0d4d1eef51280e390")
		}
	}
	if err := mustParse(t, "apiVersion: isweep/v1\nname: d\noutput: o\nfixed: {algorithm: direct, n: 8, k: 4}\n").Validate(); err != nil {
		t.Errorf("direct point with k 4 < n 8: got: %v want: valid (k is ignored)", err)
	}
}

// An output with a control character other than C0 (U+0085 NEL, which
// YAML reads back as a space; U+009B, a terminal's escape) or an invisible
// one is refused: the engine would store another path than the one the
// command reports.
func TestOutputWithControlOrInvisibleCharactersIsRefused(t *testing.T) {
	for _, out := range []string{"o\u0085ut", "o\u009but", "o\u200but", "o\u2028ut", "o\x00ut", "o\tut"} {
		spec := &Spec{APIVersion: APIVersion, Name: "c", Output: out, Fixed: map[string]any{"algorithm": "direct", "n": 2}}
		err := spec.Validate()
		if err == nil || !strings.Contains(err.Error(), "plain path") {
			t.Errorf("output %q: got: %v want: refused, naming the character", out, err)
		}
	}
	ok := &Spec{APIVersion: APIVersion, Name: "c", Output: "results/my run/é", Fixed: map[string]any{"algorithm": "direct", "n": 2}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a path with a space and a letter with an accent: got: %v want: accepted", err)
	}
}

// TestDirectWishartUsesK checks that the wishart shape keeps k for the
// direct network: its M₀ = W₀ᵀW₀ is drawn with k rows (docs/model.md: "both
// networks start from M₀ = W₀ᵀW₀"), so direct wishart points with k 4 and 8
// are two points, run with their own k, and share their M₀ with the
// interneuron point of the same k.
func TestDirectWishartUsesK(t *testing.T) {
	spec := mustParse(t, `apiVersion: isweep/v1
name: k-wishart
output: o
grid:
  k: [4, 8]
fixed: {algorithm: direct, n: 4, init_shape: wishart}
`)
	g, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	a, b := g.Point(0), g.Point(1)
	if a.ID == b.ID {
		t.Errorf("direct wishart points with k 4 and 8: got: one id %s want: two", a.ID)
	}
	if a.Params.K != 4 || b.Params.K != 8 {
		t.Errorf("got: k %d, %d want: 4, 8", a.Params.K, b.Params.K)
	}
}

// TestParamsArePointParams: Grid.Params gives Point's parameters.
func TestParamsArePointParams(t *testing.T) {
	spec := mustParse(t, "apiVersion: isweep/v1\nname: a\noutput: o\nfixed: {algorithm: direct, n: 2}\ngrid: {input_spectrum: [[1, 2], {min: 1, max: 3}], tol: [0.01, 1e-6]}\n")
	g, _ := spec.Grid()
	for i := range g.Len() {
		if got, want := g.Params(i), g.Point(i).Params; !reflect.DeepEqual(got, want) {
			t.Errorf("Params(%d): got: %+v want: %+v", i, got, want)
		}
	}
}
