package dynamics

import (
	"context"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gainM returns I + W diag(g) Wᵀ, computed with gonum/mat (independently of
// gainMatrix).
func gainM(w *mat.Dense, g []float64) *mat.Dense {
	n, k := w.Dims()
	wg := mat.NewDense(n, k, nil)
	wg.Apply(func(i, j int, v float64) float64 { return v * g[j] }, w)
	m := mat.NewDense(n, n, nil)
	m.Mul(wg, w.T())
	for i := 0; i < n; i++ {
		m.Set(i, i, m.At(i, i)+1)
	}
	return m
}

func gainParams() []Params {
	var ps []Params
	for _, n := range []int{1, 2, 3, 5} {
		for _, p := range []Params{
			{N: n, InitScale: 0.2},
			{N: n, InitScale: 30, InputSpectrum: Spectrum{Min: 0.3, Max: 3}, InputBasis: BasisRandom},
			{N: n, InitScale: 2, InitShape: ShapeLogSpread, InitBasis: BasisRandom, InputSpectrum: Spectrum{Min: 0.5, Max: 4}},
			{N: n, K: 2*n*(n+1)/2 + 1, InitScale: 5, InitShape: ShapeWishart, InputBasis: BasisRandom},
		} {
			p.Algorithm, p.Seed = Gain, int64(10*n)+int64(len(ps))
			ps = append(ps, p.WithDefaults())
		}
	}
	return ps
}

// TestGainStartsFromM0 checks the fair start: with k ≥ n(n+1)/2 the
// initial gains reproduce M₀ exactly, and with fewer the start is the
// least-squares one, where the residual M(g₀) − M₀ is orthogonal to every
// wᵢwᵢᵀ (wᵢᵀ(M(g₀) − M₀)wᵢ = 0).
func TestGainStartsFromM0(t *testing.T) {
	ps := gainParams()
	for _, n := range []int{2, 3, 4} {
		ps = append(ps, Params{Algorithm: Gain, N: n, K: n, InitScale: 3, InitShape: ShapeLogSpread, InitBasis: BasisRandom, Seed: 3}.WithDefaults())
	}
	for _, p := range ps {
		t.Run(fmt.Sprintf("n=%d/k=%d/%s", p.N, p.K, p.InitShape), func(t *testing.T) {
			pt := newPoint(p)
			w := dense(pt.start.(*gainStart).frame)
			var diff mat.Dense
			diff.Sub(gainM(w, pt.start.(*gainStart).g0), dense(pt.m0))
			scale := mat.Norm(dense(pt.m0), 2)
			if p.K >= p.N*(p.N+1)/2 {
				if d := mat.Norm(&diff, 2); d > 1e-12*scale {
					t.Errorf("‖M(g₀) − M₀‖: got: %.3g want: ≤ %.3g", d, 1e-12*scale)
				}
				return
			}
			for i := 0; i < p.K; i++ {
				wi := w.ColView(i)
				if d := mat.Inner(wi, &diff, wi); math.Abs(d) > 1e-12*scale {
					t.Errorf("w%dᵀ(M(g₀) − M₀)w%d: got: %.3g want: 0 (least squares)", i, i, d)
				}
			}
		})
	}
}

// TestGainFrame checks the frame: unit-norm columns that span the
// symmetric matrices when k ≥ n(n+1)/2, drawn from the seed alone.
func TestGainFrame(t *testing.T) {
	for _, n := range []int{1, 2, 4, 7} {
		for _, k := range []int{1, n, n * (n + 1) / 2, n*(n+1)/2 + 3} {
			p := Params{Algorithm: Gain, N: n, K: k, Seed: 5}.WithDefaults()
			w := dense(newPoint(p).start.(*gainStart).frame)
			for c := 0; c < k; c++ {
				if got := mat.Norm(w.ColView(c), 2); math.Abs(got-1) > 1e-14 {
					t.Errorf("n=%d k=%d column %d: got: norm %v want: 1", n, k, c, got)
				}
			}
			rows := n * (n + 1) / 2
			if k < rows {
				continue
			}
			// The outer products span Sym(n): the rows×k matrix of their
			// lower triangles has rank rows.
			a := mat.NewDense(rows, k, nil)
			for c := 0; c < k; c++ {
				r := 0
				for i := 0; i < n; i++ {
					for j := 0; j <= i; j++ {
						a.Set(r, c, w.At(i, c)*w.At(j, c))
						r++
					}
				}
			}
			var svd mat.SVD
			if !svd.Factorize(a, mat.SVDNone) {
				t.Fatal("SVD failed")
			}
			if rank := svd.Rank(1e-10); rank != rows {
				t.Errorf("n=%d k=%d: got: outer products of rank %d want: %d (spanning)", n, k, rank, rows)
			}
		}
	}
	base := Params{Algorithm: Gain, N: 3, Seed: 5}.WithDefaults()
	ref := newPoint(base).start.(*gainStart).frame
	for _, v := range []Params{
		{Algorithm: Gain, N: 3, Seed: 5, Eta: 0.3, Batch: 4, Mode: Online, InitScale: 7, InputBasis: BasisRandom},
	} {
		if got := newPoint(v.WithDefaults()).start.(*gainStart).frame; !mat.Equal(dense(got), dense(ref)) {
			t.Errorf("%+v: got: another frame want: the frame of seed 5", v)
		}
	}
	if got := newPoint(Params{Algorithm: Gain, N: 3, Seed: 6}.WithDefaults()).start.(*gainStart).frame; mat.Equal(dense(got), dense(ref)) {
		t.Errorf("seeds 5 and 6: got: one frame want: two")
	}
}

// TestGainFlowRightHandSide compares the flow's right-hand side, computed
// in the eigenbasis of C, with dg/dt = diag(WᵀM⁻¹CM⁻¹W) − 1 computed in
// the original basis with gonum/mat.
func TestGainFlowRightHandSide(t *testing.T) {
	for _, p := range gainParams() {
		t.Run(fmt.Sprintf("n=%d/k=%d/seed=%d", p.N, p.K, p.Seed), func(t *testing.T) {
			pt := newPoint(p)
			fs := newFlowSystem(context.Background(), pt)
			// A state away from the start and from the fixed point.
			g := make([]float64, p.K)
			for i := range g {
				g[i] = 0.9*pt.start.(*gainStart).g0[i] + 0.05*float64(i%3)
			}
			dy := make([]float64, p.K)
			if !fs.rhs(g, dy) {
				t.Skip("M not positive definite at this state")
			}
			w := dense(pt.start.(*gainStart).frame)
			m := gainM(w, g)
			var minv, c, crr, tmp mat.Dense
			if err := minv.Inverse(m); err != nil {
				t.Fatal(err)
			}
			c.Mul(dense(pt.b), dense(pt.b).T())
			tmp.Mul(&minv, &c)
			crr.Mul(&tmp, &minv)
			for i := 0; i < p.K; i++ {
				wi := w.ColView(i)
				want := mat.Inner(wi, &crr, wi) - 1
				if math.Abs(dy[i]-want) > 1e-10*(1+math.Abs(want)) {
					t.Errorf("dg%d/dt: got: %.15g want: %.15g", i, dy[i], want)
				}
			}
		})
	}
}

// TestGainFlowWhitens runs the flow from many starts to a tolerance of
// 1e-6 and checks the fixed point: M = C^{1/2}, the target of every
// network.
func TestGainFlowWhitens(t *testing.T) {
	for _, p := range gainParams() {
		p.Tol, p.Horizon = 1e-6, 1e6
		t.Run(fmt.Sprintf("n=%d/k=%d/seed=%d", p.N, p.K, p.Seed), func(t *testing.T) {
			t.Parallel()
			out, err := run(context.Background(), p, Limits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if out.Diverged || out.ConvTime == nil {
				t.Fatalf("got: diverged=%v (%s) conv_time=nil, final error %.3g want: converged", out.Diverged, out.DivergeReason, out.FinalError)
			}
			pt := newPoint(p)
			var d mat.Dense
			d.Sub(dense(out.finalM), dense(pt.cHalf))
			if rel := mat.Norm(&d, 2) / mat.Norm(dense(pt.cHalf), 2); rel > 1e-5 {
				t.Errorf("‖M − C^½‖/‖C^½‖: got: %.3g want: ≤ 1e-5", rel)
			}
		})
	}
}

// TestGainOnlineStep checks online steps against the rule written out
// with gonum/mat on the same samples: r = M⁻¹x, z = Wᵀr,
// g ← g + η(⟨z∘z⟩ − 1), for batch 1 and a batch over two blocks.
func TestGainOnlineStep(t *testing.T) {
	for _, batch := range []int{1, 3, batchBlock + 5} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			p := Params{Algorithm: Gain, Mode: Online, N: 3, InputSpectrum: Spectrum{Min: 0.5, Max: 3}, InputBasis: BasisRandom, InitScale: 2, Eta: 0.05, Batch: batch, Seed: 8}.WithDefaults()
			pt := newPoint(p)
			s := newOnlineState(pt)
			if !s.start() {
				t.Fatal(s.failed)
			}
			rng := newStream(p.Seed, streamSamples)
			w := dense(pt.start.(*gainStart).frame)
			want := append([]float64(nil), pt.start.(*gainStart).g0...)
			for step := range 5 {
				if !s.step() {
					t.Fatalf("step %d: %s", step, s.failed)
				}
				var minv mat.Dense
				if err := minv.Inverse(gainM(w, want)); err != nil {
					t.Fatal(err)
				}
				mean := make([]float64, p.K)
				// drawColumns draws the samples of a block of columns one
				// column after the other.
				for range batch {
					g := mat.NewVecDense(p.N, nil)
					for i := 0; i < p.N; i++ {
						g.SetVec(i, rng.NormFloat64())
					}
					var x, r, z mat.VecDense
					x.MulVec(dense(pt.cHalf), g)
					r.MulVec(&minv, &x)
					z.MulVec(w.T(), &r)
					for i := range mean {
						mean[i] += z.AtVec(i) * z.AtVec(i) / float64(batch)
					}
				}
				for i := range want {
					want[i] += p.Eta * (mean[i] - 1)
				}
				got := s.rule.(*gainOnline).g
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("step %d, g%d: got: %.15g want: %.15g", step, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestGainDivergenceIsData: a learning rate far too large drives M out of
// the positive definite cone, which a run reports as divergence.
func TestGainDivergenceIsData(t *testing.T) {
	p := Params{Algorithm: Gain, Mode: Online, N: 3, InitScale: 0.5, Eta: 50, Horizon: 100, Seed: 1}
	r, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Diverged || r.DivergeReason != ReasonNotPositiveDefinite {
		t.Errorf("got: diverged=%v reason %q want: diverged, %q", r.Diverged, r.DivergeReason, ReasonNotPositiveDefinite)
	}
}

// TestGainWithFewGainsCannotWhiten: with k = n gains the outer products do
// not span the symmetric matrices, so a C with another eigenbasis cannot be
// whitened: the flow settles above the tolerance (data, not divergence).
func TestGainWithFewGainsCannotWhiten(t *testing.T) {
	p := Params{Algorithm: Gain, N: 3, K: 3, InputSpectrum: Spectrum{Min: 0.2, Max: 5}, InputBasis: BasisRandom, InitScale: 2, Tol: 1e-3, Horizon: 1e4, Seed: 2}
	r, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Diverged || r.ConvTime != nil || !(r.FinalError > 1e-2) {
		t.Errorf("got: diverged=%v conv_time=%v final error %.3g want: not converged, not diverged, final error > 0.01", r.Diverged, r.ConvTime, r.FinalError)
	}
}
