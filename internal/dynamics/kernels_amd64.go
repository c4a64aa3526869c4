//go:build amd64 && !purego

package dynamics

import (
	"os"

	"golang.org/x/sys/cpu"
)

// haveVecKernels reports whether the AVX2/FMA kernels of kernels_amd64.s
// can run here: the processor has both extensions and the operating system
// saves the YMM registers (golang.org/x/sys/cpu checks both).
var haveVecKernels = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// haveAVX512Kernels reports whether the AVX-512 forms of some kernels
// (kernels_avx512_amd64.s) run here as well: the processor has AVX-512F,
// the operating system saves the ZMM and opmask registers, and the
// environment does not turn them off (AVX512Env).
var haveAVX512Kernels = haveVecKernels && cpu.X86.HasAVX512F && avx512Allowed(os.Getenv(AVX512Env))

// gemvNAVX is gemvNGo in AVX2/FMA (kernels_amd64.s), on raw pointers: the
// caller has checked the bounds.
//
//go:noescape
func gemvNAVX(m, k int, a *float64, lda int, x, y *float64, sub int)

// gemvTAVX is gemvTGo in AVX2/FMA (kernels_amd64.s), on raw pointers: the
// caller has checked the bounds.
//
//go:noescape
func gemvTAVX(m, n int, a *float64, lda int, x, y *float64, sub int)

// gemvNAsm is gemvNAVX with its bounds checked.
func gemvNAsm(m, k int, a []float64, lda int, x, y []float64, sub bool) {
	if m <= 0 {
		return
	}
	checkGemv(m, k, len(a), lda, len(x), len(y), m)
	if k == 0 {
		if !sub {
			clear(y[:m])
		}
		return
	}
	s := 0
	if sub {
		s = 1
	}
	if m4 := m / 4; m4 > 0 {
		if useAVX512Kernels {
			dots4AVX512(m4, k, &a[0], lda, 4*lda, &x[0], 0, &y[0], 4, s)
		} else {
			dots4AVX(m4, k, &a[0], lda, 4*lda, &x[0], 0, &y[0], 4, s)
		}
	}
	if m%4 > 0 {
		i := m &^ 3
		gemvNAVX(m%4, k, &a[i*lda], lda, &x[0], &y[i], s)
	}
}

// gemvTAsm is gemvTAVX with its bounds checked.
func gemvTAsm(m, n int, a []float64, lda int, x, y []float64, sub bool) {
	if m <= 0 || n <= 0 {
		return
	}
	checkGemv(m, n, len(a), lda, len(y), len(x), m)
	s := 0
	if sub {
		s = 1
	}
	gemvTAVX(m, n, &a[0], lda, &x[0], &y[0], s)
}

// dots4AVX is dots4Go in AVX2/FMA (kernels_amd64.s), on raw pointers: the
// caller has checked the bounds.
//
//go:noescape
func dots4AVX(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int, sub int)

// dots4AVX512 is dots4AVX in AVX-512 (kernels_avx512_amd64.s), bit for
// bit, on raw pointers: the caller has checked the bounds.
//
//go:noescape
func dots4AVX512(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int, sub int)

// dots4Asm is dots4AVX512 when the AVX-512 kernels are in use, else
// dots4AVX, with its bounds checked.
func dots4Asm(m, k int, b []float64, ldb int, x []float64, ldx int, y []float64, ldy int, sub bool) {
	if m <= 0 {
		return
	}
	checkDots4(m, k, len(b), ldb, len(x), ldx, len(y), ldy)
	if k == 0 {
		if !sub {
			for r := range m {
				clear(y[r*ldy : r*ldy+4])
			}
		}
		return
	}
	s := 0
	if sub {
		s = 1
	}
	if useAVX512Kernels {
		dots4AVX512(m, k, &b[0], ldb, 0, &x[0], ldx, &y[0], ldy, s)
		return
	}
	dots4AVX(m, k, &b[0], ldb, 0, &x[0], ldx, &y[0], ldy, s)
}

// dots2x2AVX is dots2x2Go in AVX2/FMA (kernels_amd64.s), on raw pointers:
// the caller has checked the bounds.
//
//go:noescape
func dots2x2AVX(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int)

// dots2x2AVX512 is dots2x2AVX in AVX-512 (kernels_avx512_amd64.s), bit
// for bit, on raw pointers: the caller has checked the bounds.
//
//go:noescape
func dots2x2AVX512(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int)

// dots2x2Asm is dots2x2AVX512 when the AVX-512 kernels are in use, else
// dots2x2AVX, with its bounds checked.
func dots2x2Asm(m, k int, b []float64, ldb, bstep int, x []float64, ldx int, y []float64, ldy int) {
	if m <= 0 {
		return
	}
	checkDots2x2(m, k, len(b), ldb, bstep, len(x), ldx, len(y), ldy)
	// A zero-length row still has an address for the kernel to start from.
	var zero [1]float64
	bp, xp := &zero[0], &zero[0]
	if k > 0 {
		bp, xp = &b[0], &x[0]
	}
	if useAVX512Kernels {
		dots2x2AVX512(m, k, bp, ldb, bstep, xp, ldx, &y[0], ldy)
		return
	}
	dots2x2AVX(m, k, bp, ldb, bstep, xp, ldx, &y[0], ldy)
}

