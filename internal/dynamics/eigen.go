package dynamics

import "math"

// This file computes the extreme eigenvalues of a symmetric matrix, which is
// all the whitening error ‖C_rr − I‖₂ and the EigMin, EigMax of a trajectory
// sample need: a Householder reduction to tridiagonal form (4n³/3 flops),
// then Laguerre iterations checked by Sturm counts for the smallest and the
// largest eigenvalue only (O(n) per iteration). Like LAPACK's dsyev, the
// eigenvalues are accurate to a few units of rounding times ‖A‖.

// symEig computes extreme eigenvalues of n×n symmetric matrices in a fixed
// workspace; it does not allocate after construction.
type symEig struct {
	n          int
	a          []float64 // the matrix being reduced (upper triangle)
	diag, off  []float64 // the tridiagonal matrix
	off2       []float64 // squared off-diagonal
	v, w, p    []float64 // Householder vector, rank-two update, A·v
	vOld, wOld []float64 // the update of the previous step, not yet applied
}

func newSymEig(n int) *symEig {
	return &symEig{
		n:    n,
		a:    make([]float64, n*n),
		diag: make([]float64, n),
		off:  make([]float64, max(n-1, 0)),
		off2: make([]float64, max(n-1, 0)),
		v:    make([]float64, n), w: make([]float64, n), p: make([]float64, n),
		vOld: make([]float64, n), wOld: make([]float64, n),
	}
}

// extremes returns the smallest and the largest eigenvalue of the symmetric
// matrix whose upper triangle is that of the n×n src (row-major) minus
// shift·I. ok is false when src holds non-finite values.
func (e *symEig) extremes(src []float64, shift float64) (lo, hi float64, ok bool) {
	n := e.n
	a := e.a
	var big float64
	for i := 0; i < n; i++ {
		row := a[i*n+i : i*n+n]
		copy(row, src[i*n+i:i*n+n])
		row[0] -= shift
		for _, v := range row {
			if av := math.Abs(v); av > big || av != av {
				big = av // a NaN stays: no comparison with it is true
			}
		}
	}
	if math.IsNaN(big) || math.IsInf(big, 0) {
		return math.NaN(), math.NaN(), false
	}
	if big == 0 {
		// The zero matrix (an exactly white state's C_rr − I): its
		// eigenvalues are 0, not the Sturm counts' pivot guard.
		return 0, 0, true
	}
	// Entries far from 1 are scaled by a power of two (exactly) so that
	// their squares, in the reduction and in the Sturm counts, neither
	// overflow nor underflow.
	exp := 0
	if big > 0x1p400 || (big > 0 && big < 0x1p-400) {
		_, exp = math.Frexp(big)
		for i := 0; i < n; i++ {
			row := a[i*n+i : i*n+n]
			for j := range row {
				row[j] = math.Ldexp(row[j], -exp)
			}
		}
	}
	e.tridiagonalize()
	lo, hi = tridiagonalExtremes(e.diag, e.off, e.off2)
	lo, hi = math.Ldexp(lo, exp), math.Ldexp(hi, exp)
	return lo, hi, !math.IsNaN(lo) && !math.IsNaN(hi)
}

