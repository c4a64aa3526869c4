package report

import (
	"context"
	"fmt"
	"image/color"
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

// WriteFigures writes one PNG per (mode, n) with a converged time: the best
// convergence time against init_scale (log x), one line per algorithm. It
// returns the paths written, and notes on what a figure leaves out: a
// value its axes cannot place (a non-finite time; an init_scale ≤ 0 on the
// log axis) or a whole figure with nothing to draw. The axes are chosen
// from the data (see chooseAxis), so any set of rows draws without panic.
func WriteFigures(dir string, best []Best) (paths, notes []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
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
	for _, k := range keys {
		name := fmt.Sprintf("conv-time-%s-n%d.png", k.mode, k.n)
		var all plotter.XYs
		for _, xy := range lines[k] {
			all = append(all, xy...)
		}
		xr, yr := chooseAxes(all, true, false)
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Best convergence time over eta (%s, n = %d)", k.mode, k.n)
		p.X.Label.Text = "initial scale μ (log)"
		// The notes on the axes come first, once the figure is drawn.
		var axisNotes []string
		first := len(notes)
		if !xr.log {
			p.X.Label.Text = "initial scale μ"
			axisNotes = append(axisNotes, name+": linear μ axis: no init_scale is positive")
		}
		p.Y.Label.Text = "convergence time τ"
		p.Legend.Top, p.Legend.Left = true, true
		algs := make([]dynamics.Algorithm, 0, len(lines[k]))
		for a := range lines[k] {
			algs = append(algs, a)
		}
		slices.Sort(algs)
		drawn := 0
		for i, a := range algs {
			var xy plotter.XYs
			badX, badY := 0, 0
			for _, v := range lines[k][a] {
				switch {
				case !xr.shows(v.X):
					badX++
				case !yr.shows(v.Y):
					badY++
				default:
					xy = append(xy, v)
				}
			}
			if badX > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s left out: init_scale ≤ 0 or not finite (log μ axis)", name, count(badX, string(a)+" point")))
			}
			if badY > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s left out: convergence time not finite", name, count(badY, string(a)+" point")))
			}
			if len(xy) == 0 {
				continue
			}
			slices.SortFunc(xy, func(u, v plotter.XY) int { return cmpFloat(u.X, v.X) })
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return paths, notes, err
			}
			l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
			s.Shape = plotutil.Shape(i)
			p.Add(l, s)
			p.Legend.Add(string(a), l, s)
			drawn++
		}
		if drawn == 0 {
			notes = append(notes, name+": not written: no point with a finite convergence time")
			continue
		}
		notes = slices.Insert(notes, first, axisNotes...)
		xr.apply(&p.X)
		yr.apply(&p.Y)
		path := filepath.Join(dir, name)
		if err := p.Save(figWidth*vg.Inch, figHeight*vg.Inch, path); err != nil {
			return paths, notes, err
		}
		paths = append(paths, path)
	}
	return paths, notes, nil
}

// count returns "1 thing" or "n things".
func count(n int, thing string) string {
	return fmt.Sprintf("%d %s", n, plural(n, thing))
}

// plural returns word, with an s when n ≠ 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
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

