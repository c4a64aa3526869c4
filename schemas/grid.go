package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/isweep/isweep/internal/dynamics"
)

// Grid gives random access to the points of a sweep without holding them:
// point i is decoded from i as a mixed-radix number over the axes. Axes come
// in canonical order, that of the fields of dynamics.Params (a zip group
// placed by the first of its parameters in that order), and the last axis
// varies fastest. A Grid is immutable and safe for concurrent use.
type Grid struct {
	base    dynamics.Params // fixed values
	axes    []gridAxis
	size    int64
	chunk   int
	limits  Limits
	varying []int // field numbers of the axes' parameters, ascending
	// placed is where the spec sets each parameter ("fixed.eta",
	// "grid.k", "zip[0].k"; "" for one it leaves out), for messages.
	placed [numParams]string
}

// gridAxis is one axis of the product: a grid parameter, or a zip group of
// several parameters whose values go together.
type gridAxis struct {
	columns []column // one per parameter, by ascending field number
	n       int64    // number of values
}

// column holds the values of one parameter along an axis, in the slice of
// the parameter's kind (a 10⁷-value axis of numbers takes 80 MB, not more).
type column struct {
	field   int
	strs    []string
	ints    []int64
	nums    []float64
	spectra []dynamics.Spectrum
	ctxs    [][]dynamics.Context
}

func newColumn(f int, n int64) column {
	c := column{field: f}
	switch paramDefs[f].kind {
	case kindString:
		c.strs = make([]string, n)
	case kindInt:
		c.ints = make([]int64, n)
	case kindFloat:
		c.nums = make([]float64, n)
	case kindContexts:
		c.ctxs = make([][]dynamics.Context, n)
	default:
		c.spectra = make([]dynamics.Spectrum, n)
	}
	return c
}

func (c *column) len() int64 {
	return int64(len(c.strs) + len(c.ints) + len(c.nums) + len(c.spectra) + len(c.ctxs))
}

func (c *column) put(d int64, v *paramValue) {
	switch paramDefs[c.field].kind {
	case kindString:
		c.strs[d] = v.str
	case kindInt:
		c.ints[d] = v.int
	case kindFloat:
		c.nums[d] = v.num
	case kindContexts:
		c.ctxs[d] = v.contexts
	default:
		c.spectra[d] = v.spectrum
	}
}

func (c *column) at(d int64) paramValue {
	switch paramDefs[c.field].kind {
	case kindString:
		return paramValue{str: c.strs[d]}
	case kindInt:
		return paramValue{int: c.ints[d]}
	case kindFloat:
		return paramValue{num: c.nums[d]}
	case kindContexts:
		return paramValue{contexts: c.ctxs[d]}
	default:
		return paramValue{spectrum: c.spectra[d]}
	}
}

// Point is one point of a sweep.
type Point struct {
	// Index is the point's place in the grid, 0 ≤ Index < Len.
	Index int64
	// ID is PointID(Params): it names the point across runs and versions.
	ID string
	// Params are the point's parameters with defaults filled in
	// (dynamics.Params.WithDefaults); a direct point's K is its default, N,
	// whatever the spec says.
	Params dynamics.Params
}

// Grid checks the structure of the spec and returns its grid. The checks:
// apiVersion, name, output, chunk and limits; every parameter name known
// and set in only one of grid, zip and fixed; algorithm and n set; every
// value of the kind its parameter takes; every axis non-empty, generators
// well formed; the axes of a zip group of equal length; at most
// limits.max_points points. It does not validate the points themselves (see
// Validate).
func (s *Spec) Grid() (*Grid, error) {
	g, errs := s.compile()
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return g, nil
}

// Len returns the number of points.
func (g *Grid) Len() int64 { return g.size }

// ChunkSize returns the number of points per chunk (the last chunk may hold
// fewer).
func (g *Grid) ChunkSize() int { return g.chunk }

