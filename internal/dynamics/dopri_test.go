package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// logistic is y' = −y², whose solution from y(0) = y0 is y0/(1 + y0·t).
func logistic(y, dy []float64) bool {
	dy[0] = -y[0] * y[0]
	return true
}

// oneStep takes a single step of size h from y0 = 1 for y' = −y².
func oneStep(t *testing.T, h float64) *dopri5 {
	t.Helper()
	d := newDopri5(logistic, 1, 1, 1) // tolerances loose: the step is accepted
	if !d.start(0, []float64{1}, h) {
		t.Fatal("start failed")
	}
	d.h = h
	if st := d.advance(h); st != stepAccepted {
		t.Fatalf("step of %g not accepted: %v", h, st)
	}
	return d
}

// TestDopri5Tableau checks the consistency conditions of the coefficients:
// each node is the sum of its row (c_i = Σ_j a_ij, c6 = c7 = 1), and the
// error weights, a difference of two weight vectors that each sum to 1,
// sum to 0.
func TestDopri5Tableau(t *testing.T) {
	rows := []struct {
		name string
		c    float64
		a    []float64
	}{
		{"c2", dpC2, []float64{dpA21}},
		{"c3", dpC3, []float64{dpA31, dpA32}},
		{"c4", dpC4, []float64{dpA41, dpA42, dpA43}},
		{"c5", dpC5, []float64{dpA51, dpA52, dpA53, dpA54}},
		{"c6", 1, []float64{dpA61, dpA62, dpA63, dpA64, dpA65}},
		{"c7", 1, []float64{dpA71, dpA73, dpA74, dpA75, dpA76}},
		{"error weights", 0, []float64{dpE1, dpE3, dpE4, dpE5, dpE6, dpE7}},
	}
	for _, r := range rows {
		sum := 0.0
		for _, a := range r.a {
			sum += a
		}
		if math.Abs(sum-r.c) > 1e-14 {
			t.Errorf("%s: got: row sum %.17g want: %.17g", r.name, sum, r.c)
		}
	}
}

// TestDopri5Order checks the orders of the pair and of its dense output on
// a single step: halving h must divide the local error of the fifth-order
// solution by at least about 2⁶ and that of the continuous extension (fourth
// order, local error O(h⁵)) by at least about 2⁵ (more while h is not yet in
// the asymptotic range). A wrong coefficient lowers these ratios.
func TestDopri5Order(t *testing.T) {
	exact := func(t float64) float64 { return 1 / (1 + t) }
	var prevEnd, prevMid float64
	for i, h := range []float64{0.2, 0.1, 0.05} {
		d := oneStep(t, h)
		endErr := math.Abs(d.y[0] - exact(h))
		mid := make([]float64, 1)
		d.dense(0.37, mid)
		midErr := math.Abs(mid[0] - exact(0.37*h))
		if i > 0 {
			endRatio, midRatio := prevEnd/endErr, prevMid/midErr
			if endRatio < 48 {
				t.Errorf("h=%g: end error ratio: got: %.1f want: ≥ 48 (2⁶ for a fifth-order step)", h, endRatio)
			}
			if midRatio < 24 {
				t.Errorf("h=%g: dense error ratio: got: %.1f want: ≥ 24 (2⁵ for a fourth-order extension)", h, midRatio)
			}
		}
		prevEnd, prevMid = endErr, midErr
	}
}

func TestDopri5DenseEndpoints(t *testing.T) {
	d := oneStep(t, 0.3)
	out := make([]float64, 1)
	d.dense(0, out)
	if out[0] != d.yOld[0] {
		t.Errorf("θ=0: got: %v want: %v", out[0], d.yOld[0])
	}
	d.dense(1, out)
	if math.Abs(out[0]-d.y[0]) > 1e-15 {
		t.Errorf("θ=1: got: %v want: %v", out[0], d.y[0])
	}
}

// TestDopri5Tolerance integrates over many adaptive steps and checks that the
// global error follows the requested tolerance.
func TestDopri5Tolerance(t *testing.T) {
	for _, rtol := range []float64{1e-6, 1e-8, 1e-10} {
		t.Run(fmt.Sprintf("rtol=%g", rtol), func(t *testing.T) {
			d := newDopri5(logistic, 1, rtol, rtol*1e-2)
			if !d.start(0, []float64{100}, 50) {
				t.Fatal("start failed")
			}
			for d.t < 50 {
				if st := d.advance(50); st != stepAccepted {
					t.Fatalf("step failed at t=%g: %v", d.t, st)
				}
			}
			want := 100 / (1 + 100*50.0)
			if rel := math.Abs(d.y[0]-want) / want; rel > 50*rtol {
				t.Errorf("relative error at t=50: got: %.3g want: below %.3g (steps %d)", rel, 50*rtol, d.accepted)
			}
			if d.t != 50 {
				t.Errorf("end time: got: %v want: 50", d.t)
			}
		})
	}
}

