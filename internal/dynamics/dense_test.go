package dynamics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// The kernels of dense.go and eigen.go are checked against gonum's BLAS and
// LAPACK on random matrices of odd and even sizes (the kernels work on pairs
// and triples of rows, so every remainder path is taken).

var kernelSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 13, 16, 31, 32, 33, 64}

// randomSPD returns a full symmetric positive definite n×n matrix with
// eigenvalues log-spaced over [1/cond, 1] in a random basis.
func randomSPD(rng *rand.Rand, n int, cond float64) blas64.General {
	q := haarFrame(rng, n, n)
	d := make([]float64, n)
	for i := range d {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		d[i] = math.Sqrt(math.Pow(cond, -t))
	}
	return gram(scaleColumns(q, d), false)
}

func randomGeneral(rng *rand.Rand, rows, cols int) blas64.General {
	return gaussian(rng, rows, cols, 1)
}

// maxRelDiff returns max|a − b| / max|b| over the first n entries.
func maxRelDiff(a, b []float64) float64 {
	var d, s float64
	for i := range b {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(b[i]))
	}
	if s == 0 {
		return d
	}
	return d / s
}

func TestCholeskyMatchesLAPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Both paths of cholesky: gonum's Dpotf2 up to choleskyGemvMax, the
	// row-pair kernel above it (and choleskyRows at every size).
	sizes := append(slices.Clone(kernelSizes), choleskyBlock+1, 2*choleskyBlock+3, choleskyGemvMax, choleskyGemvMax+1, choleskyGemvMax+6, 4*choleskyBlock)
	for _, n := range sizes {
		m := randomSPD(rng, n, 1e4)
		// Garbage in the upper triangle must not be read.
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				m.Data[i*n+j] = math.NaN()
			}
		}
		want := newGeneral(n, n)
		copyLowerMirror(want, m)
		lt, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Lower, N: n, Stride: n, Data: want.Data})
		if !ok {
			t.Fatal("gonum Potrf failed")
		}
		for name, chol := range map[string]func(l, m []float64, n int, rdiag []float64) bool{
			"cholesky": cholesky, "choleskyRows": choleskyRows,
		} {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) {
				l, rd := make([]float64, n*n), make([]float64, n)
				if !chol(l, m.Data, n, rd) {
					t.Fatal("got: not positive definite want: a factor")
				}
				var worst float64
				for i := 0; i < n; i++ {
					for j := 0; j <= i; j++ {
						worst = math.Max(worst, math.Abs(l[i*n+j]-lt.Data[i*n+j]))
					}
					if rd[i] != 1/l[i*n+i] {
						t.Errorf("rdiag[%d]: got: %g want: 1/L[%d][%d] = %g", i, rd[i], i, i, 1/l[i*n+i])
					}
				}
				if d := worst / maxAbs(lt.Data); d > 1e-13 {
					t.Errorf("L: got: relative difference %.3g from gonum Potrf want: ≤ 1e-13", d)
				}
			})
		}
	}
}

func TestCholeskyRefusesIndefinite(t *testing.T) {
	tests := []struct {
		name string
		m    []float64
	}{
		{"negative pivot", []float64{1, 2, 2, 1}},
		{"zero", []float64{0, 0, 0, 0}},
		{"NaN", []float64{1, 0, math.NaN(), 1}},
		{"infinite diagonal", []float64{math.Inf(1), 0, 0, 1}},
		{"negative first", []float64{-1, 0, 0, 1}},
		{"singular 3×3", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"infinite last pivot", []float64{1, 0, 0, math.Inf(1)}},
		{"infinite off-diagonal", []float64{1, 0, math.Inf(1), 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := int(math.Sqrt(float64(len(tc.m))))
			if cholesky(make([]float64, n*n), tc.m, n, make([]float64, n)) {
				t.Errorf("cholesky: got: a factor of %v want: false", tc.m)
			}
			if choleskyRows(make([]float64, n*n), tc.m, n, make([]float64, n)) {
				t.Errorf("choleskyRows: got: a factor of %v want: false", tc.m)
			}
		})
	}
}

func TestInverseMatchesLAPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range kernelSizes {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			m := randomSPD(rng, n, 1e3)
			w := newWhiteningWorkspace(n)
			if !w.invert(m.Data) {
				t.Fatal("invert failed")
			}
			want := newGeneral(n, n)
			copy(want.Data, m.Data)
			ut, _ := lapack64.Potrf(upper(want))
			lapack64.Potri(ut)
			mirrorUpper(want)
			if d := maxRelDiff(w.p, want.Data); d > 1e-11 {
				t.Errorf("M⁻¹: got: relative difference %.3g from gonum Potri want: ≤ 1e-11", d)
			}
			for i := 0; i < n; i++ {
				for j := 0; j < i; j++ {
					if w.p[i*n+j] != w.p[j*n+i] {
						t.Fatalf("M⁻¹ not exactly symmetric at (%d,%d)", i, j)
					}
				}
			}
		})
	}
}

func TestProductsMatchBLAS(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range kernelSizes {
		for _, k := range []int{1, 3, n + 2} {
			t.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(t *testing.T) {
				a := randomGeneral(rng, n, k)
				b := randomGeneral(rng, k, n+1)
				want := newGeneral(n, n)
				blas64.Gemm(blas.NoTrans, blas.Trans, 1, a, a, 0, want)
				for name, syrk := range map[string]func(c, a []float64, n, k int){"syrkRows": syrkRows, "syrkTiles": syrkTiles} {
					c := make([]float64, n*n)
					syrk(c, a.Data, n, k)
					if d := maxRelDiff(c, want.Data); d > 1e-14 {
						t.Errorf("%s A·Aᵀ: got: relative difference %.3g want: ≤ 1e-14", name, d)
					}
				}
				prod := make([]float64, n*(n+1))
				mulRows(prod, a.Data, b.Data, n, n+1, k)
				wantProd := newGeneral(n, n+1)
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, b, 0, wantProd)
				if d := maxRelDiff(prod, wantProd.Data); d > 1e-14 {
					t.Errorf("A·B: got: relative difference %.3g want: ≤ 1e-14", d)
				}
			})
		}
	}
}

func TestSolvesMatchLAPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range kernelSizes {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			m := randomSPD(rng, n, 1e3)
			l, rd := make([]float64, n*n), make([]float64, n)
			if !cholesky(l, m.Data, n, rd) {
				t.Fatal("cholesky failed")
			}
			const cols = 5
			x := randomGeneral(rng, n, cols)
			want := newGeneral(n, cols)
			copy(want.Data, x.Data)
			f := newGeneral(n, n)
			copy(f.Data, m.Data)
			ut, _ := lapack64.Potrf(upper(f))
			lapack64.Potrs(ut, want)

			got := slices.Clone(x.Data)
			solveLowerColumns(l, n, rd, got, cols)
			if d := maxRelDiff(got, want.Data); d > 1e-11 {
				t.Errorf("M⁻¹X: got: relative difference %.3g want: ≤ 1e-11", d)
			}
			col := make([]float64, n)
			wantCol := make([]float64, n)
			for i := 0; i < n; i++ {
				col[i] = x.Data[i*cols]
				wantCol[i] = want.Data[i*cols]
			}
			solveLower(l, n, rd, col)
			if d := maxRelDiff(col, wantCol); d > 1e-11 {
				t.Errorf("M⁻¹x: got: relative difference %.3g want: ≤ 1e-11", d)
			}
		})
	}
}

// gonumExtremes returns the extreme eigenvalues of the symmetric a − shift·I
// from gonum's Dsyev.
func gonumExtremes(t *testing.T, a blas64.General, shift float64) (lo, hi float64) {
	t.Helper()
	n := a.Rows
	c := newGeneral(n, n)
	copy(c.Data, a.Data)
	for i := 0; i < n; i++ {
		c.Data[i*n+i] -= shift
	}
	w := make([]float64, n)
	work := make([]float64, max(1, 3*n*n))
	if !lapack64.Syev(lapack.EVNone, upper(c), w, work, len(work)) {
		t.Fatal("gonum Syev failed")
	}
	return w[0], w[n-1]
}

func TestSymEigExtremesMatchLAPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	type problem struct {
		name  string
		a     blas64.General
		shift float64
	}
	var problems []problem
	for _, n := range append(kernelSizes, 100) {
		sym := randomGeneral(rng, n, n)
		symmetrize(sym)
		problems = append(problems,
			problem{fmt.Sprintf("gaussian/n=%d", n), sym, 0},
			problem{fmt.Sprintf("spd-shifted/n=%d", n), randomSPD(rng, n, 1e6), 1},
		)
		diag := newGeneral(n, n)
		for i := 0; i < n; i++ {
			diag.Data[i*n+i] = float64((i*7)%n) - 0.5
		}
		problems = append(problems, problem{fmt.Sprintf("diagonal/n=%d", n), diag, 0})
		// Clustered: I + 1e-9·noise, shifted by I, the situation of a
		// converged whitening error.
		near := randomGeneral(rng, n, n)
		symmetrize(near)
		for i := range near.Data {
			near.Data[i] *= 1e-9
		}
		for i := 0; i < n; i++ {
			near.Data[i*n+i]++
		}
		problems = append(problems, problem{fmt.Sprintf("near-identity/n=%d", n), near, 1})
		// A tight cluster at the bottom of the spectrum (log-spaced over
		// twelve decades) slows Laguerre's method down for larger n: the
		// trisection fallback is taken.
		problems = append(problems, problem{fmt.Sprintf("clustered/n=%d", n), randomSPD(rng, n, 1e12), 0})
		huge := randomSPD(rng, n, 10)
		for i := range huge.Data {
			huge.Data[i] *= 1e200
		}
		problems = append(problems, problem{fmt.Sprintf("huge/n=%d", n), huge, 0})
	}
	laguerreFallbacks := 0
	for _, pr := range problems {
		t.Run(pr.name, func(t *testing.T) {
			n := pr.a.Rows
			e := newSymEig(n)
			lo, hi, ok := e.extremes(pr.a.Data, pr.shift)
			if !ok {
				t.Fatal("got: not ok want: eigenvalues")
			}
			wantLo, wantHi := gonumExtremes(t, pr.a, pr.shift)
			scale := math.Max(math.Abs(wantLo), math.Abs(wantHi))
			tol := 1e-13 * float64(n) * scale
			if scale == 0 {
				tol = 1e-300
			}
			if math.Abs(lo-wantLo) > tol || math.Abs(hi-wantHi) > tol {
				t.Errorf("extremes: got: [%.17g, %.17g] want: [%.17g, %.17g] (gonum Dsyev) ± %.2g", lo, hi, wantLo, wantHi, tol)
			}
			// Both ways of finishing on the tridiagonal matrix agree: the
			// Laguerre iterations pass their Sturm check (so the fast path
			// is the one taken), and trisection alone gives the same values
			// within the width it works to.
			if n > 1 {
				tl, th := tridiagonalExtremes(e.diag, e.off, e.off2)
				gl, gu, pivmin, width := tridiagonalBounds(e.diag, e.off, e.off2)
				ll, lh := laguerreExtremes(e.diag, e.off2, gl, gu, width)
				if ll != tl || lh != th {
					laguerreFallbacks++
				}
				bl, bh := trisectExtremes(e.diag, e.off2, gl, gu, gl, gu, pivmin, width)
				if math.Abs(bl-tl) > 2*width.at(tl) || math.Abs(bh-th) > 2*width.at(th) {
					t.Errorf("trisection: got: [%.17g, %.17g] want: [%.17g, %.17g] ± 2·width", bl, bh, tl, th)
				}
			}
			// Reusing the workspace gives the same bits.
			lo2, hi2, _ := e.extremes(pr.a.Data, pr.shift)
			if math.Float64bits(lo2) != math.Float64bits(lo) || math.Float64bits(hi2) != math.Float64bits(hi) {
				t.Error("a second call on the same workspace gave different bits")
			}
		})
	}
	// Laguerre's method is the common path, and the fallback is exercised.
	t.Logf("trisection fallbacks: %d of %d problems", laguerreFallbacks, len(problems))
	if laguerreFallbacks == 0 || laguerreFallbacks > len(problems)/4 {
		t.Errorf("trisection fallbacks: got: %d of %d want: some, at most a quarter", laguerreFallbacks, len(problems))
	}
}

func TestSymEigExtremesNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		a := []float64{1, v, v, 2}
		if _, _, ok := newSymEig(2).extremes(a, 0); ok {
			t.Errorf("got: ok for a matrix holding %v want: not ok", v)
		}
	}
}

