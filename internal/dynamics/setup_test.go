package dynamics

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

func dense(a blas64.General) *mat.Dense {
	return mat.NewDense(a.Rows, a.Cols, append([]float64(nil), a.Data[:a.Rows*a.Stride]...))
}

// normDiff returns ‖a − b‖∞ (the largest absolute row sum).
func normDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, math.Inf(1))
}

func TestHaarFrameIsOrthonormal(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {5, 5}, {32, 32}, {9, 4}} {
		t.Run(fmt.Sprintf("%dx%d", shape[0], shape[1]), func(t *testing.T) {
			q := dense(haarFrame(newStream(3, streamInputBasis), shape[0], shape[1]))
			var qtq mat.Dense
			qtq.Mul(q.T(), q)
			eye := mat.NewDiagDense(shape[1], nil)
			for i := 0; i < shape[1]; i++ {
				eye.SetDiag(i, 1)
			}
			if d := normDiff(&qtq, eye); d > 1e-13*float64(shape[1]) {
				t.Errorf("‖QᵀQ − I‖∞: got: %g want: ≈ 0", d)
			}
		})
	}
}

// TestHaarFrameDistribution checks a first moment of the Haar measure: the
// entries of a Haar orthogonal n×n matrix have mean 0 and variance 1/n.
func TestHaarFrameDistribution(t *testing.T) {
	const n, draws = 4, 2000
	var sum, sumSq float64
	rng := newStream(11, streamInitBasis)
	for range draws {
		q := haarFrame(rng, n, n)
		for _, v := range q.Data {
			sum += v
			sumSq += v * v
		}
	}
	count := float64(draws * n * n)
	mean, variance := sum/count, sumSq/count
	if math.Abs(mean) > 0.01 {
		t.Errorf("mean entry: got: %.4f want: 0 ± 0.01", mean)
	}
	if math.Abs(variance-1.0/n) > 1e-12 {
		// Each column has unit norm, so the average square is exactly 1/n.
		t.Errorf("mean square entry: got: %.6f want: %.6f", variance, 1.0/n)
	}
	// A sign-fixed QR makes the diagonal of R positive, not that of Q: the
	// diagonal of Q must take both signs.
	var negative int
	for range 200 {
		q := haarFrame(rng, n, n)
		if q.Data[0] < 0 {
			negative++
		}
	}
	if negative < 60 || negative > 140 {
		t.Errorf("Q₀₀ < 0 in %d of 200 draws, want about half", negative)
	}
}

func TestPointSetup(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		commute bool
	}{
		{"identity bases", Params{Algorithm: Interneuron, N: 4, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, InitScale: 3}, true},
		{"random aligned", Params{Algorithm: Interneuron, N: 6, K: 9, InputSpectrum: Spectrum{Min: 0.1, Max: 10}, InputBasis: BasisRandom, InitScale: 3, InitShape: ShapeLogSpread, InitSpread: 100}, true},
		{"random independent", Params{Algorithm: Interneuron, N: 6, InputSpectrum: Spectrum{Min: 0.1, Max: 10}, InputBasis: BasisRandom, InitScale: 3, InitShape: ShapeLogSpread, InitBasis: BasisRandom}, false},
		{"wishart", Params{Algorithm: Interneuron, N: 5, K: 7, InputSpectrum: Spectrum{Min: 0.1, Max: 10}, InputBasis: BasisRandom, InitScale: 3, InitShape: ShapeWishart}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.WithDefaults()
			pt := newPoint(p)
			n := p.N
			// C = BBᵀ has eigenvalues s; C^{1/2}·C^{1/2} = C.
			c := mat.NewSymDense(n, nil)
			c.SymOuterK(1, dense(pt.b))
			var eig mat.EigenSym
			if !eig.Factorize(c, false) {
				t.Fatal("eigendecomposition failed")
			}
			gotS := eig.Values(nil)
			wantS := p.InputSpectrum.Eigenvalues(n)
			for i := range wantS {
				if math.Abs(gotS[i]-wantS[i]) > 1e-12*wantS[n-1] {
					t.Fatalf("eigenvalues of C: got: %v want: %v", gotS, wantS)
				}
			}
			var c2 mat.Dense
			c2.Mul(dense(pt.cHalf), dense(pt.cHalf))
			if d := normDiff(&c2, c); d > 1e-12*wantS[n-1]*float64(n) {
				t.Errorf("‖C^{1/2}C^{1/2} − C‖: got: %g want: ≈ 0", d)
			}
			// W₀ᵀW₀ = M₀, and M₀ is exactly symmetric.
			m0 := dense(pt.m0)
			if !mat.Equal(m0, m0.T()) {
				t.Error("M₀ is not exactly symmetric")
			}
			var wtw mat.Dense
			w0 := dense(pt.w0)
			wtw.Mul(w0.T(), w0)
			if d := normDiff(&wtw, m0); d > 1e-12*mat.Norm(m0, math.Inf(1)) {
				t.Errorf("‖W₀ᵀW₀ − M₀‖: got: %g want: ≈ 0", d)
			}
			if r, cc := w0.Dims(); r != p.K || cc != n {
				t.Errorf("W₀ shape: got: %d×%d want: %d×%d", r, cc, p.K, n)
			}
			// Aligned M₀ commutes with C; independent bases do not.
			var mc, cm mat.Dense
			mc.Mul(m0, c)
			cm.Mul(c, m0)
			comm := normDiff(&mc, &cm) / (mat.Norm(m0, math.Inf(1)) * mat.Norm(c, math.Inf(1)))
			if tc.commute && comm > 1e-13 {
				t.Errorf("‖M₀C − CM₀‖ relative: got: %g want: ≈ 0 (aligned)", comm)
			}
			if !tc.commute && comm < 1e-3 {
				t.Errorf("‖M₀C − CM₀‖ relative: got: %g want: clearly non-zero", comm)
			}
			// The spectrum of M₀ follows the shape.
			if p.InitShape != ShapeWishart {
				var e mat.EigenSym
				e.Factorize(mat.NewSymDense(n, m0.RawMatrix().Data), false)
				vals := e.Values(nil)
				want := initEigenvalues(p)
				for i := range want {
					if math.Abs(vals[i]-want[i]) > 1e-12*want[n-1] {
						t.Fatalf("eigenvalues of M₀: got: %v want: %v", vals, want)
					}
				}
			}
		})
	}
}