// TestDopri5Undefined checks that a right-hand side that fails on part of
// the state space makes the integrator shrink its steps, and report
// stepUndefined when it cannot get past.
func TestDopri5Undefined(t *testing.T) {
	// y' = 1 is undefined for y ≥ 1: the integrator must stop below 1.
	f := func(y, dy []float64) bool {
		dy[0] = 1
		return y[0] < 1
	}
	d := newDopri5(f, 1, 1e-8, 1e-10)
	if !d.start(0, []float64{0}, 10) {
		t.Fatal("start failed")
	}
	st := stepAccepted
	for i := 0; i < 10000 && st == stepAccepted; i++ {
		st = d.advance(10)
	}
	if st != stepUndefined {
		t.Fatalf("status: got: %v want: stepUndefined", st)
	}
	if d.y[0] >= 1 || d.y[0] < 0.99 {
		t.Errorf("last state: got: %v want: in [0.99, 1)", d.y[0])
	}
}

// TestDopri5VecStagesMatchScalar integrates many logistic equations at
// once, long enough (dim ≥ vecMinStages) for the stages to run through
// gemvT, and holds the result, the step count and the dense output to the
// scalar stages of the pure-Go path.
func TestDopri5VecStagesMatchScalar(t *testing.T) {
	for _, dim := range []int{vecMinStages, 101, 256} {
		many := func(y, dy []float64) bool {
			for i, v := range y {
				dy[i] = v * (1 - v) * (1 + float64(i%7))
			}
			return true
		}
		type result struct {
			y, mid   []float64
			accepted int64
		}
		run := func(vec bool) (r result) {
			withKernels(vec, func() {
				d := newDopri5(many, dim, 1e-8, 1e-10)
				if d.vec != (vec && dim >= vecMinStages) {
					t.Fatalf("dim=%d: got: vec stages %v want: %v", dim, d.vec, vec)
				}
				y0 := make([]float64, dim)
				for i := range y0 {
					y0[i] = 0.01 * float64(1+i%5)
				}
				if !d.start(0, y0, 20) {
					t.Fatal("start failed")
				}
				for d.t < 20 {
					if st := d.advance(20); st != stepAccepted {
						t.Fatalf("dim=%d: step failed at t=%g: %v", dim, d.t, st)
					}
				}
				r.mid = make([]float64, dim)
				d.dense(0.5, r.mid)
				r.y, r.accepted = append([]float64(nil), d.y...), d.accepted
			})
			return r
		}
		got, want := run(true), run(false)
		if got.accepted != want.accepted {
			t.Errorf("dim=%d: got: %d steps want: %d, as with scalar stages", dim, got.accepted, want.accepted)
		}
		for _, c := range []struct {
			name      string
			got, want []float64
		}{{"y", got.y, want.y}, {"dense output", got.mid, want.mid}} {
			if d := maxRelDiff(c.got, c.want); !(d <= 1e-9) {
				t.Errorf("dim=%d %s: got: relative difference %.3g from scalar stages want: ≤ 1e-9", dim, c.name, d)
			}
		}
	}
}

// TestPowSmallIsMathPow holds powSmall to math.Pow, bit for bit, for the
// exponents the step control uses, on special values and on x spread over
// the whole range of doubles (all but −∞, which math.Pow turns into +∞).
func TestPowSmallIsMathPow(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 2, 0.5, math.Inf(1), math.NaN(),
		math.SmallestNonzeroFloat64, math.MaxFloat64, 1e-4, 1 - 1e-16, 1 + 1e-15}
	for range 200_000 {
		x := math.Ldexp(rng.Float64(), rng.IntN(2100)-1075)
		xs = append(xs, x, -x)
	}
	for _, y := range []float64{dpAlpha, dpBeta, 1.0 / 5} {
		for _, x := range xs {
			got, want := powSmall(x, y), math.Pow(x, y)
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("powSmall(%v, %v): got: %v want: math.Pow's %v", x, y, got, want)
			}
		}
	}
}
