package results

import (
	"encoding/json"
	"fmt"

	"github.com/isweep/isweep/internal/dynamics"
)

// contextJSON is one context as the contexts column writes it: its
// spectrum in the form of the input_spectrum column.
type contextJSON struct {
	InputSpectrum json.RawMessage `json:"input_spectrum"`
	InputBasis    string          `json:"input_basis"`
	Duration      float64         `json:"duration"`
}

// ContextsJSON returns the value of the contexts column of a point: the
// JSON list of its (defaulted) contexts,
// [{"input_spectrum":…,"input_basis":"…","duration":…},…], each spectrum
// as [SpectrumJSON] writes it; "" for a point without contexts (NULL).
func ContextsJSON(cs []dynamics.Context) (string, error) {
	if len(cs) == 0 {
		return "", nil
	}
	out := make([]contextJSON, len(cs))
	for i, c := range cs {
		s, err := SpectrumJSON(c.InputSpectrum)
		if err != nil {
			return "", fmt.Errorf("contexts[%d]: %w", i, err)
		}
		out[i] = contextJSON{InputSpectrum: json.RawMessage(s), InputBasis: c.InputBasis, Duration: c.Duration}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("contexts: %w; durations must be finite", err)
	}
	return string(b), nil
}

// ParseContextsJSON parses the value of the contexts column, as written by
// [ContextsJSON].
func ParseContextsJSON(text string) ([]dynamics.Context, error) {
	var raw []contextJSON
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("results: contexts %q is not a list of contexts: %w", text, err)
	}
	out := make([]dynamics.Context, len(raw))
	for i, c := range raw {
		s, err := ParseSpectrumJSON(string(c.InputSpectrum))
		if err != nil {
			return nil, fmt.Errorf("results: contexts[%d]: %w", i, err)
		}
		out[i] = dynamics.Context{InputSpectrum: s, InputBasis: c.InputBasis, Duration: c.Duration}
	}
	return out, nil
}

// ContextResultsJSON returns the value of the context_results column of a
// point: the JSON list of its [dynamics.ContextResult] values, one object
// per context presented, with the keys context, start, start_step,
// start_error, scale_ratio, conv_time, conv_step, final_error, min_error,
// floor_error and diverged (conv_time, conv_step and floor_error null when
// not measured); "" for a point without contexts (NULL).
func ContextResultsJSON(rs []dynamics.ContextResult) (string, error) {
	if len(rs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return "", fmt.Errorf("context_results: %w", err)
	}
	return string(b), nil
}

// ParseContextResultsJSON parses the value of the context_results column,
// as written by [ContextResultsJSON].
func ParseContextResultsJSON(text string) ([]dynamics.ContextResult, error) {
	var out []dynamics.ContextResult
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("results: context_results %q is not a list of context results: %w", text, err)
	}
	return out, nil
}
