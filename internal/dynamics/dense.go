package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	gonumlapack "gonum.org/v1/gonum/lapack/gonum"
)

// This file holds the dense kernels of the flow right-hand side and of the
// direct online step: Cholesky factorisation, the inverse of a symmetric
// positive definite matrix from its factor, and symmetric products. They
// work on row-major n×n []float64 with stride n, symmetric matrices stored
// in full (both triangles) unless a comment says otherwise.
//
// Two building blocks do the work. Products with long rows go through
// gonum's matrix–vector kernels (blas64.Gemv), whose amd64 assembly works on
// two values per instruction and blocks of four rows; from n ≈ 32 on they
// run 1.6–1.8 times faster than any scalar Go loop we measured. Triangular
// recurrences, where every entry needs the ones before it, are written as
// dot products of contiguous rows computed six at a time (two rows against
// three, dot2x3), which keeps the accumulators in registers and reads each
// loaded value two or three times.
// No kernel branches on the values of the data (no skipping of zeros), so
// the cost depends only on n, and each result is the same sequence of
// floating-point operations on every run and every machine of the same
// architecture (gonum's amd64 kernels use SSE2 only, no fused multiply–add):
// a point is bit-for-bit reproducible. Each kernel also has a vectorised
// form (kernels.go: AVX2/FMA assembly on amd64), taken from an order set
// per kernel when the processor has AVX2 and FMA and the build has no
// purego tag; it rounds differently, so from those orders on a point's bits
// depend on that choice too (see NumericsVersion).

// dot2x3 returns the six dot products of the rows a0, a1 with the rows
// b0, b1, b2, summed in index order. All rows must be as long as a0.
func dot2x3(a0, a1, b0, b1, b2 []float64) (c00, c01, c02, c10, c11, c12 float64) {
	n := len(a0)
	a1, b0, b1, b2 = a1[:n], b0[:n], b1[:n], b2[:n]
	for p, x0 := range a0 {
		x1 := a1[p]
		y0, y1, y2 := b0[p], b1[p], b2[p]
		c00 += x0 * y0
		c01 += x0 * y1
		c02 += x0 * y2
		c10 += x1 * y0
		c11 += x1 * y1
		c12 += x1 * y2
	}
	return
}

// dot2x1 returns the dot products of the rows a0, a1 with the row b.
func dot2x1(a0, a1, b []float64) (c0, c1 float64) {
	n := len(a0)
	a1, b = a1[:n], b[:n]
	for p, x0 := range a0 {
		y := b[p]
		c0 += x0 * y
		c1 += a1[p] * y
	}
	return
}

// dot returns the dot product of the rows a and b (len(b) ≥ len(a)).
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for p, x := range a {
		s += x * b[p]
	}
	return s
}

// Sizes at which the kernels switch between their two forms, measured on
// amd64 (gonum's assembly pays a fixed cost per call, which only long rows
// amortise; its unblocked Cholesky reads the whole trailing block per
// column, which stops paying once that block leaves the L1 and L2 caches).
const (
	// gemvMin is the smallest n for which cholesky and syrkRows use
	// gonum's matrix–vector kernels.
	gemvMin = 32
	// choleskyGemvMax is the largest n for which cholesky uses gonum's
	// unblocked Dpotf2; above it choleskyRows is faster.
	choleskyGemvMax = 192
)

// cholesky computes the lower triangular factor L of M = LLᵀ from the lower
// triangle of the n×n m into the lower triangle of l (the strict upper
// triangle of l is not read; choleskyRank4 overwrites it), and the
// reciprocals of its diagonal into rdiag (length n). It returns false,
// leaving l partly written, when M is not positive definite: a pivot is
// ≤ 0, NaN or infinite (as happens when m holds non-finite values). With
// the vector kernels (useVec) and from n = vecMinCholesky on it runs
// choleskyRank4; otherwise, for gemvMin ≤ n ≤ choleskyGemvMax, gonum's
// unblocked Dpotf2, else choleskyRows.
func cholesky(l, m []float64, n int, rdiag []float64) bool {
	if useVec(n, vecMinCholesky) {
		return choleskyRank4(l, m, n, rdiag)
	}
	if n < gemvMin || n > choleskyGemvMax {
		return choleskyRows(l, m, n, rdiag)
	}
	l, m, rdiag = l[:n*n], m[:n*n], rdiag[:n]
	for i := 0; i < n; i++ {
		copy(l[i*n:i*n+i+1], m[i*n:i*n+i+1])
	}
	if !(gonumlapack.Implementation{}).Dpotf2(blas.Lower, n, l, n) {
		return false
	}
	for i := 0; i < n; i++ {
		d := l[i*n+i]
		if math.IsInf(d, 0) {
			return false
		}
		rdiag[i] = 1 / d
	}
	return true
}

