package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/schemas"
)

// Axis names the report gives a meaning of its own.
const (
	AxisAlgorithm = "algorithm"
	AxisMode      = "mode"
	AxisN         = "n"
	AxisInitScale = "init_scale"
	AxisEta       = "eta"
	AxisSeed      = "seed"
)

// Value is the value of one axis at a point: its text, and for a numeric
// axis the number (which orders it).
type Value struct {
	Text    string
	Num     float64
	Numeric bool
}

// String is the value as the report prints it: a number with at most four
// significant digits, a text as it is.
func (v Value) String() string {
	if v.Numeric {
		return strconv.FormatFloat(v.Num, 'g', 4, 64)
	}
	return v.Text
}

func compareValues(a, b Value) int {
	if a.Numeric && b.Numeric {
		return cmp.Compare(a.Num, b.Num)
	}
	return compareText(a.Text, b.Text)
}

// numberInText finds the numbers in a text value (a spectrum's JSON).
var numberInText = regexp.MustCompile(`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`)

// compareText orders texts piece by piece, the numbers in them by value:
// {"min":4,…} before {"min":16,…}, which byte order put after (found by
// the hostile tester, who saw spectra in the order 1024, 16, 256, 4).
func compareText(a, b string) int {
	for a != "" && b != "" {
		ia, ib := numberInText.FindStringIndex(a), numberInText.FindStringIndex(b)
		if ia == nil || ib == nil || ia[0] != ib[0] || a[:ia[0]] != b[:ib[0]] {
			break
		}
		x, errA := strconv.ParseFloat(a[ia[0]:ia[1]], 64)
		y, errB := strconv.ParseFloat(b[ib[0]:ib[1]], 64)
		if errA != nil || errB != nil {
			break
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
		a, b = a[ia[1]:], b[ib[1]:]
	}
	return strings.Compare(a, b)
}

// param is an axis of the points: a parameter a sweep can vary.
type param struct {
	name string
	get  func(p *dynamics.Params) Value
}

func textValue(s string) Value { return Value{Text: s} }

// spectrumValue is a spectrum as its JSON text ("" when not given).
func spectrumValue(s dynamics.Spectrum) Value {
	if s.IsZero() {
		return textValue("")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return textValue(fmt.Sprint(s))
	}
	return textValue(string(b))
}

func numValue(v float64) Value {
	return Value{Text: strconv.FormatFloat(v, 'g', -1, 64), Num: v, Numeric: true}
}

// params are the axes in the order the report's columns take them by
// default: the network and the way it runs, the input, the start, the
// learning, the limits; init_scale, the x of the fits, comes last of the
// axes a report groups by. Of two axes zipped together the first is an
// axis of the rows: the learning rate rather than a horizon that goes
// with it.
var params = []param{
	{AxisAlgorithm, func(p *dynamics.Params) Value { return textValue(string(p.Algorithm)) }},
	{AxisMode, func(p *dynamics.Params) Value { return textValue(string(p.Mode)) }},
	{AxisN, func(p *dynamics.Params) Value { return numValue(float64(p.N)) }},
	{"k", func(p *dynamics.Params) Value { return numValue(float64(p.K)) }},
	{"input_spectrum", func(p *dynamics.Params) Value { return spectrumValue(p.InputSpectrum) }},
	{"input_basis", func(p *dynamics.Params) Value { return textValue(p.InputBasis) }},
	{"init_shape", func(p *dynamics.Params) Value { return textValue(p.InitShape) }},
	{"init_spectrum", func(p *dynamics.Params) Value { return spectrumValue(p.InitSpectrum) }},
	{"init_spread", func(p *dynamics.Params) Value { return numValue(p.InitSpread) }},
	{"init_basis", func(p *dynamics.Params) Value { return textValue(p.InitBasis) }},
	{AxisEta, func(p *dynamics.Params) Value { return numValue(p.Eta) }},
	{"batch", func(p *dynamics.Params) Value { return numValue(float64(p.Batch)) }},
	{"tol", func(p *dynamics.Params) Value { return numValue(p.Tol) }},
	{"horizon", func(p *dynamics.Params) Value { return numValue(p.Horizon) }},
	{"hold", func(p *dynamics.Params) Value { return numValue(p.Hold) }},
	{"record", func(p *dynamics.Params) Value { return numValue(float64(p.Record)) }},
	{AxisInitScale, func(p *dynamics.Params) Value { return numValue(p.InitScale) }},
	{AxisSeed, func(p *dynamics.Params) Value { return numValue(float64(p.Seed)) }},
	{"noise", func(p *dynamics.Params) Value { return numValue(float64(p.Noise)) }},
	{"contexts", func(p *dynamics.Params) Value { return contextsValue(p.Contexts) }},
}

// contextsValue is a point's contexts as their JSON text ("" for none).
func contextsValue(cs []dynamics.Context) Value {
	if len(cs) == 0 {
		return textValue("")
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return textValue(fmt.Sprint(cs))
	}
	return textValue(string(b))
}

// AxisNames returns the names of the axes a report can group or reduce
// by, in their default column order.
func AxisNames() []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.name
	}
	return names
}

