package report

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files of the report's text")

func point(alg dynamics.Algorithm, n int, mu, eta float64, seed int64, status results.Status, conv float64) results.PointRow {
	r := results.PointRow{
		PointID: string(alg) + "-" + strings.Join([]string{ftoa(float64(n)), ftoa(mu), ftoa(eta), ftoa(float64(seed))}, "-"),
		Params:  dynamics.Params{Algorithm: alg, Mode: dynamics.Flow, N: n, InitScale: mu, Eta: eta, Seed: seed},
		Status:  status,
	}
	if status == results.StatusConverged {
		r.Result.ConvTime = &conv
	}
	return r
}

func ftoa(v float64) string { return numValue(v).Text }

// same reports whether a and b are equal, or both NaN.
func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestSummarizeBestAndSeedStatistics(t *testing.T) {
	d := dynamics.Direct
	c, nc, dv, fl := results.StatusConverged, results.StatusNotConverged, results.StatusDiverged, results.StatusFailed
	rows := []results.PointRow{
		// μ = 1: eta 0.1 has the smaller median (4, 5, 9 → 5) than
		// eta 0.01 (6, 7, 8 → 7).
		point(d, 2, 1, 0.01, 1, c, 6), point(d, 2, 1, 0.01, 2, c, 7), point(d, 2, 1, 0.01, 3, c, 8),
		point(d, 2, 1, 0.1, 1, c, 4), point(d, 2, 1, 0.1, 2, c, 5), point(d, 2, 1, 0.1, 3, c, 9),
		// μ = 10: eta 0.1 converged for one seed of three only: it does
		// not count, though its time is the smallest.
		point(d, 2, 10, 0.01, 1, c, 20), point(d, 2, 10, 0.01, 2, c, 22), point(d, 2, 10, 0.01, 3, nc, 0),
		point(d, 2, 10, 0.1, 1, c, 1), point(d, 2, 10, 0.1, 2, dv, 0), point(d, 2, 10, 0.1, 3, dv, 0),
		// μ = 100: nothing converged.
		point(d, 2, 100, 0.01, 1, nc, 0), point(d, 2, 100, 0.1, 1, dv, 0), point(d, 2, 100, 0.1, 2, fl, 0),
	}
	tab, err := Summarize(rows, nil, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"algorithm", "mode", "n", "init_scale"}; !slices.Equal(tab.By, want) {
		t.Errorf("by: got: %q, want: %q", tab.By, want)
	}
	nan := math.NaN()
	want := []struct {
		mu, eta, med, q1, q3 float64
		conv, seeds, points  int
		div, notConv, failed int64
	}{
		{1, 0.1, 5, 4.5, 7, 3, 3, 6, 0, 0, 0},
		{10, 0.01, 21, 20.5, 21.5, 2, 3, 6, 2, 1, 0},
		{100, nan, nan, nan, nan, 0, 0, 3, 1, 1, 1},
	}
	if len(tab.Rows) != len(want) {
		t.Fatalf("got: %d rows, want: %d", len(tab.Rows), len(want))
	}
	for i, w := range want {
		g := tab.Rows[i]
		eta := nan
		if g.HasBest() {
			eta = g.Best[0].Num
		}
		if g.Key[3].Num != w.mu || !same(eta, w.eta) || !same(g.Median, w.med) || !same(g.Q1, w.q1) || !same(g.Q3, w.q3) ||
			g.Converged != w.conv || g.Seeds != w.seeds || g.Points != w.points ||
			g.Counts.Diverged != w.div || g.Counts.NotConverged != w.notConv || g.Counts.Failed != w.failed {
			t.Errorf("row %d:\ngot:  μ=%g eta=%g τ=%g [%g, %g] %d/%d of %d, %+v\nwant: %+v", i, g.Key[3].Num, eta, g.Median, g.Q1, g.Q3, g.Converged, g.Seeds, g.Points, g.Counts, w)
		}
	}
}