// Chunks returns the number of chunks: Len divided by ChunkSize, rounded up.
func (g *Grid) Chunks() int64 {
	return (g.size + int64(g.chunk) - 1) / int64(g.chunk)
}

// ChunkRange returns the indices of the points of chunk c: start ≤ i < end.
// It panics if c is not in [0, Chunks()).
func (g *Grid) ChunkRange(c int64) (start, end int64) {
	if c < 0 || c >= g.Chunks() {
		panic(fmt.Sprintf("schemas: chunk %d out of range [0, %d)", c, g.Chunks()))
	}
	start = c * int64(g.chunk)
	return start, min(start+int64(g.chunk), g.size)
}

// Limits returns the spec's limits with defaults filled in.
func (g *Grid) Limits() Limits { return g.limits }

// Varying returns the names of the parameters set by grid and zip axes, in
// canonical order: the parameters that tell the points apart.
func (g *Grid) Varying() []string {
	names := make([]string, len(g.varying))
	for i, f := range g.varying {
		names[i] = paramDefs[f].name
	}
	return names
}

// AxisNumbers returns the values of each number parameter that a grid or
// zip axis sets, by parameter name, in axis order (repeats kept).
func (g *Grid) AxisNumbers() map[string][]float64 {
	out := map[string][]float64{}
	for _, ax := range g.axes {
		for _, c := range ax.columns {
			if paramDefs[c.field].kind == kindFloat {
				name := paramDefs[c.field].name
				out[name] = append(out[name], c.nums...)
			}
		}
	}
	return out
}

// Point returns point i. It panics if i is not in [0, Len()).
func (g *Grid) Point(i int64) Point {
	if i < 0 || i >= g.size {
		panic(fmt.Sprintf("schemas: point index %d out of range [0, %d)", i, g.size))
	}
	p := g.params(i, true)
	return Point{Index: i, ID: pointID(&p), Params: p}
}

// Params returns the parameters of point i as Point does, without its id
// (no hash), sharing the grid's spectrum lists and contexts: read them,
// do not change them. It panics if i is not in [0, Len()).
func (g *Grid) Params(i int64) dynamics.Params {
	if i < 0 || i >= g.size {
		panic(fmt.Sprintf("schemas: point index %d out of range [0, %d)", i, g.size))
	}
	return g.params(i, false)
}

// params decodes the defaulted parameters of point i. With own set, the
// point gets its own copy of a spectrum list and of its contexts (the
// grid's copy is shared by every point).
func (g *Grid) params(i int64, own bool) dynamics.Params {
	p := g.base
	rem := i
	for a := len(g.axes) - 1; a >= 0; a-- {
		ax := &g.axes[a]
		d := rem % ax.n
		rem /= ax.n
		for c := range ax.columns {
			col := &ax.columns[c]
			v := col.at(d)
			setParam(&p, col.field, &v)
		}
	}
	if own && p.Contexts != nil {
		p.Contexts = slices.Clone(p.Contexts)
		for c := range p.Contexts {
			p.Contexts[c].InputSpectrum.Values = slices.Clone(p.Contexts[c].InputSpectrum.Values)
		}
	}
	if own && p.InputSpectrum.Values != nil {
		p.InputSpectrum.Values = slices.Clone(p.InputSpectrum.Values)
	}
	if own && p.InitSpectrum.Values != nil {
		p.InitSpectrum.Values = slices.Clone(p.InitSpectrum.Values)
	}
	return defaulted(p)
}

// ignoredParams lists the parameters a point may ignore, and when: k means
// nothing to a network without interneurons (Network.UsesK), unless the
// wishart shape draws W₀ with k rows; eta, batch, hold and noise mean
// nothing to the flow (the mean dynamics have no learning rate, samples or
// noise). A point's ignored parameters take their defaults before its id
// is taken, so grid entries that differ only in them are one point.
// Adding a parameter a network or mode ignores is one line here.
var ignoredParams = []struct {
	field   int
	ignored func(p *dynamics.Params) bool
}{
	{fK, func(p *dynamics.Params) bool {
		net, ok := dynamics.Lookup(p.Algorithm)
		return ok && !net.UsesK() && p.InitShape != dynamics.ShapeWishart
	}},
	{fEta, isFlow},
	{fBatch, isFlow},
	{fHold, isFlow},
	{fNoise, isFlow},
}

