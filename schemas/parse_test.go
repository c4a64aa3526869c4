package schemas

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
)

// goodSpecs are the example specs under testdata/good with what they must
// expand to.
var goodSpecs = []struct {
	file    string
	len     int64
	chunks  int64
	varying []string
	// points maps an index to the point's axis values (Grid.Describe).
	points map[int64]string
}{
	{
		file:    "mu-scan.yaml",
		len:     20,
		chunks:  4, // chunk: 5
		varying: []string{"algorithm", "init_scale"},
		points: map[int64]string{
			0:  "algorithm=direct, init_scale=1",
			1:  "algorithm=direct, init_scale=2.154434690031884",
			3:  "algorithm=direct, init_scale=10",
			9:  "algorithm=direct, init_scale=1000",
			10: "algorithm=interneuron, init_scale=1",
			19: "algorithm=interneuron, init_scale=1000",
		},
	},
	{
		file:    "eta-zip.json",
		len:     9,
		chunks:  1,
		varying: []string{"algorithm", "n", "k", "eta"},
		points: map[int64]string{
			0: "algorithm=interneuron, n=2, k=4, eta=0.001",
			1: "algorithm=interneuron, n=2, k=4, eta=0.01",
			4: "algorithm=interneuron, n=4, k=8, eta=0.01",
			8: "algorithm=interneuron, n=8, k=16, eta=0.1",
		},
	},
	{
		file:    "spectra-seeds.yaml",
		len:     27,
		chunks:  1,
		varying: []string{"input_spectrum", "eta", "seed"},
		points: map[int64]string{
			0:  "input_spectrum=[0.5,1,2], eta=0.01, seed=0",
			1:  "input_spectrum=[0.5,1,2], eta=0.01, seed=2",
			3:  "input_spectrum=[0.5,1,2], eta=0.03, seed=0",
			9:  `input_spectrum={min=0.1,max=10,spacing="log"}, eta=0.01, seed=0`,
			26: `input_spectrum={min=1,max=4,spacing="linear"}, eta=0.05, seed=4`,
		},
	},
	{
		file:   "single-point.yaml",
		len:    1,
		chunks: 1,
		points: map[int64]string{0: ""},
	},
	{
		file:    "wide.yaml",
		len:     2 * 2 * 4 * 3 * 2 * 3 * 2,
		chunks:  1, // no chunk: 576 points of about 0.4 ms, at least 0.5 s a chunk: 1,000 a chunk
		varying: []string{"algorithm", "mode", "n", "k", "init_scale", "init_shape", "eta", "seed"},
		points: map[int64]string{
			0:   "algorithm=direct, mode=flow, n=2, k=2, init_scale=0.5, init_shape=identity, eta=0.001, seed=0",
			1:   "algorithm=direct, mode=flow, n=2, k=2, init_scale=0.5, init_shape=identity, eta=0.001, seed=1",
			2:   "algorithm=direct, mode=flow, n=2, k=2, init_scale=0.5, init_shape=identity, eta=0.01, seed=0",
			6:   "algorithm=direct, mode=flow, n=2, k=2, init_scale=0.5, init_shape=wishart, eta=0.001, seed=0",
			12:  "algorithm=direct, mode=flow, n=2, k=2, init_scale=1, init_shape=identity, eta=0.001, seed=0",
			36:  "algorithm=direct, mode=flow, n=4, k=6, init_scale=0.5, init_shape=identity, eta=0.001, seed=0",
			144: "algorithm=direct, mode=online, n=2, k=2, init_scale=0.5, init_shape=identity, eta=0.001, seed=0",
			288: "algorithm=interneuron, mode=flow, n=2, k=2, init_scale=0.5, init_shape=identity, eta=0.001, seed=0",
			575: "algorithm=interneuron, mode=online, n=16, k=32, init_scale=2, init_shape=wishart, eta=0.1, seed=1",
		},
	},
}

