package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// This file holds the matrix helpers shared by the flow and online
// integrators and the evaluation of the whitening error (whitening).
// Matrices are row-major blas64 values; which triangle of a symmetric matrix
// is read or kept is said at each function. Nothing here allocates after
// construction.

func newGeneral(rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: make([]float64, rows*cols)}
}

func upper(a blas64.General) blas64.Symmetric {
	if a.Rows != a.Cols {
		panic("dynamics: upper: matrix is not square")
	}
	return blas64.Symmetric{Uplo: blas.Upper, N: a.Rows, Stride: a.Stride, Data: a.Data}
}

// mirrorUpper copies the strict upper triangle of the n×n a onto its lower
// triangle, making a a full symmetric matrix.
func mirrorUpper(a blas64.General) {
	n := a.Rows
	for i := 0; i < n; i++ {
		row := a.Data[i*a.Stride:]
		for j := i + 1; j < n; j++ {
			a.Data[j*a.Stride+i] = row[j]
		}
	}
}

// allFinite reports whether every element of x is finite.
func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// lowerFinite reports whether the lower triangle of the n×n a is finite.
func lowerFinite(a blas64.General) bool {
	n := a.Rows
	for i := 0; i < n; i++ {
		if !allFinite(a.Data[i*a.Stride : i*a.Stride+i+1]) {
			return false
		}
	}
	return true
}

// copyLowerMirror makes dst the full symmetric matrix whose lower triangle
// is that of the n×n src (dst and src may be the same matrix).
func copyLowerMirror(dst, src blas64.General) {
	n := src.Rows
	for i := 0; i < n; i++ {
		copy(dst.Data[i*dst.Stride:i*dst.Stride+i+1], src.Data[i*src.Stride:i*src.Stride+i+1])
		for j := 0; j < i; j++ {
			dst.Data[j*dst.Stride+i] = src.Data[i*src.Stride+j]
		}
	}
}

// whitening evaluates the output covariance C_rr = M⁻¹CM⁻¹ and the whitening
// error ‖C_rr − I‖₂ for a symmetric positive definite M, with C = BBᵀ. B is
// either general (online mode and tests: B = Q diag(√s)) or diagonal (flow
// mode, which works in the eigenbasis of C: B = diag(√s)).
//
// With L the Cholesky factor of M, H = L⁻ᵀ and P = HHᵀ = M⁻¹, it computes
// X = PB and C_rr = XXᵀ: n³ flops for P, then n³ (diagonal B) or 3n³
// (general B) for C_rr, in the kernels of dense.go.
type whitening struct {
	n    int
	b    []float64 // B, row-major; nil when B is diagonal
	diag []float64 // the diagonal of B when B is diagonal
	l    []float64 // Cholesky factor L of M = LLᵀ
	rd   []float64 // reciprocals of the diagonal of L
	h    []float64 // L⁻ᵀ
	p    []float64 // M⁻¹, full
	x    []float64 // M⁻¹B
	crr  []float64 // C_rr, full
	eig  *symEig
}

func newWhiteningWorkspace(n int) *whitening {
	return &whitening{
		n:   n,
		l:   make([]float64, n*n),
		rd:  make([]float64, n),
		h:   make([]float64, n*n),
		p:   make([]float64, n*n),
		x:   make([]float64, n*n),
		crr: make([]float64, n*n),
		eig: newSymEig(n),
	}
}

// newWhitening returns the whitening of C = BBᵀ for the n×n B.
func newWhitening(b blas64.General) *whitening {
	n := b.Rows
	w := newWhiteningWorkspace(n)
	w.b = make([]float64, n*n)
	for i := 0; i < n; i++ {
		copy(w.b[i*n:i*n+n], b.Data[i*b.Stride:i*b.Stride+n])
	}
	return w
}

// newDiagonalWhitening returns the whitening of C = diag(d)².
func newDiagonalWhitening(d []float64) *whitening {
	w := newWhiteningWorkspace(len(d))
	w.diag = d
	return w
}

// setM computes C_rr for the symmetric M whose lower triangle is that of
// the n×n m (row-major, stride n). It returns false when M is not
// (numerically) positive definite.
func (w *whitening) setM(m blas64.General) bool {
	if !w.invert(m.Data) {
		return false
	}
	w.outputCovariance()
	return true
}

// invert computes the Cholesky factor and the inverse P = M⁻¹ of the
// symmetric M whose lower triangle is that of m; false when M is not
// positive definite.
func (w *whitening) invert(m []float64) bool {
	if !cholesky(w.l, m, w.n, w.rd) {
		return false
	}
	w.invertFactor(w.l, w.rd)
	return true
}

// invertFactor computes the inverse P = M⁻¹ from the Cholesky factor l of
// M (lower triangle, stride n) and the reciprocals rd of its diagonal, as
// cholesky returns them.
func (w *whitening) invertFactor(l, rd []float64) {
	invTransLower(w.h, l, w.n, rd)
	gramUpper(w.p, w.h, w.n)
}

// setFactor is setM for an M whose Cholesky factor is at hand: l and rd
// as cholesky computes them from M's lower triangle, so that the result
// is setM's, bit for bit, without the factorisation.
func (w *whitening) setFactor(l, rd []float64) {
	w.invertFactor(l, rd)
	w.outputCovariance()
}

// outputCovariance computes C_rr = (PB)(PB)ᵀ from the P of the last
// successful invert.
func (w *whitening) outputCovariance() {
	n := w.n
	if w.diag != nil {
		dg := w.diag[:n]
		for i := 0; i < n; i++ {
			pr := w.p[i*n : i*n+n][:len(dg)]
			xr := w.x[i*n : i*n+n][:len(dg)]
			for j, d := range dg {
				xr[j] = pr[j] * d
			}
		}
	} else {
		mulRows(w.x, w.p, w.b, n, n, n)
	}
	syrkRows(w.crr, w.x, n, n)
}

// errorNorm returns ‖C_rr − I‖₂ for the C_rr of the last outputCovariance
// (or setM), or NaN when the eigenvalues could not be computed.
func (w *whitening) errorNorm() float64 {
	lo, hi, ok := w.eig.extremes(w.crr, 1)
	if !ok {
		return math.NaN()
	}
	return math.Max(math.Abs(lo), math.Abs(hi))
}

// eigRange returns the smallest and largest eigenvalue of the symmetric m
// (upper triangle used), NaN when they cannot be computed.
func (w *whitening) eigRange(m blas64.General) (lo, hi float64) {
	lo, hi, ok := w.eig.extremes(m.Data, 0)
	if !ok {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}