// Ignores reports whether the point p ignores the parameter named name
// (see ignoredParams): a value given for it makes no difference to the
// point, which takes the default. False for a name that is not a
// parameter.
func Ignores(p dynamics.Params, name string) bool {
	f := paramField(name)
	for _, ip := range ignoredParams {
		if ip.field == f && ip.ignored(&p) {
			return true
		}
	}
	return false
}

// isFlow reports whether p integrates the mean dynamics.
func isFlow(p *dynamics.Params) bool { return p.Mode == "" || p.Mode == dynamics.Flow }

// defaulted returns the parameters a point is identified and run with:
// p.WithDefaults(), with the parameters the point ignores (ignoredParams)
// set to their defaults first. So direct points that differ only in k are
// one point, and no rule on k applies to them.
func defaulted(p dynamics.Params) dynamics.Params {
	for _, ip := range ignoredParams {
		if ip.ignored(&p) {
			setParam(&p, ip.field, &paramValue{})
		}
	}
	return p.WithDefaults()
}

// Describe returns the values of point i along the grid and zip axes, the
// values that tell it apart from the other points, in canonical order:
// "algorithm=interneuron, n=4, eta=0.5". It panics if i is not in
// [0, Len()).
func (g *Grid) Describe(i int64) string {
	if i < 0 || i >= g.size {
		panic(fmt.Sprintf("schemas: point index %d out of range [0, %d)", i, g.size))
	}
	var values [numParams]paramValue
	rem := i
	for a := len(g.axes) - 1; a >= 0; a-- {
		ax := &g.axes[a]
		d := rem % ax.n
		rem /= ax.n
		for c := range ax.columns {
			values[ax.columns[c].field] = ax.columns[c].at(d)
		}
	}
	var b []byte
	for k, f := range g.varying {
		if k > 0 {
			b = append(b, ", "...)
		}
		b = appendParam(b, f, &values[f])
	}
	return string(b)
}

// PointID returns the id of the point with parameters p: the hex form of the
// first 16 bytes of the SHA-256 of the canonical encoding of
// p.WithDefaults(), where a direct point's k is first reset to its default
// (the direct network has no interneurons). Equal ids mean equal defaulted
// parameters, so {n: 4} and {n: 4, k: 4} are the same point, and so are
// the direct points {n: 4} and {n: 4, k: 8}.
//
// The canonical encoding (version 1) is the line "isweep.point.v1" followed
// by one line "name=value" per parameter, in the order of the fields of
// dynamics.Params, each line ending in "\n". Integers are written in
// decimal; numbers in the shortest decimal form that reads back exactly
// (strconv 'g' format with precision -1: 0.01, 1e-05, 100000, 1e+06), with
// -0 written 0; strings quoted as in Go (strconv.Quote); a spectrum as
// "[v1,v2,…]" when it lists its eigenvalues and as
// "{min=…,max=…,spacing="log"}" otherwise (an empty spacing is written as
// its default, log); contexts (each defaulted) as
// "[{input_spectrum=…,input_basis="…",duration=…},…]". This encoding does
// not change between versions: a
// parameter added later is written only when it differs from its default,
// so that the ids of existing points stay valid.
func PointID(p dynamics.Params) string {
	p = defaulted(p)
	return pointID(&p)
}

