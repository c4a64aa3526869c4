package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse decodes a spec written in YAML or JSON and checks its structure (see
// Spec.Grid for what that covers); it does not check the points one by one,
// which Validate does. filename is used in messages only. Errors are
// *SpecError values joined with errors.Join, each carrying filename and,
// where the decoder knows it, the line.
//
// On success the parameter values in the spec have their kind's Go type:
// string, int64, float64 or dynamics.Spectrum.
func Parse(data []byte, filename string) (*Spec, error) {
	return parse(data, filename, nil)
}

// ParseIdentity parses a spec stored in its identity form (see
// Spec.Identity: without output and limits) and gives it output and
// limits, as the engine does with the specs it stores beside results.
func ParseIdentity(data []byte, filename, output string, limits Limits) (*Spec, error) {
	return parse(data, filename, func(s *Spec) {
		if s.Output == "" {
			s.Output = output
		}
		if s.Limits == (Limits{}) {
			s.Limits = limits
		}
	})
}

// parse decodes data; place, if not nil, fills in what the data leaves
// out before the spec is checked.
func parse(data []byte, filename string, place func(*Spec)) (*Spec, error) {
	d := &decoder{file: filename, lines: make(map[string]int)}
	root, ok := d.document(data)
	if !ok {
		return nil, d.err()
	}
	spec := d.spec(root)
	if len(d.errs) > 0 {
		return nil, d.err()
	}
	if place != nil {
		place(spec)
	}
	spec.file, spec.lines = filename, d.lines
	if _, errs := spec.compile(); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	spec.normalize()
	return spec, nil
}

// ParseFile reads and parses the spec in the file at path. Its errors name
// path once, at their start.
func ParseFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below
		}
		return nil, fmt.Errorf("%s: cannot read the spec: %w", path, err)
	}
	return Parse(data, path)
}

// Limits of the decoder, so that a hostile or broken file cannot make it
// run away (YAML aliases can multiply a small file).
const (
	maxDecodedNodes = 1 << 20
	maxAliasNodes   = 100000
	maxDepth        = 64
	// maxLineEntries bounds how many items of one list get a line number.
	maxLineEntries = 10000
)

var (
	topKeys   = []string{"apiVersion", "name", "grid", "zip", "fixed", "output", "chunk", "limits"}
	limitKeys = []string{"max_points", "max_n", "max_flow_horizon", "max_online_steps", "max_online_samples", "max_flow_steps"}
	axisForms = []string{"linspace", "logspace", "range"}
)

// decoder turns a YAML document into a Spec, collecting errors with lines.
type decoder struct {
	file  string
	lines map[string]int
	errs  []*SpecError
	nodes int
	// aliasNodes counts the values reached through aliases, inAlias
	// whether value is below an alias, expanding the aliased nodes being
	// expanded (to refuse an alias to its own ancestor).
	aliasNodes int
	inAlias    int
	expanding  map[*yaml.Node]bool
}

func (d *decoder) errorf(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, &SpecError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fail records e at the line of its path.
func (d *decoder) fail(e *SpecError) {
	e.File, e.Line = d.file, lineOf(d.lines, e.Path)
	d.errs = append(d.errs, e)
}

func (d *decoder) err() error {
	return joinErrors(d.errs)
}

// yamlLine matches the position the YAML parser puts in its messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// document decodes the single YAML document in data into plain values:
// string, int64, float64, bool, nil, []any and mapping.
func (d *decoder) document(data []byte) (root any, ok bool) {
	defer func() {
		// The YAML parser is not ours; a crash in it on some odd input
		// must not take the caller down.
		if r := recover(); r != nil {
			d.errorf("", 0, "invalid YAML: the parser failed (%v)", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf("", 0, "the spec is empty; start with apiVersion: %s", APIVersion)
		} else {
			d.yamlError(err)
		}
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.errorf("", extra.Line, "a spec file holds one YAML document; remove the second one (after ---)")
		return nil, false
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
		return nil, false
	}
	root = d.value(&doc, "", 0)
	return root, len(d.errs) == 0
}

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if hint, ok := yamlParserProblems[msg]; ok {
			// The YAML parser reports its own (not its scanner's) problems
			// with 0-based lines, at the start of the enclosing construct
			// or at the problem.
			line++
			msg += hint
		}
	} else if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	d.errorf("", line, "invalid YAML: %s", msg)
}

// yamlParserProblems are the messages of go.yaml.in/yaml/v3's parser (as
// opposed to its scanner), with a hint to add.
var yamlParserProblems = map[string]string{
	"did not find expected node content":     "",
	"did not find expected '-' indicator":    " (check the indentation of the list)",
	"did not find expected key":              " (check the indentation)",
	"did not find expected ',' or ']'":       " (is a [...] left open?)",
	"did not find expected ',' or '}'":       " (is a {...} left open?)",
	"did not find expected <document start>": "",
	"did not find expected <stream-start>":   "",
	"found undefined tag handle":             "",
	"found duplicate %YAML directive":        "",
	"found incompatible YAML document":       "",
	"found duplicate %TAG directive":         "",
}

