package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/isweep/isweep/internal/results"
)

// XScaleRatio, the x of the re-adaptation fits, is a context's
// scale_ratio: (det M / det C^{1/2})^{1/n} at its switch, the mismatch
// between the adapted state and the new input (dynamics.ContextResult).
const XScaleRatio = "scale_ratio"

// SwitchAxes are the axes every re-adaptation fit splits by: the points
// of one network, mode and dimension are fitted together, unless one of
// the switchSplitAxes varies too.
var SwitchAxes = []string{AxisAlgorithm, AxisMode, AxisN}

// switchSplitAxes are the axes besides SwitchAxes that change the
// re-adaptation law's constants (the tolerance its time is measured to,
// the learning rate and its noise, the interneurons): a fit per value of
// each that varies among the points with contexts. The spectra and
// contexts make the mismatch, the x of the fit; the starts and seeds are
// pooled (a repeated switch counts once, see fitted).
var switchSplitAxes = []string{"k", AxisEta, "batch", "tol", "hold", "noise"}

// Switch is one context after a switch (context ≥ 1) of a point of the
// sweep: the point's values of Axes (see switchAxes), the mismatch at the
// switch and the re-adaptation time (NaN when the context did not
// converge).
type Switch struct {
	Axes       []string
	Key        []Value
	Context    int
	ScaleRatio float64
	Time       float64
	Diverged   bool
	// FromAdapted reports that the context before converged: the switch
	// starts from an adapted state, as the laws assume.
	FromAdapted bool
}

// switchAxes returns the axes of the re-adaptation fits of points:
// SwitchAxes and the switchSplitAxes that vary within a setting of them
// among the points with contexts (k set by the network alone does not
// split).
func switchAxes(points []results.PointRow) []string {
	axes := slices.Clone(SwitchAxes)
	base := lookup(SwitchAxes)
	for _, name := range switchSplitAxes {
		pr, _ := paramOf(name)
		seen := map[string]string{} // base key → the axis's first value
		for i := range points {
			p := &points[i]
			if len(p.Result.Contexts) < 2 {
				continue
			}
			k, v := keyString(values(base, &p.Params)), pr.get(&p.Params).Text
			if first, ok := seen[k]; !ok {
				seen[k] = v
			} else if v != first {
				axes = append(axes, name)
				break
			}
		}
	}
	return axes
}

// Switches returns the contexts after a switch of every point with
// contexts, in the points' order.
func Switches(points []results.PointRow) []Switch {
	axes := switchAxes(points)
	get := lookup(axes)
	var out []Switch
	for i := range points {
		p := &points[i]
		if len(p.Result.Contexts) < 2 {
			continue
		}
		key := values(get, &p.Params)
		for j, c := range p.Result.Contexts[1:] {
			t := math.NaN()
			if c.ConvTime != nil {
				t = *c.ConvTime
			}
			out = append(out, Switch{Axes: axes, Key: key, Context: c.Index, ScaleRatio: c.ScaleRatio, Time: t, Diverged: c.Diverged,
				FromAdapted: p.Result.Contexts[j].ConvTime != nil})
		}
	}
	return out
}

// ReadaptationFits fits both laws of the re-adaptation time against the
// mismatch (x = XScaleRatio) to the switches of each setting of the
// SwitchAxes, in the order met: the fitted switches (see fitted), one
// point each (seeds are not reduced). A fit needs three points, at two or
// more scale ratios.
func ReadaptationFits(sw []Switch) []Fit {
	var order []string
	keys := map[string][]Value{}
	bySetting := map[string][]Switch{}
	for _, s := range sw {
		k := keyString(s.Key)
		if _, ok := keys[k]; !ok {
			order = append(order, k)
			keys[k] = s.Key
		}
		bySetting[k] = append(bySetting[k], s)
	}
	var out []Fit
	for _, k := range order {
		fit, _ := fitted(bySetting[k])
		if len(fit) < 3 {
			continue
		}
		x, y := make([]float64, len(fit)), make([]float64, len(fit))
		for i, s := range fit {
			x[i], y[i] = s.ScaleRatio, s.Time
		}
		if !varies(x) {
			continue
		}
		out = append(out, fitBoth(keys[k], XScaleRatio, x, y))
	}
	return out
}

