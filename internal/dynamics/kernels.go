package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// This file holds the vectorised forms of the dense kernels of dense.go.
// They are built on two matrix–vector kernels, gemvN (dot products of rows
// with a vector) and gemvT (a combination of rows added to a vector), which
// run in AVX2/FMA assembly on amd64 processors that have it
// (kernels_amd64.s, chosen at run time; some kernels also have AVX-512
// forms, kernels_avx512_amd64.s, which give the same bits) and in Go
// elsewhere. The triangular
// recurrences (Cholesky, L⁻ᵀ, the solves) are blocked by four: the products
// with everything before a block of four unknowns are one gemvN, and only
// the small triangle inside the block is left to scalar code; the Cholesky
// factorisation is right-looking instead, its trailing update one
// rank-four kernel (rank4Lower) per block.
//
// The pure-Go kernels of dense.go stay the fallback: the purego build tag,
// another architecture or a processor without AVX2/FMA gets them, and the
// tests use them as the reference. The two paths round differently (fused
// multiply–adds, sums in four lanes), so a point's output depends on which
// path ran; each path on its own is deterministic.

// useVecKernels selects the vectorised kernels; it is haveVecKernels, and
// tests switch it to compare the two paths in one binary.
var useVecKernels = haveVecKernels

// AVX512Env names the environment variable that turns the AVX-512 forms
// of the kernels off when set to 0 (they are on wherever the processor has
// AVX-512). Both forms give the same results, bit for bit: the setting
// only matters for speed, on processors that lower their clock for wide
// vector instructions.
const AVX512Env = "ISWEEP_AVX512"

// avx512Allowed reports whether the value of AVX512Env leaves the AVX-512
// kernels on: anything but "0" and "off".
func avx512Allowed(v string) bool { return v != "0" && v != "off" }

// useAVX512Kernels selects, among the vector kernels, the AVX-512 forms
// that some have (the same results, bit for bit, in wider registers); it
// is haveAVX512Kernels, and tests switch it to check each form.
var useAVX512Kernels = haveAVX512Kernels

// The smallest orders n for which each dense kernel takes its vectorised
// form, measured with BenchmarkVecKernels on an AMD EPYC (AVX2/FMA): below
// them the call overhead of the assembly and the scalar triangles inside
// the blocks outweigh the vector speed (16 is the smallest order measured:
// there choleskyRank4, invTransLowerVec and gramUpperVec are already
// faster than the pure-Go kernels and gonum's Dpotf2).
const (
	vecMinCholesky = 16
	vecMinInverse  = 16 // invTransLower
	vecMinGram     = 16 // gramUpper
	vecMinProduct  = 8  // syrkRows, mulRows
	vecMinSolve    = 32 // solveLower
	vecMinEigen    = 16 // the rank-two update of symEig.tridiagonalize
	vecMinGemv     = 8  // mulVec
	vecMinSyr      = 8  // the rank-one update of the direct online step
	vecMinStages   = 64 // the stages of dopri5 (the length of its state)
	vecMinMirror   = 16 // mirrorUpperData
)

// useVec reports whether a dense kernel whose vectorised form pays from
// order min on takes it at order n.
func useVec(n, min int) bool { return useVecKernels && n >= min }

// mulVec sets y = alpha·A·x for the general A (y and x as long as A's
// rows and columns): gemvN, then a scaling unless alpha = 1, when the
// vector kernels pay (useVec on the number of columns, vecMinGemv), else
// gonum's blas64.Gemv (the pure-Go numerics).
func mulVec(alpha float64, a blas64.General, x, y []float64) {
	if !useVec(a.Cols, vecMinGemv) {
		blas64.Gemv(blas.NoTrans, alpha, a, vec(x), 0, vec(y))
		return
	}
	y = y[:a.Rows]
	gemvN(a.Rows, a.Cols, a.Data, a.Stride, x, y, false)
	if alpha != 1 {
		for i := range y {
			y[i] *= alpha
		}
	}
}

// dotVec returns ⟨x, y[:len(x)]⟩ by gemvN (eight lanes when the vector
// kernels are in use).
func dotVec(x, y []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var out [1]float64
	gemvN(1, len(x), x, len(x), y, out[:], false)
	return out[0]
}

// checkGemv panics unless a matrix of rows rows and cols columns with row
// stride lda fits in la values, the vector read has lx ≥ cols values and
// the vector written ly ≥ ny.
func checkGemv(rows, cols, la, lda, lx, ly, ny int) {
	if cols < 0 || lda < cols || la < (rows-1)*lda+cols || lx < cols || ly < ny {
		panic("dynamics: gemv: slice too short")
	}
}

