package report

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png" // image.Decode reads the figures
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
)

// noPanic runs f and turns a panic into a test error, so that one
// degenerate case that panics does not hide the others. The report itself
// must not panic: this recover is the test's, not the product's.
func noPanic(t *testing.T, f func()) (panicked bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("got: panic %v, want: no panic", p)
			panicked = true
		}
	}()
	f()
	return false
}

// checkFigure decodes the PNG at path and checks that data is drawn on it:
// pixels tinted with a line colour (the axes, labels and grid are grey, the
// background white) left of the legend, which stands to the right of the
// plot; and that the SVG beside it is an SVG document.
func checkFigure(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: got: %v, want: a PNG that decodes", path, err)
	}
	if format != "png" {
		t.Errorf("%s: got: format %s, want: png", path, format)
	}
	b := img.Bounds()
	if b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s: got: %v, want: a figure at least 300×200", path, b)
	}
	// The plot is figWidth inches wide at gonum/plot's 96 dpi; the
	// legend is right of it.
	plotArea := image.Rect(b.Min.X, b.Min.Y, b.Min.X+figWidth*96, b.Max.Y)
	tinted := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if image.Pt(x, y).In(plotArea) && chroma(img.At(x, y)) > 40 {
				tinted++
			}
		}
	}
	if tinted < 10 {
		t.Errorf("%s: got: %d coloured pixels outside the legend, want: the data drawn (≥ 10)", path, tinted)
	}
	svg, err := os.ReadFile(strings.TrimSuffix(path, ".png") + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "<svg") || strings.Count(string(svg), "<path") < 10 {
		t.Errorf("%s.svg: got: %d bytes, %d paths, want: an SVG with the figure drawn", strings.TrimSuffix(path, ".png"), len(svg), strings.Count(string(svg), "<path"))
	}
}

// pngs returns the PNG files among paths, each of which must come with its
// SVG.
func pngs(t *testing.T, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".png") {
			out = append(out, p)
			if !slices.Contains(paths, strings.TrimSuffix(p, ".png")+".svg") {
				t.Errorf("%s: got: no SVG beside it, want: one", p)
			}
		}
	}
	return out
}

// chroma returns max − min of the colour's channels (of 255): 0 for white,
// black and greys.
func chroma(c color.Color) int {
	r, g, b, _ := c.RGBA()
	hi, lo := max(r, g, b), min(r, g, b)
	return int((hi - lo) >> 8)
}

// best is a Row of a Table by algorithm, mode, n and init_scale, with
// quartiles 10% either side of tau and λ_max(M₀) = μ; a NaN tau means no
// learning rate converged (all of its points diverged).
func best(alg dynamics.Algorithm, mode dynamics.Mode, n int, mu, tau float64) Row {
	r := Row{
		Key:  []Value{textValue(string(alg)), textValue(string(mode)), numValue(float64(n)), numValue(mu)},
		Best: []Value{numValue(0.01)}, Median: tau, Q1: 0.9 * tau, Q3: 1.1 * tau, LambdaMax: mu, Converged: 1, Seeds: 1, Points: 1,
	}
	r.Counts.Converged = 1
	if math.IsNaN(tau) {
		r.Best, r.Converged, r.Seeds, r.Counts = nil, 0, 0, results.StatusCounts{Diverged: 1}
	}
	return r
}

// analysisOf is the Analysis of rows.
func analysisOf(rows ...Row) *Analysis {
	t := &Table{By: []string{AxisAlgorithm, AxisMode, AxisN, AxisInitScale}, BestOver: []string{AxisEta}, Rows: rows}
	return &Analysis{Table: t, ByInitScale: Fits(t, XInitScale), ByLambdaMax: Fits(t, XLambdaMax)}
}

