package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/isweep/isweep/internal/dynamics"
)

// SpectrumJSON returns the canonical JSON of a spectrum as written, the
// value of the input_spectrum column: a list of numbers [v1,…] when only
// Values is set, otherwise an object with the fields that are set, in the
// order values, min, max, spacing ({"min":0.1,"max":10,"spacing":"log"});
// the zero spectrum (the default, all ones) is {}. Numbers are written as
// encoding/json writes float64, which round-trips exactly. It returns an
// error for a NaN or infinite value.
func SpectrumJSON(s dynamics.Spectrum) (string, error) {
	if len(s.Values) > 0 && s.Min == 0 && s.Max == 0 && s.Spacing == "" {
		b, err := json.Marshal(s.Values)
		if err != nil {
			return "", fmt.Errorf("results: input_spectrum values %v cannot be written as JSON: %w; eigenvalues must be finite", s.Values, err)
		}
		return string(b), nil
	}
	// encoding/json writes struct fields in declaration order.
	b, err := json.Marshal(spectrumObject{Values: s.Values, Min: s.Min, Max: s.Max, Spacing: s.Spacing})
	if err != nil {
		return "", fmt.Errorf("results: input_spectrum %+v cannot be written as JSON: %w; eigenvalues must be finite", s, err)
	}
	return string(b), nil
}

type spectrumObject struct {
	Values  []float64        `json:"values,omitempty"`
	Min     float64          `json:"min,omitempty"`
	Max     float64          `json:"max,omitempty"`
	Spacing dynamics.Spacing `json:"spacing,omitempty"`
}

// ParseSpectrumJSON parses the value of the input_spectrum column, as
// written by [SpectrumJSON].
func ParseSpectrumJSON(text string) (dynamics.Spectrum, error) {
	raw := bytes.TrimSpace([]byte(text))
	if len(raw) > 0 && raw[0] == '[' {
		var values []float64
		if err := json.Unmarshal(raw, &values); err != nil {
			return dynamics.Spectrum{}, fmt.Errorf("results: input_spectrum %q is not a list of numbers: %w", text, err)
		}
		return dynamics.Spectrum{Values: values}, nil
	}
	var obj spectrumObject
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return dynamics.Spectrum{}, fmt.Errorf("results: input_spectrum %q is neither a list of numbers nor an object {values, min, max, spacing}: %w", text, err)
	}
	return dynamics.Spectrum{Values: obj.Values, Min: obj.Min, Max: obj.Max, Spacing: obj.Spacing}, nil
}

// SpectrumRange returns the smallest and largest eigenvalue of the C of a
// point of dimension n with input spectrum s: [dynamics.Spectrum.Range]
// (for n = 1 the one eigenvalue, min).
func SpectrumRange(s dynamics.Spectrum, n int) (lo, hi float64) { return s.Range(n) }

// spectrumCache remembers the JSON and range of the last few spectra
// encoded: the rows of a chunk share a few spectra, and encoding each one
// anew would be a large part of the cost of writing a row. It keeps its own
// copy of each spectrum's values, so that it can outlive the rows.
type spectrumCache struct {
	entries [8]struct {
		spectrum dynamics.Spectrum
		single   bool // the range is that of n = 1
		text     string
		lo, hi   float64
	}
	used, next, last int
}

// json returns the JSON of s (SpectrumJSON) and its range at dimension n
// (SpectrumRange).
func (c *spectrumCache) json(s dynamics.Spectrum, n int) (text string, lo, hi float64, err error) {
	single := n == 1
	if c.used > 0 {
		if e := &c.entries[c.last]; e.single == single && sameSpectrum(s, e.spectrum) {
			return e.text, e.lo, e.hi, nil
		}
	}
	for i := range c.used {
		if e := &c.entries[i]; e.single == single && sameSpectrum(s, e.spectrum) {
			c.last = i
			return e.text, e.lo, e.hi, nil
		}
	}
	if text, err = SpectrumJSON(s); err != nil {
		return "", 0, 0, err
	}
	lo, hi = SpectrumRange(s, n)
	e := &c.entries[c.next]
	e.spectrum, e.single, e.text, e.lo, e.hi = s, single, text, lo, hi
	e.spectrum.Values = slices.Clone(s.Values)
	c.last = c.next
	c.next = (c.next + 1) % len(c.entries)
	c.used = max(c.used, c.next)
	if c.next == 0 {
		c.used = len(c.entries)
	}
	return text, lo, hi, nil
}

// sameSpectrum reports whether a and b are written alike: numbers compare
// bit for bit, so that −0 (written "-0") is not taken for 0.
func sameSpectrum(a, b dynamics.Spectrum) bool {
	if len(a.Values) != len(b.Values) || a.Spacing != b.Spacing ||
		math.Float64bits(a.Min) != math.Float64bits(b.Min) || math.Float64bits(a.Max) != math.Float64bits(b.Max) {
		return false
	}
	for i, v := range a.Values {
		if math.Float64bits(v) != math.Float64bits(b.Values[i]) {
			return false
		}
	}
	return true
}

// spectrumParseCache is the decoding counterpart of spectrumCache.
type spectrumParseCache struct {
	valid bool
	text  string
	last  dynamics.Spectrum
}

func (c *spectrumParseCache) parse(text string) (dynamics.Spectrum, error) {
	if !c.valid || text != c.text {
		s, err := ParseSpectrumJSON(text)
		if err != nil {
			return dynamics.Spectrum{}, err
		}
		c.valid, c.text, c.last = true, strings.Clone(text), s
	}
	// Each row owns its Values.
	s := c.last
	s.Values = slices.Clone(s.Values)
	return s, nil
}