// tridiagonalize reduces e.a (upper triangle) to the symmetric tridiagonal
// matrix (e.diag, e.off) by Householder reflections H = I − τvvᵀ,
// A ← HAH = A − vwᵀ − wvᵀ with w = τAv − ½τ²(vᵀAv)v.
//
// Each step makes one pass over the trailing upper triangle that both
// applies the rank-two update of the previous step and computes A·v for the
// current one, so the matrix is read and written once per step.
func (e *symEig) tridiagonalize() {
	n := e.n
	a := e.a[:n*n]
	v, w, p := e.v[:n], e.w[:n], e.p[:n]
	vOld, wOld := e.vOld[:n], e.wOld[:n]
	clear(vOld)
	clear(wOld)
	vec := useVec(n, vecMinEigen)
	for k := 0; k+1 < n; k++ {
		// Row k receives the pending update; it is then final.
		row := a[k*n+k : k*n+n]
		vk, wk := vOld[k], wOld[k]
		vo, wo := vOld[k:], wOld[k:]
		for jj := range row {
			row[jj] -= vk*wo[jj] + wk*vo[jj]
		}
		e.diag[k] = row[0]
		x := row[1:]
		beta, tau := householder(x, vec)
		e.off[k] = beta
		// v = (1, x[1:]) over the indices k+1…n−1.
		v[k+1] = 1
		copy(v[k+2:], x[1:])
		clear(p[k+1:])
		i := k + 1
		if vec {
			rank2Pass(n, i, a, n, vOld, wOld, v, p)
			i = n - (n-i)%2
		}
		for ; i+2 <= n; i += 2 {
			e.passTwoRows(i, v, p, vOld, wOld)
		}
		if i < n {
			// The last row holds only its diagonal entry.
			d := a[i*n+i] - (vOld[i]*wOld[i] + wOld[i]*vOld[i])
			a[i*n+i] = d
			p[i] += d * v[i]
		}
		// w = τp − ½τ²(pᵀv)v, stored over the indices k+1…n−1.
		var pv float64
		if vec {
			pv = dotVec(p[k+1:], v[k+1:])
		} else {
			for i := k + 1; i < n; i++ {
				pv += p[i] * v[i]
			}
		}
		alpha := -0.5 * tau * tau * pv
		for i := k + 1; i < n; i++ {
			w[i] = tau*p[i] + alpha*v[i]
		}
		// The update of this step is applied in the next pass.
		vOld, v = v, vOld
		wOld, w = w, wOld
	}
	if n > 0 {
		// The last diagonal entry received every update in the last pass.
		e.diag[n-1] = a[n*n-1]
	}
	// Keep the buffers in their fields whichever way they were swapped.
	e.v, e.vOld, e.w, e.wOld = v, vOld, w, wOld
}

// passTwoRows applies the pending update (vOld, wOld) to rows i and i+1 of
// the trailing upper triangle and adds their part of A·v to p. Two rows at a
// time halve the loads of the vectors per entry and give two independent
// accumulation chains.
func (e *symEig) passTwoRows(i int, v, p, vOld, wOld []float64) {
	n := e.n
	r0 := e.a[i*n+i : i*n+n]
	r1 := e.a[(i+1)*n+i+1 : (i+1)*n+n]
	m := len(r1)
	vo, wo, vv, pp := vOld[i+1:i+1+m], wOld[i+1:i+1+m], v[i+1:i+1+m], p[i+1:i+1+m]
	v0i, w0i, vi0 := vOld[i], wOld[i], v[i]
	v1i, w1i, vi1 := vOld[i+1], wOld[i+1], v[i+1]
	// Entry (i, i), then (i, i+1) and (i+1, i+1).
	d0 := r0[0] - (v0i*wOld[i] + w0i*vOld[i])
	r0[0] = d0
	s0 := d0 * vi0
	r0 = r0[1 : 1+m]
	x := r0[0] - (v0i*wo[0] + w0i*vo[0])
	r0[0] = x
	s0 += x * vv[0]
	pp[0] += x * vi0
	d1 := r1[0] - (v1i*wo[0] + w1i*vo[0])
	r1[0] = d1
	s1 := d1 * vv[0]
	for j := 1; j < m; j++ {
		x0 := r0[j] - (v0i*wo[j] + w0i*vo[j])
		x1 := r1[j] - (v1i*wo[j] + w1i*vo[j])
		r0[j] = x0
		r1[j] = x1
		vj := vv[j]
		s0 += x0 * vj
		s1 += x1 * vj
		pp[j] += x0*vi0 + x1*vi1
	}
	p[i] += s0
	pp[0] += s1
}