// summarizeBy summarizes rows and checks the axes of the table's rows.
func summarizeBy(t *testing.T, rows []results.PointRow, opts Options, by ...string) *Table {
	t.Helper()
	tab, err := Summarize(rows, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.By, by) {
		t.Errorf("by: got: %q, want: %q", tab.By, by)
	}
	return tab
}

// TestSummarizeKeepsInitShapesApart is the pooling case: a sweep over two
// initial shapes gives two rows per (algorithm, mode, n, init_scale), each
// with its own median, where grouping by those four axes alone pooled
// them (637.7 from 10 points, for medians 1006 and 129).
func TestSummarizeKeepsInitShapesApart(t *testing.T) {
	var rows []results.PointRow
	for seed := int64(1); seed <= 5; seed++ {
		for _, s := range []struct {
			shape string
			tau   float64
		}{{"identity", 1005 + float64(seed)}, {"logspread", 127 + float64(seed)}} {
			for _, eta := range []float64{0.001, 0.01} {
				p := point(dynamics.Direct, 2, 100, eta, seed, results.StatusConverged, s.tau+100*eta)
				p.Params.InitShape = s.shape
				p.PointID += "-" + s.shape
				rows = append(rows, p)
			}
		}
	}
	tab := summarizeBy(t, rows, DefaultOptions(), "algorithm", "mode", "n", "init_shape", "init_scale")
	type row struct {
		shape       string
		eta, median float64
		seeds       int
	}
	var got []row
	for _, r := range tab.Rows {
		got = append(got, row{r.Key[3].Text, r.Best[0].Num, r.Median, r.Seeds})
	}
	want := []row{{"identity", 0.001, 1008.1, 5}, {"logspread", 0.001, 130.1, 5}}
	if !slices.Equal(got, want) {
		t.Errorf("got: %v, want: %v", got, want)
	}
}

// TestAutoAxes checks which varying axes split the rows: an axis zipped
// with the learning rate (the headline's horizon) or set by n (k) is
// listed as determined, not grouped by; two axes zipped together are one
// axis of the rows.
func TestAutoAxes(t *testing.T) {
	var rows []results.PointRow
	for _, n := range []int{2, 4} {
		for _, eta := range []float64{0.001, 0.01} {
			for _, shape := range []struct {
				name   string
				spread float64
			}{{"identity", 10}, {"logspread", 100}} {
				p := point(dynamics.Direct, n, 1, eta, 1, results.StatusConverged, 1)
				p.Params.K = 2 * n
				p.Params.Horizon = 1 / eta
				p.Params.InitShape, p.Params.InitSpread = shape.name, shape.spread
				rows = append(rows, p)
			}
		}
	}
	tab := summarizeBy(t, rows, DefaultOptions(), "algorithm", "mode", "n", "init_shape", "init_scale")
	if want := []string{"k", "init_spread", "horizon"}; !slices.Equal(tab.Determined, want) {
		t.Errorf("determined: got: %q, want: %q", tab.Determined, want)
	}
	// Without a best over eta, eta is an axis of the rows, and the
	// horizon is set by it.
	tab = summarizeBy(t, rows, Options{}, "algorithm", "mode", "n", "init_shape", "eta", "init_scale")
	if len(tab.Rows) != 8 {
		t.Errorf("no best: got: %d rows, want: 8", len(tab.Rows))
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		opts Options
		want string // "" for none
	}{
		{DefaultOptions(), ""},
		{Options{By: []string{"algorithm", "init_scale"}, BestOver: []string{"eta", "batch"}}, ""},
		{Options{By: []string{"algoritm"}}, `-by: unknown axis "algoritm"`},
		{Options{By: []string{"eta"}, BestOver: []string{"eta"}}, "-best-over: axis eta is already in -by"},
		{Options{BestOver: []string{"seed"}}, "-best-over: seed is the axis the statistics are over"},
		{Options{By: []string{"seed"}}, "-by: seed is the axis the statistics are over"},
		{Options{By: []string{"algorithm", "seed"}}, "-by: seed is the axis the statistics are over"},
	}
	for _, tt := range tests {
		err := tt.opts.Check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: got: %v, want: no error", tt.opts, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%+v: got: %v, want: an error starting %q", tt.opts, err, tt.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3}, 0.25, 3},
		{[]float64{4, 1, 2, 3}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4}, 0.25, 1.75},
		{[]float64{1, 2, 3, 4, 5}, 0.75, 4},
		{[]float64{1, 10}, 0.75, 7.75},
	}
	for _, tt := range tests {
		if got := quantile(slices.Clone(tt.xs), tt.q); got != tt.want {
			t.Errorf("quantile(%v, %g): got: %g, want: %g", tt.xs, tt.q, got, tt.want)
		}
	}
}