// pointID hashes defaulted parameters; see PointID. It writes the fields
// one by one, in the order of dynamics.Params (TestPointIDEncoding holds it
// to the documented encoding).
func pointID(p *dynamics.Params) string {
	var buf [512]byte
	b := append(buf[:0], "isweep.point.v1\n"...)
	b = appendStringLine(b, "algorithm=", string(p.Algorithm))
	b = appendStringLine(b, "mode=", string(p.Mode))
	b = appendIntLine(b, "n=", int64(p.N))
	b = appendIntLine(b, "k=", int64(p.K))
	b = append(b, "input_spectrum="...)
	b = appendSpectrum(b, p.InputSpectrum)
	b = append(b, '\n')
	b = appendStringLine(b, "input_basis=", p.InputBasis)
	b = appendFloatLine(b, "init_scale=", p.InitScale)
	b = appendStringLine(b, "init_shape=", p.InitShape)
	if p.InitShape == dynamics.ShapeSpectrum {
		// Only the spectrum shape has one (the other points keep the
		// ids they had before it existed).
		b = append(b, "init_spectrum="...)
		b = appendSpectrum(b, p.InitSpectrum)
		b = append(b, '\n')
	}
	b = appendFloatLine(b, "init_spread=", p.InitSpread)
	b = appendStringLine(b, "init_basis=", p.InitBasis)
	b = appendFloatLine(b, "eta=", p.Eta)
	b = appendIntLine(b, "batch=", int64(p.Batch))
	b = appendFloatLine(b, "tol=", p.Tol)
	b = appendFloatLine(b, "horizon=", p.Horizon)
	if p.Mode == dynamics.Online {
		// Only online points hold (flow points keep the ids they had
		// before hold existed).
		b = appendFloatLine(b, "hold=", p.Hold)
	}
	b = appendIntLine(b, "record=", int64(p.Record))
	b = appendIntLine(b, "seed=", p.Seed)
	if p.Noise != 0 {
		// Noise 0 points keep the ids they had before noise existed.
		b = appendIntLine(b, "noise=", p.Noise)
	}
	if len(p.Contexts) > 0 {
		// Points without contexts keep the ids they had before contexts
		// existed.
		b = append(b, "contexts="...)
		b = appendContexts(b, p.Contexts)
		b = append(b, '\n')
	}
	sum := sha256.Sum256(b)
	var id [32]byte
	hex.Encode(id[:], sum[:16])
	return string(id[:])
}

func appendStringLine(b []byte, key, s string) []byte {
	b = append(b, key...)
	b = appendQuoted(b, s)
	return append(b, '\n')
}

func appendIntLine(b []byte, key string, i int64) []byte {
	b = append(b, key...)
	b = strconv.AppendInt(b, i, 10)
	return append(b, '\n')
}

func appendFloatLine(b []byte, key string, f float64) []byte {
	b = append(b, key...)
	b = appendFloat(b, f)
	return append(b, '\n')
}