// householder computes the reflection H = I − τvvᵀ with v = (1, x[1:]) that
// maps x to (β, 0, …, 0): it returns β and τ and overwrites x[1:] with
// v[1:]. τ = 0 (H = I, β = x[0]) when x[1:] is zero. vec takes the sum of
// squares of the norm with dotVec.
func householder(x []float64, vec bool) (beta, tau float64) {
	if len(x) == 0 {
		return 0, 0
	}
	alpha := x[0]
	tail := x[1:]
	var xnorm float64
	if vec {
		xnorm = norm2From(tail, dotVec(tail, tail))
	} else {
		xnorm = norm2(tail)
	}
	if xnorm == 0 {
		return alpha, 0
	}
	beta = -math.Copysign(math.Hypot(alpha, xnorm), alpha)
	tau = (beta - alpha) / beta
	scale := 1 / (alpha - beta)
	for i := range tail {
		tail[i] *= scale
	}
	return beta, tau
}

// norm2 returns the Euclidean norm of x without overflow or underflow in
// the squares.
func norm2(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return norm2From(x, s)
}

// norm2From is norm2 given the sum of squares s of x, computed in any
// order: √s unless s is so large or small (or zero) that the squares may
// have overflowed or underflowed, then again with x scaled.
func norm2From(x []float64, s float64) float64 {
	if s > 0x1p-900 && s < 0x1p900 {
		return math.Sqrt(s)
	}
	var big float64
	for _, v := range x {
		if a := math.Abs(v); a > big || a != a {
			big = a // a NaN stays: no comparison with it is true
		}
	}
	if big == 0 || math.IsInf(big, 0) {
		return big
	}
	s = 0
	inv := 1 / big
	for _, v := range x {
		r := v * inv
		s += r * r
	}
	return big * math.Sqrt(s)
}

// tridiagonalExtremes returns the smallest and the largest eigenvalue of the
// symmetric tridiagonal matrix with diagonal diag and off-diagonal off
// (off2 is workspace for the squares).
//
// Both are found by Laguerre's method on det(T − xI), started from the two
// ends of the Gershgorin interval: from outside the spectrum it moves
// monotonically towards the nearest eigenvalue and converges cubically
// once that eigenvalue stands out from the others (at once for a multiple
// one), and the LDLᵀ pivots that give the derivatives keep one sign there,
// so no pivot vanishes. Each result is then checked by Sturm counts on a
// bracket as narrow as bisection would leave. An end whose check fails
// (a tight cluster at the end of the spectrum can hold Laguerre's method
// to slow, linear progress for longer than laguerreIterations) is found by
// trisection on Sturm counts (counted as in LAPACK's dstebz) from the
// bracket established so far.
func tridiagonalExtremes(diag, off, off2 []float64) (lo, hi float64) {
	n := len(diag)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	if n == 1 {
		return diag[0], diag[0]
	}
	gl, gu, pivmin, width := tridiagonalBounds(diag, off, off2)
	lo, hi = laguerreExtremes(diag, off2, gl, gu, width)
	wl, wh := width.at(lo), width.at(hi)
	cl1, cl2, ch1, ch2 := sturmCounts(diag, off2, lo-wl, lo+wl, hi-wh, hi+wh, pivmin)
	loOK, hiOK := cl1 == 0 && cl2 >= 1, ch1 < n && ch2 >= n
	if loOK && hiOK {
		return lo, hi
	}
	// Brackets for trisection: an end of a failed check that holds the
	// invariant still narrows the Gershgorin interval.
	aLo, aHi, bLo, bHi := gl, gu, gl, gu
	if cl1 == 0 {
		aLo = lo - wl
	}
	if cl2 >= 1 {
		aHi = lo + wl
	}
	if ch1 < n {
		bLo = hi - wh
	}
	if ch2 >= n {
		bHi = hi + wh
	}
	tLo, tHi := trisectExtremes(diag, off2, aLo, aHi, bLo, bHi, pivmin, width)
	if !loOK {
		lo = tLo
	}
	if !hiOK {
		hi = tHi
	}
	return lo, hi
}