func paramOf(name string) (param, bool) {
	for _, p := range params {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

// Options choose how a report groups and reduces the points.
type Options struct {
	// By names the axes of a row, in column order; nil groups by every
	// axis that varies (see Summarize).
	By []string
	// BestOver names the axes a row takes the best of: the setting of
	// them with the smallest median time. Empty: none.
	BestOver []string
}

// DefaultOptions are the paper's comparison: automatic rows, the best
// learning rate, the median over seeds.
func DefaultOptions() Options { return Options{BestOver: []string{AxisEta}} }

// Check returns an error for an unknown or repeated axis, and for seed
// among the axes of a row or of the best (the statistics are over seeds).
func (o Options) Check() error {
	seen := map[string]string{}
	for _, list := range []struct {
		flag  string
		names []string
	}{{"by", o.By}, {"best-over", o.BestOver}} {
		for _, n := range list.names {
			if _, ok := paramOf(n); !ok {
				return fmt.Errorf("-%s: unknown axis %q (axes: %s)", list.flag, n, strings.Join(AxisNames(), ", "))
			}
			if prev, ok := seen[n]; ok {
				return fmt.Errorf("-%s: axis %s is already in -%s", list.flag, n, prev)
			}
			seen[n] = list.flag
		}
	}
	if slices.Contains(o.BestOver, AxisSeed) {
		return fmt.Errorf("-best-over: seed is the axis the statistics are over")
	}
	if slices.Contains(o.By, AxisSeed) {
		// A row per seed pooled every other setting into one median, and
		// its "conv/seeds" counted points, not seeds (found by the
		// hostile tester).
		return fmt.Errorf("-by: seed is the axis the statistics are over; for the points of each seed, read points/**/*.parquet (README: pandas and DuckDB)")
	}
	return nil
}

// Table is the report's table: one Row per setting of the By axes.
type Table struct {
	// By are the axes of a row, BestOver those it takes the best of.
	By, BestOver []string
	// Determined are the axes that vary but split no row: each of their
	// values comes with a value of the By and BestOver axes (a zip, as
	// the horizon that goes with each learning rate, or k = n).
	Determined []string
	Rows       []Row
}

// Row is one group of points: those with the same values of the Table's
// By axes.
type Row struct {
	// Key holds the values of the By axes.
	Key []Value
	// Best holds the values of the BestOver axes of the best setting: of
	// those where at least half of the seeds converged, the one with the
	// smallest median time. Nil when no setting qualifies.
	Best []Value
	// Ignored marks the BestOver axes the best setting's points ignore
	// (eta in flow mode, see schemas.Ignores): their best value means
	// nothing, and the text shows none.
	Ignored []bool `json:"-"`
	// Median, Q1 and Q3 are the median and the quartiles of the converged
	// times of the best setting; NaN without one.
	Median, Q1, Q3 float64
	// Converged counts the converged points of the best setting, Seeds
	// all its points.
	Converged, Seeds int
	// LambdaMax is λ_max(M₀), the largest eigenvalue of the initial M:
	// the median over the best setting's points (over all the row's
	// points without one) of those whose start is known; NaN when none is.
	LambdaMax float64
	// Points counts every point of the row, Counts them by status.
	Points int
	Counts results.StatusCounts
}

// HasBest reports whether some setting qualified.
func (r Row) HasBest() bool { return r.Best != nil }

// Summarize groups points into a Table. Without opts.By, a row is a
// setting of algorithm, mode, n and init_scale, and of every other axis
// that varies (in the order of AxisNames) and splits the points further:
// an axis whose value is set by those before it, with the BestOver axes
// and seed (a zipped axis), is listed in Table.Determined instead.
// lambda maps a point id to λ_max(M₀) (nil: unknown). Every point counts
// in its row, whatever its status.
func Summarize(points []results.PointRow, lambda map[string]float64, opts Options) (*Table, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	t := &Table{By: opts.By, BestOver: opts.BestOver}
	if t.By == nil {
		t.By, t.Determined = autoAxes(points, opts.BestOver)
	}
	by, best := lookup(t.By), lookup(t.BestOver)
	type setting struct {
		best    []Value
		times   []float64
		lams    []float64
		seeds   int
		ignored []bool // as Row.Ignored, for the setting's points
	}
	type group struct {
		row      Row
		lams     []float64
		settings map[string]*setting
	}
	groups := map[string]*group{}
	for i := range points {
		p := &points[i]
		key := values(by, &p.Params)
		ks := keyString(key)
		g := groups[ks]
		if g == nil {
			g = &group{row: Row{Key: key}, settings: map[string]*setting{}}
			groups[ks] = g
		}
		g.row.Points++
		g.row.Counts.Add(p.Status)
		bv := values(best, &p.Params)
		s := g.settings[keyString(bv)]
		if s == nil {
			// What the setting's points ignore: a row may mix points
			// that take eta with points that do not (-best-over mode,eta
			// pools flow and online), and the best setting decides.
			s = &setting{best: bv}
			for _, b := range t.BestOver {
				s.ignored = append(s.ignored, schemas.Ignores(p.Params, b))
			}
			g.settings[keyString(bv)] = s
		}
		s.seeds++
		if p.Status == results.StatusConverged && p.Result.ConvTime != nil {
			s.times = append(s.times, *p.Result.ConvTime)
		}
		if l, ok := lambda[p.PointID]; ok && finite(l) {
			s.lams = append(s.lams, l)
			g.lams = append(g.lams, l)
		}
	}
	for _, g := range groups {
		// Visit the settings in order, so that ties go to the first.
		settings := make([]*setting, 0, len(g.settings))
		for _, s := range g.settings {
			settings = append(settings, s)
		}
		slices.SortFunc(settings, func(a, b *setting) int { return compareKeys(a.best, b.best) })
		r := &g.row
		r.Median, r.Q1, r.Q3, r.LambdaMax = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		var chosen *setting
		for _, s := range settings {
			if len(s.times) == 0 || 2*len(s.times) < s.seeds {
				continue
			}
			if med := quantile(s.times, 0.5); chosen == nil || med < r.Median {
				chosen, r.Median = s, med
			}
		}
		lams := g.lams
		if chosen != nil {
			r.Best, r.Ignored = chosen.best, chosen.ignored
			if r.Best == nil {
				r.Best = []Value{}
			}
			r.Q1, r.Q3 = quantile(chosen.times, 0.25), quantile(chosen.times, 0.75)
			r.Converged, r.Seeds = len(chosen.times), chosen.seeds
			lams = chosen.lams
		}
		if len(lams) > 0 {
			r.LambdaMax = quantile(lams, 0.5)
		}
		t.Rows = append(t.Rows, *r)
	}
	slices.SortFunc(t.Rows, func(a, b Row) int { return compareKeys(a.Key, b.Key) })
	return t, nil
}

// autoAxes picks the axes of the rows (see Summarize) and the varying
// axes they determine.
func autoAxes(points []results.PointRow, bestOver []string) (by, determined []string) {
	base := []string{AxisAlgorithm, AxisMode, AxisN}
	by = slices.Clone(base)
	for _, p := range params {
		if slices.Contains(base, p.name) || p.name == AxisInitScale || p.name == AxisSeed || slices.Contains(bestOver, p.name) {
			continue
		}
		given := lookup(append(append(slices.Clone(by), bestOver...), AxisInitScale, AxisSeed))
		seen := map[string]string{}
		splits, varies := false, false
		var first string
		for i := range points {
			v := p.get(&points[i].Params).Text
			if i == 0 {
				first = v
			} else if v != first {
				varies = true
			}
			k := keyString(values(given, &points[i].Params))
			if prev, ok := seen[k]; ok && prev != v {
				splits = true
				break
			}
			seen[k] = v
		}
		switch {
		case splits:
			by = append(by, p.name)
		case varies:
			determined = append(determined, p.name)
		}
	}
	return append(by, AxisInitScale), determined
}

func lookup(names []string) []param {
	out := make([]param, len(names))
	for i, n := range names {
		out[i], _ = paramOf(n)
	}
	return out
}

func values(ps []param, p *dynamics.Params) []Value {
	if len(ps) == 0 {
		return nil
	}
	out := make([]Value, len(ps))
	for i, q := range ps {
		out[i] = q.get(p)
	}
	return out
}

// keyString joins the texts of vs into a map key.
func keyString(vs []Value) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.Text)
		b.WriteByte(0)
	}
	return b.String()
}

func compareKeys(a, b []Value) int {
	for i := range min(len(a), len(b)) {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// quantile returns the q-quantile of xs, interpolated linearly between
// the order statistics (as numpy, pandas and DuckDB's quantile_cont
// compute it). It sorts xs.
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	h := q * float64(len(xs)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo])
}

// index returns the position of axis name among the Table's By axes, or
// -1.
func (t *Table) index(name string) int { return slices.Index(t.By, name) }

// Label names the row's setting of the By axes but the ones given, for
// example "interneuron online n=8 init_shape=identity": the algorithm and
// the mode bare, the others as name=value.
func (t *Table) Label(key []Value, except ...string) string {
	var parts []string
	for i, name := range t.By {
		if slices.Contains(except, name) {
			continue
		}
		if name == AxisAlgorithm || name == AxisMode {
			parts = append(parts, key[i].String())
		} else {
			parts = append(parts, name+"="+key[i].String())
		}
	}
	return strings.Join(parts, " ")
}
