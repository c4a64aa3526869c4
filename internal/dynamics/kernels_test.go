package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The vector kernels are checked two ways: the assembly primitives against
// their Go models bit for bit (every size up to 40 and odd strides, so
// every remainder path of the eight- and four-wide loops is taken), and the
// vectorised dense kernels against the pure-Go kernels of dense.go, their
// reference, on random inputs of every size 1…300.

// vecSizes are the orders the dense kernels are compared at: every order
// 1…300, so that each remainder of the blocks of four and eight and each
// vector threshold (kernels.go) is crossed.
func vecSizes() []int {
	ns := make([]int, 300)
	for i := range ns {
		ns[i] = i + 1
	}
	return ns
}

// asmForms runs f once for each form of the assembly kernels this
// processor can run: AVX2 (useAVX512Kernels false), then AVX-512 when it
// has it, restoring the choice after.
func asmForms(t *testing.T, f func(t *testing.T)) {
	old := useAVX512Kernels
	defer func() { useAVX512Kernels = old }()
	for _, wide := range []bool{false, true} {
		if wide && !haveAVX512Kernels {
			t.Log("no AVX-512 on this processor: its kernel forms are not tested here")
			continue
		}
		useAVX512Kernels = wide
		name := "avx2"
		if wide {
			name = "avx512"
		}
		t.Run(name, f)
	}
}

// withKernels runs f with useVecKernels set to vec, restoring it after.
func withKernels(vec bool, f func()) {
	old := useVecKernels
	useVecKernels = vec
	defer func() { useVecKernels = old }()
	f()
}

func randomSlice(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func sameBits(a, b []float64) bool {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

func TestVecPrimitivesMatchTheirModels(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	asmForms(t, testVecPrimitivesMatchTheirModels)
}

func testVecPrimitivesMatchTheirModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sub := range []bool{false, true} {
		for m := 1; m <= 9; m++ {
			for k := 0; k <= 40; k++ {
				for _, pad := range []int{0, 1, 3} { // odd strides
					lda := k + pad
					a := randomSlice(rng, m*lda+4*lda+k)
					x := randomSlice(rng, max(k, m)*lda+k)
					y := randomSlice(rng, max(k, m)*4+4)
					name := fmt.Sprintf("sub=%v/m=%d/k=%d/lda=%d", sub, m, k, lda)
					gotN, wantN := append([]float64(nil), y...), append([]float64(nil), y...)
					gemvNAsm(m, k, a, lda, x, gotN, sub)
					gemvNGo(m, k, a, lda, x, wantN, sub)
					if !sameBits(gotN, wantN) {
						t.Errorf("gemvN %s: got: %v want: %v", name, gotN[:m], wantN[:m])
					}
					if k > 0 {
						gotT, wantT := append([]float64(nil), y...), append([]float64(nil), y...)
						gemvTAsm(m, k, a, lda, x, gotT, sub)
						gemvTGo(m, k, a, lda, x, wantT, sub)
						if !sameBits(gotT, wantT) {
							t.Errorf("gemvT %s: got: %v want: %v", name, gotT[:k], wantT[:k])
						}
					}
					ldy := 4 + pad
					got4, want4 := randomSlice(rng, m*ldy+4), []float64(nil)
					want4 = append(want4, got4...)
					dots4Asm(m, k, a, lda, x, lda, got4, ldy, sub)
					dots4Go(m, k, a, lda, x, lda, want4, ldy, sub)
					if !sameBits(got4, want4) {
						t.Errorf("dots4 %s: got: %v want: %v", name, got4, want4)
					}
					if !sub {
						// m pairs of rows of a, every other pair, against
						// two rows of x; sub does not apply.
						bstep, ldy := 2*lda+pad, 2*m+pad
						b := randomSlice(rng, (m-1)*bstep+lda+k)
						got, want := randomSlice(rng, ldy+2*m), []float64(nil)
						want = append(want, got...)
						dots2x2Asm(m, k, b, lda, bstep, x, lda, got, ldy)
						dots2x2Go(m, k, b, lda, bstep, x, lda, want, ldy)
						if !sameBits(got, want) {
							t.Errorf("dots2x2 %s: got: %v want: %v", name, got, want)
						}
						// The same dots as gemvN's, bit for bit.
						for j := range m {
							for r := range 2 {
								dots := make([]float64, 2)
								gemvNGo(2, k, b[j*bstep:], lda, x[r*lda:r*lda+k], dots, false)
								if !sameBits(got[r*ldy+2*j:r*ldy+2*j+2], dots) {
									t.Errorf("dots2x2 %s: pair %d row %d: got: %v want: gemvN's %v", name, j, r, got[r*ldy+2*j:r*ldy+2*j+2], dots)
								}
							}
						}
					}
				}
			}
		}
	}
}

// primitiveSizes are the lengths the newer primitives are held to their
// models at: every length up to 40 and the edges of the blocks of four and
// eight up to 300.
func primitiveSizes() []int {
	ns := []int{}
	for m := 1; m <= 40; m++ {
		ns = append(ns, m)
	}
	return append(ns, 63, 64, 65, 127, 128, 129, 255, 256, 257, 299, 300)
}

func TestRank4LowerMatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	asmForms(t, testRank4LowerMatchesItsModel)
}