func TestParseGoodSpecs(t *testing.T) {
	for _, tc := range goodSpecs {
		t.Run(tc.file, func(t *testing.T) {
			spec, err := ParseFile(filepath.Join("testdata", "good", tc.file))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if err := spec.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			g, err := spec.Grid()
			if err != nil {
				t.Fatalf("Grid: %v", err)
			}
			if got := g.Len(); got != tc.len {
				t.Errorf("Len: got: %d want: %d", got, tc.len)
			}
			if got := spec.Chunks(); got != tc.chunks {
				t.Errorf("Chunks: got: %d want: %d", got, tc.chunks)
			}
			if got := g.Varying(); !reflect.DeepEqual(got, tc.varying) && (len(got) > 0 || len(tc.varying) > 0) {
				t.Errorf("Varying: got: %q want: %q", got, tc.varying)
			}
			for i, want := range tc.points {
				if got := g.Describe(i); got != want {
					t.Errorf("Describe(%d): got: %s want: %s", i, got, want)
				}
			}
			// Every point has an id of 32 hex digits and defaulted params,
			// and is distinct unless the grid may repeat one (wide.yaml:
			// its flow points ignore eta).
			seen := make(map[string]int64, g.Len())
			for i := range g.Len() {
				p := g.Point(i)
				if p.Index != i {
					t.Fatalf("Point(%d).Index: got: %d", i, p.Index)
				}
				if len(p.ID) != 32 || strings.Trim(p.ID, "0123456789abcdef") != "" {
					t.Fatalf("Point(%d).ID: got: %q want: 32 lower-case hex digits", i, p.ID)
				}
				if j, dup := seen[p.ID]; dup && !g.MayRepeat() {
					t.Fatalf("Point(%d) and Point(%d) share the id %s", j, i, p.ID)
				}
				seen[p.ID] = i
				if !reflect.DeepEqual(p.Params, p.Params.WithDefaults()) {
					t.Fatalf("Point(%d).Params are not defaulted: %+v", i, p.Params)
				}
			}
		})
	}
}

// TestParseTypedValues checks the Go types of a parsed spec's values.
func TestParseTypedValues(t *testing.T) {
	spec, err := ParseFile("testdata/good/spectra-seeds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"fixed.n", spec.Fixed["n"], int64(3)},
		{"fixed.algorithm", spec.Fixed["algorithm"], "direct"},
		{"fixed.horizon", spec.Fixed["horizon"], 1000.0},
		{"grid.input_spectrum[0]", spec.GridAxes["input_spectrum"].Values[0], dynamics.Spectrum{Values: []float64{0.5, 1, 2}}},
		{"grid.input_spectrum[2]", spec.GridAxes["input_spectrum"].Values[2], dynamics.Spectrum{Min: 1, Max: 4, Spacing: dynamics.LinearSpacing}},
		{"grid.seed", *spec.GridAxes["seed"].Range, Range{Start: 0, Stop: 6, Step: 2}},
		{"grid.eta", *spec.GridAxes["eta"].Linspace, Linspace{Start: 0.01, Stop: 0.05, Num: 3}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got: %#v want: %#v", c.name, c.got, c.want)
		}
	}
}