// switchesLeftOut counts the re-adapted switches a fit leaves out.
type switchesLeftOut struct {
	// below had scale_ratio ≤ 1: the adapted M too small for the new
	// input, where the laws (derived for a mismatch ≫ 1) do not hold.
	below int
	// unadapted followed a context that did not converge: they start
	// from no adapted state.
	unadapted int
	// repeats are a switch met again: the same scale_ratio and time to
	// sameSwitch relative, from another start (points that differ only in
	// init_scale adapt to one state before their switch).
	repeats int
}

// sameSwitch is the relative difference in scale_ratio and time below
// which two switches of one setting are one.
const sameSwitch = 1e-6

// fitted returns the switches of one setting that its fits take, sorted
// by scale_ratio: those re-adapted with a finite scale_ratio > 1, each
// distinct switch once; and counts those left out.
func fitted(sw []Switch) ([]Switch, switchesLeftOut) {
	var in []Switch
	var out switchesLeftOut
	for _, s := range sw {
		switch {
		case !finite(s.Time) || !finite(s.ScaleRatio):
		case !s.FromAdapted:
			out.unadapted++
		case s.ScaleRatio <= 1:
			out.below++
		default:
			in = append(in, s)
		}
	}
	slices.SortStableFunc(in, func(a, b Switch) int { return cmp.Compare(a.ScaleRatio, b.ScaleRatio) })
	near := func(a, b float64) bool { return math.Abs(a-b) <= sameSwitch*math.Max(math.Abs(a), math.Abs(b)) }
	var distinct []Switch
	for _, s := range in {
		// Switches near in scale_ratio are neighbours once sorted; a
		// repeat matches one of the kept switches just before it.
		repeat := false
		for j := len(distinct) - 1; j >= 0 && near(distinct[j].ScaleRatio, s.ScaleRatio); j-- {
			if near(distinct[j].Time, s.Time) {
				repeat = true
				break
			}
		}
		if repeat {
			out.repeats++
			continue
		}
		distinct = append(distinct, s)
	}
	return distinct, out
}

func varies(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return true
		}
	}
	return false
}

// writeReadaptation prints the re-adaptation fits and what they leave
// out; nothing for a sweep without contexts.
func writeReadaptation(w io.Writer, sw []Switch, fits []Fit) {
	if len(sw) == 0 {
		return
	}
	var conv, div int
	for _, s := range sw {
		switch {
		case s.Diverged:
			div++
		case finite(s.Time):
			conv++
		}
	}
	fmt.Fprintf(w, "\nre-adaptation after a switch of contexts: %d switches, %d re-adapted, %d diverged, %d not within their context\n", len(sw), conv, div, len(sw)-conv-div)
	bySetting := map[string][]Switch{}
	for _, s := range sw {
		k := keyString(s.Key)
		bySetting[k] = append(bySetting[k], s)
	}
	var taken int
	var left switchesLeftOut
	for _, group := range bySetting {
		in, out := fitted(group)
		taken += len(in)
		left.below += out.below
		left.unadapted += out.unadapted
		left.repeats += out.repeats
	}
	fmt.Fprintf(w, "fitted: %d distinct re-adapted switches with %s > 1 after an adapted context, where the laws hold; left out: %d with %s ≤ 1, %d after a context that did not adapt, %d repeats of a switch from other starts\n",
		taken, XScaleRatio, left.below, XScaleRatio, left.unadapted, left.repeats)
	if len(fits) == 0 {
		fmt.Fprintf(w, "no re-adaptation fits: a fit needs three distinct re-adapted switches with %s > 1, at two or more scale ratios\n", XScaleRatio)
		return
	}
	fmt.Fprintf(w, "fits of the re-adaptation time τ (from the switch) against %s (b ± its %g%% confidence interval):\n", symbols[XScaleRatio].name, 100*Confidence)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	sym := symbols[XScaleRatio].x
	fmt.Fprintf(tw, "%s\tpoints\tlinear τ = a + b·%s\tR²\tlogarithmic τ = a + b·ln %s\tR²\tlaw\n", strings.Join(sw[0].Axes, "\t"), sym, sym)
	for _, f := range fits {
		cells := make([]string, len(f.Key))
		for i, v := range f.Key {
			cells[i] = v.String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", strings.Join(cells, "\t"), f.Points,
			lawText(f.Linear, sym), r2(f.Linear.R2), lawText(f.Log, "ln "+sym), r2(f.Log.R2), f.Law)
	}
	tw.Flush()
}

