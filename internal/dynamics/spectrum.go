package dynamics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// isZero reports whether s is the empty spectrum (all ones by default).
// IsZero reports whether s is the empty spectrum (no values, no end
// points): not given.
func (s Spectrum) IsZero() bool { return s.isZero() }

func (s Spectrum) isZero() bool {
	return len(s.Values) == 0 && s.Min == 0 && s.Max == 0 && s.Spacing == ""
}

// same reports whether s and o describe one spectrum as written (numbers
// compared by value).
func (s Spectrum) same(o Spectrum) bool {
	return slices.Equal(s.Values, o.Values) && s.Min == o.Min && s.Max == o.Max && s.Spacing == o.Spacing
}

// text writes s as a spec would: a list, or {min: …, max: …, spacing: …}.
func (s Spectrum) text() string {
	if len(s.Values) > 0 {
		return formatValue(s.Values)
	}
	return fmt.Sprintf("{min: %s, max: %s, spacing: %s}", formatValue(s.Min), formatValue(s.Max), s.Spacing)
}

// withDefaults turns the empty spectrum into {min: 1, max: 1, spacing: log}
// and gives end points without a spacing the log spacing.
func (s Spectrum) withDefaults() Spectrum {
	if s.isZero() {
		return Spectrum{Min: 1, Max: 1, Spacing: LogSpacing}
	}
	if len(s.Values) == 0 && s.Spacing == "" {
		s.Spacing = LogSpacing
	}
	return s
}

// validate appends the problems of s (for dimension n) to errs; field is the
// JSON name of the spectrum in Params.
func (s Spectrum) validate(field string, n int, errs []error) []error {
	add := func(f string, value any, reason string) {
		errs = append(errs, &FieldError{Field: f, Value: value, Reason: reason})
	}
	if len(s.Values) > 0 {
		if s.Min != 0 || s.Max != 0 || s.Spacing != "" {
			add(field, s.Values, "mixes an explicit list with min/max/spacing; give either a list of n numbers or {min, max, spacing}")
		}
		if len(s.Values) != n {
			add(field, s.Values, fmt.Sprintf("has %d values but n = %d; give exactly n eigenvalues or use {min, max, spacing}", len(s.Values), n))
		}
		for i, v := range s.Values {
			if !inRange(v, MinMagnitude, MaxMagnitude) {
				add(fmt.Sprintf("%s.values[%d]", field, i), v, "is out of range: eigenvalues of a covariance must be positive and lie in [1e-30, 1e30]")
			}
		}
		return errs
	}
	minOK := inRange(s.Min, MinMagnitude, MaxMagnitude)
	maxOK := inRange(s.Max, MinMagnitude, MaxMagnitude)
	if !minOK {
		add(field+".min", s.Min, "is out of range: eigenvalues of a covariance must be positive and lie in [1e-30, 1e30]")
	}
	if !maxOK {
		add(field+".max", s.Max, "is out of range: eigenvalues of a covariance must be positive and lie in [1e-30, 1e30]")
	}
	if minOK && maxOK && s.Min > s.Max {
		add(field+".min", s.Min, fmt.Sprintf("is above max = %s; swap them so that min ≤ max", formatValue(s.Max)))
	}
	switch s.Spacing {
	case LogSpacing, LinearSpacing:
	default:
		add(field+".spacing", s.Spacing, "is not a known spacing; use one of log, linear")
	}
	return errs
}

// Range returns the smallest and largest of the n eigenvalues described
// by s (see Eigenvalues), without making them: for n = 1 both are the one
// eigenvalue, Min.
func (s Spectrum) Range(n int) (lo, hi float64) {
	if len(s.Values) > 0 {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range s.Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		return lo, hi
	}
	s = s.withDefaults()
	if n == 1 {
		return s.Min, s.Min
	}
	return s.Min, s.Max
}