// value converts node (found at path) into a plain value.
func (d *decoder) value(n *yaml.Node, path string, depth int) any {
	d.nodes++
	if d.inAlias > 0 {
		d.aliasNodes++
	}
	switch {
	case d.nodes > maxDecodedNodes:
		if d.nodes == maxDecodedNodes+1 {
			d.errorf(path, n.Line, "the spec is too large: more than %d values", maxDecodedNodes)
		}
		return nil
	case d.aliasNodes > maxAliasNodes:
		if d.aliasNodes == maxAliasNodes+1 {
			d.errorf(path, n.Line, "YAML aliases expand to more than %d values; write the values out", maxAliasNodes)
		}
		return nil
	case depth > maxDepth:
		d.errorf(path, n.Line, "the spec is nested more than %d levels deep", maxDepth)
		return nil
	}
	if n.Anchor != "" && n.Kind != yaml.AliasNode {
		if d.expanding == nil {
			d.expanding = make(map[*yaml.Node]bool)
		}
		d.expanding[n] = true
		defer delete(d.expanding, n)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return d.value(n.Content[0], path, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		if d.expanding[n.Alias] {
			d.errorf(path, n.Line, "YAML alias *%s refers to a value that contains it", n.Value)
			return nil
		}
		d.inAlias++
		v := d.value(n.Alias, path, depth+1)
		d.inAlias--
		return v
	case yaml.ScalarNode:
		return d.scalar(n, path)
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if i < maxLineEntries && d.inAlias == 0 {
				d.lines[p] = item.Line
			}
			list[i] = d.value(item, p, depth+1)
		}
		return list
	case yaml.MappingNode:
		m := mapping{}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			keyNode, valueNode := n.Content[i], n.Content[i+1]
			for keyNode.Kind == yaml.AliasNode && keyNode.Alias != nil {
				keyNode = keyNode.Alias
			}
			if keyNode.Kind != yaml.ScalarNode {
				d.errorf(path, keyNode.Line, "keys must be plain words, not lists or objects")
				continue
			}
			key := keyNode.Value
			p := quoteKey(key)
			if path != "" {
				p = path + "." + p
			}
			if keyNode.ShortTag() == "!!merge" {
				d.errorf(p, keyNode.Line, "YAML merge keys (<<) are not supported; write the keys out")
				continue
			}
			if first, dup := seen[key]; dup {
				d.errorf(p, keyNode.Line, "key repeated (first set at line %d); keep one", first)
				continue
			}
			seen[key] = keyNode.Line
			if d.inAlias == 0 {
				d.lines[p] = keyNode.Line
			}
			m.keys = append(m.keys, key)
			m.values = append(m.values, d.value(valueNode, p, depth+1))
		}
		return m
	}
	return nil
}

// scalar converts a scalar node by its resolved YAML tag.
//
// go.yaml.in/yaml/v3 has no YAML 1.2 mode for integers: it reads a plain
// 010 as the YAML 1.1 octal 8 (and 09 as the number 9), which no one
// writing a sweep means. Such a number is refused, with both readings;
// YAML 1.2's explicit 0o10 (and 0x10, 0b10) is read as written.
func (d *decoder) scalar(n *yaml.Node, path string) any {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		if msg, ok := leadingZero(n.Value); ok {
			d.errorf(path, n.Line, "%s", msg)
			return nil
		}
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
		d.errorf(path, n.Line, "%s is not a valid integer", strconv.Quote(n.Value))
		return nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
		d.errorf(path, n.Line, "%s is not a valid number", strconv.Quote(n.Value))
		return nil
	}
	return n.Value
}

// leadingZero reports a plain integer written with a leading zero, like
// 010, -007 or 0_10, with the message that refuses it.
func leadingZero(s string) (msg string, ok bool) {
	sign, digits := "", strings.ReplaceAll(s, "_", "")
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		sign, digits = digits[:1], digits[1:]
	}
	if len(digits) < 2 || digits[0] != '0' || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	if sign == "+" {
		sign = ""
	}
	decimal := strings.TrimLeft(digits, "0")
	if decimal == "" {
		decimal, sign = "0", ""
	}
	msg = fmt.Sprintf("%s has a leading zero; write %s%s", s, sign, decimal)
	if octal, err := strconv.ParseInt(digits, 8, 64); err == nil && strconv.FormatInt(octal, 10) != decimal {
		msg += fmt.Sprintf(" (or %s%d if you meant octal)", sign, octal)
	}
	return msg, true
}

