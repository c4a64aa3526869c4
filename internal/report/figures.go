package report

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// Size of a figure's plot, without its legend, in inches.
const figWidth, figHeight = 6.5, 4.5

// legendGap is the space between a figure's plot and its legend.
const legendGap = 12 // points

// save writes the figure p with legend l to its right, outside the data,
// as base.png and base.svg in dir, and returns their paths.
func save(dir, base string, p *plot.Plot, l plot.Legend) ([]string, error) {
	if l.Padding == 0 {
		l.Padding = vg.Points(3)
	}
	r := l.Rectangle(draw.Canvas{})
	lw := r.Max.X - r.Min.X
	if lw > 0 {
		lw += vg.Points(legendGap)
	}
	w, h := figWidth*vg.Inch+lw, figHeight*vg.Inch
	var paths []string
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w, h, format)
		if err != nil {
			return paths, err
		}
		dc := draw.New(c)
		p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
		if lw > 0 {
			l.Top, l.Left = true, true
			l.Draw(draw.Crop(dc, w-lw+vg.Points(legendGap)/2, 0, 0, -vg.Points(legendGap)))
		}
		path := filepath.Join(dir, base+"."+format)
		if err := writeTo(path, c); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeTo(path string, c io.WriterTo) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// figureName is the base name of the convergence-time figure of the
// settings key of axes: "conv-time", the mode, "n" and its value, and
// name-value for any other axis (JSON braces and quotes left out, other
// characters than letters, digits, '.', '_' and '-' become one '-').
func figureName(axes []string, key []Value) string {
	parts := []string{"conv-time"}
	for i, a := range axes {
		switch a {
		case AxisMode:
			parts = append(parts, key[i].Text)
		case AxisN:
			parts = append(parts, "n"+key[i].Text)
		default:
			parts = append(parts, a+"-"+key[i].Text)
		}
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-':
			return r
		case r == '{' || r == '}' || r == '"' || r == '[' || r == ']':
			return -1 // a spectrum's JSON: its braces and quotes say nothing
		}
		return '-'
	}, strings.Join(parts, "-"))
	for strings.Contains(name, "--") {
		name = strings.ReplaceAll(name, "--", "-")
	}
	return strings.TrimRight(name, "-")
}

// curve is one network's rows on a convergence-time figure.
type curve struct {
	label string
	xy    plotter.XYs
	lo    []float64 // first quartiles
	hi    []float64 // third quartiles
	fit   *Fit
}

// WriteFigures writes the convergence-time figures of a, PNG and SVG: one
// per setting of the By axes but algorithm and init_scale (mode, n, and
// any other axis of the rows), the median time against the initial
// spectrum (λ_max(M₀) when every row has it, else init_scale μ; log axes
// when the values allow) with the seeds' quartiles as error bars, a line
// per network (algorithm), and the law the fits name drawn over the points
// (both laws, dashed, when undecided). It returns the paths written, and
// notes on what a figure leaves out: a value its axes cannot place (a
// non-finite time; an x ≤ 0 on the log axis) or a whole figure with
// nothing to draw. The axes are chosen from the data (see chooseAxis), so
// any rows draw without panic. A sweep with contexts has one more
// figure, the re-adaptation times against the mismatch
// (readaptation.png, .svg).
func WriteFigures(dir string, a *Analysis) (paths, notes []string, err error) {
	paths, notes, err = writeTimeFigures(dir, a)
	if err != nil {
		return paths, notes, err
	}
	more, moreNotes, err := writeReadaptationFigure(dir, a.Switches, a.Readaptation)
	return append(paths, more...), append(notes, moreNotes...), err
}