// tridiagonalBounds returns the Gershgorin interval [gl, gu] of the
// tridiagonal matrix (n ≥ 2), widened by dstebz's rounding allowance, fills
// off2 with the squared off-diagonal, and returns the smallest pivot
// magnitude of the Sturm counts and the width to which an eigenvalue x is
// located (2ε‖T‖ + 2ε|x|, that of a bisection to convergence).
func tridiagonalBounds(diag, off, off2 []float64) (gl, gu, pivmin float64, width eigenWidth) {
	n := len(diag)
	off, off2 = off[:n-1], off2[:n-1]
	gl, gu = diag[0], diag[0]
	var maxOff2 float64
	for i, d := range diag {
		r := 0.0
		if i > 0 {
			r += math.Abs(off[i-1])
		}
		if i < n-1 {
			r += math.Abs(off[i])
			off2[i] = off[i] * off[i]
			maxOff2 = math.Max(maxOff2, off2[i])
		}
		gl = math.Min(gl, d-r)
		gu = math.Max(gu, d+r)
	}
	// pivmin keeps the Sturm recurrence away from division by zero
	// (LAPACK's choice).
	const safeMin = 0x1p-1022
	pivmin = safeMin * math.Max(1, maxOff2)
	tnorm := math.Max(math.Abs(gl), math.Abs(gu))
	widen := 2.1*epsilon*tnorm*float64(n) + 4.2*pivmin
	atol := 2 * epsilon * tnorm
	return gl - widen, gu + widen, pivmin, eigenWidth{atol: atol}
}

// eigenWidth is the width to which an eigenvalue is located: that of a
// bisection to convergence, 2ε‖T‖ + 2ε|x|.
type eigenWidth struct{ atol float64 }

func (w eigenWidth) at(x float64) float64 { return w.atol + 2*epsilon*math.Abs(x) }

// laguerreIterations bounds the Laguerre iterations of tridiagonalExtremes;
// well-separated extreme eigenvalues need four to eight.
const laguerreIterations = 16

// laguerreExtremes runs Laguerre's method from x = gl (below the spectrum)
// and y = gu (above it) side by side until both steps fall below a quarter
// of width, an iterate stops being outside the spectrum (then it is kept:
// the caller's check decides), or laguerreIterations have run.
func laguerreExtremes(diag, off2 []float64, gl, gu float64, width eigenWidth) (x, y float64) {
	nf := float64(len(diag))
	x, y = gl, gu
	xDone, yDone := false, false
	for range laguerreIterations {
		gx, hx, gy, hy, xOut, yOut := laguerreSums(diag, off2, x, y)
		if !xDone {
			// Below the spectrum G < 0: the step n/(G − √…) is negative.
			step := nf / (gx - math.Sqrt(math.Max(0, (nf-1)*(nf*hx-gx*gx))))
			if !xOut || !(math.Abs(step) > 0.25*width.at(x)) {
				xDone = true
			} else {
				x -= step
			}
		}
		if !yDone {
			step := nf / (gy + math.Sqrt(math.Max(0, (nf-1)*(nf*hy-gy*gy))))
			if !yOut || !(math.Abs(step) > 0.25*width.at(y)) {
				yDone = true
			} else {
				y -= step
			}
		}
		if xDone && yDone {
			break
		}
	}
	return x, y
}

// laguerreSums returns G = Σ 1/(x − λⱼ) and H = Σ 1/(x − λⱼ)² over the
// eigenvalues of T for x, and the same for y, from the pivots qᵢ of the
// LDLᵀ factorisation of T − xI and their derivatives in x
// (G = Σ qᵢ′/qᵢ, H = Σ (qᵢ′/qᵢ)² − qᵢ″/qᵢ). xBelow reports that every
// pivot for x is positive (x is below the spectrum), yAbove that every
// pivot for y is negative.
func laguerreSums(diag, off2 []float64, x, y float64) (gx, hx, gy, hy float64, xBelow, yAbove bool) {
	xBelow, yAbove = true, true
	d := diag[0]
	qx, dqx, ddqx := d-x, -1.0, 0.0
	qy, dqy, ddqy := d-y, -1.0, 0.0
	off2 = off2[:len(diag)-1]
	for i := 0; ; i++ {
		if !(qx > 0) {
			xBelow = false
		}
		if !(qy < 0) {
			yAbove = false
		}
		rx, ry := 1/qx, 1/qy
		ux, wx := dqx*rx, ddqx*rx
		uy, wy := dqy*ry, ddqy*ry
		gx += ux
		hx += ux*ux - wx
		gy += uy
		hy += uy*uy - wy
		if i == len(off2) {
			return
		}
		b := off2[i]
		d = diag[i+1]
		brx, bry := b*rx, b*ry
		qx, dqx, ddqx = (d-x)-brx, -1+brx*ux, brx*(wx-2*ux*ux)
		qy, dqy, ddqy = (d-y)-bry, -1+bry*uy, bry*(wy-2*uy*uy)
	}
}