func TestInitEigenvaluesLogSpread(t *testing.T) {
	p := Params{Algorithm: Direct, N: 5, InitScale: 2, InitShape: ShapeLogSpread, InitSpread: 16}.WithDefaults()
	got := initEigenvalues(p)
	if ratio := got[4] / got[0]; math.Abs(ratio-16) > 1e-12 {
		t.Errorf("spread: got: %g want: 16", ratio)
	}
	geo := math.Pow(got[0]*got[1]*got[2]*got[3]*got[4], 1.0/5)
	if math.Abs(geo-2) > 1e-12 {
		t.Errorf("geometric mean: got: %g want: 2", geo)
	}
}

// TestWishartMean checks E[M₀] = μI for the Wishart shape by averaging
// over seeds.
func TestWishartMean(t *testing.T) {
	const n, k, mu, seeds = 3, 5, 4.0, 3000
	sum := mat.NewDense(n, n, nil)
	for seed := range int64(seeds) {
		p := Params{Algorithm: Direct, N: n, K: k, InitScale: mu, InitShape: ShapeWishart, Seed: seed}.WithDefaults()
		sum.Add(sum, dense(newPoint(p).m0))
	}
	sum.Scale(1.0/seeds, sum)
	// Var of a diagonal entry of W₀ᵀW₀ is 2μ²/k; of the mean over seeds,
	// 2μ²/(k·seeds): standard error ≈ 0.1; allow 5 standard errors.
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := 0.0
			if i == j {
				want = mu
			}
			if got := sum.At(i, j); math.Abs(got-want) > 0.5 {
				t.Errorf("E[M₀](%d,%d): got: %.3f want: %.1f ± 0.5", i, j, got, want)
			}
		}
	}
}

// TestStreamsAreIndependentOfOtherParams: the bases and W₀ depend on the seed
// only, not on batch, eta, mode, horizon or tol.
func TestStreamsAreIndependentOfOtherParams(t *testing.T) {
	base := Params{Algorithm: Interneuron, N: 4, K: 6, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, InputBasis: BasisRandom, InitBasis: BasisRandom, InitShape: ShapeLogSpread, Seed: 5}
	ref := newPoint(base.WithDefaults())
	variants := []Params{base, base, base, base}
	variants[0].Batch = 7
	variants[1].Eta = 0.3
	variants[2].Mode, variants[2].Horizon = Online, 10
	variants[3].Tol = 0.2
	for i, v := range variants {
		pt := newPoint(v.WithDefaults())
		if !reflect.DeepEqual(pt.q, ref.q) || !reflect.DeepEqual(pt.m0, ref.m0) || !reflect.DeepEqual(pt.w0, ref.w0) {
			t.Errorf("variant %d changed the point's random draws", i)
		}
	}
	other := base
	other.Seed = 6
	if pt := newPoint(other.WithDefaults()); reflect.DeepEqual(pt.q, ref.q) {
		t.Error("a different seed gave the same input basis")
	}
	// The init basis stream is independent of the input basis stream.
	if reflect.DeepEqual(ref.q, haarFrame(newStream(5, streamInitBasis), 4, 4)) {
		t.Error("input and init bases coincide")
	}
}