// rowsOf is a Table of rows with the given (algorithm, μ, τ); λ_max(M₀)
// is lam(μ).
func rowsOf(lam func(float64) float64, rows ...struct {
	alg     dynamics.Algorithm
	mu, tau float64
}) *Table {
	t := &Table{By: []string{AxisAlgorithm, AxisMode, AxisN, AxisInitScale}, BestOver: []string{AxisEta}}
	for _, r := range rows {
		t.Rows = append(t.Rows, Row{
			Key:  []Value{textValue(string(r.alg)), textValue("flow"), numValue(4), numValue(r.mu)},
			Best: []Value{numValue(0.01)}, Median: r.tau, Q1: r.tau, Q3: r.tau, LambdaMax: lam(r.mu), Converged: 1, Seeds: 1, Points: 1,
		})
	}
	return t
}

type muTau = struct {
	alg     dynamics.Algorithm
	mu, tau float64
}

func TestFitsNameTheLaw(t *testing.T) {
	var rows []muTau
	for _, mu := range []float64{1, 3, 10, 30, 100, 300, 1000} {
		// The closed forms' asymptotes: direct τ ≈ μ, interneuron
		// τ ≈ ½ ln μ + c; and one that grows as μ^0.35, which neither law
		// fits well enough (R² 0.867 and 0.897).
		rows = append(rows, muTau{dynamics.Direct, mu, 0.7 + mu}, muTau{dynamics.Interneuron, mu, 0.6 + 0.5*math.Log(mu)}, muTau{"gain", mu, math.Pow(mu, 0.35)})
	}
	// Two scales only: no fit.
	rows = append(rows, muTau{"other", 1, 2}, muTau{"other", 10, 11})
	tab := rowsOf(func(mu float64) float64 { return 2 * mu }, rows...)
	slices.SortFunc(tab.Rows, func(a, b Row) int { return compareKeys(a.Key, b.Key) })
	for _, x := range []string{XInitScale, XLambdaMax} {
		fits := Fits(tab, x)
		got := map[string]string{}
		for _, f := range fits {
			got[f.Key[0].Text] = f.Law
			if f.X != x || f.Points != 7 {
				t.Errorf("%s %s: got: x %s, %d points, want: x %s, 7 points", x, f.Key[0].Text, f.X, f.Points, x)
			}
		}
		want := map[string]string{"direct": Linear, "interneuron": Logarithmic, "gain": Undecided}
		if len(got) != len(want) {
			t.Errorf("%s: got: %v, want: %v", x, got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s: got: law %q, want: %q", x, k, got[k], w)
			}
		}
		for _, f := range fits {
			// λ = 2μ: the linear slope halves, the logarithmic one stays.
			scale := map[string]float64{XInitScale: 1, XLambdaMax: 0.5}[x]
			switch f.Key[0].Text {
			case "direct":
				if math.Abs(f.Linear.B-scale) > 1e-9 || math.Abs(f.Linear.R2-1) > 1e-12 || !(f.Linear.CI < 1e-9) {
					t.Errorf("%s direct: got: %+v, want: slope %g ± 0, R² 1", x, f.Linear, scale)
				}
			case "interneuron":
				if math.Abs(f.Log.B-0.5) > 1e-9 || math.Abs(f.Log.R2-1) > 1e-12 {
					t.Errorf("%s interneuron: got: %+v, want: slope 0.5, R² 1", x, f.Log)
				}
			}
		}
	}
	if fits := Fits(&Table{By: []string{AxisAlgorithm}}, XInitScale); len(fits) != 0 {
		t.Errorf("no init_scale: got: %d fits, want: none", len(fits))
	}
}

