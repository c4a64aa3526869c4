// Package report turns a sweep's stored points into what a researcher
// reads first: per algorithm, mode and n, the best convergence time over the
// learning rates against the initial scale μ; a linear law τ = a + b·μ and
// a logarithmic law τ = a + b·ln μ fitted to it, with R²; and PNG figures
// of both (gonum/plot).
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/stat"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// Laws a fit can name.
const (
	Linear      = "linear"
	Logarithmic = "logarithmic"
)

// Sweep is the loaded data of one sweep.
type Sweep struct {
	SweepID string
	Name    string
	Points  []results.PointRow
	// Expected is the number of points the sweep has (from its manifest;
	// 0 when it has none). Warnings say, a line each, why Points may not
	// be all of them: a sweep not complete, parts missing or changed.
	Expected int64
	Warnings []string
}

// Load reads the points of a sweep from st. A complete sweep's points are
// the rows its members table lists, read from the parts its manifest lists
// (its own, and those of the earlier sweeps it reused points of), each
// part checked against the manifest's SHA-256. A sweep without a manifest
// is not complete: its own stored rows are read, and a warning says so.
func Load(ctx context.Context, st store.Store, sweepID string, alloc memory.Allocator) (*Sweep, error) {
	s := &Sweep{SweepID: sweepID}
	body, err := st.Get(ctx, results.ManifestKey(sweepID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		rows, err := results.ReadPoints(ctx, st, sweepID, alloc)
		if err != nil {
			return nil, err
		}
		s.Points = rows
		s.Warnings = append(s.Warnings, fmt.Sprintf("sweep %s is not complete (no manifest): this report covers the %d points it has stored so far; run it to the end first", sweepID, len(rows)))
	case err != nil:
		return nil, err
	default:
		m, err := results.DecodeManifest(body)
		if err != nil {
			return nil, err
		}
		s.Name, s.Expected = m.Name, m.Points
		if err := s.loadMembers(ctx, st, m, alloc); err != nil {
			return nil, err
		}
		if int64(len(s.Points)) != m.Points {
			s.Warnings = append(s.Warnings, fmt.Sprintf("this report covers %d of the sweep's %d points; run isweep verify %s", len(s.Points), m.Points, sweepID))
		}
	}
	if len(s.Points) == 0 {
		return nil, fmt.Errorf("sweep %s has no points in %s yet", sweepID, st.Location())
	}
	return s, nil
}

// loadMembers reads the rows of the members of a complete sweep.
func (s *Sweep) loadMembers(ctx context.Context, st store.Store, m *results.Manifest, alloc memory.Allocator) error {
	type member struct{ point, sweep string }
	read := func(part results.Part) ([]byte, bool, error) {
		body, err := st.Get(ctx, part.Key)
		if errors.Is(err, store.ErrNotFound) {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s is missing", part.Key))
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		if err := part.Check(body); err != nil {
			s.Warnings = append(s.Warnings, err.Error())
			return nil, false, nil
		}
		return body, true, nil
	}
	members := map[member]bool{}
	for _, part := range m.Parts {
		if part.Table != results.TableMembers {
			continue
		}
		body, ok, err := read(part)
		if err != nil || !ok {
			return err
		}
		rows, err := results.DecodeMembers(body, alloc)
		if err != nil {
			return err
		}
		for _, r := range rows {
			members[member{r.PointID, r.SweepID}] = false
		}
	}
	for _, part := range m.Parts {
		if part.Table != results.TablePoints {
			continue
		}
		body, ok, err := read(part)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		rows, err := results.DecodePoints(body, alloc)
		if err != nil {
			return fmt.Errorf("%w (part %s)", err, part.Key)
		}
		for _, r := range rows {
			k := member{r.PointID, r.SweepID}
			if seen, ours := members[k]; ours && !seen {
				members[k] = true
				s.Points = append(s.Points, r)
			}
		}
	}
	slices.SortStableFunc(s.Points, func(a, b results.PointRow) int { return cmp.Compare(a.PointIndex, b.PointIndex) })
	return nil
}

// Best is the fastest convergence over the learning rates tried for one
// (algorithm, mode, n, init_scale). With several seeds, a learning rate's
// time is the median over the seeds that converged, and it counts only
// when at least half of its seeds converged.
type Best struct {
	Algorithm dynamics.Algorithm
	Mode      dynamics.Mode
	N         int
	InitScale float64
	// Eta and ConvTime are the best learning rate and its time; ConvTime
	// is NaN when no learning rate converged.
	Eta      float64
	ConvTime float64
	// Seeds is the number of seeds of the best eta; Points counts every
	// point of the group; Diverged those that diverged.
	Seeds    int
	Points   int
	Diverged int
}

// Converged reports whether some learning rate converged.
func (b Best) Converged() bool { return !math.IsNaN(b.ConvTime) }

type bestKey struct {
	alg  dynamics.Algorithm
	mode dynamics.Mode
	n    int
	mu   float64
}

// BestTimes computes the Best rows of points, in (algorithm, mode, n,
// init_scale) order.
func BestTimes(points []results.PointRow) []Best {
	type etaKey struct {
		bestKey
		eta float64
	}
	times := map[etaKey][]float64{}
	seeds := map[etaKey]int{}
	groups := map[bestKey]*Best{}
	for _, p := range points {
		k := bestKey{p.Params.Algorithm, p.Params.Mode, p.Params.N, p.Params.InitScale}
		g, ok := groups[k]
		if !ok {
			g = &Best{Algorithm: k.alg, Mode: k.mode, N: k.n, InitScale: k.mu, Eta: math.NaN(), ConvTime: math.NaN()}
			groups[k] = g
		}
		g.Points++
		if p.Status == results.StatusDiverged {
			g.Diverged++
		}
		ek := etaKey{k, p.Params.Eta}
		seeds[ek]++
		if p.Status == results.StatusConverged && p.Result.ConvTime != nil {
			times[ek] = append(times[ek], *p.Result.ConvTime)
		}
	}
	// Visit learning rates in a fixed order so ties resolve the same way.
	keys := make([]etaKey, 0, len(seeds))
	for k := range seeds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].eta < keys[j].eta })
	for _, ek := range keys {
		ts := times[ek]
		if len(ts) == 0 || 2*len(ts) < seeds[ek] {
			continue
		}
		med := median(ts)
		g := groups[ek.bestKey]
		if !g.Converged() || med < g.ConvTime {
			g.ConvTime, g.Eta, g.Seeds = med, ek.eta, seeds[ek]
		}
	}
	out := make([]Best, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Best) int {
		return cmp.Or(cmp.Compare(a.Algorithm, b.Algorithm), cmp.Compare(a.Mode, b.Mode),
			cmp.Compare(a.N, b.N), cmp.Compare(a.InitScale, b.InitScale))
	})
	return out
}