// choleskyBlock is the width of the column blocks of choleskyRows.
const choleskyBlock = 64

// choleskyRows is cholesky by column blocks of width choleskyBlock (a
// single block for n ≤ choleskyBlock), right-looking: each block of columns
// is factored two rows at a time (choleskyPanel), then its product is
// taken from the rest of the matrix, row by row of the trailing lower
// triangle with one matrix–vector product each.
func choleskyRows(l, m []float64, n int, rdiag []float64) bool {
	l, m, rdiag = l[:n*n], m[:n*n], rdiag[:n]
	for i := 0; i < n; i++ {
		copy(l[i*n:i*n+i+1], m[i*n:i*n+i+1])
	}
	for c0 := 0; c0 < n; c0 += choleskyBlock {
		c1 := min(c0+choleskyBlock, n)
		if !choleskyPanel(l, n, c0, c1, rdiag) {
			return false
		}
		for r := c1; r < n; r++ {
			panel := blas64.General{Rows: r - c1 + 1, Cols: c1 - c0, Stride: n, Data: l[c1*n+c0:]}
			blas64.Gemv(blas.NoTrans, -1, panel, vec(l[r*n+c0:r*n+c1]), 1, vec(l[r*n+c1:r*n+r+1]))
		}
	}
	return true
}

// choleskyPanel factors the columns c0 ≤ j < c1 of the lower triangle of l
// in place, all other columns before c0 having been factored and their
// product taken from the rest: L[i][j] = (A[i][j] − ⟨L[i][c0:j],
// L[j][c0:j]⟩)/L[j][j], two rows and three columns at a time (the bordered,
// dot-product form). c0 and, unless c1 = n, c1 are even.
func choleskyPanel(l []float64, n, c0, c1 int, rdiag []float64) bool {
	i := c0
	for ; i+2 <= n; i += 2 {
		r0 := l[i*n : i*n+n]
		r1 := l[(i+1)*n : (i+1)*n+n]
		end := min(i, c1)
		j := c0
		for ; j+3 <= end; j += 3 {
			q0 := l[j*n : j*n+j+3]
			q1 := l[(j+1)*n : (j+1)*n+j+3]
			q2 := l[(j+2)*n : (j+2)*n+j+3]
			// dot2x3(r0[c0:j], r1[c0:j], q0[c0:], q1[c0:], q2[c0:]),
			// written out: the call costs as much as the short products
			// of the first rows.
			var c00, c01, c02, c10, c11, c12 float64
			a0, a1 := r0[c0:j], r1[c0:j]
			b0, b1, b2 := q0[c0:j], q1[c0:j], q2[c0:j]
			for p, x0 := range a0 {
				x1 := a1[p]
				y0, y1, y2 := b0[p], b1[p], b2[p]
				c00 += x0 * y0
				c01 += x0 * y1
				c02 += x0 * y2
				c10 += x1 * y0
				c11 += x1 * y1
				c12 += x1 * y2
			}
			// The three columns of the tile, each finished with the terms
			// of the columns before it inside the tile.
			d := rdiag[j : j+3 : j+3]
			x0 := (r0[j] - c00) * d[0]
			x1 := (r1[j] - c10) * d[0]
			y0 := (r0[j+1] - c01 - x0*q1[j]) * d[1]
			y1 := (r1[j+1] - c11 - x1*q1[j]) * d[1]
			z0 := (r0[j+2] - c02 - x0*q2[j] - y0*q2[j+1]) * d[2]
			z1 := (r1[j+2] - c12 - x1*q2[j] - y1*q2[j+1]) * d[2]
			r0[j], r0[j+1], r0[j+2] = x0, y0, z0
			r1[j], r1[j+1], r1[j+2] = x1, y1, z1
		}
		for ; j < end; j++ {
			q := l[j*n : j*n+j+1]
			c0, c1 := dot2x1(r0[c0:j], r1[c0:j], q[c0:])
			r0[j] = (r0[j] - c0) * rdiag[j]
			r1[j] = (r1[j] - c1) * rdiag[j]
		}
		if i >= c1 {
			continue
		}
		// The 2×2 diagonal block.
		d0 := r0[i] - dot(r0[c0:i], r0[c0:])
		if !(d0 > 0) || math.IsInf(d0, 1) {
			return false
		}
		p0 := math.Sqrt(d0)
		r0[i] = p0
		rdiag[i] = 1 / p0
		r1[i] = (r1[i] - dot(r1[c0:i], r0[c0:])) * rdiag[i]
		d1 := r1[i+1] - dot(r1[c0:i+1], r1[c0:])
		if !(d1 > 0) || math.IsInf(d1, 1) {
			return false
		}
		p1 := math.Sqrt(d1)
		r1[i+1] = p1
		rdiag[i+1] = 1 / p1
	}
	if i < n { // the last row of an odd n
		r := l[i*n : i*n+n]
		end := min(i, c1)
		for j := c0; j < end; j++ {
			r[j] = (r[j] - dot(r[c0:j], l[j*n+c0:j*n+j])) * rdiag[j]
		}
		if i < c1 {
			d := r[i] - dot(r[c0:i], r[c0:])
			if !(d > 0) || math.IsInf(d, 1) {
				return false
			}
			r[i] = math.Sqrt(d)
			rdiag[i] = 1 / r[i]
		}
	}
	return true
}