// gemvN sets y[i] to ⟨a[i*lda:i*lda+k], x[:k]⟩ for i < m, or subtracts
// that from y[i] when sub is set: gemvNAsm when the vector kernels are in
// use, else gemvNGo.
func gemvN(m, k int, a []float64, lda int, x, y []float64, sub bool) {
	if useVecKernels {
		gemvNAsm(m, k, a, lda, x, y, sub)
		return
	}
	gemvNGo(m, k, a, lda, x, y, sub)
}

// gemvT adds Σ_{r<m} x[r]·a[r*lda:r*lda+n] to y[:n], or subtracts it when
// sub is set: gemvTAsm when the vector kernels are in use, else gemvTGo.
func gemvT(m, n int, a []float64, lda int, x, y []float64, sub bool) {
	if useVecKernels {
		gemvTAsm(m, n, a, lda, x, y, sub)
		return
	}
	gemvTGo(m, n, a, lda, x, y, sub)
}

// checkDots4 panics unless the operands of dots4 fit their slices.
func checkDots4(m, k, lb, ldb, lx, ldx, ly, ldy int) {
	if k < 0 || ldb < k || ldx < k || ldy < 4 || lb < 3*ldb+k || lx < (m-1)*ldx+k || ly < (m-1)*ldy+4 {
		panic("dynamics: dots4: slice too short")
	}
}

// dots4Go is the Go model of dots4AVX: gemvNGo on the four rows of b, once
// per row of x.
func dots4Go(m, k int, b []float64, ldb int, x []float64, ldx int, y []float64, ldy int, sub bool) {
	if m <= 0 {
		return
	}
	checkDots4(m, k, len(b), ldb, len(x), ldx, len(y), ldy)
	for r := range m {
		gemvNGo(4, k, b, ldb, x[r*ldx:r*ldx+k], y[r*ldy:r*ldy+4], sub)
	}
}

// dots4 sets y[r*ldy+c] to ⟨b[c*ldb:c*ldb+k], x[r*ldx:r*ldx+k]⟩ for
// r < m and c < 4 (the four rows of b against m rows of x), or subtracts
// that when sub is set: dots4Asm when the vector kernels are in use, else
// dots4Go.
func dots4(m, k int, b []float64, ldb int, x []float64, ldx int, y []float64, ldy int, sub bool) {
	if useVecKernels {
		dots4Asm(m, k, b, ldb, x, ldx, y, ldy, sub)
		return
	}
	dots4Go(m, k, b, ldb, x, ldx, y, ldy, sub)
}

// dots2x2 sets y[2j+c] to ⟨b[j*bstep+c*ldb:…+k], x[:k]⟩ and y[ldy+2j+c] to
// ⟨b[j*bstep+c*ldb:…+k], x[ldx:ldx+k]⟩ for j < m and c < 2: m pairs of rows
// of b against two rows of x, each dot summed as by gemvN (the same bits):
// dots2x2Asm when the vector kernels are in use, else dots2x2Go.
func dots2x2(m, k int, b []float64, ldb, bstep int, x []float64, ldx int, y []float64, ldy int) {
	if useVecKernels {
		dots2x2Asm(m, k, b, ldb, bstep, x, ldx, y, ldy)
		return
	}
	dots2x2Go(m, k, b, ldb, bstep, x, ldx, y, ldy)
}

// checkDots2x2 panics unless the operands of dots2x2 fit their slices and
// the two rows of y do not overlap.
func checkDots2x2(m, k, lb, ldb, bstep, lx, ldx, ly, ldy int) {
	if k < 0 || ldb < k || bstep < 0 || ldx < 0 || ldy < 2*m ||
		(k > 0 && (lb < (m-1)*bstep+ldb+k || lx < ldx+k)) || ly < ldy+2*m {
		panic("dynamics: dots2x2: slice too short")
	}
}

// dots2x2Go is the Go model of dots2x2AVX: gemvNGo on each pair of rows of
// b, once per row of x.
func dots2x2Go(m, k int, b []float64, ldb, bstep int, x []float64, ldx int, y []float64, ldy int) {
	if m <= 0 {
		return
	}
	checkDots2x2(m, k, len(b), ldb, bstep, len(x), ldx, len(y), ldy)
	if k == 0 {
		clear(y[:2*m])
		clear(y[ldy : ldy+2*m])
		return
	}
	for j := range m {
		for r := range 2 {
			gemvNGo(2, k, b[j*bstep:], ldb, x[r*ldx:r*ldx+k], y[r*ldy+2*j:r*ldy+2*j+2], false)
		}
	}
}

