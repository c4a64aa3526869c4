package schemas

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/isweep/isweep/internal/dynamics"
)

// paramKind is the type of values a parameter takes.
type paramKind uint8

const (
	kindString paramKind = iota
	kindInt
	kindFloat
	kindSpectrum
	kindContexts
)

func (k paramKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindContexts:
		return "a list of contexts, each {input_spectrum, input_basis, duration}"
	default:
		return "a spectrum (a list of numbers or {min, max, spacing})"
	}
}

// Field numbers of the parameters, in the order of the fields of
// dynamics.Params. This order is the canonical order of axes and of the
// point encoding; TestParamTableMatchesParams keeps it in step with the
// struct.
const (
	fAlgorithm = iota
	fMode
	fN
	fK
	fInputSpectrum
	fInputBasis
	fInitScale
	fInitShape
	fInitSpectrum
	fInitSpread
	fInitBasis
	fEta
	fBatch
	fTol
	fHorizon
	fHold
	fRecord
	fSeed
	fNoise
	fContexts
	numParams
)

// paramDef describes one parameter of a point.
type paramDef struct {
	name string
	kind paramKind
	// example is a value shown in messages.
	example string
	// deflt says in messages what dynamics.Params.WithDefaults fills in
	// for the parameter's zero value; "" for a parameter without default
	// (TestZeroValueHints holds it to WithDefaults).
	deflt string
	// zeroIsValue marks a parameter whose 0 is a value of its own (seed
	// 0), which a spec may write.
	zeroIsValue bool
}

var paramDefs = [numParams]paramDef{
	fAlgorithm:     {"algorithm", kindString, "direct", "", false},
	fMode:          {"mode", kindString, "flow", "flow", false},
	fN:             {"n", kindInt, "4", "", false},
	fK:             {"k", kindInt, "8", "k = n", false},
	fInputSpectrum: {"input_spectrum", kindSpectrum, "{min: 0.5, max: 2}", "all ones", false},
	fInputBasis:    {"input_basis", kindString, "random", "identity", false},
	fInitScale:     {"init_scale", kindFloat, "10", "1", false},
	fInitShape:     {"init_shape", kindString, "identity", "identity", false},
	fInitSpectrum:  {"init_spectrum", kindSpectrum, "[0.5, 2, 8]", "none: used only by init_shape spectrum", false},
	fInitSpread:    {"init_spread", kindFloat, "10", "10", false},
	fInitBasis:     {"init_basis", kindString, "aligned", "aligned", false},
	fEta:           {"eta", kindFloat, "0.01", "0.01", false},
	fBatch:         {"batch", kindInt, "1", "1", false},
	fTol:           {"tol", kindFloat, "0.01", "0.01", false},
	fHorizon:       {"horizon", kindFloat, "10000", "10000 in flow mode, 100000 steps online", false},
	fHold:          {"hold", kindFloat, "1", "1 online; a hold below one step, eta, is first passage", false},
	fRecord:        {"record", kindInt, "1000", "1000", false},
	fSeed:          {"seed", kindInt, "1", "0", true},
	fNoise:         {"noise", kindInt, "1", "0", true},
	fContexts:      {"contexts", kindContexts, "[{input_spectrum: {min: 4, max: 4}, duration: 50}]", "none: the point's own input for horizon", false},
}

// zeroHint says why a zero value of parameter f is refused and what to
// write instead: the default a zero stands for, or that f has none.
func zeroHint(f int) string {
	def := &paramDefs[f]
	if def.deflt == "" {
		return fmt.Sprintf("%s has no default: every point needs one", def.name)
	}
	return fmt.Sprintf("a zero %s stands for its default (%s) in a point", def.name, def.deflt)
}

var (
	paramByName = func() map[string]int {
		m := make(map[string]int, numParams)
		for f, d := range paramDefs {
			m[d.name] = f
		}
		return m
	}()
	paramNames = func() []string {
		names := make([]string, numParams)
		for f, d := range paramDefs {
			names[f] = d.name
		}
		return names
	}()
)

// ParamNames returns the parameter names a spec accepts, in the canonical
// order (that of the fields of dynamics.Params).
func ParamNames() []string {
	return append([]string(nil), paramNames...)
}

// paramValue holds one parameter value in the form its kind needs.
type paramValue struct {
	str      string
	int      int64
	num      float64
	spectrum dynamics.Spectrum
	contexts []dynamics.Context
}