// invTransLower computes H = L⁻ᵀ, upper triangular with zeros below the
// diagonal, from the n×n lower triangular L and the reciprocals rdiag of its
// (nonzero) diagonal.
//
// From H·Lᵀ = I, row i of H is found left to right:
// H[i][j] = (δᵢⱼ − ⟨H[i][i:j], L[j][i:j]⟩)/L[j][j] for j ≥ i. Rows are
// independent; they are computed two at a time.
func invTransLower(h, l []float64, n int, rdiag []float64) {
	if useVec(n, vecMinInverse) {
		invTransLowerVec(h, l, n, rdiag)
		return
	}
	h, l, rdiag = h[:n*n], l[:n*n], rdiag[:n]
	i := 0
	for ; i+2 <= n; i += 2 {
		r0 := h[i*n : i*n+n]
		r1 := h[(i+1)*n : (i+1)*n+n]
		clear(r0[:i])
		clear(r1[:i+1])
		// Columns i and i+1 (H[i+1][i] = 0).
		r0[i] = rdiag[i]
		r0[i+1] = -r0[i] * l[(i+1)*n+i] * rdiag[i+1]
		r1[i+1] = rdiag[i+1]
		j := i + 2
		for ; j+3 <= n; j += 3 {
			q0 := l[j*n : j*n+j+3]
			q1 := l[(j+1)*n : (j+1)*n+j+3]
			q2 := l[(j+2)*n : (j+2)*n+j+3]
			c00, c01, c02, c10, c11, c12 := dot2x3(r0[i:j], r1[i:j], q0[i:], q1[i:], q2[i:])
			d := rdiag[j : j+3 : j+3]
			x0 := -c00 * d[0]
			x1 := -c10 * d[0]
			y0 := (-c01 - x0*q1[j]) * d[1]
			y1 := (-c11 - x1*q1[j]) * d[1]
			z0 := (-c02 - x0*q2[j] - y0*q2[j+1]) * d[2]
			z1 := (-c12 - x1*q2[j] - y1*q2[j+1]) * d[2]
			r0[j], r0[j+1], r0[j+2] = x0, y0, z0
			r1[j], r1[j+1], r1[j+2] = x1, y1, z1
		}
		for ; j < n; j++ {
			q := l[j*n : j*n+j+1]
			c0, c1 := dot2x1(r0[i:j], r1[i:j], q[i:])
			r0[j] = -c0 * rdiag[j]
			r1[j] = -c1 * rdiag[j]
		}
	}
	if i < n { // the last row of an odd n
		r := h[i*n : i*n+n]
		clear(r[:i])
		r[i] = rdiag[i]
	}
}