func testRank4LowerMatchesItsModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for _, m := range primitiveSizes() {
		for _, pad := range []int{0, 1, 3} { // odd strides
			for _, r0 := range []int{0, 1, 4} {
				for _, panel := range []bool{false, true} {
					if r0 >= m || (panel && m < 4) {
						continue
					}
					lda, ldp := m+pad, m+2*pad
					a := randomSlice(rng, (m-1)*lda+m)
					p := randomSlice(rng, 7*ldp+m)
					var c *[10]float64
					if panel {
						c = new([10]float64)
						copy(c[:], randomSlice(rng, 10))
					}
					gotA, wantA := append([]float64(nil), a...), append([]float64(nil), a...)
					gotP, wantP := append([]float64(nil), p...), append([]float64(nil), p...)
					rank4LowerAsm(m, r0, gotA, lda, gotP, ldp, c)
					rank4LowerGo(m, r0, wantA, lda, wantP, ldp, c)
					if !sameBits(gotA, wantA) || !sameBits(gotP, wantP) {
						t.Errorf("m=%d r0=%d lda=%d ldp=%d panel=%v: got: %v, %v want: %v, %v", m, r0, lda, ldp, panel, gotA, gotP, wantA, wantP)
					}
				}
			}
		}
	}
}

func TestPanel4MatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	rng := rand.New(rand.NewPCG(35, 36))
	for _, m := range primitiveSizes() {
		for _, pad := range []int{0, 1, 3} { // odd strides
			lda, ldt := 4+pad, m+pad
			a := randomSlice(rng, (m-1)*lda+4)
			tt := randomSlice(rng, 3*ldt+m)
			var c [10]float64
			copy(c[:], randomSlice(rng, 10))
			gotA, wantA := append([]float64(nil), a...), append([]float64(nil), a...)
			gotT, wantT := append([]float64(nil), tt...), append([]float64(nil), tt...)
			panel4Asm(m, gotA, lda, gotT, ldt, &c)
			panel4Go(m, wantA, lda, wantT, ldt, &c)
			if !sameBits(gotA, wantA) || !sameBits(gotT, wantT) {
				t.Errorf("m=%d lda=%d ldt=%d: got: %v, %v want: %v, %v", m, lda, ldt, gotA, gotT, wantA, wantT)
			}
		}
	}
}

func TestSyrLowerMatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	asmForms(t, testSyrLowerMatchesItsModel)
}

func testSyrLowerMatchesItsModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	for _, n := range primitiveSizes() {
		for _, pad := range []int{0, 1, 3} { // odd strides
			lda, ldd := n+pad, n+2*pad
			a := randomSlice(rng, (n-1)*lda+n)
			d := randomSlice(rng, (n-1)*ldd+n)
			x := randomSlice(rng, n)
			alpha := rng.NormFloat64()
			got, want := append([]float64(nil), a...), append([]float64(nil), a...)
			gotD, wantD := append([]float64(nil), d...), append([]float64(nil), d...)
			syrLowerAsm(n, got, lda, x, alpha, gotD, ldd)
			syrLowerGo(n, want, lda, x, alpha, wantD, ldd)
			if !sameBits(got, want) || !sameBits(gotD, wantD) {
				t.Errorf("n=%d lda=%d ldd=%d: got: %v, %v want: %v, %v", n, lda, ldd, got, gotD, want, wantD)
			}
			// The copy is the updated lower triangle; d's other entries
			// are left as they were.
			for i := range n {
				for j := range n {
					g, w := gotD[i*ldd+j], d[i*ldd+j]
					if j <= i {
						w = got[i*lda+j]
					}
					if math.Float64bits(g) != math.Float64bits(w) {
						t.Fatalf("n=%d lda=%d ldd=%d: d[%d][%d]: got: %v want: %v", n, lda, ldd, i, j, g, w)
					}
				}
			}
		}
	}
}

func TestMirrorTilesMatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	rng := rand.New(rand.NewPCG(45, 46))
	for _, n := range primitiveSizes() {
		a := randomSlice(rng, n*n)
		got, want := append([]float64(nil), a...), append([]float64(nil), a...)
		mirrorTilesAsm(got, n, n&^7, n&^3)
		mirrorTilesGo(want, n, n&^7, n&^3)
		if !sameBits(got, want) {
			t.Errorf("n=%d: got: %v want: %v", n, got, want)
		}
	}
}

// TestMirrorUpperData holds both paths of mirrorUpperData to the
// definition at every order: the strict lower triangle is the transposed
// strict upper one, the rest unchanged.
func TestMirrorUpperData(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for _, n := range vecSizes() {
		a := randomSlice(rng, n*n)
		want := append([]float64(nil), a...)
		for i := range n {
			for j := i + 1; j < n; j++ {
				want[j*n+i] = a[i*n+j]
			}
		}
		for _, vec := range []bool{false, haveVecKernels} {
			got := append([]float64(nil), a...)
			withKernels(vec, func() { mirrorUpperData(got, n) })
			if !sameBits(got, want) {
				t.Fatalf("n=%d vec=%v: got: %v want: %v", n, vec, got, want)
			}
		}
	}
}

func TestSolveLowerAsmMatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	for _, n := range primitiveSizes() {
		l := randomSlice(rng, n*n)
		rd := randomSlice(rng, n)
		x := randomSlice(rng, n)
		got, want := append([]float64(nil), x...), append([]float64(nil), x...)
		solveLowerAsm(l, n, rd, got)
		withKernels(true, func() { solveLowerVecGo(l, n, rd, want) })
		if !sameBits(got, want) {
			t.Errorf("n=%d: got: %v want: %v", n, got, want)
		}
	}
}