// median is the middle value of xs, or the mean of the two middle values
// (as pandas and DuckDB compute it). It sorts xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// Law is a least-squares fit τ = A + B·x with its coefficient of
// determination.
type Law struct {
	A, B, R2 float64
}

// Fit is the two laws fitted to the best times of one (algorithm, mode, n)
// over init_scale.
type Fit struct {
	Algorithm dynamics.Algorithm
	Mode      dynamics.Mode
	N         int
	// Scales is the number of init_scale values with a converged time.
	Scales int
	// Linear fits τ = A + B·μ, Log fits τ = A + B·ln μ.
	Linear, Log Law
	// Law names the better fit: "linear" or "logarithmic".
	Law string
}

// Fits fits both laws per (algorithm, mode, n) to the converged best times;
// groups with fewer than three init_scale values are skipped.
func Fits(best []Best) []Fit {
	type key struct {
		alg  dynamics.Algorithm
		mode dynamics.Mode
		n    int
	}
	var order []key
	xs := map[key][]float64{}
	ys := map[key][]float64{}
	for _, b := range best {
		if !b.Converged() {
			continue
		}
		k := key{b.Algorithm, b.Mode, b.N}
		if _, ok := xs[k]; !ok {
			order = append(order, k)
		}
		xs[k] = append(xs[k], b.InitScale)
		ys[k] = append(ys[k], b.ConvTime)
	}
	var out []Fit
	for _, k := range order {
		x, y := xs[k], ys[k]
		if len(x) < 3 {
			continue
		}
		lnx := make([]float64, len(x))
		for i, v := range x {
			lnx[i] = math.Log(v)
		}
		f := Fit{Algorithm: k.alg, Mode: k.mode, N: k.n, Scales: len(x), Linear: fitLaw(x, y), Log: fitLaw(lnx, y)}
		f.Law = Linear
		if f.Log.R2 > f.Linear.R2 {
			f.Law = Logarithmic
		}
		out = append(out, f)
	}
	return out
}