// TestWriteFiguresDegenerate draws the convergence-time figure of data sets
// that leave an axis without a range: no panic, every figure written is a
// PNG with the data drawn on it.
func TestWriteFiguresDegenerate(t *testing.T) {
	d, i := dynamics.Direct, dynamics.Interneuron
	fl, on := dynamics.Flow, dynamics.Online
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name    string
		best    []Row
		figures int
		notes   []string // the notes, in order
	}{
		{"one point", []Row{best(d, fl, 2, 5, 3)}, 1, nil},
		{"one init_scale = 1", []Row{best(d, fl, 2, 1, 2), best(i, fl, 2, 1, 1.5)}, 1, nil},
		{"one init_scale < 1", []Row{best(d, on, 8, 0.01, 2)}, 1, nil},
		{"init_scale ≤ 1 and > 1", []Row{best(d, fl, 2, 0.1, 1), best(d, fl, 2, 1, 2), best(d, fl, 2, 10, 11), best(d, fl, 2, 100, 101)}, 1, nil},
		{"all converged at 0, one init_scale", []Row{best(d, fl, 2, 1, 0), best(i, fl, 2, 1, 0)}, 1,
			[]string{"conv-time-flow-n2.png: linear τ axis: no positive convergence time"}},
		{"all converged at 0", []Row{best(d, fl, 2, 1, 0), best(d, fl, 2, 10, 0), best(d, fl, 2, 100, 0)}, 1,
			[]string{"conv-time-flow-n2.png: linear τ axis: no positive convergence time"}},
		{"all diverged", []Row{best(d, on, 8, 1, nan), best(i, on, 8, 10, nan)}, 0, nil},
		{"one algorithm diverged", []Row{best(d, on, 8, 1, 3), best(d, on, 8, 10, 12), best(i, on, 8, 1, nan), best(i, on, 8, 10, nan)}, 1, nil},
		{"NaN and infinite times", []Row{best(d, fl, 2, 1, 3), best(d, fl, 2, 2, nan), best(d, fl, 2, 10, inf), best(d, fl, 2, 100, -inf)}, 1,
			[]string{"conv-time-flow-n2.png: 2 direct points left out: convergence time not finite, or 0 on the log axis"}},
		{"only infinite times", []Row{best(d, fl, 2, 1, inf)}, 0,
			[]string{"conv-time-flow-n2.png: 1 direct point left out: convergence time not finite, or 0 on the log axis", "conv-time-flow-n2.png: not written: no point with a finite convergence time"}},
		{"non-positive init_scale", []Row{best(d, fl, 2, 0, 1), best(d, fl, 2, -1, 2), best(d, fl, 2, 10, 11)}, 1,
			[]string{"conv-time-flow-n2.png: 2 direct points left out: initial spectrum ≤ 0 or not finite (log axis)"}},
		{"only non-positive init_scale", []Row{best(d, fl, 2, 0, 1), best(d, fl, 2, -1, 2)}, 1,
			[]string{"conv-time-flow-n2.png: linear x axis: no positive initial spectrum"}},
		{"huge and tiny values", []Row{best(d, fl, 2, 1e-30, 1e-300), best(d, fl, 2, 1e30, 1e300)}, 1, nil},
		{"single group", []Row{best(d, fl, 4, 1, 1.7), best(d, fl, 4, 10, 10.7), best(d, fl, 4, 100, 100.7)}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths, notes []string
			var err error
			if noPanic(t, func() { paths, notes, err = WriteFigures(dir, analysisOf(tt.best...)) }) {
				return
			}
			checkFigures(t, paths, notes, err, tt.figures, tt.notes)
		})
	}
}

// trajPoint is a converged point with the trajectory samples (t, error).
func trajPoint(id string, alg dynamics.Algorithm, mode dynamics.Mode, samples ...[2]float64) (results.PointRow, []results.TrajectoryRow) {
	p := results.PointRow{
		PointID: id,
		Params:  dynamics.Params{Algorithm: alg, Mode: mode, N: 2, InitScale: 1, Eta: 0.01, Tol: 0.01},
		Status:  results.StatusConverged,
	}
	rows := make([]results.TrajectoryRow, len(samples))
	for j, s := range samples {
		rows[j] = results.TrajectoryRow{PointID: id, Algorithm: alg, N: 2, Sample: int32(j), T: s[0], Error: s[1]}
	}
	return p, rows
}