// appendQuoted appends s quoted as strconv.Quote does, without its cost
// for the plain names parameters take.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// expandAxis returns the values of an axis for parameter f, checked and
// converted to the parameter's kind.
func expandAxis(f int, a Axis, path string) (column, *SpecError) {
	def := &paramDefs[f]
	forms := 0
	for _, set := range []bool{a.Values != nil, a.Linspace != nil, a.Logspace != nil, a.Range != nil} {
		if set {
			forms++
		}
	}
	switch {
	case forms == 0 || (forms == 1 && a.Values != nil && len(a.Values) == 0):
		return column{}, &SpecError{Path: path, Msg: fmt.Sprintf("empty axis; give at least one value, like [%s], or a generator like {linspace: [0.1, 0.5, 5]}", def.example)}
	case forms > 1:
		return column{}, &SpecError{Path: path, Msg: "an axis is either a list of values or one generator (linspace, logspace or range), not several"}
	}
	if a.Values != nil {
		if len(a.Values) > MaxAxisValues {
			return column{}, &SpecError{Path: path, Msg: fmt.Sprintf("%d values; an axis holds at most %d", len(a.Values), MaxAxisValues)}
		}
		values := newColumn(f, int64(len(a.Values)))
		for i, raw := range a.Values {
			v, err := coerce(f, raw, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				if def.kind == kindSpectrum {
					if _, isNum := asFiniteFloat(raw); isNum {
						err.Msg += "; an axis over " + def.name + " is a list of spectra, like [[1, 2], [0.5, 4]]"
					}
				}
				if def.kind == kindContexts {
					err.Msg += "; an axis over contexts is a list of context lists, like [[{duration: 50}], [{input_spectrum: [4, 4], duration: 50}]], and one list goes under fixed"
				}
				return column{}, err
			}
			values.put(int64(i), &v)
		}
		return values, nil
	}

	var form string
	var args [3]float64
	var num int64
	switch {
	case a.Linspace != nil:
		form, args, num = "linspace", [3]float64{a.Linspace.Start, a.Linspace.Stop, float64(a.Linspace.Num)}, int64(a.Linspace.Num)
	case a.Logspace != nil:
		form, args, num = "logspace", [3]float64{a.Logspace.StartExp, a.Logspace.StopExp, float64(a.Logspace.Num)}, int64(a.Logspace.Num)
	default:
		form, args = "range", [3]float64{a.Range.Start, a.Range.Stop, a.Range.Step}
	}
	gpath := path + "." + form
	written := fmt.Sprintf("{%s: [%s, %s, %s]}", form, formatArg(args[0]), formatArg(args[1]), formatArg(args[2]))
	if def.kind != kindInt && def.kind != kindFloat {
		return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s makes numbers, but %s takes %s; list the values, like [%s]", form, def.name, def.kind, def.example)}
	}
	for _, x := range args {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s has a number that is not finite; write %s", written, generatorUsage[form])}
		}
	}

	var gen func(i int64) float64
	var exactInts bool // range over integers: values computed exactly
	switch form {
	case "linspace", "logspace":
		if num < 1 || num > MaxAxisValues {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s num %d is out of range; num is the number of values, 1 to %d", form, num, MaxAxisValues)}
		}
		start, stop := args[0], args[1]
		step := 0.0
		if num > 1 {
			step = (stop - start) / float64(num-1)
		}
		lin := func(i int64) float64 {
			// As numpy.linspace: start + i·step, the last value exactly stop.
			if i == num-1 && num > 1 {
				return stop
			}
			return start + float64(i)*step
		}
		gen = lin
		if form == "logspace" {
			gen = func(i int64) float64 { return math.Pow(10, lin(i)) }
		}
	default:
		start, stop, step := args[0], args[1], args[2]
		if step == 0 {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s has step 0; the step must be non-zero", written)}
		}
		num, exactInts = rangeCount(start, stop, step)
		if exactInts {
			s, d := int64(start), int64(step)
			gen = func(i int64) float64 { return float64(s + i*d) }
		} else {
			// As numpy.arange: values start + i·δ, with δ = (start + step) −
			// start as numpy computes it.
			delta := (start + step) - start
			gen = func(i int64) float64 {
				if i == 1 {
					return start + step
				}
				return start + float64(i)*delta
			}
		}
		if num == 0 {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s is empty: the stop is excluded, and with a positive step it must be above the start (below it with a negative step)", written)}
		}
		if num > MaxAxisValues {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s gives %s values; an axis holds at most %s (split the sweep, or give a larger step)",
				written, countText(num), groupDigits(MaxAxisValues))}
		}
	}

	values := newColumn(f, num)
	for i := range num {
		x := gen(i)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s gives %s, which is not a finite number", written, appendFloat(nil, x))}
		}
		if x == 0 && !paramDefs[f].zeroIsValue {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s gives 0, which is not allowed: %s; start the axis elsewhere", written, zeroHint(f))}
		}
		if def.kind == kindFloat {
			values.nums[i] = x
			continue
		}
		r := math.Round(x)
		if !exactInts && math.Abs(x-r) > 1e-9*math.Max(1, math.Abs(x)) || math.Abs(r) > maxExactInt {
			return column{}, &SpecError{Path: gpath, Msg: fmt.Sprintf("%s gives %s, which is not an integer; %s takes integers, like %s", written, appendFloat(nil, x), def.name, def.example)}
		}
		values.ints[i] = int64(r)
	}
	return values, nil
}