// TestStepsDoNotAllocate checks that the steady loops allocate nothing: a
// whitening evaluation (general and diagonal B), a flow right-hand side and
// an online step of both networks, at a size on each side of gemvMin.
func TestStepsDoNotAllocate(t *testing.T) {
	for _, n := range []int{17, gemvMin + 8} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(n)))
			m := randomSPD(rng, n, 10)
			d := make([]float64, n)
			for i := range d {
				d[i] = 1 + float64(i)
			}
			wd := newDiagonalWhitening(d)
			wg := newWhitening(randomGeneral(rng, n, n))
			if allocs := testing.AllocsPerRun(10, func() {
				wd.setM(m)
				wd.errorNorm()
				wg.setM(m)
				wg.errorNorm()
				wg.eigRange(m)
			}); allocs != 0 {
				t.Errorf("allocations per whitening evaluation: got: %v want: 0", allocs)
			}
			for _, alg := range []Algorithm{Direct, Interneuron} {
				pt := newPoint(benchFlowParams(alg, n))
				fs := newFlowSystem(context.Background(), pt)
				y := pt.m0InBasisOfC().Data
				dy := make([]float64, fs.dim())
				if allocs := testing.AllocsPerRun(10, func() { fs.rhs(y, dy); fs.errorNorm() }); allocs != 0 {
					t.Errorf("%s: allocations per flow right-hand side: got: %v want: 0", alg, allocs)
				}
				s := newOnlineState(newPoint(benchOnlineParams(alg, n)))
				if !s.start() {
					t.Fatal(s.failed)
				}
				if allocs := testing.AllocsPerRun(50, func() {
					if !s.step() {
						t.Fatalf("%s: step diverged: %s", alg, s.failed)
					}
				}); allocs != 0 {
					t.Errorf("%s: allocations per online step: got: %v want: 0", alg, allocs)
				}
			}
		})
	}
}

// BenchmarkKernels measures the kernels of dense.go and eigen.go beside the
// gonum routines they replace, on the same matrices.
func BenchmarkKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{16, 64, 256} {
		m := randomSPD(rng, n, 100)
		w := newWhiteningWorkspace(n)
		work := newGeneral(n, n)
		b.Run(fmt.Sprintf("cholesky/n=%d", n), func(b *testing.B) {
			for range b.N {
				cholesky(w.l, m.Data, n, w.rd)
			}
		})
		b.Run(fmt.Sprintf("gonum-potrf/n=%d", n), func(b *testing.B) {
			for range b.N {
				copy(work.Data, m.Data)
				lapack64.Potrf(upper(work))
			}
		})
		b.Run(fmt.Sprintf("inverse/n=%d", n), func(b *testing.B) {
			for range b.N {
				w.invert(m.Data)
			}
		})
		b.Run(fmt.Sprintf("gonum-potrf-potri/n=%d", n), func(b *testing.B) {
			for range b.N {
				copy(work.Data, m.Data)
				ut, _ := lapack64.Potrf(upper(work))
				lapack64.Potri(ut)
			}
		})
		b.Run(fmt.Sprintf("syrk/n=%d", n), func(b *testing.B) {
			for range b.N {
				syrkRows(w.crr, m.Data, n, n)
			}
		})
		b.Run(fmt.Sprintf("gonum-syrk/n=%d", n), func(b *testing.B) {
			for range b.N {
				blas64.Syrk(blas.NoTrans, 1, m, 0, upper(work))
			}
		})
		b.Run(fmt.Sprintf("extremes/n=%d", n), func(b *testing.B) {
			for range b.N {
				w.eig.extremes(m.Data, 0)
			}
		})
		wv := make([]float64, n)
		query := make([]float64, 1)
		lapack64.Syev(lapack.EVNone, upper(work), wv, query, -1)
		lwork := make([]float64, int(query[0]))
		b.Run(fmt.Sprintf("gonum-syev/n=%d", n), func(b *testing.B) {
			for range b.N {
				copy(work.Data, m.Data)
				lapack64.Syev(lapack.EVNone, upper(work), wv, lwork, len(lwork))
			}
		})
	}
}