// gemvNGo is the Go model of gemvNAVX, operation for operation (math.FMA
// for each fused multiply–add), so that the tests can hold the assembly to
// it bit for bit: per row, eight accumulators (two vectors of four lanes)
// over blocks of eight columns, one block of four into the first vector,
// the lanes summed as ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)), then the
// remaining columns fused one at a time.
func gemvNGo(m, k int, a []float64, lda int, x, y []float64, sub bool) {
	if m <= 0 {
		return
	}
	checkGemv(m, k, len(a), lda, len(x), len(y), m)
	k8, k4 := k&^7, k&^3
	for i := range m {
		row := a[i*lda : i*lda+k]
		var u, v [4]float64
		p := 0
		for ; p < k8; p += 8 {
			for l := range 4 {
				u[l] = math.FMA(row[p+l], x[p+l], u[l])
				v[l] = math.FMA(row[p+4+l], x[p+4+l], v[l])
			}
		}
		if p < k4 {
			for l := range 4 {
				u[l] = math.FMA(row[p+l], x[p+l], u[l])
			}
			p += 4
		}
		s := ((u[0] + v[0]) + (u[2] + v[2])) + ((u[1] + v[1]) + (u[3] + v[3]))
		for ; p < k; p++ {
			s = math.FMA(row[p], x[p], s)
		}
		if sub {
			s = y[i] - s
		}
		y[i] = s
	}
}

// gemvTGo is the Go model of gemvTAVX, operation for operation: every y[j]
// receives x[r]·a[r][j] for r = 0, 1, … in order, each by one fused
// multiply–add (with −x[r] when sub is set).
func gemvTGo(m, n int, a []float64, lda int, x, y []float64, sub bool) {
	if m <= 0 || n <= 0 {
		return
	}
	checkGemv(m, n, len(a), lda, len(y), len(x), m)
	y = y[:n]
	for r := range m {
		c := x[r]
		if sub {
			c = -c
		}
		row := a[r*lda : r*lda+n]
		for j, v := range row {
			y[j] = math.FMA(v, c, y[j])
		}
	}
}

// finishRow finishes the entries j0 ≤ j < j1 of the row r of a triangular
// recurrence against the rows of the n×n lower triangular l, whose
// products with the columns before j0 have been taken from r already:
// r[j] = (r[j] − ⟨r[j0:j], L[j][j0:j]⟩)·rdiag[j].
func finishRow(r, l []float64, n, j0, j1 int, rdiag []float64) {
	for j := j0; j < j1; j++ {
		s := r[j]
		for t, v := range l[j*n+j0 : j*n+j] {
			s -= v * r[j0+t]
		}
		r[j] = s * rdiag[j]
	}
}

// invTransLowerVec is invTransLower by blocks of four columns:
// H[i][j] = (δᵢⱼ − ⟨H[i][i:j], L[j][i:j]⟩)/L[j][j]. For each block
// j0 ≤ j < j0+4, the rows of the block start inside it; the rows above it,
// four at a time from i0 (H[i][i0:i] is zero), take their products with
// the columns i0 ≤ q < j0 in one dots4 and then finish the small triangle
// inside the block (independent recurrences, which overlap).
func invTransLowerVec(h, l []float64, n int, rdiag []float64) {
	h, l, rdiag = h[:n*n], l[:n*n], rdiag[:n]
	for j0 := 0; j0 < n; j0 += 4 {
		j1 := min(j0+4, n)
		for i0 := 0; i0 < j0; i0 += 4 {
			if j1-j0 == 4 {
				dots4(4, j0-i0, l[j0*n+i0:], n, h[i0*n+i0:], n, h[i0*n+j0:], n, false)
				// The triangle: finishRow(r, l, n, j0, j1, rdiag) on
				// the negated products, written out.
				d := rdiag[j0 : j0+4 : j0+4]
				q1, q2, q3 := l[(j0+1)*n+j0:(j0+1)*n+j0+1], l[(j0+2)*n+j0:(j0+2)*n+j0+2], l[(j0+3)*n+j0:(j0+3)*n+j0+3]
				for i := i0; i < i0+4; i++ {
					r := h[i*n+j0 : i*n+j0+4]
					x0 := -r[0] * d[0]
					x1 := (-r[1] - x0*q1[0]) * d[1]
					x2 := (-r[2] - x0*q2[0] - x1*q2[1]) * d[2]
					x3 := (-r[3] - x0*q3[0] - x1*q3[1] - x2*q3[2]) * d[3]
					r[0], r[1], r[2], r[3] = x0, x1, x2, x3
				}
				continue
			}
			for i := i0; i < i0+4; i++ {
				gemvN(j1-j0, j0-i0, l[j0*n+i0:], n, h[i*n+i0:i*n+j0], h[i*n+j0:i*n+j1], false)
				r := h[i*n : i*n+n]
				for j := j0; j < j1; j++ {
					r[j] = -r[j]
				}
				finishRow(r, l, n, j0, j1, rdiag)
			}
		}
		for i := j0; i < j1; i++ {
			r := h[i*n : i*n+n]
			clear(r[:j1])
			r[i] = 1
			finishRow(r, l, n, i, j1, rdiag)
		}
	}
}

