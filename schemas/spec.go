package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/isweep/isweep/internal/dynamics"
)

// APIVersion is the version a spec must declare in its apiVersion field.
const APIVersion = "isweep/v1"

const (
	// DefaultChunk was the number of points per chunk of a spec that sets
	// none, before chunks were sized automatically.
	//
	// Deprecated: a spec without chunk gets an automatic size; see
	// AutoChunkSeconds.
	DefaultChunk = 100
	// MaxChunk is the largest number of points per chunk.
	MaxChunk = 100000
	// DefaultMaxPoints is the largest grid a spec may describe unless its
	// limits.max_points says otherwise.
	DefaultMaxPoints = 10_000_000
	// MaxAxisValues is the largest number of values of one axis, whatever
	// the limits say (the values of an axis are held in memory).
	MaxAxisValues = 10_000_000
)

// Spec is a sweep spec: the grid of points to run and where to write the
// results. Parse fills it from YAML or JSON; it can also be built in Go and
// checked with Validate.
//
// Parameter values (in Fixed and in the lists of an Axis) are, after Parse,
// a string, an int64 (integer parameters), a float64 (number parameters) or
// a dynamics.Spectrum (input_spectrum). A spec built in Go may also use the
// other Go integer and float types, []float64 for a spectrum, and the named
// string types of package dynamics.
type Spec struct {
	// APIVersion must be "isweep/v1". Required.
	APIVersion string `json:"apiVersion"`
	// Name names the sweep: [a-z0-9][a-z0-9._-]{0,62}, without "..".
	// Required.
	Name string `json:"name"`
	// GridAxes maps parameters to axes; the points are the cartesian product
	// of the axes (and of the zip groups). Written "grid" in a spec.
	GridAxes map[string]Axis `json:"grid,omitempty"`
	// Zip lists groups of axes; the axes of a group have the same length and
	// vary together, as one axis of the product.
	Zip []map[string]Axis `json:"zip,omitempty"`
	// Fixed maps parameters to the one value every point shares.
	Fixed map[string]any `json:"fixed,omitempty"`
	// Output is where results go: a folder path (absolute or relative) or
	// s3://bucket/prefix. Required.
	Output string `json:"output"`
	// Chunk is the number of points per chunk, 1 to MaxChunk. Default 0:
	// sized automatically to about AutoChunkSeconds of compute per chunk
	// (see Grid.ChunkSize).
	Chunk int `json:"chunk,omitempty"`
	// Limits bound the grid and its points.
	Limits Limits `json:"limits,omitzero"`

	// file and lines locate the spec's parts in the file it came from.
	file  string
	lines map[string]int
}

// Limits bound the size of a sweep and of its points. A zero field means
// the default.
type Limits struct {
	// MaxPoints is the largest number of points. Default DefaultMaxPoints
	// (10,000,000).
	MaxPoints int64 `json:"max_points,omitempty"`
	// MaxN is the largest n. Default dynamics.DefaultLimits().MaxN.
	MaxN int `json:"max_n,omitempty"`
	// MaxFlowHorizon is the largest flow horizon (a time). Default
	// dynamics.DefaultLimits().MaxFlowHorizon.
	MaxFlowHorizon float64 `json:"max_flow_horizon,omitempty"`
	// MaxOnlineSteps is the largest online horizon (learning steps).
	// Default dynamics.DefaultLimits().MaxOnlineSteps.
	MaxOnlineSteps float64 `json:"max_online_steps,omitempty"`
	// MaxOnlineSamples is the most samples of one online point, batch ×
	// horizon. Default dynamics.DefaultLimits().MaxOnlineSamples.
	MaxOnlineSamples float64 `json:"max_online_samples,omitempty"`
	// MaxFlowSteps caps the integrator steps of one flow point; a point
	// that reaches it ends diverged (diverge_reason step_cap). Default
	// dynamics.DefaultLimits().MaxFlowSteps.
	MaxFlowSteps float64 `json:"max_flow_steps,omitempty"`
}

