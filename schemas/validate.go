package schemas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/isweep/isweep/internal/dynamics"
)

// Validate checks the spec before any work is done: first its structure
// (as Grid does), then every point of the grid with
// dynamics.Params.Validate under the spec's limits, which catches rules
// that involve several parameters (k ≥ n, eta < 1 for the interneuron
// network, …). Structural problems come back as *SpecError values joined
// with errors.Join; refused points as one *PointsError that counts them and
// shows the first MaxPointExamples with their index and axis values.
//
// The points are not checked one by one: the axes of the parameters that
// the rules check alone (seeds, initial scales, tolerances, …) are checked
// value by value, and only the others are checked in every combination.
// A grid of 10⁹ points over a seed, an init_scale and an eta axis of 1000
// values each takes 3000 checks.
func (s *Spec) Validate() error {
	return s.ValidateContext(context.Background(), nil)
}

// ValidateContext is Validate that stops when ctx is done, returning an
// error that wraps ctx.Err(), and that reports its progress to progress
// (when not nil) about every million checks and once at the end, as the
// checks done of total.
func (s *Spec) ValidateContext(ctx context.Context, progress func(done, total int64)) error {
	g, errs := s.compile()
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	if errs := s.checkUnusable(g); len(errs) > 0 {
		return joinErrors(errs)
	}
	return g.validatePoints(ctx, s.file, progress)
}

// checkUnusable refuses the values of the parameters some points ignore
// (ignoredParams: eta in flow mode, k for a network without interneurons,
// …) that no point of any network or mode takes (dynamics.UnusableValue):
// a point that ignores a parameter takes its default, so the checks of
// the points never see such a value, which was silently dropped. A value
// some point could take (eta: 5, which the direct network online takes)
// stays accepted where points ignore it. The first such value of each
// parameter is named. Not part of compile: a stored spec of an earlier
// version that gave one is still read.
func (s *Spec) checkUnusable(g *Grid) []*SpecError {
	var errs []*SpecError
	for _, ip := range ignoredParams {
		f := ip.field
		path := g.placed[f]
		if path == "" {
			continue
		}
		name := paramDefs[f].name
		number := func(v paramValue) float64 {
			if paramDefs[f].kind == kindInt {
				return float64(v.int)
			}
			return v.num
		}
		var err error
		if strings.HasPrefix(path, "fixed.") {
			err = dynamics.UnusableValue(name, number(getParam(&g.base, f)))
		}
		for a := range g.axes {
			for c := range g.axes[a].columns {
				col := &g.axes[a].columns[c]
				if col.field != f {
					continue
				}
				for d := int64(0); d < col.len() && err == nil; d++ {
					err = dynamics.UnusableValue(name, number(col.at(d)))
				}
			}
		}
		var fe *dynamics.FieldError
		if errors.As(err, &fe) {
			errs = append(errs, &SpecError{File: s.file, Line: lineOf(s.lines, path), Path: path,
				Msg: fmt.Sprintf("%s; no point takes this value (a point that ignores %s, and takes its default, must still be given one some point could take): give a valid value, or leave %s out (a sweep an earlier isweep stored with this value stays readable by verify and report with -output LOC SWEEP)",
					strings.TrimPrefix(fe.Error(), fe.Field+": "), name, name)})
		}
	}
	return errs
}

// independent marks the parameters whose rules in dynamics.Params.Validate
// involve no other parameter (and whose defaults depend on none), so that
// an axis of them is checked value by value. TestIndependentParams holds
// the list to Validate. Not tol: its floor is the flow's.
var independent = [numParams]bool{
	fInputBasis: true, fInitScale: true, fInitSpread: true,
	fInitBasis: true, fRecord: true, fSeed: true,
}

// fieldOf returns the field number of a dynamics.FieldError's field
// ("input_spectrum.values[2]" is input_spectrum), or -1.
func fieldOf(field string) int {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		field = field[:i]
	}
	return paramField(field)
}

