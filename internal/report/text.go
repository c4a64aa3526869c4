package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/isweep/isweep/internal/results"
)

// Analysis is what a report says of a sweep: its table and the fits of
// its median times against init_scale μ and against λ_max(M₀).
type Analysis struct {
	Table *Table
	// ByInitScale and ByLambdaMax are Fits(Table, XInitScale) and
	// Fits(Table, XLambdaMax).
	ByInitScale, ByLambdaMax []Fit
	// Switches are the contexts after a switch of the points with
	// contexts (none without), and Readaptation their fits
	// (ReadaptationFits).
	Switches     []Switch
	Readaptation []Fit
	// Numerics counts the points by the numerics version that computed
	// them (several when a sweep reused an older version's points).
	Numerics map[int]int
}

// Analyze summarizes points (see Summarize) and fits their times.
func Analyze(points []results.PointRow, lambda map[string]float64, opts Options) (*Analysis, error) {
	t, err := Summarize(points, lambda, opts)
	if err != nil {
		return nil, err
	}
	sw := Switches(points)
	numerics := map[int]int{}
	for i := range points {
		numerics[int(points[i].Numerics)]++
	}
	return &Analysis{Table: t, ByInitScale: Fits(t, XInitScale), ByLambdaMax: Fits(t, XLambdaMax),
		Switches: sw, Readaptation: ReadaptationFits(sw), Numerics: numerics}, nil
}

// numericsLine says which numerics versions computed the points when
// there are several, newest first; "" when one did.
func numericsLine(counts map[int]int) string {
	if len(counts) < 2 {
		return ""
	}
	var parts []string
	for _, v := range slices.Backward(slices.Sorted(maps.Keys(counts))) {
		parts = append(parts, fmt.Sprintf("%d by version %d", counts[v], v))
	}
	return fmt.Sprintf("numerics: the points were computed by several versions of the integrators (%s; the points table's numerics column says which): rows mix them", strings.Join(parts, ", "))
}

// symbols are how the text writes each x of a fit.
var symbols = map[string]struct{ name, x string }{
	XInitScale:  {"init_scale μ", "μ"},
	XLambdaMax:  {"λ_max(M₀), the largest eigenvalue of the initial M", "λ"},
	XScaleRatio: {"the mismatch at the switch, scale_ratio = (det M / det C^{1/2})^{1/n}", "r"},
}

