package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/isweep/isweep/schemas"
)

// specDef is a small flow sweep: the grid axes the harness varies, and
// what an output fixes for all its sweeps (record, input basis), so that
// the sweeps of one output share points.
type specDef struct {
	Name       string
	Chunk      int
	Algorithms []string
	Ns         []int
	InitScales []float64
	Etas       []float64
	Seeds      []int
	Record     int
	// Basis is the input basis, identity or random (drawn from the seed).
	Basis string
}

// Pools the axes take their values from.
var (
	algorithmPool = []string{"direct", "interneuron"}
	nPool         = []int{2, 3}
	initScalePool = []float64{0.5, 1, 2, 4, 8, 16}
	etaPool       = []float64{0.001, 0.002, 0.005, 0.01}
	seedPool      = []int{0, 1, 2, 3, 4, 5}
)

// yaml renders the spec with its output.
func (d specDef) yaml(output string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: isweep/v1\nname: %s\noutput: %s\nchunk: %d\ngrid:\n", d.Name, output, d.Chunk)
	fmt.Fprintf(&b, "  algorithm: [%s]\n", strings.Join(d.Algorithms, ", "))
	fmt.Fprintf(&b, "  n: [%s]\n", joinInts(d.Ns))
	fmt.Fprintf(&b, "  init_scale: [%s]\n", joinFloats(d.InitScales))
	fmt.Fprintf(&b, "  eta: [%s]\n", joinFloats(d.Etas))
	fmt.Fprintf(&b, "  seed: [%s]\n", joinInts(d.Seeds))
	fmt.Fprintf(&b, "fixed: {mode: flow, record: %d, input_basis: %s, input_spectrum: {min: 0.5, max: 2}}\n", d.Record, d.Basis)
	return b.String()
}

// String is the one-line form the harness logs.
func (d specDef) String() string {
	return fmt.Sprintf("%s chunk=%d algorithm=%v n=%v init_scale=%v eta=%v seed=%v record=%d basis=%s",
		d.Name, d.Chunk, d.Algorithms, d.Ns, d.InitScales, d.Etas, d.Seeds, d.Record, d.Basis)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}

