package report

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png" // image.Decode reads the figures
	"math"
	"os"
	"slices"
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
// background white) outside the legend, which takes at most the left 40%
// and the top (legendTop) or bottom 40% of the figure.
func checkFigure(t *testing.T, path string, legendTop bool) {
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
	legend := image.Rect(b.Min.X, b.Max.Y-b.Dy()*40/100, b.Min.X+b.Dx()*40/100, b.Max.Y)
	if legendTop {
		legend = image.Rect(b.Min.X, b.Min.Y, b.Min.X+b.Dx()*40/100, b.Min.Y+b.Dy()*40/100)
	}
	tinted := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !image.Pt(x, y).In(legend) && chroma(img.At(x, y)) > 40 {
				tinted++
			}
		}
	}
	if tinted < 10 {
		t.Errorf("%s: got: %d coloured pixels outside the legend, want: the data drawn (≥ 10)", path, tinted)
	}
}

// chroma returns max − min of the colour's channels (of 255): 0 for white,
// black and greys.
func chroma(c color.Color) int {
	r, g, b, _ := c.RGBA()
	hi, lo := max(r, g, b), min(r, g, b)
	return int((hi - lo) >> 8)
}

// best is a Best row; a NaN tau means no learning rate converged (all of
// its points diverged).
func best(alg dynamics.Algorithm, mode dynamics.Mode, n int, mu, tau float64) Best {
	b := Best{Algorithm: alg, Mode: mode, N: n, InitScale: mu, Eta: 0.01, ConvTime: tau, Seeds: 1, Points: 1}
	if math.IsNaN(tau) {
		b.Eta, b.Diverged = math.NaN(), 1
	}
	return b
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
		best    []Best
		figures int
		notes   []string // the notes, in order
	}{
		{"one point", []Best{best(d, fl, 2, 5, 3)}, 1, nil},
		{"one init_scale = 1", []Best{best(d, fl, 2, 1, 2), best(i, fl, 2, 1, 1.5)}, 1, nil},
		{"one init_scale < 1", []Best{best(d, on, 8, 0.01, 2)}, 1, nil},
		{"init_scale ≤ 1 and > 1", []Best{best(d, fl, 2, 0.1, 1), best(d, fl, 2, 1, 2), best(d, fl, 2, 10, 11), best(d, fl, 2, 100, 101)}, 1, nil},
		{"all converged at 0, one init_scale", []Best{best(d, fl, 2, 1, 0), best(i, fl, 2, 1, 0)}, 1, nil},
		{"all converged at 0", []Best{best(d, fl, 2, 1, 0), best(d, fl, 2, 10, 0), best(d, fl, 2, 100, 0)}, 1, nil},
		{"all diverged", []Best{best(d, on, 8, 1, nan), best(i, on, 8, 10, nan)}, 0, nil},
		{"one algorithm diverged", []Best{best(d, on, 8, 1, 3), best(d, on, 8, 10, 12), best(i, on, 8, 1, nan), best(i, on, 8, 10, nan)}, 1, nil},
		{"NaN and infinite times", []Best{best(d, fl, 2, 1, 3), best(d, fl, 2, 2, nan), best(d, fl, 2, 10, inf), best(d, fl, 2, 100, -inf)}, 1,
			[]string{"conv-time-flow-n2.png: 2 direct points left out: convergence time not finite"}},
		{"only infinite times", []Best{best(d, fl, 2, 1, inf)}, 0,
			[]string{"conv-time-flow-n2.png: 1 direct point left out: convergence time not finite", "conv-time-flow-n2.png: not written: no point with a finite convergence time"}},
		{"non-positive init_scale", []Best{best(d, fl, 2, 0, 1), best(d, fl, 2, -1, 2), best(d, fl, 2, 10, 11)}, 1,
			[]string{"conv-time-flow-n2.png: 2 direct points left out: init_scale ≤ 0 or not finite (log μ axis)"}},
		{"only non-positive init_scale", []Best{best(d, fl, 2, 0, 1), best(d, fl, 2, -1, 2)}, 1,
			[]string{"conv-time-flow-n2.png: linear μ axis: no init_scale is positive"}},
		{"huge and tiny values", []Best{best(d, fl, 2, 1e-30, 1e-300), best(d, fl, 2, 1e30, 1e300)}, 1, nil},
		{"single group", []Best{best(d, fl, 4, 1, 1.7), best(d, fl, 4, 10, 10.7), best(d, fl, 4, 100, 100.7)}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths, notes []string
			var err error
			if noPanic(t, func() { paths, notes, err = WriteFigures(dir, tt.best) }) {
				return
			}
			if err != nil {
				t.Fatalf("got: error %v, want: none", err)
			}
			if len(paths) != tt.figures {
				t.Errorf("got: %d figures %q, want: %d", len(paths), paths, tt.figures)
			}
			if !slices.Equal(notes, tt.notes) {
				t.Errorf("notes:\ngot:  %q\nwant: %q", notes, tt.notes)
			}
			for _, p := range paths {
				checkFigure(t, p, true)
			}
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
				fig + "interneuron n=2 μ=1 η=0.01: 1 sample left out: t or error not finite, or error 0 on the log error axis",
				fig + "interneuron n=2 μ=1 η=0.01 not drawn: no sample to draw"}},
		{"one sample after t = 0", []tp{{d, [][2]float64{{0, 2}, {0.5, 0.005}}}}, 1, nil},
		{"constant error", []tp{{d, [][2]float64{{0, 0.5}, {1, 0.5}, {2, 0.5}}}}, 1, nil},
		{"one time", []tp{{d, [][2]float64{{1, 0.5}, {1, 0.05}}}}, 1, nil},
		{"one point at t = 1, error 1", []tp{{d, [][2]float64{{1, 1}}}}, 1, nil},
		{"error reaches 0", []tp{{d, [][2]float64{{0, 3}, {1, 0.5}, {2, 0}}}}, 1,
			[]string{fig + "direct n=2 μ=1 η=0.01: 1 sample left out: t or error not finite, or error 0 on the log error axis"}},
		{"NaN and infinite samples", []tp{{d, [][2]float64{{0, 3}, {nan, 1}, {1, nan}, {2, inf}, {inf, 0.5}, {3, 0.2}, {4, 0.005}}}}, 1,
			[]string{fig + "direct n=2 μ=1 η=0.01: 4 samples left out: t or error not finite, or error 0 on the log error axis"}},
		{"one converged at 0, one not", []tp{{d, [][2]float64{{0, 3}, {1, 0.5}, {2, 0.005}}}, {i, [][2]float64{{0, 0.001}}}}, 1,
			[]string{fig + "interneuron n=2 μ=1 η=0.01 not drawn: no sample after t = 0 (converged at the start)"}},
		{"errors far below tol", []tp{{d, [][2]float64{{1e-8, 1e-200}, {1e8, 1e-250}}}}, 1, nil},
		{"no positive error", []tp{{d, [][2]float64{{1, 0}, {100, 0}}}}, 1, []string{fig + "linear error axis: no positive error"}},
		{"no trajectory", []tp{{d, nil}}, 0, []string{fig + "direct n=2 μ=1 η=0.01 not drawn: no sample to draw"}},
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
			if err != nil {
				t.Fatalf("got: error %v, want: none", err)
			}
			if len(paths) != tt.figures {
				t.Errorf("got: %d figures %q, want: %d", len(paths), paths, tt.figures)
			}
			if !slices.Equal(notes, tt.notes) {
				t.Errorf("notes:\ngot:  %q\nwant: %q", notes, tt.notes)
			}
			for _, p := range paths {
				checkFigure(t, p, false)
			}
		})
	}
}