// gramUpperVec is gramUpper by blocks of four columns: for the block
// j0 ≤ j < j0+4, P[i][j] = ⟨H[i][j0:], H[j][j0:]⟩ for every row i < j0+4
// (H[j][j0:j] is zero, and so is H[i][j0:i] for the rows inside the
// block), one dots4 per block (gemvN per row for a last, narrower block).
func gramUpperVec(p, h []float64, n int) {
	p, h = p[:n*n], h[:n*n]
	for j0 := 0; j0 < n; j0 += 4 {
		j1 := min(j0+4, n)
		if j1-j0 == 4 {
			// One call for every row: dots2x2 on pairs of rows, a call
			// per pair, was 35 % slower at n = 64 and no faster at 256.
			dots4(j1, n-j0, h[j0*n+j0:], n, h[j0:], n, p[j0:], n, false)
			continue
		}
		for i := 0; i < j1; i++ {
			gemvN(j1-j0, n-j0, h[j0*n+j0:], n, h[i*n+j0:i*n+n], p[i*n+j0:i*n+j1], false)
		}
	}
	mirrorUpperData(p, n)
}

// syrkRowsVec is syrkRows by pairs of rows of the upper triangle: rows i
// and i+1 take their entries right of the diagonal block two columns at a
// time from dots2x2, which loads a column pair once for both rows. Every
// entry is the dot product gemvN would give, bit for bit.
func syrkRowsVec(c, a []float64, n, k int) {
	c, a = c[:n*n], a[:n*k]
	i := 0
	for ; i+2 <= n; i += 2 {
		ri, ri1 := a[i*k:i*k+k], a[(i+1)*k:(i+1)*k+k]
		gemvN(2, k, a[i*k:], k, ri, c[i*n+i:i*n+i+2], false)
		gemvN(1, k, ri1, k, ri1, c[(i+1)*n+i+1:(i+1)*n+i+2], false)
		j := i + 2
		if pairs := (n - j) / 2; pairs > 0 {
			dots2x2(pairs, k, a[j*k:], k, 2*k, a[i*k:], k, c[i*n+j:], n)
			j += 2 * pairs
		}
		if j < n {
			var last [2]float64
			gemvN(2, k, a[i*k:], k, a[j*k:j*k+k], last[:], false)
			c[i*n+j], c[(i+1)*n+j] = last[0], last[1]
		}
	}
	if i < n {
		ri := a[i*k : i*k+k]
		gemvN(1, k, ri, k, ri, c[i*n+i:i*n+i+1], false)
	}
	mirrorUpperData(c, n)
}

// mulRowsVec is mulRows with gemvT: row i of C is Σ_p A[i][p]·B[p].
func mulRowsVec(c, a, b []float64, m, n, k int) {
	c, a, b = c[:m*n], a[:m*k], b[:k*n]
	for i := 0; i < m; i++ {
		row := c[i*n : i*n+n]
		clear(row)
		gemvT(k, n, b, n, a[i*k:i*k+k], row, false)
	}
}

// solveLowerVec is solveLower by blocks of four unknowns, in one call of
// solveLowerAsm when the vector kernels are in use, else solveLowerVecGo.
func solveLowerVec(l []float64, n int, rdiag, x []float64) {
	if useVecKernels {
		solveLowerAsm(l, n, rdiag, x)
		return
	}
	solveLowerVecGo(l, n, rdiag, x)
}

