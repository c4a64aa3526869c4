package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/schemas"
)

// TestChooseAxis checks the scale and the bounds chosen for degenerate
// value sets: always finite, min < max, and min > 0 on a log axis.
func TestChooseAxis(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		vals     []float64
		wantLog  bool
		log      bool
		min, max float64
	}{
		{"none", nil, true, false, 0, 1},
		{"one value 1, log", []float64{1}, true, true, 0.1, 10},
		{"one value 5, log", []float64{5}, true, true, 1, 10},
		{"one value 0.1, log", []float64{0.1}, true, true, 0.01, 1},
		{"values ≤ 1 and > 1, log", []float64{0.5, 2, 30}, true, true, 0.1, 100},
		{"whole decades, log", []float64{1, 1000}, true, true, 1, 1000},
		{"non-positive left out, log", []float64{-3, 0, 2, 20}, true, true, 1, 100},
		{"all non-positive: linear", []float64{0, -1}, true, false, -1, 0},
		{"all zero: linear", []float64{0, 0}, true, false, -1, 1},
		{"NaN and Inf left out", []float64{nan, inf, -inf, 3}, true, true, 1, 10},
		{"only NaN and Inf", []float64{nan, inf, -inf}, true, false, 0, 1},
		{"one value, linear", []float64{4}, false, false, 2, 6},
		{"one negative value, linear", []float64{-4}, false, false, -6, -2},
		{"range, linear", []float64{1, 3, 2}, false, false, 1, 3},
		{"smallest float64, log", []float64{math.SmallestNonzeroFloat64}, true, true, math.SmallestNonzeroFloat64, math.Pow10(-323)},
		{"largest float64, log", []float64{math.MaxFloat64}, true, true, 1e308, math.MaxFloat64},
		{"both signs at the largest float64, linear", []float64{-math.MaxFloat64, math.MaxFloat64}, false, false, -math.MaxFloat64 / 2, math.MaxFloat64 / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chooseAxis(tt.vals, tt.wantLog)
			want := axisRange{log: tt.log, min: tt.min, max: tt.max}
			if got != want {
				t.Errorf("got: %+v, want: %+v", got, want)
			}
			if !(got.min < got.max) || !finite(got.min) || !finite(got.max) || (got.log && !(got.min > 0)) {
				t.Errorf("got: %+v, want: finite bounds, min < max, min > 0 on a log axis", got)
			}
		})
	}
}

// TestLogTicks checks the labelled decades of log axes.
func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		labels   []string
	}{
		{0.1, 10, []string{"0.1", "1", "10"}},
		{1, 1000, []string{"1", "10", "100", "1000"}},
		// 11 decades: every second one is labelled.
		{1e-5, 1e5, []string{"0.0001", "0.01", "1", "100", "10000"}},
		{1e-30, 1e30, []string{"1e-28", "1e-21", "1e-14", "1e-07", "1", "1e+07", "1e+14", "1e+21", "1e+28"}},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range (logTicks{}).Ticks(tt.min, tt.max) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if !slices.Equal(labels, tt.labels) {
			t.Errorf("[%g, %g]: got: %q, want: %q", tt.min, tt.max, labels, tt.labels)
		}
	}
}

// TestAxesAreTheParameters holds the report's axes to the parameters of a
// point (schemas.ParamNames): a new parameter is an axis of the report.
func TestAxesAreTheParameters(t *testing.T) {
	got, want := slices.Sorted(slices.Values(AxisNames())), slices.Sorted(slices.Values(schemas.ParamNames()))
	if !slices.Equal(got, want) {
		t.Errorf("AxisNames: got: %v want: %v (schemas.ParamNames)", got, want)
	}
}

// Text values order their numbers by value: spectra came out 1024, 16,
// 256, 4 (found by the hostile tester); and a spectrum's figure is named
// without its JSON's braces and quotes.
func TestTextValuesOrderTheirNumbers(t *testing.T) {
	spectrum := func(min, max float64) string {
		return spectrumValue(dynamics.Spectrum{Min: min, Max: max, Spacing: dynamics.LogSpacing}).Text
	}
	want := []string{spectrumValue(dynamics.Spectrum{Values: []float64{2, 0.25, 9}}).Text, spectrumValue(dynamics.Spectrum{Values: []float64{10}}).Text,
		spectrum(0.25, 4), spectrum(0.5, 2), spectrum(4, 4), spectrum(16, 16), spectrum(256, 256), spectrum(1024, 1024)}
	got := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	slices.SortFunc(got, compareText)
	if !slices.Equal(got, want) {
		t.Errorf("sorted spectra: got: %q want: %q", got, want)
	}
	for _, tt := range []struct{ a, b string }{{"n4", "n16"}, {"a", "b"}, {"x1.5y", "x1.5z"}, {"", "a"}} {
		if compareText(tt.a, tt.b) >= 0 || compareText(tt.b, tt.a) <= 0 {
			t.Errorf("compareText(%q, %q): got: %d want: < 0", tt.a, tt.b, compareText(tt.a, tt.b))
		}
	}
	name := figureName([]string{AxisMode, AxisN, "input_spectrum"}, []Value{textValue("flow"), numValue(2), textValue(spectrum(1024, 1024))})
	if want := "conv-time-flow-n2-input_spectrum-min-1024-max-1024-spacing-log"; name != want {
		t.Errorf("figure name: got: %s want: %s", name, want)
	}
}