// gramUpper computes the full symmetric P = H·Hᵀ of the n×n upper
// triangular H with zeros below the diagonal (for H = L⁻ᵀ, P = M⁻¹):
// P[i][j] = ⟨H[i][j:], H[j][j:]⟩ for i ≤ j, then mirrored.
func gramUpper(p, h []float64, n int) {
	if useVec(n, vecMinGram) {
		gramUpperVec(p, h, n)
		return
	}
	p, h = p[:n*n], h[:n*n]
	i := 0
	for ; i+2 <= n; i += 2 {
		r0 := h[i*n : i*n+n]
		r1 := h[(i+1)*n : (i+1)*n+n]
		j := i
		for ; j+3 <= n; j += 3 {
			// Every entry of the tile on or above the diagonal is a sum
			// over k ≥ j: H[i][k] and H[j][k] vanish for smaller k.
			c00, c01, c02, c10, c11, c12 := dot2x3(r0[j:], r1[j:], h[j*n+j:j*n+n], h[(j+1)*n+j:(j+1)*n+n], h[(j+2)*n+j:(j+2)*n+n])
			p[i*n+j], p[i*n+j+1], p[i*n+j+2] = c00, c01, c02
			if j > i {
				p[(i+1)*n+j] = c10
			}
			p[(i+1)*n+j+1], p[(i+1)*n+j+2] = c11, c12
		}
		for ; j < n; j++ {
			c0, c1 := dot2x1(r0[j:], r1[j:], h[j*n+j:j*n+n])
			p[i*n+j] = c0
			if j > i {
				p[(i+1)*n+j] = c1
			}
		}
	}
	if i < n {
		p[i*n+i] = dot(h[i*n+i:i*n+n], h[i*n+i:i*n+n])
	}
	mirrorUpperData(p, n)
}

// syrkRows computes the full symmetric C = A·Aᵀ of the n×k row-major A:
// row i of the upper triangle, C[i][i:] = A[i:]·A[i], is one matrix–vector
// product (from n = gemvMin on; below, syrkTiles); the lower triangle is
// then mirrored.
func syrkRows(c, a []float64, n, k int) {
	if useVec(n, vecMinProduct) {
		syrkRowsVec(c, a, n, k)
		return
	}
	if n < gemvMin {
		syrkTiles(c, a, n, k)
		return
	}
	c, a = c[:n*n], a[:n*k]
	for i := 0; i < n; i++ {
		rows := blas64.General{Rows: n - i, Cols: k, Stride: max(k, 1), Data: a[i*k:]}
		blas64.Gemv(blas.NoTrans, 1, rows, vec(a[i*k:i*k+k]), 0, vec(c[i*n+i:i*n+n]))
	}
	mirrorUpperData(c, n)
}

// syrkTiles is syrkRows in 2×3 tiles of dot products: C[i][j] = ⟨A[i], A[j]⟩.
func syrkTiles(c, a []float64, n, k int) {
	c, a = c[:n*n], a[:n*k]
	i := 0
	for ; i+2 <= n; i += 2 {
		r0 := a[i*k : i*k+k]
		r1 := a[(i+1)*k : (i+1)*k+k]
		j := i
		for ; j+3 <= n; j += 3 {
			c00, c01, c02, c10, c11, c12 := dot2x3(r0, r1, a[j*k:j*k+k], a[(j+1)*k:(j+1)*k+k], a[(j+2)*k:(j+2)*k+k])
			c[i*n+j], c[i*n+j+1], c[i*n+j+2] = c00, c01, c02
			if j > i {
				c[(i+1)*n+j] = c10
			}
			c[(i+1)*n+j+1], c[(i+1)*n+j+2] = c11, c12
		}
		for ; j < n; j++ {
			c0, c1 := dot2x1(r0, r1, a[j*k:j*k+k])
			c[i*n+j] = c0
			if j > i {
				c[(i+1)*n+j] = c1
			}
		}
	}
	if i < n {
		r := a[i*k : i*k+k]
		c[i*n+i] = dot(r, r)
	}
	mirrorUpperData(c, n)
}

// mulRows computes the m×n C = A·B of the m×k A and the k×n B (both
// row-major): row i of C is Bᵀ·A[i], one matrix–vector product.
func mulRows(c, a, b []float64, m, n, k int) {
	if useVec(n, vecMinProduct) {
		mulRowsVec(c, a, b, m, n, k)
		return
	}
	c, a, b = c[:m*n], a[:m*k], b[:k*n]
	bm := blas64.General{Rows: k, Cols: n, Stride: max(n, 1), Data: b}
	for i := 0; i < m; i++ {
		blas64.Gemv(blas.Trans, 1, bm, vec(a[i*k:i*k+k]), 0, vec(c[i*n:i*n+n]))
	}
}