// solveLowerVecGo is solveLowerVec in Go, the model of solveLowerAVX: the
// forward substitution takes the products with the solved unknowns before
// a block in one gemvN, the back substitution subtracts a solved block
// from the unknowns before it in one gemvT.
func solveLowerVecGo(l []float64, n int, rdiag, x []float64) {
	l, rdiag, x = l[:n*n], rdiag[:n], x[:n]
	for i0 := 0; i0 < n; i0 += 4 {
		i1 := min(i0+4, n)
		if i0 > 0 {
			gemvN(i1-i0, i0, l[i0*n:], n, x, x[i0:i1], true)
		}
		for i := i0; i < i1; i++ {
			s := x[i]
			for t, v := range l[i*n+i0 : i*n+i] {
				s -= v * x[i0+t]
			}
			x[i] = s * rdiag[i]
		}
	}
	for i1 := n; i1 > 0; {
		i0 := max(i1-4, 0)
		for i := i1 - 1; i >= i0; i-- {
			xi := x[i] * rdiag[i]
			x[i] = xi
			for t, v := range l[i*n+i0 : i*n+i] {
				x[i0+t] -= v * xi
			}
		}
		if i0 > 0 {
			gemvT(i1-i0, i0, l[i0*n:], n, x[i0:i1], x[:i0], true)
		}
		i1 = i0
	}
}

// rank4Lower subtracts from the rows r0 ≤ r < m of the lower triangle of
// the m×m a (stride lda) the rank-four product PᵀP of the four rows of p
// (stride ldp): a[r][j] −= Σ_{k<4} P[k][r]·P[k][j] for j ≤ r. When c is not
// nil, each row r then takes the panel4 step with c on its first four
// entries, written transposed into the four rows of p after them:
// p[(4+k)*ldp+r] (the next block of a right-looking Cholesky
// factorisation, while the row is at hand). rank4LowerAsm when the vector
// kernels are in use, else rank4LowerGo.
func rank4Lower(m, r0 int, a []float64, lda int, p []float64, ldp int, c *[10]float64) {
	if useVecKernels {
		rank4LowerAsm(m, r0, a, lda, p, ldp, c)
		return
	}
	rank4LowerGo(m, r0, a, lda, p, ldp, c)
}

// checkRank4Lower panics unless the operands of rank4Lower fit their
// slices (with the rows after p's four when panel is set).
func checkRank4Lower(m, r0, la, lda, lp, ldp int, panel bool) {
	rows := 3
	if panel {
		rows = 7
		if m < 4 {
			panic("dynamics: rank4Lower: a panel needs four columns")
		}
	}
	if r0 < 0 || lda < m || ldp < m || la < (m-1)*lda+m || lp < rows*ldp+m {
		panic("dynamics: rank4Lower: slice too short")
	}
}

// rank4LowerGo is the Go model of rank4LowerAVX: per row r, gemvTGo of the
// four rows of p with the coefficients P[0…3][r] on the r+1 entries
// a[r][:r+1], subtracted, then panel4Go on the row when c is not nil.
func rank4LowerGo(m, r0 int, a []float64, lda int, p []float64, ldp int, c *[10]float64) {
	if r0 >= m {
		return
	}
	checkRank4Lower(m, r0, len(a), lda, len(p), ldp, c != nil)
	for r := r0; r < m; r++ {
		k := [4]float64{p[r], p[ldp+r], p[2*ldp+r], p[3*ldp+r]}
		gemvTGo(4, r+1, p, ldp, k[:], a[r*lda:r*lda+r+1], true)
		if c != nil {
			panel4Go(1, a[r*lda:], lda, p[4*ldp+r:], ldp, c)
		}
	}
}

// syrLower adds alpha·x xᵀ to the lower triangle of the n×n a (stride
// lda), a[i][j] += (alpha·x[i])·x[j] for j ≤ i < n, and writes each
// updated entry to the same place in d (stride ldd) as well: the copy a
// Cholesky factorisation of a would make first. syrLowerAsm when the
// vector kernels are in use, else syrLowerGo.
func syrLower(n int, a []float64, lda int, x []float64, alpha float64, d []float64, ldd int) {
	if useVecKernels {
		syrLowerAsm(n, a, lda, x, alpha, d, ldd)
		return
	}
	syrLowerGo(n, a, lda, x, alpha, d, ldd)
}

// checkSyrLower panics unless the operands of syrLower fit their slices.
func checkSyrLower(n, la, lda, lx, ld, ldd int) {
	if lda < n || la < (n-1)*lda+n || lx < n || ldd < n || ld < (n-1)*ldd+n {
		panic("dynamics: syrLower: slice too short")
	}
}

