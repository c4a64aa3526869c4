package report

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
)

// readaptationSweep runs real flow points of both networks: each adapts
// to C_old = s·I, then switches to C = I, for s over two decades.
func readaptationSweep(t *testing.T) []results.PointRow {
	t.Helper()
	var rows []results.PointRow
	for _, alg := range []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron} {
		for _, s := range []float64{4, 16, 64, 256, 1024, 4096} {
			rows = append(rows, readaptationPoint(t, alg, s, 1, 1))
		}
	}
	return rows
}

// readaptationPoint runs the flow point of alg from M₀ = μI that adapts to
// C_old = s·I, then switches to C = sNew·I.
func readaptationPoint(t *testing.T, alg dynamics.Algorithm, s, sNew, mu float64) results.PointRow {
	t.Helper()
	p := dynamics.Params{Algorithm: alg, N: 2, InputSpectrum: dynamics.Spectrum{Min: s, Max: s}, InitScale: mu, Horizon: 400,
		Contexts: []dynamics.Context{{InputSpectrum: dynamics.Spectrum{Values: []float64{sNew, sNew}}, Duration: 200}}}
	r, err := dynamics.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return results.PointRow{PointID: fmt.Sprintf("%s-%g-%g-%g", alg, s, sNew, mu), Params: p.WithDefaults(), Result: r, Status: results.StatusConverged}
}