// TestKeyOrderDoesNotMatter writes one sweep in two files that order every
// mapping and the zip groups differently, in YAML and in JSON: the points,
// their order and ids, the canonical form and the sweep id must agree.
func TestKeyOrderDoesNotMatter(t *testing.T) {
	a := `
apiVersion: isweep/v1
name: order
output: results/order
grid:
  eta: [0.01, 0.1]
  algorithm: [direct, interneuron]
  input_spectrum: [[1, 2], {min: 0.5, max: 2}]
zip:
  - {seed: [1, 2, 3], record: [10, 20, 30]}
  - {k: [4, 8], n: [2, 4]}
fixed: {tol: 0.05, mode: flow}
`
	b := `{"fixed": {"mode": "flow", "tol": 5e-2},
 "zip": [{"n": [2, 4], "k": [4, 8]}, {"record": [10, 20, 30], "seed": [1, 2, 3]}],
 "grid": {"input_spectrum": [[1.0, 2.0], {"max": 2, "min": 0.5}], "algorithm": ["direct", "interneuron"], "eta": [1e-2, 0.1]},
 "output": "results/order", "name": "order", "apiVersion": "isweep/v1"}`
	sa, err := Parse([]byte(a), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Parse([]byte(b), "b.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(sb.Canonical()), string(sa.Canonical()); got != want {
		t.Fatalf("Canonical:\ngot:  %s\nwant: %s", got, want)
	}
	if got, want := sb.SweepID(), sa.SweepID(); got != want {
		t.Fatalf("SweepID: got: %s want: %s", got, want)
	}
	ga, _ := sa.Grid()
	gb, _ := sb.Grid()
	if ga.Len() != 2*2*2*2*3 || gb.Len() != ga.Len() {
		t.Fatalf("Len: got: %d and %d want: 48", ga.Len(), gb.Len())
	}
	for i := range ga.Len() {
		pa, pb := ga.Point(i), gb.Point(i)
		if pa.ID != pb.ID {
			t.Fatalf("Point(%d): got: %s (%s) want: %s (%s)", i, pb.ID, gb.Describe(i), pa.ID, ga.Describe(i))
		}
	}
	// The zip group of n and k comes before eta and after algorithm; the
	// group of record and seed comes last and varies fastest.
	if got, want := ga.Describe(1), "algorithm=direct, n=2, k=4, input_spectrum=[1,2], eta=0.01, record=20, seed=2"; got != want {
		t.Errorf("Describe(1): got: %s want: %s", got, want)
	}
}

// TestSweepID checks what the sweep id depends on.
func TestSweepID(t *testing.T) {
	base := "apiVersion: isweep/v1\nname: s\noutput: out\nfixed: {algorithm: direct}\ngrid: {n: [1, 2]}\n"
	id := mustParse(t, base).SweepID()
	if len(id) != 16 {
		t.Fatalf("SweepID: got: %q want: 16 hex digits", id)
	}
	tests := []struct {
		name string
		src  string
		same bool
	}{
		{"other output", strings.Replace(base, "output: out", "output: s3://bucket/x", 1), true},
		{"limits", base + "limits: {max_points: 5, max_n: 8}\n", true},
		{"chunk stated (the automatic size is another sweep)", base + "chunk: 100\n", false},
		{"other chunk", base + "chunk: 1\n", false},
		{"other name", strings.Replace(base, "name: s", "name: t", 1), false},
		{"other values", strings.Replace(base, "[1, 2]", "[1, 3]", 1), false},
		{"same values as a generator", strings.Replace(base, "[1, 2]", "{range: [1, 3, 1]}", 1), false},
		{"value moved to fixed", strings.Replace(base, "{algorithm: direct}", "{algorithm: interneuron}", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustParse(t, tc.src).SweepID()
			if (got == id) != tc.same {
				t.Errorf("SweepID: got: %s, base: %s, want equal: %v", got, id, tc.same)
			}
		})
	}
}

// TestCanonicalRoundTrip checks that the canonical form parses back to the
// same sweep.
func TestCanonicalRoundTrip(t *testing.T) {
	for _, tc := range goodSpecs {
		spec, err := ParseFile(filepath.Join("testdata", "good", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(spec.Canonical(), "canonical.json")
		if err != nil {
			t.Fatalf("%s: parsing the canonical form: %v\n%s", tc.file, err, spec.Canonical())
		}
		if got, want := string(again.Canonical()), string(spec.Canonical()); got != want {
			t.Errorf("%s: Canonical after a round trip:\ngot:  %s\nwant: %s", tc.file, got, want)
		}
		if got, want := again.SweepID(), spec.SweepID(); got != want {
			t.Errorf("%s: SweepID after a round trip: got: %s want: %s", tc.file, got, want)
		}
	}
}

func mustParse(t testing.TB, src string) *Spec {
	t.Helper()
	spec, err := Parse([]byte(src), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return spec
}

// check parses and validates src.
func check(src string) error {
	spec, err := Parse([]byte(src), "bad.yaml")
	if err != nil {
		return err
	}
	return spec.Validate()
}

const head = "apiVersion: isweep/v1\nname: bad\noutput: results/bad\n"

// badSpecs are specs that must be refused, each with fragments of the
// message that must appear.
var badSpecs = []struct {
	name string
	src  string
	want []string
}{
	{"unknown parameter", head + "fixed: {algorithm: direct, n: 2}\ngrid:\n  etaa: [0.1]\n",
		[]string{"bad.yaml:6: grid.etaa: unknown parameter; did you mean eta?"}},
	{"unknown parameter in fixed", head + "fixed: {algorithm: direct, n: 2, sed: 3}\n",
		[]string{"bad.yaml:4: fixed.sed: unknown parameter; did you mean seed?"}},
	{"unknown parameter in zip", head + "fixed: {algorithm: direct}\nzip:\n  - {n: [2], kk: [2]}\n",
		[]string{"zip[0].kk: unknown parameter; did you mean k?"}},
	{"unknown parameter far from any", head + "fixed: {algorithm: direct, n: 2, temperature: 3}\n",
		[]string{"fixed.temperature: unknown parameter; the parameters are algorithm, mode, n, k"}},
	{"unknown top-level key", head + "gird: {n: [1]}\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"bad.yaml:4: gird: unknown key; did you mean grid?"}},
	{"unknown key case", "apiversion: isweep/v1\nname: bad\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"bad.yaml:1: apiversion: unknown key; did you mean apiVersion?"}},
	{"unknown limits key", head + "fixed: {algorithm: direct, n: 1}\nlimits: {max_pionts: 5}\n",
		[]string{"limits.max_pionts: unknown key; did you mean max_points?"}},
	{"unknown spectrum key", head + "fixed:\n  algorithm: direct\n  n: 2\n  input_spectrum: {min: 1, mx: 2}\n",
		[]string{"bad.yaml:7: fixed.input_spectrum.mx: unknown key; did you mean max?"}},
	{"unknown axis form", head + "fixed: {algorithm: direct, n: 2}\ngrid:\n  eta: {linspce: [0.1, 0.2, 3]}\n",
		[]string{"grid.eta.linspce: unknown axis form; did you mean linspace?"}},
	{"wrong apiVersion", "apiVersion: isweep/v2\nname: bad\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"bad.yaml:1: apiVersion: \"isweep/v2\" is not supported; this version of isweep reads apiVersion: isweep/v1"}},
	{"missing apiVersion", "name: bad\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"apiVersion: missing; start the spec with apiVersion: isweep/v1"}},
	{"missing name", "apiVersion: isweep/v1\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"name: missing"}},
	{"missing output", "apiVersion: isweep/v1\nname: x\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"output: missing; set a folder path like results/mu-scan or s3://bucket/prefix"}},
	{"name not a string", "apiVersion: isweep/v1\nname: [a]\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"bad.yaml:2: name: [\"a\"] is a list; want a string"}},
	{"name with capitals", "apiVersion: isweep/v1\nname: Mu Scan\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`name: "Mu Scan" is not a valid name`}},
	{"name with traversal", "apiVersion: isweep/v1\nname: a..b\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`name: "a..b" contains ".."`}},
	{"name with slash", "apiVersion: isweep/v1\nname: a/b\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`name: "a/b" is not a valid name`}},
	{"name too long", "apiVersion: isweep/v1\nname: " + strings.Repeat("a", 64) + "\noutput: o\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"is not a valid name; a name is 1 to 63 characters"}},
	{"output traversal", "apiVersion: isweep/v1\nname: x\noutput: results/../../etc\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`bad.yaml:3: output: "results/../../etc": ".." element`}},
	{"output traversal at the start", "apiVersion: isweep/v1\nname: x\noutput: ../up\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`".." element`}},
	{"s3 prefix traversal", "apiVersion: isweep/v1\nname: x\noutput: s3://bucket/a/../b\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`output: "s3://bucket/a/../b": ".." element in the prefix; S3 keys are not paths`}},
	{"credentials in the s3 URL", "apiVersion: isweep/v1\nname: x\noutput: s3://AKIAKEY:s3cr3t@bucket/b\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`output: credentials in the S3 URL are not accepted (and not repeated here)`}},
	{"s3 URL with one slash", "apiVersion: isweep/v1\nname: x\noutput: s3:/bucket/b\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`output: "s3:/bucket/b": looks like a URL but is not s3://bucket/prefix`}},
	{"reserved prefix", "apiVersion: isweep/v1\nname: x\noutput: s3://bucket/.isweep-x\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`names starting with .isweep- are reserved`}},
	{"s3 prefix odd character", "apiVersion: isweep/v1\nname: x\noutput: \"s3://bucket/a b\"\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`"s3://bucket/a b": " " in the prefix is not allowed`}},
	{"s3 prefix with a query", "apiVersion: isweep/v1\nname: x\noutput: s3://bucket/a?x=1\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`"?" in the prefix is not allowed`}},
	{"s3 bad bucket", "apiVersion: isweep/v1\nname: x\noutput: s3://B_/x\nfixed: {algorithm: direct, n: 1}\n",
		[]string{`"B_" is not a valid bucket name`}},
	{"other scheme", "apiVersion: isweep/v1\nname: x\noutput: gs://bucket/x\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"gs:// is not supported"}},
	{"home folder", "apiVersion: isweep/v1\nname: x\noutput: ~/results\nfixed: {algorithm: direct, n: 1}\n",
		[]string{"~ is not expanded here"}},
	{"axis is one value", head + "fixed: {algorithm: direct}\ngrid:\n  n: 4\n",
		[]string{"bad.yaml:6: grid.n: 4 is one value, not an axis; write [4], or set n under fixed"}},
	{"empty axis", head + "fixed: {algorithm: direct}\ngrid:\n  n: []\n",
		[]string{"grid.n: empty axis"}},
	{"null axis", head + "fixed: {algorithm: direct}\ngrid:\n  n:\n",
		[]string{"grid.n: empty axis"}},
	{"linspace num 0", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {linspace: [0.1, 0.2, 0]}\n",
		[]string{"bad.yaml:6: grid.eta.linspace: linspace num 0 is out of range; num is the number of values, 1 to 10000000"}},
	{"logspace num negative", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {logspace: [-3, -1, -2]}\n",
		[]string{"logspace num -2 is out of range"}},
	{"linspace num fractional", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {linspace: [0.1, 0.2, 2.5]}\n",
		[]string{"grid.eta.linspace[2]: 2.5 is not an integer; want an integer count of values"}},
	{"linspace two numbers", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {linspace: [0.1, 0.2]}\n",
		[]string{"grid.eta.linspace: [0.1, 0.2] is not a list of three numbers; write {linspace: [start, stop, num]}"}},
	{"generator with a string", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {range: [0, one, 0.1]}\n",
		[]string{`grid.eta.range[1]: "one" is not a finite number`}},
	{"two generators", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {range: [0, 1, 0.1], linspace: [0, 1, 3]}\n",
		[]string{"an axis is a list or one generator (linspace, logspace or range); got 2 keys"}},
	{"empty range", head + "fixed: {algorithm: direct}\ngrid:\n  n: {range: [5, 1, 1]}\n",
		[]string{"grid.n.range: {range: [5, 1, 1]} is empty"}},
	{"range step 0", head + "fixed: {algorithm: direct}\ngrid:\n  n: {range: [1, 5, 0]}\n",
		[]string{"has step 0"}},
	{"generator over strings", head + "fixed: {n: 1}\ngrid:\n  algorithm: {linspace: [0, 1, 2]}\n",
		[]string{"grid.algorithm.linspace: linspace makes numbers, but algorithm takes a string; list the values"}},
	{"generator gives non-integers", head + "fixed: {algorithm: direct}\ngrid:\n  n: {linspace: [1, 2, 3]}\n",
		[]string{"{linspace: [1, 2, 3]} gives 1.5, which is not an integer; n takes integers"}},
	{"logspace overflows", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {logspace: [300, 400, 3]}\n",
		[]string{"gives +Inf, which is not a finite number"}},
	{"mismatched zip", head + "fixed: {algorithm: interneuron}\nzip:\n  - {n: [2, 4, 8], k: [4, 8]}\n",
		[]string{"bad.yaml:6: zip[0]: the axes of a zip group vary together and need the same length; got n: 3, k: 2"}},
	{"empty zip group", head + "fixed: {algorithm: interneuron, n: 1}\nzip:\n  - {}\n",
		[]string{"zip[0]: empty group"}},
	{"duplicate parameter grid and fixed", head + "fixed: {algorithm: direct, n: 2}\ngrid:\n  n: [2, 4]\n",
		[]string{"bad.yaml:4: fixed.n: n is also set at grid.n; a parameter may appear in only one of grid, zip and fixed"}},
	{"duplicate parameter grid and zip", head + "fixed: {algorithm: direct}\ngrid:\n  n: [2, 4]\nzip:\n  - {n: [1], seed: [1]}\n",
		[]string{"zip[0].n: n is also set at grid.n"}},
	{"duplicate parameter in two zip groups", head + "fixed: {algorithm: direct}\nzip:\n  - {n: [1], seed: [1]}\n  - {n: [2], eta: [0.1]}\n",
		[]string{"zip[1].n: n is also set at zip[0].n"}},
	{"repeated key", head + "fixed:\n  algorithm: direct\n  n: 1\n  n: 2\n",
		[]string{"bad.yaml:7: fixed.n: key repeated (first set at line 6); keep one"}},
	{"string for an integer", head + "fixed: {algorithm: direct, n: four}\n",
		[]string{`fixed.n: "four" is a string; n takes an integer, like 4`}},
	{"quoted number for an integer", head + "fixed: {algorithm: direct, n: \"4\"}\n",
		[]string{`fixed.n: "4" is a string; n takes an integer`}},
	{"fraction for an integer", head + "fixed: {algorithm: direct}\ngrid:\n  n: [2, 4.5]\n",
		[]string{"bad.yaml:6: grid.n[1]: 4.5 is not an integer; n takes an integer"}},
	{"number for a string", head + "fixed: {algorithm: 3, n: 1}\n",
		[]string{"fixed.algorithm: 3 is an integer; algorithm takes a string, like direct"}},
	{"boolean for a number", head + "fixed: {algorithm: direct, n: 1, eta: true}\n",
		[]string{"fixed.eta: true is a boolean; eta takes a number"}},
	{"NaN", head + "fixed: {algorithm: direct, n: 1, eta: .nan}\n",
		[]string{"fixed.eta: NaN is not a finite number"}},
	{"spectrum axis of numbers", head + "fixed: {algorithm: direct, n: 3}\ngrid:\n  input_spectrum: [0.5, 1, 2]\n",
		[]string{"grid.input_spectrum[0]: 0.5 is a number", "an axis over input_spectrum is a list of spectra"}},
	{"one spectrum as an axis", head + "fixed: {algorithm: direct, n: 3}\ngrid:\n  input_spectrum: {min: 1, max: 2}\n",
		[]string{"grid.input_spectrum: one spectrum is not an axis"}},
	{"spectrum without max", head + "fixed: {algorithm: direct, n: 3, input_spectrum: {min: 1}}\n",
		[]string{"fixed.input_spectrum: a spectrum object needs both min and max"}},
	{"zero tol", head + "fixed: {algorithm: direct, n: 1, tol: 0}\n",
		[]string{"bad.yaml:4: fixed.tol: 0 is not allowed: a zero tol stands for its default (0.01) in a point; leave tol out instead, or give another value"}},
	{"empty mode", head + "fixed: {algorithm: direct, n: 1}\ngrid: {mode: [flow, \"\"]}\n",
		[]string{`grid.mode[1]: "" is not allowed`}},
	{"zero k", head + "fixed: {algorithm: interneuron, n: 2}\ngrid: {k: [0, 2]}\n",
		[]string{"grid.k[0]: 0 is not allowed"}},
	{"zero spectrum", head + "fixed: {algorithm: direct, n: 2, input_spectrum: {min: 0, max: 0}}\n",
		[]string{"fixed.input_spectrum: {min: 0, max: 0} is not allowed"}},
	{"generator through zero", head + "fixed: {algorithm: direct, n: 1}\ngrid: {eta: {linspace: [-1, 1, 3]}}\n",
		[]string{"grid.eta.linspace: {linspace: [-1, 1, 3]} gives 0, which is not allowed"}},
	{"missing algorithm", head + "fixed: {n: 2}\n",
		[]string{"bad.yaml: algorithm is not set; every point needs one"}},
	{"missing n", head + "fixed: {algorithm: direct}\n",
		[]string{"n is not set"}},
	{"chunk zero", head + "fixed: {algorithm: direct, n: 1}\nchunk: 0\n",
		[]string{"chunk: 0 is out of range; chunk is the number of points per chunk, 1 to 100000"}},
	{"chunk too large", head + "fixed: {algorithm: direct, n: 1}\nchunk: 200000\n",
		[]string{"chunk: 200000 is out of range"}},
	{"zero limit", head + "fixed: {algorithm: direct, n: 1}\nlimits: {max_points: 0}\n",
		[]string{"limits.max_points: 0 is not positive"}},
	{"eta out of range for interneuron", head + "fixed: {n: 2, mode: online}\ngrid:\n  algorithm: [direct, interneuron]\n  eta: [0.5, 1.5]\n",
		[]string{"bad.yaml: 1 of 4 points are invalid:",
			`point 3 (algorithm=interneuron, eta=1.5): eta: 1.5 is out of range: the interneuron rule needs 0 < eta < 1`}},
	{"k below n in some points", head + "fixed: {algorithm: interneuron}\ngrid:\n  n: [2, 8]\n  k: [4, 8]\n",
		[]string{"1 of 4 points are invalid:", "point 2 (n=8, k=4): k: 4 is below n = 8"}},
	{"n above max_n", head + "fixed: {algorithm: direct, n: 2048}\n",
		[]string{"bad.yaml: the only point is invalid:\n  point 0: n: 2048 is above the limit 1024; raise limits.max_n in the spec to allow it"}},
	{"n above a lowered max_n", head + "fixed: {algorithm: direct}\ngrid: {n: [4, 8, 16]}\nlimits: {max_n: 8}\n",
		[]string{"1 of 3 points are invalid", "point 2 (n=16): n: 16 is above the limit 8"}},
	{"grid above max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 1000]}\n",
		[]string{"grid.seed.range: [0, 1000] is not a list of three numbers"}},
	{"grid above max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 1000, 1]}\n  eta: {linspace: [0.01, 0.1, 1000]}\nlimits: {max_points: 999999}\n",
		[]string{"bad.yaml: the grid has 1,000,000 points, above limits.max_points = 999,999; shrink the axes, or raise the limit with limits: {max_points: 1000000}"}},
	{"grid above the default max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 10000000, 1]}\n  eta: {linspace: [0.01, 0.1, 2]}\n",
		[]string{"the grid has 20,000,000 points, above limits.max_points = 10,000,000"}},
	{"one axis of 10⁹ values above max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 1000000000, 1]}\n",
		[]string{"the grid has 1,000,000,000 points, above limits.max_points = 10,000,000", "limits: {max_points: 1000000000}"}},
	{"one float axis of 10⁹ values above max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  eta: {range: [0.5, 1000000, 0.001]}\n",
		[]string{"the grid has 999,999,500 points"}},
	{"one axis of 10⁹ values within max_points", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 1000000000, 1]}\nlimits: {max_points: 1000000000}\n",
		[]string{"grid.seed.range: {range: [0, 1000000000, 1]} gives 1,000,000,000 values; an axis holds at most 10,000,000"}},
	{"grid beyond int64", head + "fixed: {algorithm: direct, n: 1}\ngrid:\n  seed: {range: [0, 10000000, 1]}\n  eta: {linspace: [0.01, 0.1, 10000000]}\n  tol: {linspace: [0.01, 0.1, 10000000]}\nlimits: {max_points: 9000000000000000000}\n",
		[]string{"the grid has more than 9,223,372,036,854,775,807 points"}},
	{"leading zero", head + "fixed: {algorithm: direct}\ngrid: {n: [2, 010]}\n",
		[]string{"bad.yaml:5: grid.n[1]: 010 has a leading zero; write 10 (or 8 if you meant octal)"}},
	{"leading zero, not octal", head + "fixed: {algorithm: direct, n: 1}\ngrid: {seed: [07, 09]}\n",
		[]string{"grid.seed[0]: 07 has a leading zero; write 7\n", "grid.seed[1]: 09 has a leading zero; write 9"}},
	{"leading zero, negative", head + "fixed: {algorithm: direct, n: 1, seed: -0_10}\n",
		[]string{"fixed.seed: -0_10 has a leading zero; write -10 (or -8 if you meant octal)"}},
	{"leading zero in chunk", head + "fixed: {algorithm: direct, n: 1}\nchunk: 0100\n",
		[]string{"bad.yaml:5: chunk: 0100 has a leading zero; write 100 (or 64 if you meant octal)"}},
	{"leading zero in a generator", head + "fixed: {algorithm: direct, n: 1}\ngrid: {seed: {range: [0, 010, 1]}}\n",
		[]string{"grid.seed.range[1]: 010 has a leading zero"}},
	{"invalid YAML", head + "fixed: {algorithm: direct, n: 1\n",
		[]string{"bad.yaml:4: invalid YAML: did not find expected ',' or '}' (is a {...} left open?)"}},
	{"invalid YAML indentation", head + "fixed:\n  algorithm: direct\n n: 1\n",
		[]string{"bad.yaml:6: invalid YAML: did not find expected key (check the indentation)"}},
	{"invalid YAML tab", head + "fixed:\n\talgorithm: direct\n",
		[]string{"bad.yaml:5: invalid YAML: found character that cannot start any token"}},
	{"two documents", head + "fixed: {algorithm: direct, n: 1}\n---\nname: other\n",
		[]string{"bad.yaml:5: a spec file holds one YAML document"}},
	{"merge key", head + "base: &b {algorithm: direct}\nfixed:\n  <<: *b\n  n: 1\n",
		[]string{`bad.yaml:6: fixed."<<": YAML merge keys (<<) are not supported`}},
	{"recursive alias", head + "fixed: &f {algorithm: direct, n: 1, more: *f}\n",
		[]string{"bad.yaml:4: fixed.more: YAML alias *f refers to a value that contains it"}},
	{"alias bomb", head + "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
		[]string{"YAML aliases expand to more than 100000 values; write the values out"}},
	{"empty file", "", []string{"bad.yaml: the spec is empty"}},
	{"a list at the top", "- a\n- b\n", []string{"bad.yaml: a spec is a mapping"}},
}

func TestBadSpecs(t *testing.T) {
	for _, tc := range badSpecs {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.src)
			if err == nil {
				t.Fatalf("got: no error want: %q\n%s", tc.want, tc.src)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got: %v\nwant a message with: %s", err, want)
				}
			}
		})
	}
}

// TestBadSpecsLines checks that errors from several places of one file all
// come back, each with its own line.
func TestBadSpecsLines(t *testing.T) {
	src := `apiVersion: isweep/v1
name: lines
output: results/lines
grid:
  etaa: [0.1]
  n: [1, 2.5]
fixed:
  algorithm: direct
  tol: [0.1]
`
	_, err := Parse([]byte(src), "lines.yaml")
	if err == nil {
		t.Fatal("got: no error")
	}
	var specErrs []*SpecError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *SpecError
		if !errors.As(e, &se) {
			t.Fatalf("got: %T want: *SpecError", e)
		}
		specErrs = append(specErrs, se)
	}
	want := map[string]int{"grid.etaa": 5, "grid.n[1]": 6, "fixed.tol": 9}
	if len(specErrs) != len(want) {
		t.Fatalf("got: %d errors (%v) want: %d", len(specErrs), err, len(want))
	}
	for _, se := range specErrs {
		if line, ok := want[se.Path]; !ok || se.Line != line || se.File != "lines.yaml" {
			t.Errorf("got: %s at %s:%d want: line %d", se.Path, se.File, se.Line, want[se.Path])
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got: %v want: an error wrapping os.ErrNotExist", err)
	}
}

// TestZeroValueHints checks what a zero value of each parameter is told:
// the default it stands for, as dynamics.Params.WithDefaults fills it in,
// or that the parameter has none. Both a fixed value and a generator that
// passes through 0 get the hint.
func TestZeroValueHints(t *testing.T) {
	def := dynamics.Params{Algorithm: dynamics.Direct, N: 4}.WithDefaults()
	online := dynamics.Params{Algorithm: dynamics.Direct, N: 4, Mode: dynamics.Online}.WithDefaults()
	if def.K != def.N || def.InputSpectrum.Min != 1 || def.InputSpectrum.Max != 1 {
		t.Fatalf("dynamics defaults changed: got: k %d for n %d, spectrum %+v; update the hints of k and input_spectrum", def.K, def.N, def.InputSpectrum)
	}
	plain := func(f int) string {
		v := getParam(&def, f)
		_, value, _ := strings.Cut(string(appendParam(nil, f, &v)), "=")
		return value
	}
	tests := []struct {
		param string
		zero  string
		want  string // "" for a parameter without default
	}{
		{"algorithm", `""`, ""},
		{"mode", `""`, plain(fMode)},
		{"n", "0", ""},
		{"k", "0", "k = n"},
		{"input_spectrum", "{min: 0, max: 0}", "all ones"},
		{"input_basis", `""`, plain(fInputBasis)},
		{"init_scale", "0", plain(fInitScale)},
		{"init_shape", `""`, plain(fInitShape)},
		{"init_spectrum", "{min: 0, max: 0}", "none: used only by init_shape spectrum"},
		{"init_spread", "0", plain(fInitSpread)},
		{"init_basis", `""`, plain(fInitBasis)},
		{"eta", "0", plain(fEta)},
		{"batch", "0", plain(fBatch)},
		{"tol", "0", plain(fTol)},
		{"horizon", "0", fmt.Sprintf("%s in flow mode, %s steps online", appendFloat(nil, def.Horizon), appendFloat(nil, online.Horizon))},
		{"hold", "0", "1 online; a hold below one step, eta, is first passage"},
		{"record", "0", plain(fRecord)},
		{"contexts", "[]", "none: the point's own input for horizon"},
	}
	zeroIsValue := 0
	for _, d := range paramDefs {
		if d.zeroIsValue {
			zeroIsValue++
		}
	}
	if len(tests) != numParams-zeroIsValue {
		t.Fatalf("got: %d parameters in the table, want: %d (all but seed and noise, whose 0 is a value)", len(tests), numParams-zeroIsValue)
	}
	for _, tc := range tests {
		t.Run(tc.param, func(t *testing.T) {
			fixed := map[string]string{"algorithm": "direct", "n": "4"}
			fixed[tc.param] = tc.zero
			var parts []string
			for _, name := range sortedNames(fixed) {
				parts = append(parts, name+": "+fixed[name])
			}
			err := check(head + "fixed: {" + strings.Join(parts, ", ") + "}\n")
			if err == nil {
				t.Fatalf("got: no error, want: %s: %s refused", tc.param, tc.zero)
			}
			msg := err.Error()
			want := fmt.Sprintf("a zero %s stands for its default (%s) in a point; leave %s out instead", tc.param, tc.want, tc.param)
			if tc.want == "" {
				want = fmt.Sprintf("%s has no default: every point needs one", tc.param)
				if strings.Contains(msg, "leave "+tc.param+" out") {
					t.Errorf("got: %s\nwant: no advice to leave %s out (it has no default)", msg, tc.param)
				}
			}
			if !strings.Contains(msg, want) {
				t.Errorf("got: %s\nwant a message with: %s", msg, want)
			}
		})
	}
	for _, tc := range []struct{ axis, want string }{
		{"n: {range: [0, 4, 2]}", "grid.n.range: {range: [0, 4, 2]} gives 0, which is not allowed: n has no default: every point needs one"},
		{"k: {range: [0, 4, 2]}", "grid.k.range: {range: [0, 4, 2]} gives 0, which is not allowed: a zero k stands for its default (k = n) in a point; start the axis elsewhere"},
	} {
		err := check(head + "fixed: {algorithm: interneuron}\ngrid: {" + tc.axis + "}\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got: %v\nwant a message with: %s", tc.axis, err, tc.want)
		}
	}
}

// TestNumberForms checks the integer forms a spec may use: YAML's 0o, 0x
// and 0b prefixes and a lone 0 are read as written; a leading zero is
// refused (TestBadSpecs) rather than read as octal.
func TestNumberForms(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int64
	}{{"10", 10}, {"0o10", 8}, {"0x10", 16}, {"0b10", 2}, {"1_000", 1000}, {"+7", 7}, {"0", 0}, {"-0", 0}, {"8.0", 8}} {
		spec, err := Parse([]byte(head+"fixed: {algorithm: direct, n: 2, seed: "+tc.value+"}\n"), "forms.yaml")
		if err != nil {
			t.Errorf("seed: %s: got: %v want: seed %d", tc.value, err, tc.want)
			continue
		}
		if got := spec.Fixed["seed"]; got != tc.want {
			t.Errorf("seed: %s: got: %v want: %d", tc.value, got, tc.want)
		}
	}
}
