package report

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// Figure size in inches.
const figWidth, figHeight = 7, 4.5

// WriteFigures writes one PNG per (mode, n): the best convergence time
// against init_scale (log x), one line per algorithm. It returns the paths
// written.
func WriteFigures(dir string, best []Best) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type key struct {
		mode dynamics.Mode
		n    int
	}
	var keys []key
	lines := map[key]map[dynamics.Algorithm]plotter.XYs{}
	for _, b := range best {
		if !b.Converged() {
			continue
		}
		k := key{b.Mode, b.N}
		if lines[k] == nil {
			lines[k] = map[dynamics.Algorithm]plotter.XYs{}
			keys = append(keys, k)
		}
		lines[k][b.Algorithm] = append(lines[k][b.Algorithm], plotter.XY{X: b.InitScale, Y: b.ConvTime})
	}
	var paths []string
	for _, k := range keys {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Best convergence time over eta (%s, n = %d)", k.mode, k.n)
		p.X.Label.Text = "initial scale μ (log)"
		p.Y.Label.Text = "convergence time τ"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top, p.Legend.Left = true, true
		algs := make([]dynamics.Algorithm, 0, len(lines[k]))
		for a := range lines[k] {
			algs = append(algs, a)
		}
		slices.Sort(algs)
		for i, a := range algs {
			xy := lines[k][a]
			slices.SortFunc(xy, func(u, v plotter.XY) int { return cmpFloat(u.X, v.X) })
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return paths, err
			}
			l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
			s.Shape = plotutil.Shape(i)
			p.Add(l, s)
			p.Legend.Add(string(a), l, s)
		}
		path := filepath.Join(dir, fmt.Sprintf("conv-time-%s-n%d.png", k.mode, k.n))
		if err := p.Save(figWidth*vg.Inch, figHeight*vg.Inch, path); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ChosenPoints picks the points whose trajectories the report draws: per
// algorithm and mode, at the largest n, the point of the best eta (lowest
// seed) at the smallest, middle and largest init_scale.
func ChosenPoints(points []results.PointRow, best []Best) []results.PointRow {
	type key struct {
		alg  dynamics.Algorithm
		mode dynamics.Mode
	}
	maxN := map[key]int{}
	for _, b := range best {
		k := key{b.Algorithm, b.Mode}
		maxN[k] = max(maxN[k], b.N)
	}
	scales := map[key][]Best{}
	for _, b := range best {
		k := key{b.Algorithm, b.Mode}
		if b.N == maxN[k] && b.Converged() {
			scales[k] = append(scales[k], b)
		}
	}
	var chosen []results.PointRow
	keys := make([]key, 0, len(scales))
	for k := range scales {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.alg != b.alg {
			return cmpString(string(a.alg), string(b.alg))
		}
		return cmpString(string(a.mode), string(b.mode))
	})
	for _, k := range keys {
		bs := scales[k]
		picks := []Best{bs[0], bs[len(bs)/2], bs[len(bs)-1]}
		seen := map[float64]bool{}
		for _, b := range picks {
			if seen[b.InitScale] {
				continue
			}
			seen[b.InitScale] = true
			var pick *results.PointRow
			for i := range points {
				p := &points[i]
				if p.Params.Algorithm == b.Algorithm && p.Params.Mode == b.Mode && p.Params.N == b.N &&
					p.Params.InitScale == b.InitScale && p.Params.Eta == b.Eta &&
					(pick == nil || p.Params.Seed < pick.Params.Seed) {
					pick = p
				}
			}
			if pick != nil {
				chosen = append(chosen, *pick)
			}
		}
	}
	return chosen
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// LoadTrajectories reads the trajectories of the given points.
func LoadTrajectories(ctx context.Context, st store.Store, points []results.PointRow, alloc memory.Allocator) (map[string][]results.TrajectoryRow, error) {
	want := map[string]bool{}
	keys := map[string]bool{}
	var order []string
	for _, p := range points {
		want[p.PointID] = true
		k := results.TrajectoriesKey(p.SweepID, results.Partition{Algorithm: p.Params.Algorithm, N: p.Params.N}, p.Chunk)
		if !keys[k] {
			keys[k] = true
			order = append(order, k)
		}
	}
	out := map[string][]results.TrajectoryRow{}
	for _, k := range order {
		body, err := st.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		rows, err := results.DecodeTrajectories(body, alloc)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		for _, r := range rows {
			if want[r.PointID] {
				out[r.PointID] = append(out[r.PointID], r)
			}
		}
	}
	return out, nil
}

// WriteTrajectoryFigure draws the error trajectories of points (log y) into
// one PNG per (mode), one line per point.
func WriteTrajectoryFigure(dir string, points []results.PointRow, traj map[string][]results.TrajectoryRow) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	byMode := map[dynamics.Mode][]results.PointRow{}
	var modes []dynamics.Mode
	for _, p := range points {
		if byMode[p.Params.Mode] == nil {
			modes = append(modes, p.Params.Mode)
		}
		byMode[p.Params.Mode] = append(byMode[p.Params.Mode], p)
	}
	var paths []string
	for _, mode := range modes {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Whitening error along the way (%s, best eta)", mode)
		p.X.Label.Text = "time t (log)"
		p.Y.Label.Text = "whitening error (log)"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		// Curves start high on the left and fall to the right: the lower
		// left corner is free for the legend.
		p.Legend.Top, p.Legend.Left = false, true
		drawn := 0
		for i, pt := range byMode[mode] {
			var xy plotter.XYs
			for _, r := range traj[pt.PointID] {
				if r.T > 0 && r.Error > 0 && !math.IsInf(r.Error, 0) && !math.IsNaN(r.Error) {
					xy = append(xy, plotter.XY{X: r.T, Y: r.Error})
				}
			}
			if len(xy) < 2 {
				continue
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return paths, err
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(0)
			if pt.Params.Algorithm == dynamics.Interneuron {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s n=%d μ=%.3g η=%g", pt.Params.Algorithm, pt.Params.N, pt.Params.InitScale, pt.Params.Eta), l)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		p.Add(plotter.NewGrid())
		tol := byMode[mode][0].Params.Tol
		if tol > 0 {
			line, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: tol}, {X: p.X.Max, Y: tol}})
			if err == nil {
				line.Color = color.Gray{Y: 128}
				line.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
				p.Add(line)
				p.Legend.Add(fmt.Sprintf("tol = %g", tol), line)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("trajectories-%s.png", mode))
		if err := p.Save(figWidth*vg.Inch, figHeight*vg.Inch, path); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