// mirrorUpperData copies the strict upper triangle of the n×n a onto its
// lower triangle, by bands of eight rows: each row written takes eight
// entries of a column at a time, instead of one row per entry of a
// column walked down (a stride of a power of two, as for n = 256, misses
// the cache at every row). From vecMinMirror on, with the vector kernels,
// the blocks off the diagonal are transposed in registers
// (mirrorTilesAsm) and the rest is copied by mirrorBlock. Only data
// moves: every path gives the same matrix.
func mirrorUpperData(a []float64, n int) {
	a = a[:n*n]
	n8 := 0
	if useVec(n, vecMinMirror) {
		n8 = n &^ 7
		n4 := n &^ 3
		mirrorTilesAsm(a, n, n8, n4)
		for i0 := 0; i0 < n8; i0 += 8 {
			mirrorBlock(a, n, i0, i0+8, i0, min(i0+8, n4))
		}
		mirrorBlock(a, n, 0, n8, n4, n)
	}
	for i0 := n8; i0 < n; i0 += 8 {
		mirrorBlock(a, n, i0, min(i0+8, n), i0, n)
	}
}

// mirrorBlock copies a[i][j] onto a[j][i] for i0 ≤ i < i1 and
// j0 ≤ j < j1 with i < j, in the n×n a: column j's entries are written
// contiguous into row j.
func mirrorBlock(a []float64, n, i0, i1, j0, j1 int) {
	for j := j0; j < j1; j++ {
		end := min(i1, j)
		if end <= i0 {
			continue
		}
		dst := a[j*n+i0 : j*n+end]
		for t := range dst {
			dst[t] = a[(i0+t)*n+j]
		}
	}
}

// mirrorTilesGo is the Go model of mirrorTilesAVX: for each band of eight
// rows i0 < n8 and j0 from i0+8 below n4, the block at rows i0…i0+7,
// columns j0…j0+3 is copied transposed onto rows j0…j0+3, columns
// i0…i0+7.
func mirrorTilesGo(a []float64, n, n8, n4 int) {
	for i0 := 0; i0 < n8; i0 += 8 {
		mirrorBlock(a, n, i0, i0+8, i0+8, n4)
	}
}

// solveLower overwrites the n-vector x with M⁻¹x, for M = LLᵀ (rdiag the
// reciprocals of L's diagonal): forward substitution with L (dot products
// of rows), then back substitution with Lᵀ (row updates).
func solveLower(l []float64, n int, rdiag, x []float64) {
	if useVec(n, vecMinSolve) {
		solveLowerVec(l, n, rdiag, x)
		return
	}
	l, rdiag, x = l[:n*n], rdiag[:n], x[:n]
	for i := 0; i < n; i++ {
		x[i] = (x[i] - dot(l[i*n:i*n+i], x)) * rdiag[i]
	}
	for i := n - 1; i >= 0; i-- {
		row := l[i*n : i*n+i]
		xi := x[i] * rdiag[i]
		x[i] = xi
		head := x[:len(row)]
		for k, v := range row {
			head[k] -= v * xi
		}
	}
}

// solveLowerColumns overwrites the n×b row-major x with M⁻¹x, for M = LLᵀ
// (rdiag the reciprocals of L's diagonal), working on whole rows of x (the
// b right-hand sides at once).
func solveLowerColumns(l []float64, n int, rdiag, x []float64, b int) {
	l, rdiag, x = l[:n*n], rdiag[:n], x[:n*b]
	for i := 0; i < n; i++ {
		xi := x[i*b : i*b+b]
		for k, v := range l[i*n : i*n+i] {
			xk := x[k*b : k*b+b]
			for c := range xi {
				xi[c] -= v * xk[c]
			}
		}
		inv := rdiag[i]
		for c := range xi {
			xi[c] *= inv
		}
	}
	for i := n - 1; i >= 0; i-- {
		xi := x[i*b : i*b+b]
		inv := rdiag[i]
		for c := range xi {
			xi[c] *= inv
		}
		for k, v := range l[i*n : i*n+i] {
			xk := x[k*b : k*b+b]
			for c := range xi {
				xk[c] -= v * xi[c]
			}
		}
	}
}