// WriteText prints the analysis: how the rows are made, the table, a line
// for each set of rows without a converged time (see Missing), the fits
// and the rule that names their law, and the notes given (for example
// those of WriteFigures), one per line.
func WriteText(w io.Writer, a *Analysis, notes ...string) error {
	t := a.Table
	fmt.Fprintf(w, "a row per %s", strings.Join(t.By, ", "))
	if len(t.BestOver) > 0 {
		fmt.Fprintf(w, "; best over %s: of the settings where at least half of the seeds converged, the one with the smallest median τ (on a tie, the first in the axes' order)", strings.Join(t.BestOver, ", "))
	}
	fmt.Fprintln(w, "; τ: median and quartiles over the converged seeds")
	if line := numericsLine(a.Numerics); line != "" {
		fmt.Fprintln(w, line)
	}
	if len(t.Determined) > 0 {
		fmt.Fprintf(w, "also varying, set by the axes above: %s\n", strings.Join(t.Determined, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := slices.Clone(t.By)
	for _, b := range t.BestOver {
		head = append(head, "best "+b)
	}
	head = append(head, "λmax(M₀)", "τ median", "τ q25", "τ q75", "conv/seeds", "points", "diverged", "not conv.", "failed")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, r := range t.Rows {
		cells := make([]string, 0, len(head))
		for _, v := range r.Key {
			cells = append(cells, v.String())
		}
		if r.HasBest() {
			for i, v := range r.Best {
				if i < len(r.Ignored) && r.Ignored[i] {
					cells = append(cells, "-") // the row's points ignore the axis
					continue
				}
				cells = append(cells, v.String())
			}
			cells = append(cells, number(r.LambdaMax), number(r.Median), number(r.Q1), number(r.Q3), fmt.Sprintf("%d/%d", r.Converged, r.Seeds))
		} else {
			for range t.BestOver {
				cells = append(cells, "-")
			}
			// No τ: the tally and the lines below the table say why
			// (diverged, not converged or failed).
			cells = append(cells, number(r.LambdaMax), "none", "-", "-", "-")
		}
		cells = append(cells, fmt.Sprint(r.Points), fmt.Sprint(r.Counts.Diverged), fmt.Sprint(r.Counts.NotConverged), fmt.Sprint(r.Counts.Failed))
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing := Missing(t); len(missing) > 0 {
		fmt.Fprintln(w)
		for _, m := range missing {
			fmt.Fprintln(w, m)
		}
	}
	writeFits(w, t, a.ByInitScale, XInitScale)
	switch {
	case len(a.ByLambdaMax) == 0 && len(a.ByInitScale) > 0 && !knowsLambda(t):
		fmt.Fprintln(w, "\nno fits against λ_max(M₀): no point's trajectory starts at t = 0, where its first sample gives M₀")
	case sameX(t) && len(a.ByInitScale) > 0:
		fmt.Fprintln(w, "\nagainst λ_max(M₀): the same fits, since λ_max(M₀) = μ in every row")
	default:
		writeFits(w, t, a.ByLambdaMax, XLambdaMax)
	}
	writeReadaptation(w, a.Switches, a.Readaptation)
	if len(a.ByInitScale)+len(a.ByLambdaMax)+len(a.Readaptation) > 0 {
		fmt.Fprintf(w, "law: the one whose R² is at least %g and exceeds the other's by at least %g; otherwise undecided\n", MinR2, R2Margin)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes on the figures:")
		for _, n := range notes {
			if _, err := fmt.Fprintf(w, "  %s\n", n); err != nil {
				return err
			}
		}
	}
	return nil
}

// number prints a time or an eigenvalue with five significant digits, or
// "-" for NaN.
func number(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.5g", v)
}

// knowsLambda reports whether some row has λ_max(M₀).
func knowsLambda(t *Table) bool {
	return slices.ContainsFunc(t.Rows, func(r Row) bool { return !math.IsNaN(r.LambdaMax) })
}

// sameX reports whether λ_max(M₀) is init_scale (to 1e-9, relative) in
// every row, so that the fits against either are the same.
func sameX(t *Table) bool {
	mu := t.index(AxisInitScale)
	if mu < 0 {
		return false
	}
	for _, r := range t.Rows {
		m := r.Key[mu].Num
		if !(math.Abs(r.LambdaMax-m) <= 1e-9*math.Abs(m)) {
			return false
		}
	}
	return true
}

// Missing returns one line per set of rows (their By axes but init_scale)
// without a converged time, in the table's order, for example "no
// converged points for interneuron online n=8 (12 points: 12 diverged,
// 0 not converged, 0 failed)": such a set has no line on the figures and
// no fit.
func Missing(t *Table) []string {
	type tally struct {
		key    []Value
		points int
		counts results.StatusCounts
		best   bool
	}
	var order []string
	sets := map[string]*tally{}
	mu := t.index(AxisInitScale)
	for _, r := range t.Rows {
		key := r.Key
		if mu >= 0 {
			key = slices.Delete(slices.Clone(r.Key), mu, mu+1)
		}
		k := keyString(key)
		s := sets[k]
		if s == nil {
			s = &tally{key: key}
			sets[k] = s
			order = append(order, k)
		}
		s.points += r.Points
		s.counts.Converged += r.Counts.Converged
		s.counts.Diverged += r.Counts.Diverged
		s.counts.NotConverged += r.Counts.NotConverged
		s.counts.Failed += r.Counts.Failed
		s.best = s.best || r.HasBest()
	}
	var out []string
	for _, k := range order {
		s := sets[k]
		if s.best {
			continue
		}
		label := t.Label(s.key, AxisInitScale)
		tally := fmt.Sprintf("%s: %d diverged, %d not converged, %d failed", count(s.points, "point"), s.counts.Diverged, s.counts.NotConverged, s.counts.Failed)
		if s.counts.Converged == 0 {
			out = append(out, fmt.Sprintf("no converged points for %s (%s)", label, tally))
		} else {
			out = append(out, fmt.Sprintf("no setting of %s where at least half of the seeds converged for %s (%s, %d converged)", strings.Join(t.BestOver, ", "), label, tally, s.counts.Converged))
		}
	}
	return out
}

// writeFits prints the fits against x, or why there are none.
func writeFits(w io.Writer, t *Table, fits []Fit, x string) {
	sym := symbols[x]
	mu := t.index(AxisInitScale)
	if mu < 0 {
		fmt.Fprintf(w, "\nno fits against %s: init_scale is not an axis of the rows\n", sym.name)
		return
	}
	if len(fits) == 0 {
		fmt.Fprintf(w, "\nno fits against %s: a fit needs converged times at three or more init_scale values\n", sym.name)
		return
	}
	axes := slices.Delete(slices.Clone(t.By), mu, mu+1)
	fmt.Fprintf(w, "\nfits of the median τ against %s (b ± its %g%% confidence interval):\n", sym.name, 100*Confidence)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tpoints\tlinear τ = a + b·%s\tR²\tlogarithmic τ = a + b·ln %s\tR²\tlaw\n", strings.Join(axes, "\t"), sym.x, sym.x)
	for _, f := range fits {
		cells := make([]string, 0, len(f.Key))
		for _, v := range f.Key {
			cells = append(cells, v.String())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", strings.Join(cells, "\t"), f.Points,
			lawText(f.Linear, sym.x), r2(f.Linear.R2), lawText(f.Log, "ln "+sym.x), r2(f.Log.R2), f.Law)
	}
	tw.Flush()
}

// lawText writes a law as "a + (b ± ci)·x".
func lawText(l Law, x string) string {
	return fmt.Sprintf("%.4g + (%.4g ± %.2g)·%s", l.A, l.B, l.CI, x)
}

func r2(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// WriteTextFile writes WriteText's output to path.
func WriteTextFile(path string, a *Analysis, notes ...string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteText(f, a, notes...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteJSON writes the analysis as JSON for other tools (the notebook
// examples/analysis.ipynb checks its numbers against it): {"by": […],
// "best_over": […], "rows": […], "fits": […]}, a row an object with its
// axes by name, "best_<axis>", "median", "q25", "q75", "lambda_max",
// "converged", "seeds", "points", "diverged", "not_converged", "failed";
// a fit an object with its axes, "x" (init_scale or lambda_max),
// "points", "linear_a", "linear_b", "linear_ci", "linear_r2", "log_a", …,
// "law"; "numerics": the points by the numerics version that computed
// them ({"4": 120}); for a sweep with contexts, "readaptation": the
// re-adaptation fits (ReadaptationFits), objects with their axes, "x"
// (scale_ratio) and the fields of a fit. Numbers are at full precision;
// NaN is null.
func WriteJSON(w io.Writer, a *Analysis) error {
	t := a.Table
	val := func(v Value) any {
		if v.Numeric {
			return num(v.Num)
		}
		return v.Text
	}
	rows := make([]map[string]any, 0, len(t.Rows))
	for _, r := range t.Rows {
		m := map[string]any{}
		for i, name := range t.By {
			m[name] = val(r.Key[i])
		}
		for i, name := range t.BestOver {
			m["best_"+name] = nil
			if r.HasBest() {
				m["best_"+name] = val(r.Best[i])
			}
		}
		m["median"], m["q25"], m["q75"], m["lambda_max"] = num(r.Median), num(r.Q1), num(r.Q3), num(r.LambdaMax)
		m["converged"], m["seeds"], m["points"] = r.Converged, r.Seeds, r.Points
		m["diverged"], m["not_converged"], m["failed"] = r.Counts.Diverged, r.Counts.NotConverged, r.Counts.Failed
		rows = append(rows, m)
	}
	fits := []map[string]any{}
	mu := t.index(AxisInitScale)
	for _, f := range append(slices.Clone(a.ByInitScale), a.ByLambdaMax...) {
		m := map[string]any{"x": f.X, "points": f.Points, "law": f.Law}
		axes := slices.Delete(slices.Clone(t.By), mu, mu+1)
		for i, name := range axes {
			m[name] = val(f.Key[i])
		}
		lawFields(m, &f)
		fits = append(fits, m)
	}
	readapt := []map[string]any{}
	for _, f := range a.Readaptation {
		m := map[string]any{"x": f.X, "points": f.Points, "law": f.Law}
		for i, name := range a.Switches[0].Axes {
			m[name] = val(f.Key[i])
		}
		lawFields(m, &f)
		readapt = append(readapt, m)
	}
	numerics := map[string]int{}
	for v, count := range a.Numerics {
		numerics[fmt.Sprint(v)] = count
	}
	out := map[string]any{"by": t.By, "best_over": t.BestOver, "determined": t.Determined, "rows": rows, "fits": fits, "numerics": numerics}
	if len(a.Switches) > 0 {
		out["readaptation"] = readapt
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}

// lawFields sets the fields of both laws of f in m: linear_a, linear_b,
// linear_ci, linear_r2, log_a, ….
func lawFields(m map[string]any, f *Fit) {
	for _, l := range []struct {
		prefix string
		law    Law
	}{{"linear_", f.Linear}, {"log_", f.Log}} {
		m[l.prefix+"a"], m[l.prefix+"b"], m[l.prefix+"ci"], m[l.prefix+"r2"] = num(l.law.A), num(l.law.B), num(l.law.CI), num(l.law.R2)
	}
}

// num is v, or nil for a value JSON cannot hold.
func num(v float64) any {
	if !finite(v) {
		return nil
	}
	return v
}
