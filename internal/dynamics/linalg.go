package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// This file holds the small dense linear algebra kernels shared by the flow
// and online integrators. Matrices are row-major blas64 values; symmetric
// matrices are kept in their upper triangle unless a comment says otherwise.
// Nothing here allocates after construction.

func newGeneral(rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: make([]float64, rows*cols)}
}

func upper(a blas64.General) blas64.Symmetric {
	if a.Rows != a.Cols {
		panic("dynamics: upper: matrix is not square")
	}
	return blas64.Symmetric{Uplo: blas.Upper, N: a.Rows, Stride: a.Stride, Data: a.Data}
}

func upperTri(a blas64.General) blas64.Triangular {
	return blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: a.Rows, Stride: a.Stride, Data: a.Data}
}

// copyUpper copies the upper triangle (diagonal included) of the n×n src
// into dst.
func copyUpper(dst, src blas64.General) {
	n := src.Rows
	for i := 0; i < n; i++ {
		copy(dst.Data[i*dst.Stride+i:i*dst.Stride+n], src.Data[i*src.Stride+i:i*src.Stride+n])
	}
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

// upperFinite reports whether the upper triangle of the n×n a is finite.
func upperFinite(a blas64.General) bool {
	n := a.Rows
	for i := 0; i < n; i++ {
		if !allFinite(a.Data[i*a.Stride+i : i*a.Stride+n]) {
			return false
		}
	}
	return true
}

// symEig computes the eigenvalues of n×n symmetric matrices in a fixed
// workspace.
type symEig struct {
	a    blas64.General
	w    []float64
	work []float64
}

func newSymEig(n int) *symEig {
	e := &symEig{a: newGeneral(n, n), w: make([]float64, n)}
	query := make([]float64, 1)
	lapack64.Syev(lapack.EVNone, upper(e.a), e.w, query, -1)
	e.work = make([]float64, max(int(query[0]), 3*n-1, 1))
	return e
}

// values returns the eigenvalues, in increasing order, of the symmetric
// matrix whose upper triangle is that of src minus shift·I. The slice is
// reused by the next call. ok is false when the iteration failed to converge
// or src holds non-finite values.
func (e *symEig) values(src blas64.General, shift float64) (w []float64, ok bool) {
	copyUpper(e.a, src)
	n := src.Rows
	if shift != 0 {
		for i := 0; i < n; i++ {
			e.a.Data[i*e.a.Stride+i] -= shift
		}
	}
	if !upperFinite(e.a) {
		return e.w, false
	}
	ok = lapack64.Syev(lapack.EVNone, upper(e.a), e.w, e.work, len(e.work))
	return e.w, ok
}

// whitening evaluates the output covariance C_rr = M⁻¹CM⁻¹ and the whitening
// error ‖C_rr − I‖₂ for a symmetric positive definite M, with C = BBᵀ.
type whitening struct {
	n    int
	b    blas64.General // B = Q diag(√s), n×n
	chol blas64.General // Cholesky factor U of M = UᵀU (upper)
	x    blas64.General // M⁻¹B
	crr  blas64.General // upper triangle of C_rr
	eig  *symEig
}

func newWhitening(b blas64.General) *whitening {
	n := b.Rows
	return &whitening{
		n:    n,
		b:    b,
		chol: newGeneral(n, n),
		x:    newGeneral(n, n),
		crr:  newGeneral(n, n),
		eig:  newSymEig(n),
	}
}

// setM computes C_rr for the symmetric M whose upper triangle is that of m.
// It returns false when M is not (numerically) positive definite.
func (w *whitening) setM(m blas64.General) bool {
	copyUpper(w.chol, m)
	return w.factored()
}

// factored completes setM once w.chol holds the upper triangle of M.
func (w *whitening) factored() bool {
	t, ok := lapack64.Potrf(upper(w.chol))
	if !ok {
		return false
	}
	copy(w.x.Data, w.b.Data)
	lapack64.Potrs(t, w.x)
	blas64.Syrk(blas.NoTrans, 1, w.x, 0, upper(w.crr))
	return true
}

// setW computes C_rr for M = WᵀW.
func (w *whitening) setW(wm blas64.General) bool {
	blas64.Syrk(blas.Trans, 1, wm, 0, upper(w.chol))
	return w.factored()
}

// errorNorm returns ‖C_rr − I‖₂ for the C_rr of the last successful setM or
// setW, or NaN when the eigenvalues could not be computed.
func (w *whitening) errorNorm() float64 {
	vals, ok := w.eig.values(w.crr, 1)
	if !ok {
		return math.NaN()
	}
	return math.Max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1]))
}

// eigRange returns the smallest and largest eigenvalue of the symmetric m
// (upper triangle used), NaN when they cannot be computed.
func (w *whitening) eigRange(m blas64.General) (lo, hi float64) {
	vals, ok := w.eig.values(m, 0)
	if !ok {
		return math.NaN(), math.NaN()
	}
	return vals[0], vals[len(vals)-1]
}