// syrLowerGo is the Go model of syrLowerAVX: each entry one fused
// multiply–add with h = alpha·x[i], stored in a and in d.
func syrLowerGo(n int, a []float64, lda int, x []float64, alpha float64, d []float64, ldd int) {
	if n <= 0 {
		return
	}
	checkSyrLower(n, len(a), lda, len(x), len(d), ldd)
	for i := range n {
		h := alpha * x[i]
		row, drow := a[i*lda:i*lda+i+1], d[i*ldd:i*ldd+i+1]
		for j, xj := range x[:i+1] {
			row[j] = math.FMA(h, xj, row[j])
			drow[j] = row[j]
		}
	}
}

// panel4 finishes the entries of a block of four columns of a Cholesky
// factor in m rows below the block: for r < m, the four entries at
// a[r*lda:] become x0 = a0·d0, x1 = (a1 − q10·x0)·d1,
// x2 = (a2 − q20·x0 − q21·x1)·d2, x3 = (a3 − q30·x0 − q31·x1 − q32·x2)·d3
// with c = (d0, d1, d2, d3, q10, q20, q21, q30, q31, q32) (the reciprocal
// diagonal and the strict lower triangle of the block's 4×4 diagonal
// factor), and are also written transposed, x_k into t[k*ldt+r]:
// panel4Asm when the vector kernels are in use, else panel4Go.
func panel4(m int, a []float64, lda int, t []float64, ldt int, c *[10]float64) {
	if useVecKernels {
		panel4Asm(m, a, lda, t, ldt, c)
		return
	}
	panel4Go(m, a, lda, t, ldt, c)
}

// checkPanel4 panics unless the operands of panel4 fit their slices.
func checkPanel4(m, la, lda, lt, ldt int) {
	if lda < 4 || ldt < m || la < (m-1)*lda+4 || lt < 3*ldt+m {
		panic("dynamics: panel4: slice too short")
	}
}

// panel4Go is the Go model of panel4AVX, operation for operation: each
// subtraction is a fused multiply–add with the negated product.
func panel4Go(m int, a []float64, lda int, t []float64, ldt int, c *[10]float64) {
	if m <= 0 {
		return
	}
	checkPanel4(m, len(a), lda, len(t), ldt)
	for r := range m {
		row := a[r*lda : r*lda+4]
		x0 := row[0] * c[0]
		x1 := math.FMA(-x0, c[4], row[1]) * c[1]
		x2 := math.FMA(-x1, c[6], math.FMA(-x0, c[5], row[2])) * c[2]
		x3 := math.FMA(-x2, c[9], math.FMA(-x1, c[8], math.FMA(-x0, c[7], row[3]))) * c[3]
		row[0], row[1], row[2], row[3] = x0, x1, x2, x3
		t[r], t[ldt+r], t[2*ldt+r], t[3*ldt+r] = x0, x1, x2, x3
	}
}

// rank2Pass is one pass of symEig.tridiagonalize over the rows
// i0 ≤ i < n of the upper triangle of the n×n a (stride lda), in pairs
// (i, i+1) while i+1 < n (a last odd row is left to the caller): the
// pending update (vo, wo) is applied to each row from its diagonal on,
// and the rows' products with v are added to p (p[j] += A[i][j]·v[i] over
// the upper triangle and its mirror). rank2PassAsm when the vector kernels
// are in use, else rank2PassGo.
func rank2Pass(n, i0 int, a []float64, lda int, vo, wo, v, p []float64) {
	if useVecKernels {
		rank2PassAsm(n, i0, a, lda, vo, wo, v, p)
		return
	}
	rank2PassGo(n, i0, a, lda, vo, wo, v, p)
}

// checkRank2Pass panics unless the operands of rank2Pass fit their slices.
func checkRank2Pass(n, i0, la, lda, lvo, lwo, lv, lp int) {
	if i0 < 0 || lda < n || la < (n-1)*lda+n || lvo < n || lwo < n || lv < n || lp < n {
		panic("dynamics: rank2Pass: slice too short")
	}
}