func fitLaw(x, y []float64) Law {
	a, b := stat.LinearRegression(x, y, nil, false)
	return Law{A: a, B: b, R2: stat.RSquared(x, y, nil, a, b)}
}

// WriteText prints the best-time table, a line for every (algorithm, mode,
// n) without a converged point (see Missing), the fits, and the notes
// given (for example those of WriteFigures), one per line.
func WriteText(w io.Writer, best []Best, fits []Fit, notes ...string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "algorithm\tmode\tn\tinit_scale\tbest_eta\tconv_time\tpoints\tdiverged\t")
	for _, b := range best {
		eta, t := "-", "not converged"
		if b.Converged() {
			eta, t = fmt.Sprintf("%g", b.Eta), fmt.Sprintf("%.5g", b.ConvTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4g\t%s\t%s\t%d\t%d\t\n", b.Algorithm, b.Mode, b.N, b.InitScale, eta, t, b.Points, b.Diverged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing := Missing(best); len(missing) > 0 {
		fmt.Fprintln(w)
		for _, m := range missing {
			fmt.Fprintln(w, m)
		}
	}
	if err := writeFits(w, fits); err != nil {
		return err
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

// Missing returns one line per (algorithm, mode, n) of best without any
// converged time, in best's order, for example "no converged points for
// interneuron online n=8 (12 points, 12 diverged)": such a group has no
// line on the figures and no fit.
func Missing(best []Best) []string {
	type key struct {
		alg  dynamics.Algorithm
		mode dynamics.Mode
		n    int
	}
	type tally struct{ points, diverged, converged int }
	var order []key
	groups := map[key]*tally{}
	for _, b := range best {
		k := key{b.Algorithm, b.Mode, b.N}
		g := groups[k]
		if g == nil {
			g = &tally{}
			groups[k] = g
			order = append(order, k)
		}
		g.points += b.Points
		g.diverged += b.Diverged
		if b.Converged() {
			g.converged++
		}
	}
	var out []string
	for _, k := range order {
		if g := groups[k]; g.converged == 0 {
			out = append(out, fmt.Sprintf("no converged points for %s %s n=%d (%s, %d diverged)", k.alg, k.mode, k.n, count(g.points, "point"), g.diverged))
		}
	}
	return out
}

// writeFits prints the table of fits, or why there is none.
func writeFits(w io.Writer, fits []Fit) error {
	if len(fits) == 0 {
		_, err := fmt.Fprintln(w, "\nno fits: a fit needs converged times at three or more init_scale values")
		return err
	}
	fmt.Fprintln(w, "\nconvergence time against init_scale μ:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "algorithm\tmode\tn\tlinear τ = a + b·μ (R²)\tlogarithmic τ = a + b·ln μ (R²)\tlaw")
	for _, f := range fits {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4g + %.4g·μ (%.4f)\t%.4g + %.4g·ln μ (%.4f)\t%s\n",
			f.Algorithm, f.Mode, f.N, f.Linear.A, f.Linear.B, f.Linear.R2, f.Log.A, f.Log.B, f.Log.R2, f.Law)
	}
	return tw.Flush()
}

// WriteTextFile writes WriteText's output to path.
func WriteTextFile(path string, best []Best, fits []Fit, notes ...string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteText(f, best, fits, notes...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