// TestOnlineSamplesHaveCovarianceC draws x = C^{1/2}g from the samples
// stream and compares the sample covariance with C.
func TestOnlineSamplesHaveCovarianceC(t *testing.T) {
	p := Params{Algorithm: Direct, Mode: Online, N: 3, InputSpectrum: Spectrum{Values: []float64{0.5, 1, 4}}, InputBasis: BasisRandom, Seed: 2}.WithDefaults()
	pt := newPoint(p)
	s := newOnlineState(pt)
	const draws = 200000
	cov := mat.NewSymDense(3, nil)
	g, x := make([]float64, 3), make([]float64, 3)
	for range draws {
		s.draw(g)
		blas64.Gemv(blas.NoTrans, 1, s.cHalf, vec(g), 0, vec(x))
		cov.SymRankOne(cov, 1.0/draws, mat.NewVecDense(3, x))
	}
	c := mat.NewSymDense(3, nil)
	c.SymOuterK(1, dense(pt.b))
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// Standard error of a covariance entry ≈ sqrt((C_ii C_jj + C_ij²)/draws) ≤ 0.013.
			if got, want := cov.At(i, j), c.At(i, j); math.Abs(got-want) > 0.05 {
				t.Errorf("cov(%d,%d): got: %.4f want: %.4f ± 0.05", i, j, got, want)
			}
		}
	}
}

// TestBasisOfCRoundTrip checks the change of basis of the flow: M̃₀ = QᵀM₀Q
// is symmetric, diagonal in the aligned case, and rotating it back gives
// M₀ again.
func TestBasisOfCRoundTrip(t *testing.T) {
	tests := []Params{
		{Algorithm: Direct, N: 7, InputBasis: BasisRandom, InitScale: 3, InitShape: ShapeLogSpread, InitSpread: 20},
		{Algorithm: Direct, N: 7, InputBasis: BasisRandom, InitScale: 3, InitShape: ShapeLogSpread, InitSpread: 20, InitBasis: BasisRandom},
		{Algorithm: Interneuron, N: 6, K: 9, InputBasis: BasisRandom, InitScale: 2, InitShape: ShapeWishart},
		{Algorithm: Interneuron, N: 5, InputBasis: BasisIdentity, InitScale: 2, InitShape: ShapeLogSpread, InitBasis: BasisRandom},
	}
	for _, p := range tests {
		p.InputSpectrum = Spectrum{Min: 0.5, Max: 4}
		p.Seed = 12
		p = p.WithDefaults()
		t.Run(fmt.Sprintf("%s/%s/%s/%s", p.Algorithm, p.InputBasis, p.InitShape, p.InitBasis), func(t *testing.T) {
			pt := newPoint(p)
			mt := pt.m0InBasisOfC()
			n := p.N
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					if mt.Data[i*n+j] != mt.Data[j*n+i] {
						t.Fatalf("M̃₀ not exactly symmetric at (%d,%d)", i, j)
					}
					if i != j && p.InitBasis == BasisAligned && p.InitShape != ShapeWishart && mt.Data[i*n+j] != 0 {
						t.Errorf("aligned M̃₀[%d][%d]: got: %g want: 0", i, j, mt.Data[i*n+j])
					}
				}
			}
			back := pt.fromBasisOfC(mt.Data)
			if d := normDiff(dense(back), dense(pt.m0)); d > 1e-13*maxAbs(pt.m0.Data)*float64(n) {
				t.Errorf("‖QM̃₀Qᵀ − M₀‖∞: got: %g want: ≈ 0", d)
			}
		})
	}
}