// rank2PassGo is the Go model of rank2PassAVX, operation for operation:
// per pair, the entries (i, i), (i, i+1) and (i+1, i+1) by the fused
// multiply–adds of rank2PairGo, then rank2PairGo on the columns from i+2.
func rank2PassGo(n, i0 int, a []float64, lda int, vo, wo, v, p []float64) {
	if i0+1 >= n {
		return
	}
	checkRank2Pass(n, i0, len(a), lda, len(vo), len(wo), len(v), len(p))
	for i := i0; i+1 < n; i += 2 {
		r0 := a[i*lda+i : i*lda+n]
		r1 := a[(i+1)*lda+i+1 : (i+1)*lda+n]
		nv0, nw0, nv1, nw1 := -vo[i], -wo[i], -vo[i+1], -wo[i+1]
		u0, u1 := v[i], v[i+1]
		d0 := math.FMA(nw0, vo[i], math.FMA(nv0, wo[i], r0[0]))
		r0[0] = d0
		s0 := d0 * u0
		x := math.FMA(nw0, vo[i+1], math.FMA(nv0, wo[i+1], r0[1]))
		r0[1] = x
		s0 = math.FMA(x, v[i+1], s0)
		p[i+1] = math.FMA(x, u0, p[i+1])
		d1 := math.FMA(nw1, vo[i+1], math.FMA(nv1, wo[i+1], r1[0]))
		r1[0] = d1
		s1 := d1 * u1
		t0, t1 := rank2PairGo(r0[2:], r1[1:], vo[i+2:n], wo[i+2:n], v[i+2:n], p[i+2:n], vo[i], wo[i], vo[i+1], wo[i+1], u0, u1)
		p[i] += s0 + t0
		p[i+1] += s1 + t1
	}
}

// rank2PairGo is the part of rank2PassGo after the first three entries of
// a pair of rows r0, r1 (from column i+2 on): for j < len(r0),
// r0[j] −= v0·wo[j] + w0·vo[j] and r1[j] −= v1·wo[j] + w1·vo[j], each two
// fused multiply–adds with the negated coefficients (wo first), then
// p[j] += r0[j]·u0 + r1[j]·u1, two more (row r0 first); it returns
// s0 = ⟨r0, v⟩ and s1 = ⟨r1, v⟩ of the updated rows, in four lanes (lane
// j mod 4) over the first len(r0)&^3 entries, summed as (l0+l2) + (l1+l3),
// then the remaining entries fused one at a time.
func rank2PairGo(r0, r1, vo, wo, v, p []float64, v0, w0, v1, w1, u0, u1 float64) (s0, s1 float64) {
	m := len(r0)
	r1, vo, wo, v, p = r1[:m], vo[:m], wo[:m], v[:m], p[:m]
	m4 := m &^ 3
	var a0, a1 [4]float64
	for j := range m {
		x0 := math.FMA(-v0, wo[j], r0[j])
		x0 = math.FMA(-w0, vo[j], x0)
		x1 := math.FMA(-v1, wo[j], r1[j])
		x1 = math.FMA(-w1, vo[j], x1)
		r0[j], r1[j] = x0, x1
		if j < m4 {
			a0[j%4] = math.FMA(x0, v[j], a0[j%4])
			a1[j%4] = math.FMA(x1, v[j], a1[j%4])
		}
		p[j] = math.FMA(x0, u0, p[j])
		p[j] = math.FMA(x1, u1, p[j])
	}
	s0 = (a0[0] + a0[2]) + (a0[1] + a0[3])
	s1 = (a1[0] + a1[2]) + (a1[1] + a1[3])
	for j := m4; j < m; j++ {
		s0 = math.FMA(r0[j], v[j], s0)
		s1 = math.FMA(r1[j], v[j], s1)
	}
	return s0, s1
}

// choleskyRank4 is cholesky right-looking by blocks of four columns: the
// 4×4 diagonal block is factored, then the rows below it (panel4: each a
// short recurrence with that block), which are also written transposed
// into the strict upper triangle of l (rows j0…j0+3, where the four
// columns lie contiguous), and their product is taken from the trailing
// lower triangle by rank4Lower. From n = choleskyFuseMin on, the rows of
// the next diagonal block come first, which is then factored, then the
// rows below it, each of which takes its panel step for the next block in
// the same pass while the row is in the cache (panel4 walks down a column,
// which in a matrix with a stride of a power of two, as for n = 256,
// misses the first-level cache at every row). The strict upper triangle of
// l is overwritten.
func choleskyRank4(l, m []float64, n int, rdiag []float64) bool {
	l, m = l[:n*n], m[:n*n]
	for i := 0; i < n; i++ {
		copy(l[i*n:i*n+i+1], m[i*n:i*n+i+1])
	}
	return choleskyRank4Held(l, n, rdiag)
}

