package report

import (
	"math"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
)

func point(alg dynamics.Algorithm, n int, mu, eta float64, seed int64, status results.Status, conv float64) results.PointRow {
	r := results.PointRow{
		Params: dynamics.Params{Algorithm: alg, Mode: dynamics.Flow, N: n, InitScale: mu, Eta: eta, Seed: seed},
		Status: status,
	}
	if status == results.StatusConverged {
		r.Result.ConvTime = &conv
	}
	return r
}

func TestBestTimes(t *testing.T) {
	d := dynamics.Direct
	c, nc, dv := results.StatusConverged, results.StatusNotConverged, results.StatusDiverged
	rows := []results.PointRow{
		// μ = 1: eta 0.1 has the smaller median (3 seeds: 4, 5, 9 → 5)
		// than eta 0.01 (6, 7, 8 → 7).
		point(d, 2, 1, 0.01, 1, c, 6), point(d, 2, 1, 0.01, 2, c, 7), point(d, 2, 1, 0.01, 3, c, 8),
		point(d, 2, 1, 0.1, 1, c, 4), point(d, 2, 1, 0.1, 2, c, 5), point(d, 2, 1, 0.1, 3, c, 9),
		// μ = 10: eta 0.1 converged for one seed of three only: it does
		// not count, though its time is the smallest.
		point(d, 2, 10, 0.01, 1, c, 20), point(d, 2, 10, 0.01, 2, c, 22), point(d, 2, 10, 0.01, 3, nc, 0),
		point(d, 2, 10, 0.1, 1, c, 1), point(d, 2, 10, 0.1, 2, dv, 0), point(d, 2, 10, 0.1, 3, dv, 0),
		// μ = 100: nothing converged.
		point(d, 2, 100, 0.01, 1, nc, 0), point(d, 2, 100, 0.1, 1, dv, 0),
	}
	got := BestTimes(rows)
	want := []struct {
		mu, eta, conv float64
		points, div   int
	}{
		{1, 0.1, 5, 6, 0},
		{10, 0.01, 21, 6, 2},
		{100, math.NaN(), math.NaN(), 2, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got: %d rows, want: %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
		if g.InitScale != w.mu || !same(g.Eta, w.eta) || !same(g.ConvTime, w.conv) || g.Points != w.points || g.Diverged != w.div {
			t.Errorf("row %d: got: μ=%g eta=%g τ=%g points=%d diverged=%d, want: μ=%g eta=%g τ=%g points=%d diverged=%d",
				i, g.InitScale, g.Eta, g.ConvTime, g.Points, g.Diverged, w.mu, w.eta, w.conv, w.points, w.div)
		}
	}
}

func TestFitsNameTheLaw(t *testing.T) {
	var best []Best
	for _, mu := range []float64{1, 3, 10, 30, 100, 300, 1000} {
		// The closed forms' asymptotes: direct τ ≈ μ, interneuron
		// τ ≈ ½ ln μ + c.
		best = append(best,
			Best{Algorithm: dynamics.Direct, Mode: dynamics.Flow, N: 4, InitScale: mu, ConvTime: 0.7 + mu},
			Best{Algorithm: dynamics.Interneuron, Mode: dynamics.Flow, N: 4, InitScale: mu, ConvTime: 0.6 + 0.5*math.Log(mu)},
		)
	}
	// Two scales only: no fit.
	best = append(best,
		Best{Algorithm: dynamics.Direct, Mode: dynamics.Online, N: 4, InitScale: 1, ConvTime: 2},
		Best{Algorithm: dynamics.Direct, Mode: dynamics.Online, N: 4, InitScale: 10, ConvTime: 11},
	)
	fits := Fits(BestTimes(nil))
	if len(fits) != 0 {
		t.Fatalf("no data: got: %d fits", len(fits))
	}
	fits = Fits(best)
	if len(fits) != 2 {
		t.Fatalf("got: %d fits, want: 2", len(fits))
	}
	for _, f := range fits {
		switch f.Algorithm {
		case dynamics.Direct:
			if f.Law != Linear || math.Abs(f.Linear.B-1) > 1e-9 || math.Abs(f.Linear.R2-1) > 1e-12 {
				t.Errorf("direct: got: %+v, want: linear, slope 1, R² 1", f)
			}
		case dynamics.Interneuron:
			if f.Law != Logarithmic || math.Abs(f.Log.B-0.5) > 1e-9 || math.Abs(f.Log.R2-1) > 1e-12 {
				t.Errorf("interneuron: got: %+v, want: logarithmic, slope 0.5, R² 1", f)
			}
		}
	}
}

// TestWriteTextSaysWhatIsMissing checks that the text names every
// (algorithm, mode, n) without a converged point, which has no line on the
// figures and no fit, and lists the notes it is given.
func TestWriteTextSaysWhatIsMissing(t *testing.T) {
	c, dv, nc := results.StatusConverged, results.StatusDiverged, results.StatusNotConverged
	online := func(r results.PointRow) results.PointRow { r.Params.Mode = dynamics.Online; return r }
	rows := []results.PointRow{
		online(point(dynamics.Direct, 8, 1, 0.01, 1, c, 3)),
		online(point(dynamics.Direct, 8, 10, 0.01, 1, nc, 0)),
		online(point(dynamics.Interneuron, 8, 1, 0.01, 1, dv, 0)),
		online(point(dynamics.Interneuron, 8, 10, 0.01, 1, dv, 0)),
		point(dynamics.Interneuron, 2, 1, 0.01, 1, nc, 0),
	}
	best := BestTimes(rows)
	var out strings.Builder
	if err := WriteText(&out, best, Fits(best), "conv-time-online-n8.png: 1 direct point left out: convergence time not finite"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"\nno converged points for interneuron flow n=2 (1 point, 0 diverged)\n",
		"\nno converged points for interneuron online n=8 (2 points, 2 diverged)\n",
		"\nno fits: ",
		"\nnotes on the figures:\n  conv-time-online-n8.png: 1 direct point left out: convergence time not finite\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("got:\n%s\nwant it to contain %q", text, want)
		}
	}
	if strings.Contains(text, "no converged points for direct") {
		t.Errorf("got:\n%s\nwant: no missing line for direct online n=8, which converged at μ = 1", text)
	}
}