// setParam stores v in field f of p.
func setParam(p *dynamics.Params, f int, v *paramValue) {
	switch f {
	case fAlgorithm:
		p.Algorithm = dynamics.Algorithm(v.str)
	case fMode:
		p.Mode = dynamics.Mode(v.str)
	case fN:
		p.N = int(v.int)
	case fK:
		p.K = int(v.int)
	case fInputSpectrum:
		p.InputSpectrum = v.spectrum
	case fInputBasis:
		p.InputBasis = v.str
	case fInitScale:
		p.InitScale = v.num
	case fInitShape:
		p.InitShape = v.str
	case fInitSpectrum:
		p.InitSpectrum = v.spectrum
	case fInitSpread:
		p.InitSpread = v.num
	case fInitBasis:
		p.InitBasis = v.str
	case fEta:
		p.Eta = v.num
	case fBatch:
		p.Batch = int(v.int)
	case fTol:
		p.Tol = v.num
	case fHorizon:
		p.Horizon = v.num
	case fHold:
		p.Hold = v.num
	case fRecord:
		p.Record = int(v.int)
	case fSeed:
		p.Seed = v.int
	case fNoise:
		p.Noise = v.int
	case fContexts:
		p.Contexts = v.contexts
	default:
		panic(fmt.Sprintf("schemas: no parameter with field number %d", f))
	}
}

// getParam returns field f of p.
func getParam(p *dynamics.Params, f int) paramValue {
	switch f {
	case fAlgorithm:
		return paramValue{str: string(p.Algorithm)}
	case fMode:
		return paramValue{str: string(p.Mode)}
	case fN:
		return paramValue{int: int64(p.N)}
	case fK:
		return paramValue{int: int64(p.K)}
	case fInputSpectrum:
		return paramValue{spectrum: p.InputSpectrum}
	case fInputBasis:
		return paramValue{str: p.InputBasis}
	case fInitScale:
		return paramValue{num: p.InitScale}
	case fInitShape:
		return paramValue{str: p.InitShape}
	case fInitSpectrum:
		return paramValue{spectrum: p.InitSpectrum}
	case fInitSpread:
		return paramValue{num: p.InitSpread}
	case fInitBasis:
		return paramValue{str: p.InitBasis}
	case fEta:
		return paramValue{num: p.Eta}
	case fBatch:
		return paramValue{int: int64(p.Batch)}
	case fTol:
		return paramValue{num: p.Tol}
	case fHorizon:
		return paramValue{num: p.Horizon}
	case fHold:
		return paramValue{num: p.Hold}
	case fRecord:
		return paramValue{int: int64(p.Record)}
	case fSeed:
		return paramValue{int: p.Seed}
	case fNoise:
		return paramValue{int: p.Noise}
	case fContexts:
		return paramValue{contexts: p.Contexts}
	default:
		panic(fmt.Sprintf("schemas: no parameter with field number %d", f))
	}
}

// maxExactInt is the largest integer every float64 below it represents
// exactly (2⁵³).
const maxExactInt = 1 << 53

// coerce converts a value as decoded from a spec (or set in Go) to the kind
// parameter f takes. On failure it returns a message naming the value and
// what the parameter accepts; path is where the value sits in the spec.
//
// A zero value (0, "", the empty spectrum) is refused for every parameter
// but seed: in dynamics.Params it stands for "use the default", so a spec
// that wrote tol: 0 would silently get tol 0.01.
func coerce(f int, raw any, path string) (paramValue, *SpecError) {
	v, err := coerceKind(f, raw, path)
	if err == nil && !paramDefs[f].zeroIsValue && isZeroValue(f, &v) {
		def := &paramDefs[f]
		advice := fmt.Sprintf("leave %s out instead, or give another value", def.name)
		if def.deflt == "" {
			advice = "give a value like " + def.example
		}
		return paramValue{}, &SpecError{Path: path, Msg: fmt.Sprintf("%s is not allowed: %s; %s", formatRaw(raw), zeroHint(f), advice)}
	}
	return v, err
}

// isZeroValue reports whether v is the zero value of parameter f.
func isZeroValue(f int, v *paramValue) bool {
	switch paramDefs[f].kind {
	case kindString:
		return v.str == ""
	case kindInt:
		return v.int == 0
	case kindFloat:
		return v.num == 0
	case kindContexts:
		return len(v.contexts) == 0
	default:
		s := &v.spectrum
		return len(s.Values) == 0 && s.Min == 0 && s.Max == 0 && s.Spacing == ""
	}
}