// checkGroup is a set of axes whose combinations are checked together:
// the axes of coupled parameters, or one axis of independent ones. A point
// is valid when the combination of every group it takes is.
type checkGroup struct {
	axes []int // indices in Grid.axes, ascending
	// owns reports the parameters whose problems the group answers for.
	owns   [numParams]bool
	combos int64
	valid  int64
	// bad lists the first MaxPointExamples invalid combinations, ascending:
	// the first invalid points of the grid take no others.
	bad []int64
}

// checkGroups splits the axes of g into check groups: one of every axis
// with a coupled parameter (answering for every parameter not in another
// group, set or default), then one per other axis.
func (g *Grid) checkGroups() []*checkGroup {
	coupled := &checkGroup{combos: 1}
	groups := []*checkGroup{coupled}
	for f := range numParams {
		coupled.owns[f] = true
	}
	for a, ax := range g.axes {
		alone := true
		for _, c := range ax.columns {
			alone = alone && independent[c.field]
		}
		if !alone {
			coupled.axes = append(coupled.axes, a)
			coupled.combos *= ax.n
			continue
		}
		ind := &checkGroup{axes: []int{a}, combos: ax.n}
		for _, c := range ax.columns {
			ind.owns[c.field] = true
			coupled.owns[c.field] = false
		}
		groups = append(groups, ind)
	}
	return groups
}

// validatePoints runs dynamics.Params.Validate on the combinations of every
// check group, then counts the invalid points and finds the first ones.
func (g *Grid) validatePoints(ctx context.Context, file string, progress func(done, total int64)) error {
	lim := g.limits.Dynamics()
	groups := g.checkGroups()
	var total, done int64
	for _, cg := range groups {
		total += cg.combos
	}
	const every = 1 << 20
	for _, cg := range groups {
		for c := range cg.combos {
			if done%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("checking the points of the grid: %w", err)
				}
				if progress != nil && done > 0 && done%every == 0 {
					progress(done, total)
				}
			}
			done++
			p := g.base
			rem := c
			for k := len(cg.axes) - 1; k >= 0; k-- {
				ax := &g.axes[cg.axes[k]]
				d := rem % ax.n
				rem /= ax.n
				for i := range ax.columns {
					v := ax.columns[i].at(d)
					setParam(&p, ax.columns[i].field, &v)
				}
			}
			p = defaulted(p)
			if cg.answersFor(p.Validate(lim)) {
				if len(cg.bad) < MaxPointExamples {
					cg.bad = append(cg.bad, c)
				}
				continue
			}
			cg.valid++
		}
	}
	if progress != nil {
		progress(done, total)
	}
	valid := int64(1)
	for _, cg := range groups {
		valid *= cg.valid
	}
	if valid == g.size {
		return nil
	}
	pe := &PointsError{File: file, Total: g.size, Invalid: g.size - valid}
	for from := int64(0); len(pe.Examples) < MaxPointExamples; {
		i, ok := g.nextInvalid(groups, from)
		if !ok {
			break
		}
		p := g.params(i, false)
		err := p.Validate(lim)
		if err == nil {
			// The groups disagree with the point: independent is wrong
			// (TestIndependentParams says how).
			return fmt.Errorf("internal error: point %d (%s) is valid, but the checks of its axes refused it; please report this spec", i, g.Describe(i))
		}
		pe.Examples = append(pe.Examples, PointProblem{Index: i, Axes: g.Describe(i), Err: err})
		from = i + 1
	}
	return pe
}

// answersFor reports whether err holds a problem with a parameter that
// the group owns (or with no parameter, which the coupled group owns).
func (cg *checkGroup) answersFor(err error) bool {
	if err == nil {
		return false
	}
	for _, fe := range dynamics.FieldErrors(err) {
		if f := fieldOf(fe.Field); f < 0 && cg.owns[fAlgorithm] || f >= 0 && cg.owns[f] {
			return true
		}
	}
	return false
}

// nextInvalid returns the first point at or after from that takes an
// invalid combination of some group.
func (g *Grid) nextInvalid(groups []*checkGroup, from int64) (int64, bool) {
	best, found := int64(0), false
	digits := make([]int64, len(g.axes))
	for _, cg := range groups {
		for _, c := range cg.bad {
			fixed := make(map[int]int64, len(cg.axes))
			rem := c
			for k := len(cg.axes) - 1; k >= 0; k-- {
				n := g.axes[cg.axes[k]].n
				fixed[cg.axes[k]] = rem % n
				rem /= n
			}
			if i, ok := g.nextWith(fixed, from, digits); ok && (!found || i < best) {
				best, found = i, true
			}
		}
	}
	return best, found
}