// choleskyRank4Held is choleskyRank4 of the matrix whose lower triangle l
// holds already (the copy choleskyRank4 makes first).
func choleskyRank4Held(l []float64, n int, rdiag []float64) bool {
	l, rdiag = l[:n*n], rdiag[:n]
	if !factorDiagonal(l, n, 0, rdiag) {
		return false
	}
	if n > 4 {
		c := panelCoefficients(l, n, 0, rdiag)
		panel4(n-4, l[4*n:], n, l[4:], n, &c)
	}
	for j0 := 0; j0+4 < n; j0 += 4 {
		// The panel of the block j0 is in place (rows below it, and
		// transposed in rows j0…j0+3 from column j1 on).
		j1 := j0 + 4
		a, p := l[j1*n+j1:], l[j0*n+j1:]
		if n-j1 <= 4 {
			rank4Lower(n-j1, 0, a, n, p, n, nil)
			return factorDiagonal(l, n, j1, rdiag)
		}
		if n < choleskyFuseMin {
			rank4Lower(n-j1, 0, a, n, p, n, nil)
			if !factorDiagonal(l, n, j1, rdiag) {
				return false
			}
			c := panelCoefficients(l, n, j1, rdiag)
			panel4(n-j1-4, l[(j1+4)*n+j1:], n, l[j1*n+j1+4:], n, &c)
			continue
		}
		rank4Lower(4, 0, a, n, p, n, nil) // rows j1…j1+3
		if !factorDiagonal(l, n, j1, rdiag) {
			return false
		}
		c := panelCoefficients(l, n, j1, rdiag)
		rank4Lower(n-j1, 4, a, n, p, n, &c)
	}
	return true
}

// choleskyFuseMin is the smallest order for which choleskyRank4 takes the
// panel steps inside rank4Lower; below it a separate panel4 (four rows at
// a time in vector registers) is faster. Both do the same operations.
var choleskyFuseMin = 160

// factorDiagonal factors the diagonal block of choleskyRank4 at j0 (four
// rows, or fewer at the end), whose products with the earlier columns have
// been taken: false unless it is positive definite.
func factorDiagonal(l []float64, n, j0 int, rdiag []float64) bool {
	if j0+4 <= n {
		return factorDiagonal4(l, n, j0, rdiag)
	}
	for i := j0; i < n; i++ {
		r := l[i*n : i*n+i+1]
		finishRow(r, l, n, j0, i, rdiag)
		d := r[i]
		for _, v := range r[j0:i] {
			d -= v * v
		}
		if !(d > 0) || math.IsInf(d, 1) {
			return false
		}
		p := math.Sqrt(d)
		r[i] = p
		rdiag[i] = 1 / p
	}
	return true
}

// factorDiagonal4 is factorDiagonal for a full block of four rows, written
// out (the same operations as finishRow and the pivots there).
func factorDiagonal4(l []float64, n, j0 int, rdiag []float64) bool {
	r0 := l[j0*n+j0 : j0*n+j0+1]
	r1 := l[(j0+1)*n+j0 : (j0+1)*n+j0+2]
	r2 := l[(j0+2)*n+j0 : (j0+2)*n+j0+3]
	r3 := l[(j0+3)*n+j0 : (j0+3)*n+j0+4]
	rd := rdiag[j0 : j0+4 : j0+4]
	pivot := func(d float64) (p, inv float64, ok bool) {
		if !(d > 0) || math.IsInf(d, 1) {
			return 0, 0, false
		}
		p = math.Sqrt(d)
		return p, 1 / p, true
	}
	var ok bool
	if r0[0], rd[0], ok = pivot(r0[0]); !ok {
		return false
	}
	x10 := r1[0] * rd[0]
	x20 := r2[0] * rd[0]
	x30 := r3[0] * rd[0]
	r1[0], r2[0], r3[0] = x10, x20, x30
	if r1[1], rd[1], ok = pivot(r1[1] - x10*x10); !ok {
		return false
	}
	x21 := (r2[1] - x20*x10) * rd[1]
	x31 := (r3[1] - x30*x10) * rd[1]
	r2[1], r3[1] = x21, x31
	if r2[2], rd[2], ok = pivot(r2[2] - x20*x20 - x21*x21); !ok {
		return false
	}
	x32 := (r3[2] - x30*x20 - x31*x21) * rd[2]
	r3[2] = x32
	r3[3], rd[3], ok = pivot(r3[3] - x30*x30 - x31*x31 - x32*x32)
	return ok
}

// panelCoefficients returns the coefficients of panel4 for the factored
// diagonal block at j0: its reciprocal diagonal, then its strict lower
// triangle by rows.
func panelCoefficients(l []float64, n, j0 int, rdiag []float64) [10]float64 {
	return [10]float64{rdiag[j0], rdiag[j0+1], rdiag[j0+2], rdiag[j0+3],
		l[(j0+1)*n+j0], l[(j0+2)*n+j0], l[(j0+2)*n+j0+1], l[(j0+3)*n+j0], l[(j0+3)*n+j0+1], l[(j0+3)*n+j0+2]}
}