// TestWriteTrajectoryFigureDegenerate draws the trajectory figure of
// trajectories that leave an axis without a range or without a positive
// value for its log scale.
func TestWriteTrajectoryFigureDegenerate(t *testing.T) {
	d, i := dynamics.Direct, dynamics.Interneuron
	fl := dynamics.Flow
	nan, inf := math.NaN(), math.Inf(1)
	type tp struct {
		alg     dynamics.Algorithm
		samples [][2]float64
	}
	const fig = "trajectories-flow.png: "
	tests := []struct {
		name    string
		points  []tp
		figures int
		notes   []string // the notes, in order
	}{
		{"converged at t = 0", []tp{{d, [][2]float64{{0, 0.005}}}}, 1,
			[]string{fig + "linear time axis: no sample after t = 0"}},
		{"converged at t = 0, both", []tp{{d, [][2]float64{{0, 0.005}}}, {i, [][2]float64{{0, 0}}}}, 1,
			[]string{fig + "linear time axis: no sample after t = 0",
				fig + "interneuron n=2 μ=1: 1 sample left out: t or error not finite, or error 0 on the log error axis",
				fig + "interneuron n=2 μ=1 not drawn: no sample to draw"}},
		{"one sample after t = 0", []tp{{d, [][2]float64{{0, 2}, {0.5, 0.005}}}}, 1, nil},
		{"constant error", []tp{{d, [][2]float64{{0, 0.5}, {1, 0.5}, {2, 0.5}}}}, 1, nil},
		{"one time", []tp{{d, [][2]float64{{1, 0.5}, {1, 0.05}}}}, 1, nil},
		{"one point at t = 1, error 1", []tp{{d, [][2]float64{{1, 1}}}}, 1, nil},
		{"error reaches 0", []tp{{d, [][2]float64{{0, 3}, {1, 0.5}, {2, 0}}}}, 1,
			[]string{fig + "direct n=2 μ=1: 1 sample left out: t or error not finite, or error 0 on the log error axis"}},
		{"NaN and infinite samples", []tp{{d, [][2]float64{{0, 3}, {nan, 1}, {1, nan}, {2, inf}, {inf, 0.5}, {3, 0.2}, {4, 0.005}}}}, 1,
			[]string{fig + "direct n=2 μ=1: 4 samples left out: t or error not finite, or error 0 on the log error axis"}},
		{"one converged at 0, one not", []tp{{d, [][2]float64{{0, 3}, {1, 0.5}, {2, 0.005}}}, {i, [][2]float64{{0, 0.001}}}}, 1,
			[]string{fig + "interneuron n=2 μ=1 not drawn: no sample after t = 0 (converged at the start)"}},
		{"errors far below tol", []tp{{d, [][2]float64{{1e-8, 1e-200}, {1e8, 1e-250}}}}, 1, nil},
		{"no positive error", []tp{{d, [][2]float64{{1, 0}, {100, 0}}}}, 1, []string{fig + "linear error axis: no positive error"}},
		{"no trajectory", []tp{{d, nil}}, 0, []string{fig + "direct n=2 μ=1 not drawn: no sample to draw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var points []results.PointRow
			traj := map[string][]results.TrajectoryRow{}
			for j, p := range tt.points {
				row, rows := trajPoint(fmt.Sprintf("p%d", j), p.alg, fl, p.samples...)
				points = append(points, row)
				traj[row.PointID] = rows
			}
			var paths, notes []string
			var err error
			if noPanic(t, func() { paths, notes, err = WriteTrajectoryFigure(dir, points, traj) }) {
				return
			}
			checkFigures(t, paths, notes, err, tt.figures, tt.notes)
		})
	}
}

// checkFigures checks what a figure writer returned: no error, the number
// of PNG figures and the notes wanted, and every figure decodes with
// content.
func checkFigures(t *testing.T, paths, notes []string, err error, wantFigures int, wantNotes []string) {
	t.Helper()
	if err != nil {
		t.Fatalf("got: error %v, want: none", err)
	}
	figures := pngs(t, paths)
	if len(figures) != wantFigures {
		t.Errorf("got: %d figures %q, want: %d", len(figures), paths, wantFigures)
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes:\ngot:  %q\nwant: %q", notes, wantNotes)
	}
	for _, p := range figures {
		checkFigure(t, p)
	}
}

// TestTrajectoryLabel: a flow point's legend has no η (flow ignores it;
// the legend said η=0.01, found by the hostile tester); an online one has.
func TestTrajectoryLabel(t *testing.T) {
	for _, tc := range []struct {
		p    dynamics.Params
		want string
	}{
		{dynamics.Params{Algorithm: dynamics.Direct, Mode: dynamics.Flow, N: 2, InitScale: 10, Eta: 0.01}, "direct n=2 μ=10"},
		{dynamics.Params{Algorithm: dynamics.Interneuron, Mode: dynamics.Online, N: 4, InitScale: 2, Eta: 0.003}, "interneuron n=4 μ=2 η=0.003"},
	} {
		if got := trajectoryLabel(tc.p); got != tc.want {
			t.Errorf("got: %q want: %q", got, tc.want)
		}
	}
}