// TestReadaptation: the report fits the re-adaptation times of real
// switches against the mismatch, names the paper's laws (linear with
// direct recurrence, logarithmic with interneurons), prints them and
// draws them; a sweep without contexts has none of it.
func TestReadaptation(t *testing.T) {
	rows := readaptationSweep(t)
	a, err := Analyze(rows, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(a.Switches); got != 12 {
		t.Fatalf("switches: got: %d want: 12", got)
	}
	var got []string
	for _, f := range a.Readaptation {
		got = append(got, fmt.Sprintf("%s %s %d %s", f.Key[0].Text, f.Key[1].Text, f.Points, f.Law))
	}
	want := "[direct flow 6 linear interneuron flow 6 logarithmic]"
	if fmt.Sprint(got) != want {
		t.Errorf("fits: got: %v want: %s", got, want)
	}
	// The direct law's slope: τ ≈ √s_old = scale_ratio (the closed form
	// for m₀ ≫ a), so b ≈ 1.
	if b := a.Readaptation[0].Linear.B; b < 0.95 || b > 1.05 {
		t.Errorf("direct slope: got: %g want: about 1", b)
	}
	// The interneuron law: τ ≈ ½ ln r + ¼ ln(1/(2ε)), so b ≈ ½.
	if b := a.Readaptation[1].Log.B; b < 0.45 || b > 0.55 {
		t.Errorf("interneuron slope: got: %g want: about 0.5", b)
	}

	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"re-adaptation after a switch of contexts: 12 switches, 12 re-adapted, 0 diverged, 0 not within their context",
		"fits of the re-adaptation time τ (from the switch) against the mismatch at the switch"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text: got:\n%s\nwant: a line %q", text.String(), w)
		}
	}
	var js strings.Builder
	if err := WriteJSON(&js, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"readaptation"`) {
		t.Errorf("JSON: got: no readaptation fits")
	}

	dir := t.TempDir()
	paths, _, err := WriteFigures(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pngs(t, paths) {
		if filepath.Base(p) == "readaptation.png" {
			found = true
			checkFigure(t, p)
		}
	}
	if !found {
		t.Errorf("figures: got: %v want: readaptation.png among them", paths)
	}

	// Without contexts: no section, no figure.
	plain := []results.PointRow{point(dynamics.Direct, 2, 1, 0.01, 0, results.StatusConverged, 1)}
	b, err := Analyze(plain, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	if err := WriteText(&text, b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "re-adaptation") {
		t.Errorf("no contexts: got: a re-adaptation section")
	}
}

// TestReadaptationFitsTheLawsDomain: the laws hold for a mismatch
// scale_ratio > 1 (the adapted M too large for the new input); switches
// from below, and one switch reached again from other starts (points that
// differ only in init_scale adapt to the same state before it), are left
// out of the fits and counted in the text. Pooled, they made the
// interneuron fit read "linear" (R² 0.957 against 0.745; found by the
// hostile tester).
func TestReadaptationFitsTheLawsDomain(t *testing.T) {
	rows := readaptationSweep(t)
	for _, alg := range []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron} {
		// The same switches again, from other initial scales.
		for _, mu := range []float64{2, 3} {
			for _, s := range []float64{4, 16, 64, 256, 1024, 4096} {
				rows = append(rows, readaptationPoint(t, alg, s, 1, mu))
			}
		}
		// Switches from below: C_old = s·I with s < 1, then C = I.
		for _, s := range []float64{1.0 / 4096, 1.0 / 256, 1.0 / 16, 0.25} {
			rows = append(rows, readaptationPoint(t, alg, s, 1, 1))
		}
	}
	a, err := Analyze(rows, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range a.Readaptation {
		got = append(got, fmt.Sprintf("%s %s %d %s", f.Key[0].Text, f.Key[1].Text, f.Points, f.Law))
	}
	if want := "[direct flow 6 linear interneuron flow 6 logarithmic]"; fmt.Sprint(got) != want {
		t.Errorf("fits: got: %v want: %s", got, want)
	}
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"44 switches, 44 re-adapted", "fitted: 12 distinct re-adapted switches with scale_ratio > 1 after an adapted context, where the laws hold; left out: 8 with scale_ratio ≤ 1, 0 after a context that did not adapt, 24 repeats of a switch from other starts"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text: got:\n%s\nwant: a line with %q", text.String(), w)
		}
	}
}

// TestReadaptationFitsPerSetting: the re-adaptation law's constants
// depend on tol (and eta, batch, hold, noise, k): a fit per value of such
// an axis that varies, named in the fit's key; pooled over tol = 0.01 and
// 1e-4, the interneuron fit read "undecided" (log R² 0.53; found by the
// hostile tester). A switch whose context before never adapted (its error
// stayed above tol) starts from no adapted state: left out, and counted.
func TestReadaptationFitsPerSetting(t *testing.T) {
	var rows []results.PointRow
	for _, tol := range []float64{0.01, 1e-4} {
		for _, alg := range []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron} {
			for _, s := range []float64{4, 16, 64, 256, 1024, 4096} {
				r := readaptationPoint(t, alg, s, 1, 1)
				r.Params.Tol = tol
				res, err := dynamics.Run(context.Background(), r.Params)
				if err != nil {
					t.Fatal(err)
				}
				r.Result, r.PointID = res, fmt.Sprintf("%s-tol%g", r.PointID, tol)
				rows = append(rows, r)
			}
		}
	}
	// A switch after a context that ended above tol: too short to adapt.
	short := readaptationPoint(t, dynamics.Interneuron, 4096, 1, 1)
	short.Params.Horizon = 0.5 // the first context's duration
	if res, err := dynamics.Run(context.Background(), short.Params); err != nil {
		t.Fatal(err)
	} else if short.Result = res; len(res.Contexts) < 2 || res.Contexts[0].ConvTime != nil {
		t.Fatalf("short point: got: %+v want: its first context not converged", res.Contexts)
	}
	short.Params.Tol, short.PointID = 0.01, "short"
	rows = append(rows, short)

	a, err := Analyze(rows, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range a.Readaptation {
		got = append(got, fmt.Sprintf("%s %s tol=%s %d %s", f.Key[0].Text, f.Key[1].Text, f.Key[3].String(), f.Points, f.Law))
	}
	want := "[direct flow tol=0.01 6 linear interneuron flow tol=0.01 6 logarithmic direct flow tol=0.0001 6 linear interneuron flow tol=0.0001 6 logarithmic]"
	if fmt.Sprint(got) != want {
		t.Errorf("fits: got: %v want: %s", got, want)
	}
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"algorithm    mode  n  tol", "1 after a context that did not adapt"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text: got:\n%s\nwant: %q", text.String(), w)
		}
	}
}

// TestReadaptationDegenerate: switches that never re-adapt, or all at one
// mismatch, render without a panic and say so.
func TestReadaptationDegenerate(t *testing.T) {
	p := dynamics.Params{Algorithm: dynamics.Direct, Mode: dynamics.Flow, N: 1, Contexts: []dynamics.Context{{Duration: 1}, {Duration: 1}}}
	row := results.PointRow{PointID: "x", Params: p, Status: results.StatusConverged,
		Result: dynamics.Result{Contexts: []dynamics.ContextResult{{}, {Index: 1, ScaleRatio: 2}, {Index: 2, ScaleRatio: 2, Diverged: true}}}}
	a, err := Analyze([]results.PointRow{row}, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "2 switches, 0 re-adapted, 1 diverged, 1 not within their context") || !strings.Contains(text.String(), "no re-adaptation fits") {
		t.Errorf("got:\n%s", text.String())
	}
	var notes []string
	if noPanic(t, func() { _, notes, err = WriteFigures(t.TempDir(), a) }) || err != nil {
		t.Fatalf("got: panic or %v", err)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "readaptation.png: not written") {
		t.Errorf("notes: got: %q", notes)
	}
}