// Eigenvalues returns the n eigenvalues described by s, in order: the
// explicit Values, or Min…Max filled in with Spacing (log by default,
// increasing, as numpy.geomspace / numpy.linspace: for n = 1 the single value
// is Min). The empty spectrum gives all ones, and Min == Max gives a constant.
// Eigenvalues panics when s holds an explicit list whose length is not n.
func (s Spectrum) Eigenvalues(n int) []float64 {
	if n < 0 {
		panic(fmt.Sprintf("dynamics: Spectrum.Eigenvalues: negative dimension %d", n))
	}
	out := make([]float64, n)
	if len(s.Values) > 0 {
		if len(s.Values) != n {
			panic(fmt.Sprintf("dynamics: Spectrum.Eigenvalues: %d explicit values for dimension %d", len(s.Values), n))
		}
		copy(out, s.Values)
		return out
	}
	s = s.withDefaults()
	if n == 0 {
		return out
	}
	if n == 1 || s.Min == s.Max {
		for i := range out {
			out[i] = s.Min
		}
		return out
	}
	last := float64(n - 1)
	switch s.Spacing {
	case LinearSpacing:
		for i := range out {
			out[i] = s.Min + (s.Max-s.Min)*(float64(i)/last)
		}
	default:
		lr := math.Log(s.Max / s.Min)
		for i := range out {
			out[i] = s.Min * math.Exp(lr*float64(i)/last)
		}
	}
	out[0], out[n-1] = s.Min, s.Max
	return out
}

// MarshalJSON writes an explicit spectrum as a list of numbers and an end
// point spectrum as {"min":…, "max":…, "spacing":…} (spacing omitted when
// empty). The empty spectrum is written as null.
func (s Spectrum) MarshalJSON() ([]byte, error) {
	if len(s.Values) > 0 {
		return json.Marshal(s.Values)
	}
	if s.isZero() {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteString(`{"min":`)
	if err := writeJSONNumber(&b, s.Min); err != nil {
		return nil, err
	}
	b.WriteString(`,"max":`)
	if err := writeJSONNumber(&b, s.Max); err != nil {
		return nil, err
	}
	if s.Spacing != "" {
		b.WriteString(`,"spacing":`)
		sp, err := json.Marshal(string(s.Spacing))
		if err != nil {
			return nil, err
		}
		b.Write(sp)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSONNumber(b *bytes.Buffer, x float64) error {
	enc, err := json.Marshal(x)
	if err != nil {
		return err
	}
	b.Write(enc)
	return nil
}

// spectrumKeys are the keys of the object form, sorted.
var spectrumKeys = []string{"max", "min", "spacing", "values"}

// UnmarshalJSON reads a spectrum written as a list of numbers ([0.5, 1, 2])
// or as an object {"min": 0.1, "max": 10, "spacing": "log"} ("values" is
// also accepted as a key, holding the list). null leaves s unchanged. Unknown
// keys and values of the wrong type are errors that say what is expected.
func (s *Spectrum) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("spectrum: empty value; write a list of numbers [0.5, 1, 2] or an object {\"min\": 0.1, \"max\": 10, \"spacing\": \"log\"}")
	}
	switch data[0] {
	case 'n':
		if string(data) == "null" {
			return nil
		}
	case '[':
		var values []float64
		if err := json.Unmarshal(data, &values); err != nil {
			return fmt.Errorf("spectrum: %s is not a list of numbers; write eigenvalues as [0.5, 1, 2]", abbreviate(data))
		}
		*s = Spectrum{Values: values}
		return nil
	case '{':
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return fmt.Errorf("spectrum: %s is not a valid object: %v", abbreviate(data), err)
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out Spectrum
		for _, k := range keys {
			raw := fields[k]
			var err error
			switch k {
			case "min":
				err = json.Unmarshal(raw, &out.Min)
			case "max":
				err = json.Unmarshal(raw, &out.Max)
			case "spacing":
				var sp string
				err = json.Unmarshal(raw, &sp)
				out.Spacing = Spacing(sp)
			case "values":
				err = json.Unmarshal(raw, &out.Values)
			default:
				return fmt.Errorf("spectrum: unknown key %q; allowed keys are %s (or write the spectrum as a list of numbers)", k, strings.Join(spectrumKeys, ", "))
			}
			if err != nil {
				return fmt.Errorf("spectrum.%s: %s has the wrong type; %s", k, abbreviate(raw), spectrumKeyHint(k))
			}
		}
		*s = out
		return nil
	}
	return fmt.Errorf("spectrum: %s is neither a list of numbers nor an object; write [0.5, 1, 2] or {\"min\": 0.1, \"max\": 10, \"spacing\": \"log\"}", abbreviate(data))
}

func spectrumKeyHint(key string) string {
	switch key {
	case "spacing":
		return `spacing is "log" or "linear"`
	case "values":
		return "values is a list of numbers"
	default:
		return key + " is a number"
	}
}

func abbreviate(b []byte) string {
	const max = 60
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