// spec builds a Spec from the decoded document.
func (d *decoder) spec(root any) *Spec {
	s := &Spec{}
	top, ok := root.(mapping)
	if !ok {
		d.errorf("", 0, "a spec is a mapping with the keys apiVersion, name, output and grid, zip or fixed; got %s", describe(root))
		return s
	}
	for i, key := range top.keys {
		value := top.values[i]
		path := quoteKey(key)
		switch key {
		case "apiVersion":
			s.APIVersion = d.str(value, path, "like "+APIVersion)
		case "name":
			s.Name = d.str(value, path, "like mu-scan")
		case "output":
			s.Output = d.str(value, path, "a folder path like results/mu-scan or s3://bucket/prefix")
		case "chunk":
			if n, ok := d.integer(value, path, "the number of points per chunk, 1 to 100000"); ok {
				if n < 1 || n > MaxChunk {
					d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%d is out of range; chunk is the number of points per chunk, 1 to %d (leave it out for an automatic size)", n, MaxChunk)})
					continue
				}
				s.Chunk = int(n)
			}
		case "grid":
			s.GridAxes = d.axes(value, path)
		case "zip":
			if value == nil {
				continue
			}
			groups, ok := value.([]any)
			if !ok {
				d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; zip is a list of groups, like [{n: [4, 16], k: [8, 32]}]", formatRaw(value), describe(value))})
				continue
			}
			s.Zip = make([]map[string]Axis, len(groups))
			for g, group := range groups {
				p := path + "[" + strconv.Itoa(g) + "]"
				if group == nil {
					d.fail(&SpecError{Path: p, Msg: "empty group; a zip group maps parameters to axes of equal length, like {n: [4, 16], k: [8, 32]}"})
					continue
				}
				s.Zip[g] = d.axes(group, p)
			}
		case "fixed":
			if value == nil {
				continue
			}
			m, ok := value.(mapping)
			if !ok {
				d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; fixed maps parameters to one value each, like {tol: 0.01}", formatRaw(value), describe(value))})
				continue
			}
			s.Fixed = make(map[string]any, len(m.keys))
			for j, name := range m.keys {
				s.Fixed[name] = m.values[j]
			}
		case "limits":
			s.Limits = d.limits(value, path)
		default:
			d.fail(unknownKey(path, key, "key", topKeys))
		}
	}
	return s
}

// str decodes a string field.
func (d *decoder) str(value any, path, want string) string {
	s, ok := value.(string)
	if !ok {
		d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; want a string, %s", formatRaw(value), describe(value), want)})
	}
	return s
}

// integer decodes an integer field (an integral number is accepted).
func (d *decoder) integer(value any, path, want string) (int64, bool) {
	i, isInt, f, ok := asNumber(value)
	switch {
	case ok && isInt:
		return i, true
	case ok && f == math.Trunc(f) && math.Abs(f) <= maxExactInt:
		return int64(f), true
	}
	why := "is " + describe(value)
	if ok {
		why = "is not an integer"
	}
	d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s %s; want %s", formatRaw(value), why, want)})
	return 0, false
}

// number decodes a finite number field.
func (d *decoder) number(value any, path, want string) (float64, bool) {
	f, ok := asFiniteFloat(value)
	if !ok {
		d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is not a finite number; want %s", formatRaw(value), want)})
	}
	return f, ok
}

func (d *decoder) limits(value any, path string) Limits {
	var l Limits
	if value == nil {
		return l
	}
	m, ok := value.(mapping)
	if !ok {
		d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; limits is an object like {max_points: 1000000, max_n: 2048}", formatRaw(value), describe(value))})
		return l
	}
	for i, key := range m.keys {
		p := path + "." + quoteKey(key)
		v := m.values[i]
		if x, ok := asFiniteFloat(v); ok && x <= 0 && contains(limitKeys, key) {
			d.fail(&SpecError{Path: p, Msg: fmt.Sprintf("%s is not positive; a limit is a positive number (leave it out for the default)", formatRaw(v))})
			continue
		}
		switch key {
		case "max_points":
			if n, ok := d.integer(v, p, "the largest number of points, like 1000000"); ok {
				l.MaxPoints = n
			}
		case "max_n":
			if n, ok := d.integer(v, p, "the largest n, like 2048"); ok {
				l.MaxN = int(n)
			}
		case "max_flow_horizon":
			if f, ok := d.number(v, p, "the largest flow horizon, like 1e7"); ok {
				l.MaxFlowHorizon = f
			}
		case "max_online_steps":
			if f, ok := d.number(v, p, "the largest online horizon in steps, like 1e9"); ok {
				l.MaxOnlineSteps = f
			}
		case "max_online_samples":
			if f, ok := d.number(v, p, "the most samples of an online point (batch × horizon), like 1e10"); ok {
				l.MaxOnlineSamples = f
			}
		case "max_flow_steps":
			if f, ok := d.number(v, p, "the most integrator steps of a flow point, like 1e7"); ok {
				l.MaxFlowSteps = f
			}
		default:
			d.fail(unknownKey(p, key, "key", limitKeys))
		}
	}
	return l
}