// WithDefaults returns l with its zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	def := dynamics.DefaultLimits()
	if l.MaxPoints == 0 {
		l.MaxPoints = DefaultMaxPoints
	}
	if l.MaxN == 0 {
		l.MaxN = def.MaxN
	}
	if l.MaxFlowHorizon == 0 {
		l.MaxFlowHorizon = def.MaxFlowHorizon
	}
	if l.MaxOnlineSteps == 0 {
		l.MaxOnlineSteps = def.MaxOnlineSteps
	}
	if l.MaxOnlineSamples == 0 {
		l.MaxOnlineSamples = def.MaxOnlineSamples
	}
	if l.MaxFlowSteps == 0 {
		l.MaxFlowSteps = def.MaxFlowSteps
	}
	return l
}

// Dynamics returns the limits that apply to each point, defaults filled in:
// those to validate a point with and to run it with.
func (l Limits) Dynamics() dynamics.Limits {
	l = l.WithDefaults()
	return dynamics.Limits{
		MaxN: l.MaxN, MaxFlowHorizon: l.MaxFlowHorizon, MaxOnlineSteps: l.MaxOnlineSteps,
		MaxOnlineSamples: l.MaxOnlineSamples, MaxFlowSteps: l.MaxFlowSteps,
	}
}

// Axis is the list of values one parameter takes along the grid: either
// explicit Values or exactly one generator.
type Axis struct {
	// Values lists the values in order.
	Values []any
	// Linspace, Logspace and Range generate evenly spaced numbers.
	Linspace *Linspace
	Logspace *Logspace
	Range    *Range
}

// Linspace is num evenly spaced numbers from Start to Stop, both included
// (numpy.linspace; num 1 gives Start). Written {linspace: [start, stop, num]}.
type Linspace struct {
	Start, Stop float64
	Num         int
}

// Logspace is num numbers 10^x for x evenly spaced from StartExp to StopExp,
// both included (numpy.logspace, whose values it matches to within a few
// units in the last place: Go's math.Pow and C's pow round differently).
// Written {logspace: [start_exp, stop_exp, num]}.
type Logspace struct {
	StartExp, StopExp float64
	Num               int
}

// Range is Start, Start+Step, … up to Stop excluded (Python range, or
// numpy.arange for fractional numbers). When all three are integers the
// values are integers, exact up to 2⁵³. Written {range: [start, stop, step]}.
type Range struct {
	Start, Stop, Step float64
}

// MarshalJSON writes the axis as a list or as its generator object.
func (a Axis) MarshalJSON() ([]byte, error) {
	return json.Marshal(a.jsonForm(-1))
}

// jsonForm returns the axis in the form the JSON encoder writes; with a
// parameter f ≥ 0 the values are first converted to that parameter's kind.
func (a Axis) jsonForm(f int) any {
	switch {
	case a.Linspace != nil:
		return map[string]any{"linspace": []any{jsonFloat(a.Linspace.Start), jsonFloat(a.Linspace.Stop), a.Linspace.Num}}
	case a.Logspace != nil:
		return map[string]any{"logspace": []any{jsonFloat(a.Logspace.StartExp), jsonFloat(a.Logspace.StopExp), a.Logspace.Num}}
	case a.Range != nil:
		return map[string]any{"range": []any{jsonFloat(a.Range.Start), jsonFloat(a.Range.Stop), jsonFloat(a.Range.Step)}}
	}
	values := make([]any, len(a.Values))
	for i, v := range a.Values {
		values[i] = jsonValue(f, v)
	}
	return values
}

// jsonValue returns a parameter value in canonical JSON form: converted to
// the kind of parameter f when it can be, else as close to its Go form as
// JSON allows (for specs that are not valid).
func jsonValue(f int, raw any) any {
	if f >= 0 {
		if v, err := coerce(f, raw, ""); err == nil {
			return jsonParam(f, &v)
		}
	}
	switch v := raw.(type) {
	case nil, bool, string:
		return v
	case dynamics.Spectrum:
		return jsonSpectrum(v)
	case mapping:
		obj := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			obj[k] = jsonValue(-1, v.values[i])
		}
		return obj
	case map[string]any:
		obj := make(map[string]any, len(v))
		for k, item := range v {
			obj[k] = jsonValue(-1, item)
		}
		return obj
	case []any:
		list := make([]any, len(v))
		for i, item := range v {
			list[i] = jsonValue(-1, item)
		}
		return list
	case []float64:
		list := make([]any, len(v))
		for i, x := range v {
			list[i] = jsonFloat(x)
		}
		return list
	}
	if i, isInt, f, ok := asNumber(raw); ok {
		if isInt {
			return i
		}
		return jsonFloat(f)
	}
	if s, ok := asString(raw); ok {
		return s
	}
	return fmt.Sprint(raw)
}