// writeTimeFigures writes the convergence-time figures of WriteFigures.
func writeTimeFigures(dir string, a *Analysis) (paths, notes []string, err error) {
	t := a.Table
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	mu := t.index(AxisInitScale)
	if mu < 0 {
		return nil, []string{"no convergence-time figures: init_scale is not an axis of the rows"}, nil
	}
	alg := t.index(AxisAlgorithm)
	var axes []string
	for _, b := range t.By {
		if b != AxisAlgorithm && b != AxisInitScale {
			axes = append(axes, b)
		}
	}
	xKind, xLabel, fits := XInitScale, "initial scale μ", a.ByInitScale
	switch {
	case !slices.ContainsFunc(t.Rows, func(r Row) bool { return math.IsNaN(r.LambdaMax) }) && sameX(t):
		xLabel = "initial spectrum λ_max(M₀) = μ"
	case !slices.ContainsFunc(t.Rows, func(r Row) bool { return math.IsNaN(r.LambdaMax) }):
		xKind, xLabel, fits = XLambdaMax, "initial spectrum λ_max(M₀)", a.ByLambdaMax
	}
	fitOf := map[string]*Fit{}
	for i := range fits {
		fitOf[keyString(fits[i].Key)] = &fits[i]
	}
	type figure struct {
		key    []Value
		curves []*curve
	}
	var figs []*figure
	byKey := map[string]*figure{}
	curveOf := map[string]*curve{}
	for _, r := range t.Rows {
		if !r.HasBest() {
			continue
		}
		var key []Value
		for i, b := range t.By {
			if b != AxisAlgorithm && b != AxisInitScale {
				key = append(key, r.Key[i])
			}
		}
		f := byKey[keyString(key)]
		if f == nil {
			f = &figure{key: key}
			byKey[keyString(key)] = f
			figs = append(figs, f)
		}
		fitKey := slices.Delete(slices.Clone(r.Key), mu, mu+1)
		c := curveOf[keyString(fitKey)]
		if c == nil {
			c = &curve{label: "all", fit: fitOf[keyString(fitKey)]}
			if alg >= 0 {
				c.label = r.Key[alg].Text
			}
			curveOf[keyString(fitKey)] = c
			f.curves = append(f.curves, c)
		}
		x := r.Key[mu].Num
		if xKind == XLambdaMax {
			x = r.LambdaMax
		}
		c.xy = append(c.xy, plotter.XY{X: x, Y: r.Median})
		c.lo, c.hi = append(c.lo, r.Q1), append(c.hi, r.Q3)
	}
	for _, f := range figs {
		name := figureName(axes, f.key)
		file := name + ".png"
		var all plotter.XYs
		var extra []float64
		for _, c := range f.curves {
			all = append(all, c.xy...)
			extra = append(extra, c.lo...)
			extra = append(extra, c.hi...)
		}
		xr, yr := chooseAxes(all, true, true, extra...)
		p := plot.New()
		title := make([]string, len(f.key))
		for i, v := range f.key {
			title[i] = axes[i] + " = " + v.String()
		}
		p.Title.Text = "Convergence time, median over seeds (" + strings.Join(title, ", ") + ")"
		p.X.Label.Text = xLabel
		p.Y.Label.Text = "convergence time τ"
		var axisNotes []string
		first := len(notes)
		if !xr.log {
			axisNotes = append(axisNotes, file+": linear x axis: no positive initial spectrum")
		}
		if !yr.log {
			axisNotes = append(axisNotes, file+": linear τ axis: no positive convergence time")
		}
		legend := plot.NewLegend()
		drawn := 0
		for i, c := range f.curves {
			var xy plotter.XYs
			var errs plotter.YErrors
			badX, badY := 0, 0
			for j, v := range c.xy {
				switch {
				case !xr.shows(v.X):
					badX++
				case !yr.shows(v.Y):
					badY++
				default:
					xy = append(xy, v)
					errs = append(errs, quartileBar(v.Y, c.lo[j], c.hi[j], yr))
				}
			}
			if badX > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s left out: initial spectrum ≤ 0 or not finite (log axis)", file, count(badX, c.label+" point")))
			}
			if badY > 0 {
				notes = append(notes, fmt.Sprintf("%s: %s left out: convergence time not finite, or 0 on the log axis", file, count(badY, c.label+" point")))
			}
			if len(xy) == 0 {
				continue
			}
			colour := plotutil.Color(i)
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return paths, notes, err
			}
			s.Color, s.Shape = colour, plotutil.Shape(i)
			bars := &plotter.YErrorBars{XYs: xy, YErrors: errs, LineStyle: plotter.DefaultLineStyle, CapWidth: plotter.DefaultCapWidth}
			bars.Color = colour
			p.Add(bars, s)
			legend.Add(c.label+" (median, quartiles)", s)
			if c.fit != nil {
				for _, l := range lawCurves(c.fit, xy, xr, yr) {
					l.line.Color = colour
					p.Add(l.line)
					legend.Add(c.label+": "+l.text, l.line)
				}
			}
			drawn++
		}
		if drawn == 0 {
			notes = append(notes, file+": not written: no point with a finite convergence time")
			continue
		}
		notes = slices.Insert(notes, first, axisNotes...)
		p.Add(plotter.NewGrid())
		xr.apply(&p.X)
		yr.apply(&p.Y)
		written, err := save(dir, name, p, legend)
		paths = append(paths, written...)
		if err != nil {
			return paths, notes, err
		}
	}
	return paths, notes, nil
}