// nextWith returns the first point at or after from whose digit (value
// index) on axis a is fixed[a] for every a in fixed. digits is scratch
// space of one digit per axis.
func (g *Grid) nextWith(fixed map[int]int64, from int64, digits []int64) (int64, bool) {
	if from >= g.size {
		return 0, false
	}
	rem := from
	for a := len(g.axes) - 1; a >= 0; a-- {
		digits[a] = rem % g.axes[a].n
		rem /= g.axes[a].n
	}
	// The answer keeps from's digits on a prefix of the axes, is larger
	// than from on the next axis (unless it is from itself), and smallest
	// after it. The longest prefix that works gives the smallest point.
	mismatch := len(g.axes)
	for a := range g.axes {
		if v, ok := fixed[a]; ok && v != digits[a] {
			mismatch = a
			break
		}
	}
	if mismatch == len(g.axes) {
		return from, true
	}
	for j := mismatch; j >= 0; j-- {
		v, isFixed := fixed[j]
		switch {
		case isFixed && v > digits[j]:
		case !isFixed && digits[j]+1 < g.axes[j].n:
			v = digits[j] + 1
		default:
			continue
		}
		i := int64(0)
		for a := range g.axes {
			d := digits[a]
			switch {
			case a == j:
				d = v
			case a > j:
				d = fixed[a] // 0 when not fixed
			}
			i = i*g.axes[a].n + d
		}
		return i, true
	}
	return 0, false
}