// rank4LowerAVX is rank4LowerGo in AVX2/FMA (kernels_amd64.s), on raw
// pointers: the caller has checked the bounds.
//
//go:noescape
func rank4LowerAVX(m, r0 int, a *float64, lda int, p *float64, ldp int, c *[10]float64)

// rank4LowerAVX512 is rank4LowerAVX in AVX-512 (kernels_avx512_amd64.s),
// bit for bit, on raw pointers: the caller has checked the bounds.
//
//go:noescape
func rank4LowerAVX512(m, r0 int, a *float64, lda int, p *float64, ldp int, c *[10]float64)

// rank4LowerAsm is rank4LowerAVX512 when the AVX-512 kernels are in use,
// else rank4LowerAVX, with its bounds checked.
func rank4LowerAsm(m, r0 int, a []float64, lda int, p []float64, ldp int, c *[10]float64) {
	if r0 >= m {
		return
	}
	checkRank4Lower(m, r0, len(a), lda, len(p), ldp, c != nil)
	if useAVX512Kernels {
		rank4LowerAVX512(m, r0, &a[0], lda, &p[0], ldp, c)
		return
	}
	rank4LowerAVX(m, r0, &a[0], lda, &p[0], ldp, c)
}

// panel4AVX is panel4Go in AVX2/FMA (kernels_amd64.s) for a multiple of
// four rows, on raw pointers: the caller has checked the bounds.
//
//go:noescape
func panel4AVX(m int, a *float64, lda int, t *float64, ldt int, c *[10]float64)

// panel4Asm is panel4AVX with its bounds checked, the rows after the last
// multiple of four by panel4Go (the same operations).
func panel4Asm(m int, a []float64, lda int, t []float64, ldt int, c *[10]float64) {
	if m <= 0 {
		return
	}
	checkPanel4(m, len(a), lda, len(t), ldt)
	m4 := m &^ 3
	if m4 > 0 {
		panel4AVX(m4, &a[0], lda, &t[0], ldt, c)
	}
	if m4 < m {
		panel4Go(m-m4, a[m4*lda:], lda, t[m4:], ldt, c)
	}
}

// syrLowerAVX is syrLowerGo in AVX2/FMA (kernels_amd64.s), on raw
// pointers: the caller has checked the bounds.
//
//go:noescape
func syrLowerAVX(n int, a *float64, lda int, x *float64, alpha float64, d *float64, ldd int)

// syrLowerAVX512 is syrLowerAVX in AVX-512 (kernels_avx512_amd64.s), bit
// for bit, on raw pointers: the caller has checked the bounds.
//
//go:noescape
func syrLowerAVX512(n int, a *float64, lda int, x *float64, alpha float64, d *float64, ldd int)

// syrLowerAsm is syrLowerAVX512 when the AVX-512 kernels are in use, else
// syrLowerAVX, with its bounds checked.
func syrLowerAsm(n int, a []float64, lda int, x []float64, alpha float64, d []float64, ldd int) {
	if n <= 0 {
		return
	}
	checkSyrLower(n, len(a), lda, len(x), len(d), ldd)
	if useAVX512Kernels {
		syrLowerAVX512(n, &a[0], lda, &x[0], alpha, &d[0], ldd)
		return
	}
	syrLowerAVX(n, &a[0], lda, &x[0], alpha, &d[0], ldd)
}

// rank2PassAVX is rank2PassGo in AVX2/FMA (kernels_amd64.s), on raw
// pointers: the caller has checked the bounds.
//
//go:noescape
func rank2PassAVX(n, i0 int, a *float64, lda int, vo, wo, v, p *float64)

// rank2PassAsm is rank2PassAVX with its bounds checked.
func rank2PassAsm(n, i0 int, a []float64, lda int, vo, wo, v, p []float64) {
	if i0+1 >= n {
		return
	}
	checkRank2Pass(n, i0, len(a), lda, len(vo), len(wo), len(v), len(p))
	rank2PassAVX(n, i0, &a[0], lda, &vo[0], &wo[0], &v[0], &p[0])
}

// solveLowerAVX is solveLowerVecGo in AVX2/FMA (kernels_amd64.s), on raw
// pointers: the caller has checked the bounds.
//
//go:noescape
func solveLowerAVX(n int, l *float64, ldl int, rdiag, x *float64)

// solveLowerAsm is solveLowerAVX with its bounds checked.
func solveLowerAsm(l []float64, n int, rdiag, x []float64) {
	if n <= 0 {
		return
	}
	l, rdiag, x = l[:n*n], rdiag[:n], x[:n]
	solveLowerAVX(n, &l[0], n, &rdiag[0], &x[0])
}

// mirrorTilesAVX copies, for each band of eight rows i0 < n8 (a multiple
// of eight) and each j0 from i0+8 below n4 (multiples of four), the 8×4
// block of the n×n a at rows i0…, columns j0… transposed onto rows j0…,
// columns i0… (kernels_amd64.s), on a raw pointer: the caller has checked
// the bounds.
//
//go:noescape
func mirrorTilesAVX(a *float64, n, n8, n4 int)

// mirrorTilesAsm is mirrorTilesAVX with its bounds checked.
func mirrorTilesAsm(a []float64, n, n8, n4 int) {
	if n8 < 8 || n4 <= 8 {
		return
	}
	if n4 > n || n8 > n4 || n4%4 != 0 || n8%8 != 0 || len(a) < n*n {
		panic("dynamics: mirrorTiles: bad operands")
	}
	mirrorTilesAVX(&a[0], n, n8, n4)
}