// pick returns k values of pool in random order, without repeats.
func pick[T any](rng *rand.Rand, pool []T, k int) []T {
	idx := rng.Perm(len(pool))[:min(k, len(pool))]
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

// maybeRepeat appends a copy of one value with probability p: a repeated
// axis value is the same point twice in the grid.
func maybeRepeat[T any](rng *rand.Rand, v []T, p float64) []T {
	if rng.Float64() < p {
		v = append(v, v[rng.IntN(len(v))])
	}
	return v
}

// baseSpec returns a fresh sweep for an output whose sweeps use record and
// basis: up to 2·2·4·2·3 = 96 grid entries (fewer distinct points when a
// value repeats), chunks[0] to chunks[1] per chunk.
func baseSpec(rng *rand.Rand, name string, record int, basis string, chunks [2]int) specDef {
	d := specDef{
		Name:       name,
		Chunk:      chunks[0] + rng.IntN(chunks[1]-chunks[0]+1),
		Algorithms: maybeRepeat(rng, pick(rng, algorithmPool, 1+btoi(rng.Float64() < 0.7)), 0.1),
		Ns:         pick(rng, nPool, 1+btoi(rng.Float64() < 0.6)),
		InitScales: maybeRepeat(rng, pick(rng, initScalePool, 2+rng.IntN(3)), 0.15),
		Etas:       maybeRepeat(rng, pick(rng, etaPool, 1+rng.IntN(2)), 0.15),
		Seeds:      pick(rng, seedPool, 2+rng.IntN(2)),
		Record:     record,
		Basis:      basis,
	}
	return d
}

// extend returns a spec over the same output that shares points with d:
// more values on one or two axes (the usual case), or the same points cut
// otherwise (another chunk size, another name, reordered or fewer
// values), which a later sweep stores nothing of its own for.
func extend(rng *rand.Rand, d specDef, name string) (specDef, string) {
	e := d
	e.Name = name
	e.Algorithms = slices.Clone(d.Algorithms)
	e.Ns = slices.Clone(d.Ns)
	e.InitScales = slices.Clone(d.InitScales)
	e.Etas = slices.Clone(d.Etas)
	e.Seeds = slices.Clone(d.Seeds)
	switch r := rng.Float64(); {
	case r < 0.6:
		var grown []string
		for range 1 + rng.IntN(2) {
			switch rng.IntN(5) {
			case 0:
				e.Algorithms = addNew(rng, e.Algorithms, algorithmPool)
				grown = append(grown, "algorithm")
			case 1:
				e.Ns = addNew(rng, e.Ns, nPool)
				grown = append(grown, "n")
			case 2:
				e.InitScales = addNew(rng, e.InitScales, initScalePool)
				grown = append(grown, "init_scale")
			case 3:
				e.Etas = addNew(rng, e.Etas, etaPool)
				grown = append(grown, "eta")
			default:
				e.Seeds = addNew(rng, e.Seeds, seedPool)
				grown = append(grown, "seed")
			}
		}
		if rng.Float64() < 0.3 {
			e.Chunk = 2 + rng.IntN(4)
		}
		return e, "more " + strings.Join(grown, ", ")
	case r < 0.7:
		e.Chunk = d.Chunk%5 + 2
		return e, "same grid, chunk " + strconv.Itoa(e.Chunk)
	case r < 0.8:
		return e, "same grid, another name"
	case r < 0.9:
		rng.Shuffle(len(e.InitScales), func(i, j int) { e.InitScales[i], e.InitScales[j] = e.InitScales[j], e.InitScales[i] })
		rng.Shuffle(len(e.Seeds), func(i, j int) { e.Seeds[i], e.Seeds[j] = e.Seeds[j], e.Seeds[i] })
		return e, "values reordered"
	default:
		if len(e.InitScales) > 1 {
			e.InitScales = e.InitScales[:len(e.InitScales)-1]
		} else if len(e.Seeds) > 1 {
			e.Seeds = e.Seeds[:len(e.Seeds)-1]
		}
		return e, "a subset"
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// addNew appends a value of pool not yet in v, if there is one.
func addNew[T comparable](rng *rand.Rand, v, pool []T) []T {
	var fresh []T
	for _, x := range pool {
		if !slices.Contains(v, x) {
			fresh = append(fresh, x)
		}
	}
	if len(fresh) == 0 {
		return v
	}
	return append(v, fresh[rng.IntN(len(fresh))])
}

// sweepRec is a sweep the harness submitted into an output.
type sweepRec struct {
	def  specDef
	path string // the spec file
	spec *schemas.Spec
	id   string
	// ids are the distinct point ids of its grid, from schemas.
	ids map[string]bool
}

// writeSpec writes d's spec for output into dir and parses it back.
func writeSpec(t testing.TB, dir string, d specDef, output string) *sweepRec {
	t.Helper()
	path := filepath.Join(dir, d.Name+".yaml")
	for i := 2; ; i++ {
		if _, err := os.Stat(path); err != nil {
			break
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.yaml", d.Name, i))
	}
	if err := os.WriteFile(path, []byte(d.yaml(output)), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := schemas.ParseFile(path)
	if err != nil {
		t.Fatalf("the harness wrote a spec that does not parse: %v\n%s", err, d.yaml(output))
	}
	if err := spec.Validate(); err != nil {
		t.Fatalf("the harness wrote an invalid spec: %v\n%s", err, d.yaml(output))
	}
	grid, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i := range grid.Len() {
		ids[grid.Point(i).ID] = true
	}
	return &sweepRec{def: d, path: path, spec: spec, id: spec.SweepID(), ids: ids}
}