// jsonFloat keeps non-finite numbers (which JSON cannot hold) as strings.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == 0 {
		return 0.0 // not -0
	}
	return f
}

// Canonical returns the spec as canonical JSON, the form the engine stores
// beside the results: object keys sorted, no insignificant space, parameter
// values in their kind's form (integers without a decimal point, numbers in
// the shortest form that reads back exactly, spectra as a list or as
// {"max","min","spacing"}), generators kept as written ({"linspace":[…]}),
// zip groups in canonical order, chunk and limits with their defaults filled
// in. Canonical is meant for a spec that passes Validate; for one that does
// not it writes the fields as they are.
func (s *Spec) Canonical() []byte {
	return s.canonical(true)
}

// SweepID identifies the sweep by its content: the hex form of the first 8
// bytes of the SHA-256 of the canonical JSON (see Canonical) without output
// and limits, so that the same sweep written to another place, or run with
// other limits, keeps its id. Reordering keys or zip groups or spelling a
// number differently (1e-2 or 0.01) keep the id; writing an axis as a
// generator or as the list it generates does not (the generator is hashed
// as written), and neither does leaving out chunk: a spec without chunk
// (sized automatically) is another sweep than one that states its chunk.
func (s *Spec) SweepID() string {
	sum := sha256.Sum256(s.canonical(false))
	return hex.EncodeToString(sum[:8])
}

// Identity returns the canonical JSON of the spec without its output and
// limits: the bytes SweepID hashes, and what the engine stores as a
// sweep's spec, so that the same sweep written to another place (a moved
// or copied folder), or run with other limits, is the same sweep.
func (s *Spec) Identity() []byte {
	return s.canonical(false)
}

func (s *Spec) canonical(withPlace bool) []byte {
	doc := map[string]any{
		"apiVersion": s.APIVersion,
		"name":       s.Name,
	}
	// A stated chunk is part of the sweep; a chunk left out is written
	// nowhere, so the automatic size (decided by the plan, and stored with
	// it) never changes the sweep id.
	if s.Chunk != 0 {
		doc["chunk"] = s.Chunk
	}
	if len(s.GridAxes) > 0 {
		grid := make(map[string]any, len(s.GridAxes))
		for name, axis := range s.GridAxes {
			grid[name] = axis.jsonForm(paramField(name))
		}
		doc["grid"] = grid
	}
	if len(s.Zip) > 0 {
		groups := make([]any, len(s.Zip))
		for i, g := range zipOrder(s.Zip) {
			group := make(map[string]any, len(s.Zip[g]))
			for name, axis := range s.Zip[g] {
				group[name] = axis.jsonForm(paramField(name))
			}
			groups[i] = group
		}
		doc["zip"] = groups
	}
	if len(s.Fixed) > 0 {
		fixed := make(map[string]any, len(s.Fixed))
		for name, v := range s.Fixed {
			fixed[name] = jsonValue(paramField(name), v)
		}
		doc["fixed"] = fixed
	}
	if withPlace {
		doc["output"] = s.Output
		l := s.Limits.WithDefaults()
		doc["limits"] = map[string]any{
			"max_points":         l.MaxPoints,
			"max_n":              l.MaxN,
			"max_flow_horizon":   jsonFloat(l.MaxFlowHorizon),
			"max_online_steps":   jsonFloat(l.MaxOnlineSteps),
			"max_online_samples": jsonFloat(l.MaxOnlineSamples),
			"max_flow_steps":     jsonFloat(l.MaxFlowSteps),
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		// Every value above is made of JSON-safe types.
		panic("schemas: canonical JSON: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// paramField returns the field number of a parameter name, or -1.
func paramField(name string) int {
	if f, ok := paramByName[name]; ok {
		return f
	}
	return -1
}

// Chunks returns the number of chunks of the sweep: the number of points
// divided by the chunk size, rounded up; 0 when the spec has structural
// errors (see Grid).
func (s *Spec) Chunks() int64 {
	g, err := s.Grid()
	if err != nil {
		return 0
	}
	return g.Chunks()
}