// trisectExtremes finds the extreme eigenvalues by trisection on Sturm
// counts, the smallest in [aLo, aHi] and the largest in [bLo, bHi], to
// within width.
func trisectExtremes(diag, off2 []float64, aLo, aHi, bLo, bHi, pivmin float64, width eigenWidth) (lo, hi float64) {
	n := len(diag)
	// Invariants: count(aLo) = 0 < 1 ≤ count(aHi) for the smallest,
	// count(bLo) < n ≤ count(bHi) for the largest eigenvalue. Each round
	// counts at two inner points of both brackets (four independent
	// chains, which run side by side in the processor) and keeps a third
	// of each bracket.
	done := func(lo, hi float64) bool {
		return hi-lo <= width.at(math.Max(math.Abs(lo), math.Abs(hi)))
	}
	for range 200 {
		aDone, bDone := done(aLo, aHi), done(bLo, bHi)
		if aDone && bDone {
			break
		}
		a1, a2 := aLo+(aHi-aLo)/3, aHi-(aHi-aLo)/3
		b1, b2 := bLo+(bHi-bLo)/3, bHi-(bHi-bLo)/3
		ca1, ca2, cb1, cb2 := sturmCounts(diag, off2, a1, a2, b1, b2, pivmin)
		if !aDone {
			switch {
			case ca1 >= 1:
				aHi = a1
			case ca2 >= 1:
				aLo, aHi = a1, a2
			default:
				aLo = a2
			}
		}
		if !bDone {
			switch {
			case cb1 >= n:
				bHi = b1
			case cb2 >= n:
				bLo, bHi = b1, b2
			default:
				bLo = b2
			}
		}
	}
	return 0.5 * (aLo + aHi), 0.5 * (bLo + bHi)
}

// sturmCounts returns the numbers of eigenvalues of the tridiagonal matrix
// (diag, off2 = squared off-diagonal) smaller than each of x1…x4: the
// negative pivots of the LDLᵀ factorisations of T − xI (Sturm counts, as in
// LAPACK's dstebz, with pivots smaller than pivmin replaced by −pivmin).
func sturmCounts(diag, off2 []float64, x1, x2, x3, x4, pivmin float64) (c1, c2, c3, c4 int) {
	d := diag[0]
	q1, q2, q3, q4 := d-x1, d-x2, d-x3, d-x4
	off2 = off2[:len(diag)-1]
	for i := 0; ; i++ {
		if math.Abs(q1) < pivmin {
			q1 = -pivmin
		}
		if math.Abs(q2) < pivmin {
			q2 = -pivmin
		}
		if math.Abs(q3) < pivmin {
			q3 = -pivmin
		}
		if math.Abs(q4) < pivmin {
			q4 = -pivmin
		}
		if q1 <= 0 {
			c1++
		}
		if q2 <= 0 {
			c2++
		}
		if q3 <= 0 {
			c3++
		}
		if q4 <= 0 {
			c4++
		}
		if i == len(off2) {
			return c1, c2, c3, c4
		}
		b := off2[i]
		d = diag[i+1]
		q1 = (d - x1) - b/q1
		q2 = (d - x2) - b/q2
		q3 = (d - x3) - b/q3
		q4 = (d - x4) - b/q4
	}
}