// TestFitLawConfidenceInterval checks the slope's 95% interval against a
// value computed by hand: x = 1…5, y = 2, 4, 5, 4, 5 gives b = 0.6, a =
// 2.2, residual sum of squares 2.4, Sxx = 10, t(0.975, 3) = 3.182446305.
func TestFitLawConfidenceInterval(t *testing.T) {
	got := fitLaw([]float64{1, 2, 3, 4, 5}, []float64{2, 4, 5, 4, 5})
	want := Law{A: 2.2, B: 0.6, R2: 0.6, CI: 3.182446305284263 * math.Sqrt(2.4/3/10)}
	if math.Abs(got.A-want.A) > 1e-12 || math.Abs(got.B-want.B) > 1e-12 || math.Abs(got.R2-want.R2) > 1e-12 || math.Abs(got.CI-want.CI) > 1e-9 {
		t.Errorf("got: %+v, want: %+v", got, want)
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		linear, log float64
		want        string
	}{
		{1, 0.61, Linear},
		{0.59, 0.9985, Logarithmic},
		{0.95, 0.92, Undecided},
		{0.85, 0.5, Undecided},
		{math.NaN(), math.NaN(), Undecided},
		{0.97, 0.91, Linear},
		{0.91, 0.97, Logarithmic},
	}
	for _, tt := range tests {
		if got := decide(tt.linear, tt.log); got != tt.want {
			t.Errorf("decide(%g, %g): got: %s, want: %s", tt.linear, tt.log, got, tt.want)
		}
	}
}

// fixedSweep is a small sweep of two networks over three init_scales, two
// learning rates and three seeds, with a diverged, a failed and a not
// converged point, and λ_max(M₀) = μ·√10 (a logspread start).
func fixedSweep() ([]results.PointRow, map[string]float64) {
	c := results.StatusConverged
	var rows []results.PointRow
	lambda := map[string]float64{}
	for _, mu := range []float64{1, 10, 100} {
		for _, eta := range []float64{0.01, 0.1} {
			for seed := int64(1); seed <= 3; seed++ {
				s := float64(seed)
				// Direct: linear but for a bump at μ = 10, the smaller
				// learning rate faster; interneuron: logarithmic, the
				// larger learning rate faster.
				bump := 0.0
				if mu == 10 {
					bump = 0.3
				}
				d := point(dynamics.Direct, 2, mu, eta, seed, c, 0.5+mu+bump+0.1*s+eta)
				in := point(dynamics.Interneuron, 2, mu, eta, seed, c, 1+0.5*math.Log(mu)+0.01*s*s+0.05-eta)
				switch {
				case mu == 100 && eta == 0.1 && seed == 2:
					d.Status, d.Result.ConvTime = results.StatusDiverged, nil
				case mu == 10 && eta == 0.01 && seed == 3:
					in.Status, in.Result.ConvTime = results.StatusNotConverged, nil
				case mu == 1 && eta == 0.1 && seed == 1:
					in.Status, in.Result.ConvTime = results.StatusFailed, nil
				}
				for _, p := range []results.PointRow{d, in} {
					p.Params.InitShape, p.Params.InitSpread = "logspread", 10
					lambda[p.PointID] = mu * math.Sqrt(10)
					rows = append(rows, p)
				}
			}
		}
	}
	// An online network that never converged.
	for _, mu := range []float64{1, 10} {
		p := point(dynamics.Interneuron, 2, mu, 0.1, 1, results.StatusDiverged, 0)
		p.Params.Mode = dynamics.Online
		p.PointID += "-online"
		p.Params.InitShape, p.Params.InitSpread = "logspread", 10
		rows = append(rows, p)
	}
	return rows, lambda
}