// quartileBar is the error bar from q1 to q3 around the median y, cut at
// the bottom of the y axis (a quartile of 0 on a log axis).
func quartileBar(y, q1, q3 float64, yr axisRange) struct{ Low, High float64 } {
	lo, hi := y-q1, q3-y
	if !finite(lo) || lo < 0 {
		lo = 0
	}
	if !finite(hi) || hi < 0 {
		hi = 0
	}
	if yr.log && y-lo < yr.min {
		lo = y - yr.min
	}
	return struct{ Low, High float64 }{lo, hi}
}

// lawCurve is a fitted law drawn on a figure, and its legend text.
type lawCurve struct {
	line *plotter.Line
	text string
}

// lawCurves draws the law fit names over the x range of the points xy
// (solid), or both laws (dashed) when it names none; a part of a curve
// the axes cannot place (τ ≤ 0 on a log axis) is left out.
func lawCurves(fit *Fit, xy plotter.XYs, xr, yr axisRange) []lawCurve {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range xy {
		lo, hi = math.Min(lo, v.X), math.Max(hi, v.X)
	}
	if !(lo < hi) {
		return nil
	}
	sym := symbols[fit.X].x
	type law struct {
		name string
		l    Law
		f    func(x float64) float64
		text string
	}
	laws := []law{
		{Linear, fit.Linear, func(x float64) float64 { return fit.Linear.A + fit.Linear.B*x }, fmt.Sprintf("τ = %.3g + %.3g·%s (R² %.3f)", fit.Linear.A, fit.Linear.B, sym, fit.Linear.R2)},
		{Logarithmic, fit.Log, func(x float64) float64 { return fit.Log.A + fit.Log.B*math.Log(x) }, fmt.Sprintf("τ = %.3g + %.3g·ln %s (R² %.3f)", fit.Log.A, fit.Log.B, sym, fit.Log.R2)},
	}
	var out []lawCurve
	for i, l := range laws {
		if fit.Law != Undecided && fit.Law != l.name {
			continue
		}
		const samples = 100
		var pts plotter.XYs
		for j := 0; j <= samples; j++ {
			x := lo + (hi-lo)*float64(j)/samples
			if xr.log {
				x = lo * math.Pow(hi/lo, float64(j)/samples)
			}
			if y := l.f(x); xr.shows(x) && yr.shows(y) {
				pts = append(pts, plotter.XY{X: x, Y: y})
			}
		}
		if len(pts) < 2 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		line.Width = vg.Points(1)
		text := l.text
		if fit.Law == Undecided {
			line.Dashes = plotutil.Dashes(i + 1)
			text += ", undecided"
		}
		out = append(out, lawCurve{line, text})
	}
	return out
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

// ChosenPoints picks the points whose trajectories the report draws: for
// each setting of the Table's By axes but n and init_scale, at the largest
// n with a converged row, the rows at the smallest, middle and largest
// init_scale, and of each the point of the best setting with the lowest
// seed.
func ChosenPoints(points []results.PointRow, t *Table) []results.PointRow {
	n, mu := t.index(AxisN), t.index(AxisInitScale)
	var order []string
	sets := map[string][]Row{}
	for _, r := range t.Rows {
		if !r.HasBest() {
			continue
		}
		var key []Value
		for i, v := range r.Key {
			if i != n && i != mu {
				key = append(key, v)
			}
		}
		k := keyString(key)
		if _, ok := sets[k]; !ok {
			order = append(order, k)
		}
		sets[k] = append(sets[k], r)
	}
	want := map[string]bool{}
	for _, k := range order {
		rows := sets[k]
		if n >= 0 {
			largest := slices.MaxFunc(rows, func(a, b Row) int { return compareValues(a.Key[n], b.Key[n]) }).Key[n]
			rows = slices.DeleteFunc(slices.Clone(rows), func(r Row) bool { return compareValues(r.Key[n], largest) != 0 })
		}
		for _, r := range []Row{rows[0], rows[len(rows)/2], rows[len(rows)-1]} {
			want[keyString(append(slices.Clone(r.Key), r.Best...))] = true
		}
	}
	axes := lookup(append(slices.Clone(t.By), t.BestOver...))
	picks := map[string]*results.PointRow{}
	var picked []string
	for i := range points {
		p := &points[i]
		k := keyString(values(axes, &p.Params))
		if !want[k] {
			continue
		}
		if prev, ok := picks[k]; !ok || p.Params.Seed < prev.Params.Seed {
			if !ok {
				picked = append(picked, k)
			}
			picks[k] = p
		}
	}
	chosen := make([]results.PointRow, 0, len(picked))
	for _, k := range picked {
		chosen = append(chosen, *picks[k])
	}
	slices.SortStableFunc(chosen, func(a, b results.PointRow) int {
		return cmp.Or(cmp.Compare(a.Params.Algorithm, b.Params.Algorithm), cmp.Compare(a.Params.Mode, b.Params.Mode), cmp.Compare(a.Params.InitScale, b.Params.InitScale), cmp.Compare(a.PointIndex, b.PointIndex))
	})
	return chosen
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
		if schemas.Ignores(dynamics.Params{Mode: dynamics.Mode(mode)}, "eta") {
			p.Title.Text = fmt.Sprintf("Whitening error along the way (%s)", mode)
		}
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
		legend := plot.NewLegend()
		drawn := 0
		for i, pt := range byMode[mode] {
			label := trajectoryLabel(pt.Params)
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
				legend.Add(label, s)
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
				legend.Add(label, l)
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
				legend.Add(fmt.Sprintf("tol = %g", tol), line)
				// The line is labelled where it starts, on the plot too.
				if labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: xr.min, Y: tol}}, Labels: []string{fmt.Sprintf(" tol = %g", tol)}}); err == nil {
					labels.Offset = vg.Point{Y: vg.Points(2)}
					labels.TextStyle[0].Color = color.Gray{Y: 96}
					p.Add(labels)
				}
			}
		}
		xr.apply(&p.X)
		yr.apply(&p.Y)
		written, err := save(dir, strings.TrimSuffix(name, ".png"), p, legend)
		paths = append(paths, written...)
		if err != nil {
			return paths, notes, err
		}
	}
	return paths, notes, nil
}

// trajectoryLabel names a point in the legend of the trajectories
// figure: its network, n, μ, and η unless the point ignores it (a flow).
func trajectoryLabel(p dynamics.Params) string {
	label := fmt.Sprintf("%s n=%d μ=%.3g", p.Algorithm, p.N, p.InitScale)
	if !schemas.Ignores(p, "eta") {
		label += fmt.Sprintf(" η=%g", p.Eta)
	}
	return label
}