func coerceKind(f int, raw any, path string) (paramValue, *SpecError) {
	def := &paramDefs[f]
	bad := func(why string) (paramValue, *SpecError) {
		return paramValue{}, &SpecError{Path: path, Msg: fmt.Sprintf("%s %s; %s takes %s, like %s",
			formatRaw(raw), why, def.name, def.kind, def.example)}
	}
	switch def.kind {
	case kindString:
		s, ok := asString(raw)
		if !ok {
			return bad("is " + describe(raw))
		}
		return paramValue{str: s}, nil
	case kindInt:
		i, isInt, fl, ok := asNumber(raw)
		if !ok {
			return bad("is " + describe(raw))
		}
		if isInt {
			return paramValue{int: i}, nil
		}
		if math.IsNaN(fl) || math.IsInf(fl, 0) || fl != math.Trunc(fl) {
			return bad("is not an integer")
		}
		if math.Abs(fl) > maxExactInt {
			return bad("is too large to be an exact integer; write it without a decimal point or exponent")
		}
		return paramValue{int: int64(fl)}, nil
	case kindFloat:
		i, isInt, fl, ok := asNumber(raw)
		if !ok {
			return bad("is " + describe(raw))
		}
		if isInt {
			fl = float64(i)
		}
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return bad("is not a finite number")
		}
		return paramValue{num: fl}, nil
	case kindContexts:
		cs, err := asContexts(raw, path)
		if err != nil {
			return paramValue{}, err
		}
		return paramValue{contexts: cs}, nil
	default:
		s, err := asSpectrum(raw, path)
		if err != nil {
			return paramValue{}, err
		}
		return paramValue{spectrum: s}, nil
	}
}

// asString accepts strings and named string types (dynamics.Algorithm, …).
func asString(raw any) (string, bool) {
	switch v := raw.(type) {
	case string:
		return v, true
	case nil, bool:
		return "", false
	}
	rv := reflect.ValueOf(raw)
	if rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

// asNumber accepts every Go integer and float type. It reports integers
// exactly (isInt) and everything else as a float64.
func asNumber(raw any) (i int64, isInt bool, f float64, ok bool) {
	switch v := raw.(type) {
	case int64:
		return v, true, 0, true
	case int:
		return int64(v), true, 0, true
	case float64:
		return 0, false, v, true
	case nil, bool, string:
		return 0, false, 0, false
	}
	rv := reflect.ValueOf(raw)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true, 0, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return 0, false, float64(u), true
		}
		return int64(u), true, 0, true
	case reflect.Float32, reflect.Float64:
		return 0, false, rv.Float(), true
	}
	return 0, false, 0, false
}