// TestWriteTextGolden compares the text of the fixed sweep's report with
// testdata/*.txt (go test -update rewrites them).
func TestWriteTextGolden(t *testing.T) {
	rows, lambda := fixedSweep()
	tests := []struct {
		name   string
		lambda map[string]float64
		opts   Options
		notes  []string
	}{
		{"default", lambda, DefaultOptions(), []string{"conv-time-flow-n2.png: 1 direct point left out: convergence time not finite"}},
		{"no-trajectories", nil, DefaultOptions(), nil},
		{"by-eta", lambda, Options{By: []string{"algorithm", "mode", "eta", "init_scale"}}, nil},
		{"no-init-scale", lambda, Options{By: []string{"algorithm", "mode"}, BestOver: []string{"eta"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Analyze(rows, tt.lambda, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := WriteText(&out, a, tt.notes...); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "text-"+tt.name+".txt")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", out.String(), path, want)
			}
		})
	}
}

// TestMissing checks the lines that say what has no converged time.
func TestMissing(t *testing.T) {
	rows, _ := fixedSweep()
	// Half of the seeds of each setting fail to converge for direct
	// flow at μ = 1: converged points, but no setting that counts.
	for i := range rows {
		p := &rows[i]
		if p.Params.Algorithm == dynamics.Direct && p.Params.InitScale == 1 && p.Params.Seed != 1 {
			p.Status, p.Result.ConvTime = results.StatusNotConverged, nil
		}
	}
	tab, err := Summarize(rows, nil, Options{By: []string{"algorithm", "mode", "n", "init_scale"}, BestOver: []string{"eta"}})
	if err != nil {
		t.Fatal(err)
	}
	got := Missing(tab)
	want := []string{"no converged points for interneuron online n=2 (2 points: 2 diverged, 0 not converged, 0 failed)"}
	if !slices.Equal(got, want) {
		t.Errorf("got:  %q\nwant: %q", got, want)
	}
	// The table's τ cell of that row says there is none, not "not
	// converged" (its points diverged; found by the hostile tester).
	var text strings.Builder
	if err := WriteText(&text, &Analysis{Table: tab}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "not converged  ") || !strings.Contains(text.String(), "none") {
		t.Errorf("table: got:\n%s\nwant: the row of interneuron online n=2 with τ median \"none\"", text.String())
	}
	tab, err = Summarize(rows, nil, Options{By: []string{"algorithm", "mode", "n", "init_scale"}, BestOver: []string{"eta"}})
	if err != nil {
		t.Fatal(err)
	}
	tab.Rows = slices.DeleteFunc(tab.Rows, func(r Row) bool { return r.Key[0].Text != "direct" || r.Key[3].Num != 1 })
	got = Missing(tab)
	want = []string{"no setting of eta where at least half of the seeds converged for direct flow n=2 (6 points: 0 diverged, 4 not converged, 0 failed, 2 converged)"}
	if !slices.Equal(got, want) {
		t.Errorf("got:  %q\nwant: %q", got, want)
	}
}

// TestReportSaysMixedNumerics: a sweep that reused an older version's
// points (-reuse-numerics) mixes versions in its rows; the report says so,
// and says nothing when one version computed them all (found by the
// hostile tester: nothing in the report told the rows apart).
func TestReportSaysMixedNumerics(t *testing.T) {
	rows, _ := fixedSweep()
	for _, mixed := range []bool{false, true} {
		for i := range rows {
			rows[i].Numerics = 4
			if mixed && i%3 == 0 {
				rows[i].Numerics = 3
			}
		}
		a, err := Analyze(rows, nil, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		if err := WriteText(&text, a); err != nil {
			t.Fatal(err)
		}
		var want string
		if mixed {
			var old int
			for i := range rows {
				if rows[i].Numerics == 3 {
					old++
				}
			}
			want = fmt.Sprintf("(%d by version 4, %d by version 3;", len(rows)-old, old)
		}
		if got := strings.Contains(text.String(), "numerics:"); got != mixed || !strings.Contains(text.String(), want) {
			t.Errorf("mixed %v: got:\n%s\nwant: a numerics line %v, saying %q", mixed, text.String(), mixed, want)
		}
	}
}