// WriteTrajectoryFigure draws the error trajectories of points (log t, log
// error) into one PNG per mode, one line per point (a marker for a point
// with a single sample to show). The start of a trajectory, t = 0, has no
// place on a log time axis; other samples an axis cannot place (t or error
// not finite, error 0) are left out and said so in the notes it returns,
// as are points with nothing left to draw. An axis without any positive
// value is linear (all points converged at t = 0). The axes are chosen from
// the data (see chooseAxis), so any set of trajectories draws without
// panic.
func WriteTrajectoryFigure(dir string, points []results.PointRow, traj map[string][]results.TrajectoryRow) (paths, notes []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	byMode := map[dynamics.Mode][]results.PointRow{}
	var modes []dynamics.Mode
	for _, p := range points {
		if byMode[p.Params.Mode] == nil {
			modes = append(modes, p.Params.Mode)
		}
		byMode[p.Params.Mode] = append(byMode[p.Params.Mode], p)
	}
	for _, mode := range modes {
		name := fmt.Sprintf("trajectories-%s.png", mode)
		tol := byMode[mode][0].Params.Tol
		var all plotter.XYs
		for _, pt := range byMode[mode] {
			for _, r := range traj[pt.PointID] {
				all = append(all, plotter.XY{X: r.T, Y: r.Error})
			}
		}
		var extra []float64
		if tol > 0 {
			extra = append(extra, tol)
		}
		xr, yr := chooseAxes(all, true, true, extra...)
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Whitening error along the way (%s, best eta)", mode)
		p.X.Label.Text = "time t (log)"
		// The notes on the axes come first, once the figure is drawn.
		var axisNotes []string
		first := len(notes)
		if !xr.log {
			p.X.Label.Text = "time t"
			axisNotes = append(axisNotes, name+": linear time axis: no sample after t = 0")
		}
		p.Y.Label.Text = "whitening error (log)"
		if !yr.log {
			p.Y.Label.Text = "whitening error"
			axisNotes = append(axisNotes, name+": linear error axis: no positive error")
		}
		// Curves start high on the left and fall to the right: the lower
		// left corner is free for the legend.
		p.Legend.Top, p.Legend.Left = false, true
		drawn := 0
		for i, pt := range byMode[mode] {
			label := fmt.Sprintf("%s n=%d μ=%.3g η=%g", pt.Params.Algorithm, pt.Params.N, pt.Params.InitScale, pt.Params.Eta)
			var xy plotter.XYs
			left := 0
			for _, r := range traj[pt.PointID] {
				switch {
				case xr.shows(r.T) && yr.shows(r.Error):
					xy = append(xy, plotter.XY{X: r.T, Y: r.Error})
				case r.T == 0 && xr.log:
					// The start, left of every log time axis.
				default:
					left++
				}
			}
			if left > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s: %s left out: t or error not finite, or error 0 on the log error axis", name, label, count(left, "sample")))
			}
			colour := plotutil.Color(i)
			switch len(xy) {
			case 0:
				why := "no sample to draw"
				if len(traj[pt.PointID]) > 0 && xr.log {
					why = "no sample after t = 0 (converged at the start)"
				}
				notes = append(notes, fmt.Sprintf("%s: %s not drawn: %s", name, label, why))
				continue
			case 1:
				s, err := plotter.NewScatter(xy)
				if err != nil {
					return paths, notes, err
				}
				s.Color = colour
				p.Add(s)
				p.Legend.Add(label, s)
			default:
				l, err := plotter.NewLine(xy)
				if err != nil {
					return paths, notes, err
				}
				l.Color = colour
				// One dash pattern per network, in the registry's order.
				l.Dashes = plotutil.Dashes(max(0, slices.Index(dynamics.NetworkNames(), string(pt.Params.Algorithm))))
				l.Width = vg.Points(1.5)
				p.Add(l)
				p.Legend.Add(label, l)
			}
			drawn++
		}
		if drawn == 0 {
			continue
		}
		notes = slices.Insert(notes, first, axisNotes...)
		p.Add(plotter.NewGrid())
		if yr.shows(tol) && tol > 0 {
			line, err := plotter.NewLine(plotter.XYs{{X: xr.min, Y: tol}, {X: xr.max, Y: tol}})
			if err == nil {
				line.Color = color.Gray{Y: 128}
				line.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
				p.Add(line)
				p.Legend.Add(fmt.Sprintf("tol = %g", tol), line)
			}
		}
		xr.apply(&p.X)
		yr.apply(&p.Y)
		path := filepath.Join(dir, name)
		if err := p.Save(figWidth*vg.Inch, figHeight*vg.Inch, path); err != nil {
			return paths, notes, err
		}
		paths = append(paths, path)
	}
	return paths, notes, nil
}