// writeReadaptationFigure draws readaptation.png and .svg: the
// re-adaptation time of every re-adapted switch against its scale ratio,
// a colour per setting of the SwitchAxes, with the laws the fits name.
// Nothing for a sweep without contexts.
func writeReadaptationFigure(dir string, sw []Switch, fits []Fit) (paths, notes []string, err error) {
	if len(sw) == 0 {
		return nil, nil, nil
	}
	const name = "readaptation"
	type series struct {
		label string
		xy    plotter.XYs
		fit   *Fit
	}
	var order []*series
	byKey := map[string]*series{}
	fitOf := map[string]*Fit{}
	for i := range fits {
		fitOf[keyString(fits[i].Key)] = &fits[i]
	}
	var all plotter.XYs
	for _, s := range sw {
		if !finite(s.Time) {
			continue
		}
		k := keyString(s.Key)
		se := byKey[k]
		if se == nil {
			parts := make([]string, len(s.Key))
			for i, v := range s.Key {
				parts[i] = s.Axes[i] + "=" + v.String()
			}
			se = &series{label: strings.Join(parts, " "), fit: fitOf[k]}
			byKey[k] = se
			order = append(order, se)
		}
		se.xy = append(se.xy, plotter.XY{X: s.ScaleRatio, Y: s.Time})
		all = append(all, plotter.XY{X: s.ScaleRatio, Y: s.Time})
	}
	if len(all) == 0 {
		return nil, []string{name + ".png: not written: no switch re-adapted within its context"}, nil
	}
	xr, yr := chooseAxes(all, true, true)
	p := plot.New()
	p.Title.Text = "Re-adaptation after a switch of contexts"
	p.X.Label.Text = "mismatch at the switch, scale_ratio = (det M / det C^{1/2})^{1/n}"
	p.Y.Label.Text = "re-adaptation time τ (from the switch)"
	legend := plot.NewLegend()
	left := 0
	for i, se := range order {
		var xy plotter.XYs
		for _, v := range se.xy {
			if xr.shows(v.X) && yr.shows(v.Y) {
				xy = append(xy, v)
			} else {
				left++
			}
		}
		if len(xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return paths, notes, err
		}
		sc.Color, sc.Shape = plotutil.Color(i), plotutil.Shape(i)
		p.Add(sc)
		legend.Add(se.label, sc)
		if se.fit != nil {
			for _, l := range lawCurves(se.fit, xy, xr, yr) {
				l.line.Color = plotutil.Color(i)
				p.Add(l.line)
				legend.Add(se.label+": "+l.text, l.line)
			}
		}
	}
	if left > 0 {
		notes = append(notes, fmt.Sprintf("%s.png: %s left out: a scale ratio or time its log axis cannot place", name, count(left, "switch")))
	}
	p.Add(plotter.NewGrid())
	xr.apply(&p.X)
	yr.apply(&p.Y)
	paths, err = save(dir, name, p, legend)
	return paths, notes, err
}