// maxOutputBytes and maxOutputElementBytes bound an output path and each
// of its elements (PATH_MAX and NAME_MAX of common file systems).
const (
	maxOutputBytes        = 4096
	maxOutputElementBytes = 255
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// compile checks the structure of the spec and builds its grid.
func (s *Spec) compile() (*Grid, []*SpecError) {
	var errs []*SpecError
	add := func(e *SpecError) {
		if e != nil {
			e.File, e.Line = s.file, lineOf(s.lines, e.Path)
			errs = append(errs, e)
		}
	}

	switch s.APIVersion {
	case APIVersion:
	case "":
		add(&SpecError{Path: "apiVersion", Msg: "missing; start the spec with apiVersion: " + APIVersion})
	default:
		add(&SpecError{Path: "apiVersion", Msg: fmt.Sprintf("%q is not supported; this version of isweep reads apiVersion: %s", s.APIVersion, APIVersion)})
	}
	add(checkName(s.Name))
	add(checkOutput(s.Output))
	chunk := s.Chunk
	switch {
	case chunk == 0:
		// Sized automatically once the grid is known.
	case chunk < 1 || chunk > MaxChunk:
		add(&SpecError{Path: "chunk", Msg: fmt.Sprintf("%d is out of range; chunk is the number of points per chunk, 1 to %d (leave it out for an automatic size)", s.Chunk, MaxChunk)})
	}
	for _, e := range checkLimits(s.Limits) {
		add(e)
	}
	limits := s.Limits.WithDefaults()

	g := &Grid{chunk: chunk, limits: limits}
	var placed [numParams]string // where each parameter is set

	// place records that parameter name is set at path; it reports unknown
	// and repeated parameters and returns the field number, or -1.
	place := func(name, path string) int {
		f := paramField(name)
		if f < 0 {
			add(unknownKey(path, name, "parameter", paramNames))
			return -1
		}
		if placed[f] != "" {
			add(&SpecError{Path: path, Msg: fmt.Sprintf("%s is also set at %s; a parameter may appear in only one of grid, zip and fixed", name, placed[f])})
			return -1
		}
		placed[f] = path
		return f
	}

	// Count the points before generating any axis, so that an oversized
	// grid is refused without taking the memory its axes would need.
	if count, ok := s.countPoints(); !ok {
		add(&SpecError{Msg: fmt.Sprintf("the grid has more than %s points, above limits.max_points = %s; shrink the axes",
			groupDigits(math.MaxInt64), groupDigits(limits.MaxPoints))})
		return nil, errs
	} else if count > limits.MaxPoints {
		add(&SpecError{Msg: fmt.Sprintf("the grid has %s points, above limits.max_points = %s; shrink the axes, or raise the limit with limits: {max_points: %d}",
			groupDigits(count), groupDigits(limits.MaxPoints), count)})
		return nil, errs
	}

	for _, name := range sortedNames(s.GridAxes) {
		path := "grid." + quoteKey(name)
		f := place(name, path)
		if f < 0 {
			continue
		}
		values, err := expandAxis(f, s.GridAxes[name], path)
		if err != nil {
			add(err)
			continue
		}
		g.axes = append(g.axes, gridAxis{columns: []column{values}, n: values.len()})
	}
	for gi, group := range s.Zip {
		gpath := fmt.Sprintf("zip[%d]", gi)
		if len(group) == 0 {
			add(&SpecError{Path: gpath, Msg: "empty group; a zip group maps parameters to axes of equal length, like {n: [4, 16], k: [8, 32]}"})
			continue
		}
		ax := gridAxis{n: -1}
		ok := true
		var lengths []string
		for _, name := range sortedNames(group) {
			path := gpath + "." + quoteKey(name)
			f := place(name, path)
			if f < 0 {
				ok = false
				continue
			}
			values, err := expandAxis(f, group[name], path)
			if err != nil {
				add(err)
				ok = false
				continue
			}
			lengths = append(lengths, fmt.Sprintf("%s: %d", name, values.len()))
			if ax.n >= 0 && ax.n != values.len() {
				ax.n = -2 // lengths differ
			} else if ax.n == -1 {
				ax.n = values.len()
			}
			ax.columns = append(ax.columns, values)
		}
		if ok && ax.n == -2 {
			add(&SpecError{Path: gpath, Msg: fmt.Sprintf("the axes of a zip group vary together and need the same length; got %s", strings.Join(lengths, ", "))})
			continue
		}
		if ok {
			g.axes = append(g.axes, ax)
		}
	}
	for _, name := range sortedNames(s.Fixed) {
		path := "fixed." + quoteKey(name)
		f := place(name, path)
		if f < 0 {
			continue
		}
		v, err := coerce(f, s.Fixed[name], path)
		if err != nil {
			add(err)
			continue
		}
		setParam(&g.base, f, &v)
	}
	for _, f := range []int{fAlgorithm, fN} {
		if placed[f] == "" {
			def := &paramDefs[f]
			add(&SpecError{Msg: fmt.Sprintf("%s is not set; every point needs one: set it under fixed (%s: %s) or as an axis under grid", def.name, def.name, def.example)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	// Canonical axis order: by the (first) field of each axis, which does
	// not depend on the order of keys in the file.
	sort.Slice(g.axes, func(i, j int) bool { return g.axes[i].columns[0].field < g.axes[j].columns[0].field })
	g.size = 1
	for _, ax := range g.axes {
		g.size *= ax.n // countPoints has checked the product
	}
	for _, ax := range g.axes {
		for _, c := range ax.columns {
			g.varying = append(g.varying, c.field)
		}
	}
	sort.Ints(g.varying)
	if g.chunk == 0 {
		g.chunk = g.autoChunk()
	}
	g.placed = placed
	return g, nil
}

// countPoints multiplies the lengths of the axes of known parameters (a zip
// group counting as its first axis), reporting overflow.
func (s *Spec) countPoints() (int64, bool) {
	prod := int64(1)
	mul := func(n int64) bool {
		// Malformed axes are reported by expandAxis; a saturated
		// rangeCount is beyond int64 already.
		n = max(n, 1)
		if n == math.MaxInt64 || prod > math.MaxInt64/n {
			return false
		}
		prod *= n
		return true
	}
	for name, a := range s.GridAxes {
		if paramField(name) >= 0 && !mul(axisCount(a)) {
			return 0, false
		}
	}
	for _, group := range s.Zip {
		for _, name := range sortedNames(group) {
			if paramField(name) >= 0 {
				if !mul(axisCount(group[name])) {
					return 0, false
				}
				break
			}
		}
	}
	return prod, true
}

// groupDigits writes n with thousands separators: 10,000,000.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sortedNames returns the keys of m, known parameters first in canonical
// order, then unknown ones alphabetically.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		fi, fj := paramField(names[i]), paramField(names[j])
		if fi < 0 {
			fi = numParams
		}
		if fj < 0 {
			fj = numParams
		}
		if fi != fj {
			return fi < fj
		}
		return names[i] < names[j]
	})
	return names
}

// zipOrder returns the indices of the zip groups in canonical order: by the
// first of their parameters in the order of dynamics.Params.
func zipOrder(groups []map[string]Axis) []int {
	first := make([]int, len(groups))
	order := make([]int, len(groups))
	for i, g := range groups {
		order[i] = i
		first[i] = numParams
		for name := range g {
			if f := paramField(name); f >= 0 && f < first[i] {
				first[i] = f
			}
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return first[order[a]] < first[order[b]] })
	return order
}

func checkName(name string) *SpecError {
	const rule = "a name is 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit, like mu-scan"
	switch {
	case name == "":
		return &SpecError{Path: "name", Msg: "missing; " + rule}
	case !nameRE.MatchString(name):
		return &SpecError{Path: "name", Msg: fmt.Sprintf("%q is not a valid name; %s", name, rule)}
	case strings.Contains(name, ".."):
		return &SpecError{Path: "name", Msg: fmt.Sprintf("%q contains \"..\"; %s", name, rule)}
	}
	return nil
}

// s3PrefixChars are the characters allowed in an S3 prefix element besides
// letters and digits: AWS's "safe" set and '=' for hive partitions.
const s3PrefixChars = "!-_.*'()="

var s3BucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

func checkOutput(out string) *SpecError {
	shown := out
	if len(shown) > 80 {
		shown = strings.ToValidUTF8(shown[:60], "") + "…"
	}
	bad := func(format string, args ...any) *SpecError {
		return &SpecError{Path: "output", Msg: fmt.Sprintf("%q: ", shown) + fmt.Sprintf(format, args...)}
	}
	if out == "" {
		return &SpecError{Path: "output", Msg: "missing; set a folder path like results/mu-scan or s3://bucket/prefix"}
	}
	// What file systems and S3 accept: a path of at most 4096 bytes, of
	// elements of at most 255.
	if len(out) > maxOutputBytes {
		return bad("%d bytes long, the limit is %d; choose a shorter path", len(out), maxOutputBytes)
	}
	for elem := range strings.SplitSeq(out, "/") {
		if len(elem) > maxOutputElementBytes {
			return bad("a part of the path is %d bytes long, the limit is %d; choose shorter folder names", len(elem), maxOutputElementBytes)
		}
	}
	for i, r := range out {
		switch {
		case r == utf8.RuneError:
			return bad("invalid UTF-8 at byte %d; write a plain path", i)
		case unicode.IsControl(r) || (r != ' ' && !unicode.IsPrint(r)):
			// C0 and C1 controls (U+0085 NEL reads back as a space in
			// YAML, U+009B starts a terminal escape), and other invisible
			// characters.
			return bad("control or invisible character %U at byte %d; write a plain path", r, i)
		}
	}
	if scheme, rest, ok := strings.Cut(out, "://"); ok && schemeRE.MatchString(scheme) {
		if scheme != "s3" {
			return bad("%s:// is not supported; output is a folder path or s3://bucket/prefix", scheme)
		}
		bucket, prefix, _ := strings.Cut(rest, "/")
		if strings.Contains(bucket, "@") {
			// Never repeat the value: it holds a credential.
			return &SpecError{Path: "output", Msg: "credentials in the S3 URL are not accepted (and not repeated here); write s3://bucket/prefix and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"}
		}
		switch {
		case !s3BucketRE.MatchString(bucket) || strings.Contains(bucket, ".."):
			return bad("%q is not a valid bucket name; a bucket is 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit", bucket)
		}
		prefix = strings.TrimSuffix(prefix, "/")
		if prefix == "" {
			return nil
		}
		for _, elem := range strings.Split(prefix, "/") {
			switch elem {
			case "":
				return bad("empty element (//) in the prefix; separate elements with one /")
			case ".", "..":
				return bad("%q element in the prefix; S3 keys are not paths, write the prefix without . or ..", elem)
			}
			if strings.HasPrefix(elem, ".isweep-") {
				return bad("%q: names starting with .isweep- are reserved for isweep's own objects; choose another prefix", elem)
			}
			for _, r := range elem {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(s3PrefixChars, r)) {
					return bad("%q in the prefix is not allowed; prefix elements use letters, digits and %s", string(r), s3PrefixChars)
				}
			}
		}
		return nil
	}
	if scheme, rest, ok := strings.Cut(out, ":"); ok && schemeRE.MatchString(scheme) && (strings.EqualFold(scheme, "s3") || strings.HasPrefix(rest, "/")) {
		return bad("looks like a URL but is not s3://bucket/prefix; write s3://bucket/prefix for S3, or a folder path without %s:", scheme)
	}
	for _, elem := range strings.FieldsFunc(out, func(r rune) bool { return r == '/' || r == '\\' }) {
		if elem == ".." {
			return bad("\"..\" element; write the folder without going up (an absolute path is fine)")
		}
	}
	if out == "~" || strings.HasPrefix(out, "~/") {
		return bad("~ is not expanded here; write the full path")
	}
	return nil
}

func checkLimits(l Limits) []*SpecError {
	var errs []*SpecError
	if l.MaxPoints < 0 {
		errs = append(errs, &SpecError{Path: "limits.max_points", Msg: fmt.Sprintf("%d is negative; give the largest number of points, like %d (default)", l.MaxPoints, DefaultMaxPoints)})
	}
	if l.MaxN < 0 {
		errs = append(errs, &SpecError{Path: "limits.max_n", Msg: fmt.Sprintf("%d is negative; give the largest n, like %d (default)", l.MaxN, dynamics.DefaultLimits().MaxN)})
	}
	for _, h := range []struct {
		path string
		v    float64
		def  float64
	}{
		{"limits.max_flow_horizon", l.MaxFlowHorizon, dynamics.DefaultLimits().MaxFlowHorizon},
		{"limits.max_online_steps", l.MaxOnlineSteps, dynamics.DefaultLimits().MaxOnlineSteps},
		{"limits.max_online_samples", l.MaxOnlineSamples, dynamics.DefaultLimits().MaxOnlineSamples},
		{"limits.max_flow_steps", l.MaxFlowSteps, dynamics.DefaultLimits().MaxFlowSteps},
	} {
		if h.v < 0 || math.IsNaN(h.v) || math.IsInf(h.v, 0) {
			errs = append(errs, &SpecError{Path: h.path, Msg: fmt.Sprintf("%s is not a positive finite number; like %g (default)", string(appendFloat(nil, h.v)), h.def)})
		}
	}
	return errs
}

// normalize replaces the parameter values of a spec that compiles with
// their kind's Go type.
func (s *Spec) normalize() {
	for name, v := range s.Fixed {
		f := paramField(name)
		if pv, err := coerce(f, v, ""); err == nil {
			s.Fixed[name] = typedValue(f, &pv)
		}
	}
	normalizeAxes := func(axes map[string]Axis) {
		for name, a := range axes {
			if a.Values == nil {
				continue
			}
			f := paramField(name)
			values := make([]any, len(a.Values))
			for i, v := range a.Values {
				pv, err := coerce(f, v, "")
				if err != nil {
					return
				}
				values[i] = typedValue(f, &pv)
			}
			a.Values = values
			axes[name] = a
		}
	}
	normalizeAxes(s.GridAxes)
	for _, group := range s.Zip {
		normalizeAxes(group)
	}
}

// typedValue returns v as the Go value a parsed Spec holds.
func typedValue(f int, v *paramValue) any {
	switch paramDefs[f].kind {
	case kindString:
		return v.str
	case kindInt:
		return v.int
	case kindFloat:
		return v.num
	case kindContexts:
		return v.contexts
	default:
		return v.spectrum
	}
}