// asFiniteFloat converts a number to a finite float64.
func asFiniteFloat(raw any) (float64, bool) {
	i, isInt, f, ok := asNumber(raw)
	if !ok {
		return 0, false
	}
	if isInt {
		return float64(i), true
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

var spectrumKeys = []string{"min", "max", "spacing"}

// asSpectrum converts a spectrum value: a dynamics.Spectrum, a list of
// numbers, or a {min, max, spacing} object.
func asSpectrum(raw any, path string) (dynamics.Spectrum, *SpecError) {
	const want = "input_spectrum takes a list of eigenvalues like [0.5, 1, 2] or {min: 0.5, max: 2, spacing: log}"
	switch v := raw.(type) {
	case dynamics.Spectrum:
		return v, nil
	case *dynamics.Spectrum:
		if v != nil {
			return *v, nil
		}
	case []float64:
		if len(v) == 0 {
			return dynamics.Spectrum{}, &SpecError{Path: path,
				Msg: "[] is an empty spectrum; leave input_spectrum out for all ones, or " + want}
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return dynamics.Spectrum{}, &SpecError{Path: fmt.Sprintf("%s[%d]", path, i),
					Msg: fmt.Sprintf("%s is not a finite number; %s", formatRaw(x), want)}
			}
		}
		return dynamics.Spectrum{Values: append([]float64(nil), v...)}, nil
	case []any:
		if len(v) == 0 {
			return dynamics.Spectrum{}, &SpecError{Path: path,
				Msg: "[] is an empty spectrum; leave input_spectrum out for all ones, or " + want}
		}
		values := make([]float64, len(v))
		for i, item := range v {
			x, ok := asFiniteFloat(item)
			if !ok {
				return dynamics.Spectrum{}, &SpecError{Path: fmt.Sprintf("%s[%d]", path, i),
					Msg: fmt.Sprintf("%s is not a finite number; %s", formatRaw(item), want)}
			}
			values[i] = x
		}
		return dynamics.Spectrum{Values: values}, nil
	case mapping, map[string]any:
		var s dynamics.Spectrum
		var sawMin, sawMax bool
		var err *SpecError
		eachEntry(v, func(key string, value any) {
			if err != nil {
				return
			}
			p := path + "." + key
			switch key {
			case "min", "max":
				x, ok := asFiniteFloat(value)
				if !ok {
					err = &SpecError{Path: p, Msg: fmt.Sprintf("%s is not a finite number; %s", formatRaw(value), want)}
					return
				}
				if key == "min" {
					s.Min, sawMin = x, true
				} else {
					s.Max, sawMax = x, true
				}
			case "spacing":
				sp, ok := asString(value)
				if !ok {
					err = &SpecError{Path: p, Msg: fmt.Sprintf("%s is %s; spacing is log or linear", formatRaw(value), describe(value))}
					return
				}
				s.Spacing = dynamics.Spacing(sp)
			default:
				err = unknownKey(p, key, "key", spectrumKeys)
			}
		})
		if err != nil {
			return dynamics.Spectrum{}, err
		}
		if !sawMin || !sawMax {
			return dynamics.Spectrum{}, &SpecError{Path: path,
				Msg: "a spectrum object needs both min and max, like {min: 0.5, max: 2, spacing: log}"}
		}
		return s, nil
	}
	return dynamics.Spectrum{}, &SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; %s", formatRaw(raw), describe(raw), want)}
}

var contextKeys = []string{"input_spectrum", "input_basis", "duration"}

// asContexts converts a contexts value: a []dynamics.Context, or a list of
// {input_spectrum, input_basis, duration} objects.
func asContexts(raw any, path string) ([]dynamics.Context, *SpecError) {
	const want = "contexts takes a list of contexts like [{input_spectrum: {min: 4, max: 4}, input_basis: previous, duration: 50}]"
	switch v := raw.(type) {
	case []dynamics.Context:
		return slices.Clone(v), nil
	case []any:
		if len(v) == 0 {
			return nil, nil // refused by coerce as a zero value
		}
		out := make([]dynamics.Context, len(v))
		for i, item := range v {
			p := path + "[" + strconv.Itoa(i) + "]"
			switch item.(type) {
			case mapping, map[string]any:
			default:
				return nil, &SpecError{Path: p, Msg: fmt.Sprintf("%s is %s, not a context; %s", formatRaw(item), describe(item), want)}
			}
			var c dynamics.Context
			var err *SpecError
			eachEntry(item, func(key string, value any) {
				if err != nil {
					return
				}
				kp := p + "." + key
				switch key {
				case "input_spectrum":
					c.InputSpectrum, err = asSpectrum(value, kp)
				case "input_basis":
					b, ok := asString(value)
					if !ok {
						err = &SpecError{Path: kp, Msg: fmt.Sprintf("%s is %s; input_basis is identity, random or previous", formatRaw(value), describe(value))}
						return
					}
					c.InputBasis = b
				case "duration":
					x, ok := asFiniteFloat(value)
					if !ok {
						err = &SpecError{Path: kp, Msg: fmt.Sprintf("%s is not a finite number; duration is a time in flow mode, a number of steps online, like 50", formatRaw(value))}
						return
					}
					c.Duration = x
				default:
					err = unknownKey(kp, key, "key", contextKeys)
				}
			})
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return nil, &SpecError{Path: path, Msg: fmt.Sprintf("%s is %s; %s", formatRaw(raw), describe(raw), want)}
}

func jsonContexts(cs []dynamics.Context) any {
	out := make([]any, len(cs))
	for i, c := range cs {
		obj := map[string]any{"duration": jsonFloat(c.Duration)}
		if !c.InputSpectrum.IsZero() {
			obj["input_spectrum"] = jsonSpectrum(c.InputSpectrum)
		}
		if c.InputBasis != "" {
			obj["input_basis"] = c.InputBasis
		}
		out[i] = obj
	}
	return out
}

// appendContexts writes contexts as
// [{input_spectrum=…,input_basis="…",duration=…},…], the form of messages
// and of point ids.
func appendContexts(b []byte, cs []dynamics.Context) []byte {
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "{input_spectrum="...)
		b = appendSpectrum(b, c.InputSpectrum)
		b = append(b, ",input_basis="...)
		b = appendQuoted(b, c.InputBasis)
		b = append(b, ",duration="...)
		b = appendFloat(b, c.Duration)
		b = append(b, '}')
	}
	return append(b, ']')
}

// jsonParam returns v in the form the canonical JSON writes it.
func jsonParam(f int, v *paramValue) any {
	switch paramDefs[f].kind {
	case kindString:
		return v.str
	case kindInt:
		return v.int
	case kindFloat:
		return jsonFloat(v.num)
	case kindContexts:
		return jsonContexts(v.contexts)
	default:
		return jsonSpectrum(v.spectrum)
	}
}

func jsonSpectrum(s dynamics.Spectrum) any {
	if len(s.Values) > 0 {
		values := make([]any, len(s.Values))
		for i, x := range s.Values {
			values[i] = jsonFloat(x)
		}
		return values
	}
	obj := map[string]any{"min": jsonFloat(s.Min), "max": jsonFloat(s.Max)}
	if s.Spacing != "" {
		obj["spacing"] = string(s.Spacing)
	}
	return obj
}

// appendParam appends v in the short form used in messages ("eta=0.5").
func appendParam(b []byte, f int, v *paramValue) []byte {
	b = append(b, paramDefs[f].name...)
	b = append(b, '=')
	switch paramDefs[f].kind {
	case kindString:
		b = append(b, v.str...)
	case kindInt:
		b = strconv.AppendInt(b, v.int, 10)
	case kindFloat:
		b = appendFloat(b, v.num)
	case kindContexts:
		b = appendContexts(b, v.contexts)
	default:
		b = appendSpectrum(b, v.spectrum)
	}
	return b
}

// appendFloat writes the shortest decimal that reads back as f, with -0
// written as 0.
func appendFloat(b []byte, f float64) []byte {
	if f == 0 {
		return append(b, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e6 {
		// The 'g' format writes these integers in plain digits too (it
		// switches to an exponent from 1e+06 on).
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func appendSpectrum(b []byte, s dynamics.Spectrum) []byte {
	if len(s.Values) > 0 {
		b = append(b, '[')
		for i, x := range s.Values {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, x)
		}
		return append(b, ']')
	}
	spacing := s.Spacing
	if spacing == "" {
		spacing = dynamics.LogSpacing
	}
	b = append(b, "{min="...)
	b = appendFloat(b, s.Min)
	b = append(b, ",max="...)
	b = appendFloat(b, s.Max)
	b = append(b, ",spacing="...)
	b = strconv.AppendQuote(b, string(spacing))
	return append(b, '}')
}

// describe names the JSON type of a decoded value, for messages.
func describe(raw any) string {
	switch raw.(type) {
	case nil:
		return "empty (null)"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case mapping, map[string]any:
		return "an object"
	}
	if _, ok := asString(raw); ok {
		return "a string"
	}
	if _, isInt, _, ok := asNumber(raw); ok {
		if isInt {
			return "an integer"
		}
		return "a number"
	}
	return fmt.Sprintf("a %T", raw)
}

// formatRaw writes a decoded value compactly for messages, quoting strings.
func formatRaw(raw any) string {
	var sb strings.Builder
	writeRaw(&sb, raw, 0)
	return sb.String()
}

func writeRaw(sb *strings.Builder, raw any, depth int) {
	if sb.Len() > 80 {
		sb.WriteString("…")
		return
	}
	switch v := raw.(type) {
	case nil:
		sb.WriteString("null")
	case string:
		sb.WriteString(strconv.Quote(v))
	case float64:
		sb.Write(appendFloat(nil, v))
	case []any:
		sb.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				sb.WriteString(", ")
			}
			if sb.Len() > 80 {
				sb.WriteString("…")
				break
			}
			writeRaw(sb, item, depth+1)
		}
		sb.WriteByte(']')
	case mapping, map[string]any:
		sb.WriteByte('{')
		i := 0
		eachEntry(v, func(key string, value any) {
			if i > 0 {
				sb.WriteString(", ")
			}
			i++
			sb.WriteString(key)
			sb.WriteString(": ")
			writeRaw(sb, value, depth+1)
		})
		sb.WriteByte('}')
	case dynamics.Spectrum:
		sb.Write(appendSpectrum(nil, v))
	default:
		fmt.Fprint(sb, v)
	}
}

// mapping is a decoded YAML mapping; it keeps the keys in document order so
// that messages come out in the order of the file.
type mapping struct {
	keys   []string
	values []any
}

// eachEntry calls fn for the entries of a mapping (in document order) or of
// a map[string]any (in key order).
func eachEntry(m any, fn func(key string, value any)) {
	switch v := m.(type) {
	case mapping:
		for i, k := range v.keys {
			fn(k, v.values[i])
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fn(k, v[k])
		}
	}
}