// rangeCount returns the number of values of {range: [start, stop, step]},
// counted without generating them, and whether they are integers computed
// exactly: as Python's range when all three are integers, else as
// numpy.arange, ceil((stop − start)/step). A count beyond int64 is
// math.MaxInt64.
func rangeCount(start, stop, step float64) (num int64, exactInts bool) {
	exactInts = start == math.Trunc(start) && stop == math.Trunc(stop) && step == math.Trunc(step) &&
		math.Abs(start) <= maxExactInt && math.Abs(stop) <= maxExactInt && math.Abs(step) <= maxExactInt
	if exactInts {
		// |stop − start| ≤ 2⁵⁴: no overflow.
		s, e, d := int64(start), int64(stop), int64(step)
		switch {
		case d > 0 && e > s:
			num = (e - s + d - 1) / d
		case d < 0 && e < s:
			num = (s - e - d - 1) / -d
		}
		return num, true
	}
	c := math.Ceil((stop - start) / step)
	switch {
	case !(c < math.MaxInt64): // also NaN: start, stop or step not finite
		if c > 0 {
			return math.MaxInt64, false
		}
		return 0, false
	case c > 0:
		return int64(c), false
	}
	return 0, false
}

// countText writes a count of values with thousands separators, or "more
// than 9,223,372,036,854,775,806" for a count that saturated at
// math.MaxInt64.
func countText(n int64) string {
	if n == math.MaxInt64 {
		return "more than " + groupDigits(math.MaxInt64-1)
	}
	return groupDigits(n)
}

// formatArg writes a generator's argument as the user most likely wrote
// it: integers in plain digits up to 2⁵³, other numbers in the shortest
// form that reads back exactly.
func formatArg(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) <= maxExactInt {
		return strconv.FormatInt(int64(x), 10)
	}
	return string(appendFloat(nil, x))
}

// axisCount returns the number of values of an axis without generating
// them; 0 when the axis is malformed (expandAxis says why).
func axisCount(a Axis) int64 {
	switch {
	case a.Linspace != nil:
		return int64(a.Linspace.Num)
	case a.Logspace != nil:
		return int64(a.Logspace.Num)
	case a.Range != nil:
		n, _ := rangeCount(a.Range.Start, a.Range.Stop, a.Range.Step)
		return n
	}
	return int64(len(a.Values))
}

// MayRepeat reports whether two entries of the grid may be the same point
// (have the same point id): some axis lists a value twice (`n: [4, 4]`,
// `init_scale: [1, 1.0]`, a zip group a pair twice), or varies a parameter
// some points ignore (ignoredParams: `k` with direct points). Defaults cannot make
// two entries one point: a spec may not give a parameter its zero value
// (the "use the default" value; see coerce), so a default fills in the
// same parameters of every entry. When it reports false, every entry is a
// distinct point, and an engine need not hash the grid to find repeats.
func (g *Grid) MayRepeat() bool {
	var buf []byte
	for a := range g.axes {
		ax := &g.axes[a]
		for _, col := range ax.columns {
			for _, ip := range ignoredParams {
				if col.field == ip.field {
					return true
				}
			}
		}
		seen := make(map[string]struct{}, ax.n)
		for d := range ax.n {
			buf = buf[:0]
			for c := range ax.columns {
				col := &ax.columns[c]
				v := col.at(d)
				buf = appendParam(buf, col.field, &v)
				buf = append(buf, '\n')
			}
			if _, dup := seen[string(buf)]; dup {
				return true
			}
			seen[string(buf)] = struct{}{}
		}
	}
	return false
}