// axes decodes a mapping of parameters to axes (grid or a zip group).
func (d *decoder) axes(value any, path string) map[string]Axis {
	if value == nil {
		return nil
	}
	m, ok := value.(mapping)
	if !ok {
		d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; want an object mapping parameters to axes, like {eta: [0.01, 0.1], n: {range: [2, 10, 2]}}", formatRaw(value), describe(value))})
		return nil
	}
	axes := make(map[string]Axis, len(m.keys))
	for i, name := range m.keys {
		p := path + "." + quoteKey(name)
		if a, ok := d.axis(m.values[i], p, name); ok {
			axes[name] = a
		} else {
			axes[name] = Axis{}
		}
	}
	return axes
}

// axis decodes one axis: a list or a generator object.
func (d *decoder) axis(value any, path, name string) (Axis, bool) {
	switch v := value.(type) {
	case []any:
		return Axis{Values: v}, true
	case mapping:
		if name == "input_spectrum" && isSpectrumObject(v) {
			d.fail(&SpecError{Path: path, Msg: "one spectrum is not an axis; list the spectra, like [{min: 0.5, max: 2}, {min: 0.1, max: 10}], or set one under fixed"})
			return Axis{}, false
		}
		if len(v.keys) != 1 {
			for _, k := range v.keys {
				if !contains(axisForms, k) {
					d.fail(unknownKey(path+"."+quoteKey(k), k, "axis form", axisForms))
					return Axis{}, false
				}
			}
			d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("an axis is a list or one generator (linspace, logspace or range); got %d keys", len(v.keys))})
			return Axis{}, false
		}
		form, args := v.keys[0], v.values[0]
		p := path + "." + quoteKey(form)
		if !contains(axisForms, form) {
			d.fail(unknownKey(p, form, "axis form", axisForms))
			return Axis{}, false
		}
		list, ok := args.([]any)
		if !ok || len(list) != 3 {
			d.fail(&SpecError{Path: p, Msg: fmt.Sprintf("%s is not a list of three numbers; write %s", formatRaw(args), generatorUsage[form])})
			return Axis{}, false
		}
		var nums [3]float64
		var num int64
		for i, item := range list {
			ip := p + "[" + strconv.Itoa(i) + "]"
			if form != "range" && i == 2 {
				n, ok := d.integer(item, ip, "an integer count of values; "+generatorUsage[form])
				if !ok {
					return Axis{}, false
				}
				num = n
				continue
			}
			if n, isInt, _, ok := asNumber(item); ok && isInt && (n > maxExactInt || n < -maxExactInt) {
				d.fail(&SpecError{Path: ip, Msg: fmt.Sprintf("%d is beyond ±2⁵³, where integers are not exact in a generator; list the values instead", n)})
				return Axis{}, false
			}
			f, ok := d.number(item, ip, generatorUsage[form])
			if !ok {
				return Axis{}, false
			}
			nums[i] = f
		}
		switch form {
		case "linspace":
			return Axis{Linspace: &Linspace{Start: nums[0], Stop: nums[1], Num: int(num)}}, true
		case "logspace":
			return Axis{Logspace: &Logspace{StartExp: nums[0], StopExp: nums[1], Num: int(num)}}, true
		default:
			return Axis{Range: &Range{Start: nums[0], Stop: nums[1], Step: nums[2]}}, true
		}
	case nil:
		d.fail(&SpecError{Path: path, Msg: "empty axis; give a list of values or a generator like {linspace: [0.1, 0.5, 5]}"})
	default:
		d.fail(&SpecError{Path: path, Msg: fmt.Sprintf("%s is one value, not an axis; write [%s], or set %s under fixed", formatRaw(value), formatRaw(value), quoteKey(name))})
	}
	return Axis{}, false
}

var generatorUsage = map[string]string{
	"linspace": "{linspace: [start, stop, num]}",
	"logspace": "{logspace: [start_exp, stop_exp, num]}",
	"range":    "{range: [start, stop, step]}",
}

func isSpectrumObject(m mapping) bool {
	if len(m.keys) == 0 {
		return false
	}
	for _, k := range m.keys {
		if !contains(spectrumKeys, k) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lineOf returns the line of path, or of its nearest parent that has one.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if line, ok := lines[path]; ok {
			return line
		}
		cut := max(lastIndexByte(path, '.'), lastIndexByte(path, '['))
		if cut <= 0 {
			return lines[path]
		}
		path = path[:cut]
	}
	return 0
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// joinErrors joins spec errors into one error (nil for none).
func joinErrors(errs []*SpecError) error {
	if len(errs) == 0 {
		return nil
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}