// TestNoiseResamplesTheSamplesOnly: points that differ only in noise share
// their bases, frames and initial state, and their flow; their online runs
// see other samples. Noise 0 is the stream every earlier version used
// (TestReferenceOutputsPinTheNumerics).
func TestNoiseResamplesTheSamplesOnly(t *testing.T) {
	for _, name := range NetworkNames() {
		base := Params{Algorithm: Algorithm(name), Mode: Online, N: 3, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, InputBasis: BasisRandom, InitBasis: BasisRandom,
			InitShape: ShapeLogSpread, InitScale: 3, Horizon: 500, Record: 20, Seed: 4}.WithDefaults()
		other := base
		other.Noise = 7
		a, b := newPoint(base), newPoint(other)
		if !reflect.DeepEqual(a.q, b.q) || !reflect.DeepEqual(a.m0, b.m0) || !reflect.DeepEqual(a.w0, b.w0) || !reflect.DeepEqual(a.start, b.start) {
			t.Errorf("%s: got: another basis, M₀, W₀ or frame with noise 7 want: the same as noise 0", name)
		}
		ra, err := Run(context.Background(), base)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := Run(context.Background(), other)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(ra.Trajectory, rb.Trajectory) {
			t.Errorf("%s online: got: the same trajectory with noise 0 and 7 want: other samples", name)
		}
		if ra.Trajectory[0] != rb.Trajectory[0] {
			t.Errorf("%s online: got: starts %+v and %+v want: the same start", name, ra.Trajectory[0], rb.Trajectory[0])
		}
		base.Mode, other.Mode = Flow, Flow
		fa, _ := Run(context.Background(), base.WithDefaults())
		fb, _ := Run(context.Background(), other.WithDefaults())
		if !reflect.DeepEqual(fa, fb) {
			t.Errorf("%s flow: got: different results with noise 0 and 7 want: the same (flow has no samples)", name)
		}
	}
}

// TestInitSpectrum: the spectrum shape gives M₀ the eigenvalues
// μ·init_spectrum, paired with C's eigenvalues in order when aligned.
func TestInitSpectrum(t *testing.T) {
	p := Params{Algorithm: Interneuron, N: 3, InputSpectrum: Spectrum{Values: []float64{1, 2, 3}}, InputBasis: BasisRandom,
		InitScale: 2, InitShape: ShapeSpectrum, InitSpectrum: Spectrum{Values: []float64{0.5, 4, 40}}, Seed: 3}.WithDefaults()
	if err := p.Validate(Limits{}); err != nil {
		t.Fatal(err)
	}
	pt := newPoint(p)
	want := []float64{1, 8, 80}
	if got := pt.lambda; !reflect.DeepEqual(got, want) {
		t.Errorf("eigenvalues of M₀: got: %v want: %v", got, want)
	}
	// Aligned: in C's eigenbasis M₀ is diag(λ) in the order of C's values.
	m := pt.m0InBasisOfC()
	for i, l := range want {
		if got := m.Data[i*3+i]; math.Abs(got-l) > 1e-12*l {
			t.Errorf("QᵀM₀Q[%d][%d]: got: %v want: %v", i, i, got, l)
		}
	}
	// The flow's time is the oracle's for these directions.
	r, err := Run(context.Background(), p)
	if err != nil || r.ConvTime == nil {
		t.Fatalf("got: %v, %+v want: converged", err, r)
	}
	if o := OracleTimeAligned(Interneuron, []float64{1, 2, 3}, []float64{1, 8, 80}, p.Tol); math.Abs(*r.ConvTime-o) > 1e-4*o {
		t.Errorf("conv time: got: %v want: the oracle's %v", *r.ConvTime, o)
	}
}

// TestSpectrumRangeIsThatOfItsEigenvalues: Range gives the extremes of
// Eigenvalues, for every kind of spectrum and dimension (n = 1: the one
// eigenvalue, min).
func TestSpectrumRangeIsThatOfItsEigenvalues(t *testing.T) {
	for _, s := range []Spectrum{
		{}, {Min: 0.5, Max: 2}, {Min: 0.5, Max: 2, Spacing: LinearSpacing}, {Min: 3, Max: 3},
		{Values: []float64{4}}, {Values: []float64{4, 0.25, 1}},
	} {
		for _, n := range []int{1, 2, 3, 7} {
			if len(s.Values) > 0 && len(s.Values) != n {
				continue
			}
			ev := s.Eigenvalues(n)
			lo, hi := s.Range(n)
			if lo != slices.Min(ev) || hi != slices.Max(ev) {
				t.Errorf("%+v.Range(%d): got: %g, %g want: %g, %g (of %v)", s, n, lo, hi, slices.Min(ev), slices.Max(ev), ev)
			}
		}
	}
}