func TestRank2PassMatchesItsModel(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range primitiveSizes() {
		for _, pad := range []int{0, 1, 3} { // odd strides
			for _, i0 := range []int{0, 1, n / 2, n - 2} {
				if i0 < 0 {
					continue
				}
				lda := n + pad
				vecs := make([][]float64, 5) // a, vo, wo, v, p
				vecs[0] = randomSlice(rng, (n-1)*lda+n)
				for i := 1; i < 5; i++ {
					vecs[i] = randomSlice(rng, n)
				}
				got, want := make([][]float64, 5), make([][]float64, 5)
				for i := range vecs {
					got[i] = append([]float64(nil), vecs[i]...)
					want[i] = append([]float64(nil), vecs[i]...)
				}
				rank2PassAsm(n, i0, got[0], lda, got[1], got[2], got[3], got[4])
				rank2PassGo(n, i0, want[0], lda, want[1], want[2], want[3], want[4])
				for i, which := range []string{"a", "vo", "wo", "v", "p"} {
					if !sameBits(got[i], want[i]) {
						t.Errorf("n=%d lda=%d i0=%d %s: got: %v want: %v", n, lda, i0, which, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestVecKernelsMatchPureGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const tol = 1e-11
	for _, n := range vecSizes() {
		m := randomSPD(rng, n, 1e4)
		a := randomGeneral(rng, n, n)
		bm := randomGeneral(rng, n, n)
		rhs := randomSlice(rng, n)
		type outputs struct {
			ok                bool
			l, rd, h, p, c, x []float64
			sol               []float64
		}
		// The vectorised kernels are called directly, at every order (the
		// dispatch in dense.go uses them only from their vecMin on).
		chol, inv, gram, syrk, mul, solve := choleskyRank4, invTransLowerVec, gramUpperVec, syrkRowsVec, mulRowsVec, solveLowerVec
		run := func(vec bool) (o outputs) {
			withKernels(vec, func() {
				if !vec {
					chol, inv, gram, syrk, mul, solve = cholesky, invTransLower, gramUpper, syrkRows, mulRows, solveLower
				}
				o.l, o.rd = make([]float64, n*n), make([]float64, n)
				o.ok = chol(o.l, m.Data, n, o.rd)
				o.h, o.p = make([]float64, n*n), make([]float64, n*n)
				inv(o.h, o.l, n, o.rd)
				gram(o.p, o.h, n)
				o.c = make([]float64, n*n)
				syrk(o.c, a.Data, n, n)
				o.x = make([]float64, n*n)
				mul(o.x, a.Data, bm.Data, n, n, n)
				o.sol = append([]float64(nil), rhs...)
				solve(o.l, n, o.rd, o.sol)
			})
			return o
		}
		got, want := run(true), run(false)
		if !got.ok || !want.ok {
			t.Fatalf("n=%d: got: factored %v want: factored %v", n, got.ok, want.ok)
		}
		lower := func(x []float64) []float64 {
			var out []float64
			for i := 0; i < n; i++ {
				out = append(out, x[i*n:i*n+i+1]...)
			}
			return out
		}
		for _, c := range []struct {
			name      string
			got, want []float64
		}{
			{"cholesky", lower(got.l), lower(want.l)},
			{"rdiag", got.rd, want.rd},
			{"invTransLower", got.h, want.h},
			{"gramUpper", got.p, want.p},
			{"syrkRows", got.c, want.c},
			{"mulRows", got.x, want.x},
			{"solveLower", got.sol, want.sol},
		} {
			if d := maxRelDiff(c.got, c.want); !(d <= tol) {
				t.Errorf("n=%d %s: got: relative difference %.3g from the pure-Go kernel want: ≤ %g", n, c.name, d, tol)
			}
		}
	}
}

func TestVecEigenMatchesPureGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const tol = 1e-11
	for _, n := range vecSizes() {
		a := randomSPD(rng, n, 1e3) // eigenvalues in [1e-3, 1], so both ends matter
		type outputs struct {
			diag, off []float64
			ext       []float64
		}
		run := func(vec bool) (o outputs) {
			withKernels(vec, func() {
				e := newSymEig(n)
				lo, hi, ok := e.extremes(a.Data, 0.5)
				if !ok {
					t.Fatalf("n=%d vec=%v: got: no eigenvalues want: the extremes", n, vec)
				}
				o.ext = []float64{lo, hi}
				o.diag = append([]float64(nil), e.diag...)
				for _, v := range e.off {
					o.off = append(o.off, math.Abs(v)) // its sign follows a rounding near zero
				}
			})
			return o
		}
		// The vector path runs from vecMinEigen on; below it both are the
		// pure-Go path, and rank2Pair is held to its model at every length.
		// The extremes, which the dynamics use, are well conditioned, and so
		// are the invariants of the similarity (the trace and the Frobenius
		// norm of the tridiagonal matrix): they agree to rounding. The
		// tridiagonal entries themselves are not: two roundings of the
		// reflections move them further apart as n grows (2.5e-11 of the
		// largest at n = 191), so they are held only to tridiagonalTol,
		// which a wrong index or a dropped term would still exceed by
		// orders of magnitude.
		got, want := run(true), run(false)
		invariants := func(o outputs) []float64 {
			var trace, frob float64
			for _, d := range o.diag {
				trace += d
				frob += d * d
			}
			for _, e := range o.off {
				frob += 2 * e * e
			}
			return []float64{trace, frob}
		}
		for _, c := range []struct {
			name      string
			got, want []float64
			tol       float64
		}{
			{"extremes", got.ext, want.ext, tol},
			{"trace and Frobenius norm", invariants(got), invariants(want), tol},
			{"tridiagonal diagonal", got.diag, want.diag, tridiagonalTol},
			{"tridiagonal off-diagonal", got.off, want.off, tridiagonalTol},
		} {
			if d := maxRelDiff(c.got, c.want); !(d <= c.tol) {
				t.Errorf("n=%d %s: got: relative difference %.3g from the pure-Go path want: ≤ %g", n, c.name, d, c.tol)
			}
		}
	}
}

// tridiagonalTol bounds the difference between the tridiagonal entries of
// the two kernel paths (TestVecEigenMatchesPureGo), relative to the
// largest entry.
const tridiagonalTol = 1e-9

func TestCholeskyRank4FusedPanelsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	for _, n := range vecSizes() {
		m := randomSPD(rng, n, 1e3)
		run := func(fuseMin int) ([]float64, []float64) {
			defer func(old int) { choleskyFuseMin = old }(choleskyFuseMin)
			choleskyFuseMin = fuseMin
			l, rd := make([]float64, n*n), make([]float64, n)
			withKernels(true, func() {
				if !choleskyRank4(l, m.Data, n, rd) {
					t.Fatalf("n=%d fuseMin=%d: got: not positive definite want: a factor", n, fuseMin)
				}
			})
			return l, rd
		}
		gotL, gotRd := run(0)
		wantL, wantRd := run(n + 1)
		if !sameBits(gotL, wantL) || !sameBits(gotRd, wantRd) {
			t.Errorf("n=%d: got: fused panels %v want: the bits of separate panels %v", n, gotL, wantL)
		}
	}
}

func TestVecCholeskyRefusesIndefinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{8, 9, 31, 64, 65} {
		for _, bad := range []int{0, n / 2, n - 1} {
			m := randomSPD(rng, n, 10)
			m.Data[bad*n+bad] = -1
			withKernels(true, func() {
				l, rd := make([]float64, n*n), make([]float64, n)
				if choleskyRank4(l, m.Data, n, rd) {
					t.Errorf("n=%d pivot %d: got: a factor want: not positive definite", n, bad)
				}
				m.Data[bad*n+bad] = math.NaN()
				if choleskyRank4(l, m.Data, n, rd) {
					t.Errorf("n=%d pivot %d NaN: got: a factor want: not positive definite", n, bad)
				}
			})
		}
	}
}

// BenchmarkVecKernels measures each dense kernel on both paths (pure: the
// Go kernels of dense.go; vec: the vectorised ones) in one binary, with the
// achieved GFLOPS (the kernel's flop count over the time per call).
func BenchmarkVecKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{16, 32, 48, 64, 96, 128, 192, 256} {
		m := randomSPD(rng, n, 100)
		a := randomGeneral(rng, n, n)
		l, rd := make([]float64, n*n), make([]float64, n)
		cholesky(l, m.Data, n, rd)
		h, out := make([]float64, n*n), make([]float64, n*n)
		invTransLower(h, l, n, rd)
		x := randomSlice(rng, n)
		eig := newSymEig(n)
		nf := float64(n)
		kernels := []struct {
			name    string
			flops   float64
			run     func()
			vecOnly bool // a vectorised form on its own, at every order
		}{
			{"cholesky", nf * nf * nf / 3, func() { cholesky(out, m.Data, n, rd) }, false},
			{"choleskyRank4", nf * nf * nf / 3, func() { choleskyRank4(out, m.Data, n, rd) }, true},
			{"choleskyRank4Fused", nf * nf * nf / 3, func() {
				defer func(old int) { choleskyFuseMin = old }(choleskyFuseMin)
				choleskyFuseMin = 0
				choleskyRank4(out, m.Data, n, rd)
			}, true},
			{"invTransLower", nf * nf * nf / 3, func() { invTransLower(out, l, n, rd) }, false},
			{"gramUpper", nf * nf * nf / 3, func() { gramUpper(out, h, n) }, false},
			{"syrkRows", nf * nf * (nf + 1), func() { syrkRows(out, a.Data, n, n) }, false},
			{"mulRows", 2 * nf * nf * nf, func() { mulRows(out, a.Data, m.Data, n, n, n) }, false},
			{"solveLower", 2 * nf * nf, func() { solveLower(l, n, rd, x) }, false},
			{"symEig", 4 * nf * nf * nf / 3, func() { eig.extremes(m.Data, 0) }, false},
			{"mulVec", 2 * nf * nf, func() { mulVec(1, a, x, out) }, false},
			{"mirrorUpper", 0, func() { mirrorUpperData(out, n) }, false}, // data movement: ns only
		}
		for _, k := range kernels {
			for _, path := range []string{"pure", "vec"} {
				if (path == "vec" && !haveVecKernels) || (path == "pure" && k.vecOnly) {
					continue
				}
				b.Run(fmt.Sprintf("%s/n=%d/%s", k.name, n, path), func(b *testing.B) {
					withKernels(path == "vec", func() {
						for range b.N {
							k.run()
						}
					})
					if k.flops > 0 {
						b.ReportMetric(k.flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
					}
				})
			}
		}
	}
}

// TestSyrkRowsVecIsRowByRowGemvN holds syrkRowsVec, which takes rows two
// at a time, to the row-by-row matrix–vector products it replaced: every
// entry the same dot product, bit for bit, at every order up to 40 and
// around the blocks of four and eight up to 300, with short and long rows.
func TestSyrkRowsVecIsRowByRowGemvN(t *testing.T) {
	if !haveVecKernels {
		t.Skip("no vector kernels in this build or on this processor")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range primitiveSizes() {
		for _, k := range []int{1, 3, 4, 7, 8, 13, n} {
			a := randomSlice(rng, n*k)
			got := randomSlice(rng, n*n)
			syrkRowsVec(got, a, n, k)
			want := make([]float64, n*n)
			for i := range n {
				gemvNGo(n-i, k, a[i*k:], k, a[i*k:i*k+k], want[i*n+i:i*n+n], false)
			}
			mirrorUpperData(want, n)
			if !sameBits(got, want) {
				t.Errorf("n=%d k=%d: got: a different product from the row-by-row one", n, k)
			}
		}
	}
}

func TestAVX512Allowed(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{{"", true}, {"1", true}, {"on", true}, {"0", false}, {"off", false}} {
		if got := avx512Allowed(tc.v); got != tc.want {
			t.Errorf("%s=%q: got: %v want: %v", AVX512Env, tc.v, got, tc.want)
		}
	}
}
