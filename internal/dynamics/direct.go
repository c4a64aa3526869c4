package dynamics

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Direct is the network with direct recurrent connections: r = M⁻¹x.
const Direct Algorithm = "direct"

func init() { register(direct{}) }

// direct is the network with direct recurrent connections (docs/model.md,
// network 1): the synapses M themselves learn, M ← M + η(r rᵀ − I).
type direct struct{}

func (direct) Name() Algorithm { return Direct }

func (direct) Doc() string {
	return "direct recurrent connections: the synapses M learn, M ← M + η(r rᵀ − I); converges in time linear in the initial spectrum"
}

func (direct) DefaultK(n int) int { return n }

func (direct) UsesK() bool { return false }

// Cost: a flow point takes about 50 accepted steps whatever its scale,
// each a few factorizations of an n×n matrix; an online step is a Cholesky
// factorization and b solves.
func (direct) Cost(n, k, b float64) (flowPoint, onlineStep float64) {
	return 50 * (1.9 + 0.08*n*n + 0.0015*n*n*n), 0.08 + 0.0032*n*n*b + 0.00001*n*n*n
}

func (direct) validate(Params, paramsChecked) []error { return nil }

func (direct) setup(*point) {}

func (direct) oracle(s, m0, tol float64) (float64, bool) {
	a := math.Sqrt(s)
	mEps := a / math.Sqrt(1+tol)
	if m0*m0 > s {
		mEps = a / math.Sqrt(1-tol)
	}
	return directG(mEps, a) - directG(m0, a), true
}

// directG is G(m) = −m + (a/2) ln|(a + m)/(a − m)|, written with log1p so
// that it stays accurate far from and close to a.
func directG(m, a float64) float64 {
	var l float64
	if m > a {
		l = math.Log1p(2 * a / (m - a))
	} else {
		l = math.Log1p(2 * m / (a - m))
	}
	return -m + 0.5*a*l
}

// directFlow is dM̃/dt = P diag(s) P − I, P = M̃⁻¹, on the state M̃ (full
// symmetric n×n): 2n³ flops per right-hand side (Cholesky, inverse, one
// symmetric product), against about 3.3n³ in the original basis.
type directFlow struct{ pt *point }

func (direct) flow(pt *point) flowRule { return directFlow{pt} }

func (f directFlow) dim() int { return f.pt.n * f.pt.n }

func (f directFlow) initial() []float64 { return f.pt.m0InBasisOfC().Data }

func (f directFlow) matrix(y []float64) []float64 { return y }

func (f directFlow) resume(prev *point, y []float64) []float64 {
	return toBasisOf(f.pt, prev.fromBasisOfC(y))
}

func (f directFlow) rhs(fs *flowSystem, y, dy []float64) {
	n := f.pt.n
	copy(dy[:n*n], fs.outputCovariance())
	for i := 0; i < n; i++ {
		dy[i*n+i]--
	}
}

// directOnline carries M (its lower triangle kept up to date) and its
// Cholesky factor L, M = LLᵀ, with the reciprocals of its diagonal. A step
// solves r = M⁻¹x by L and updates M ← M + η(⟨r rᵀ⟩ − I).
type directOnline struct {
	s       *onlineState
	m, chol blas64.General
	rdiag   []float64
	g, r    []float64
	gb, rb  blas64.General // n×min(batch, batchBlock), nil for batch 1
	// cholCurrent reports that chol is the factor of the current M (made
	// by solve between two steps, and used by the next step).
	cholCurrent bool
	// mHeld reports that chol's lower triangle holds M, copied there by
	// the step that updated M, so that the factorisation starts from it.
	mHeld bool
}

func (direct) online(pt *point, s *onlineState) onlineRule {
	n, b := pt.n, s.batch
	o := &directOnline{s: s, m: newGeneral(n, n), chol: newGeneral(n, n), rdiag: make([]float64, n), g: make([]float64, n), r: make([]float64, n)}
	copy(o.m.Data, pt.m0.Data)
	if b > 1 {
		bb := min(b, batchBlock)
		o.gb, o.rb = newGeneral(n, bb), newGeneral(n, bb)
	}
	return o
}

func (o *directOnline) start() bool { return true }

func (o *directOnline) step() bool {
	if o.s.batch == 1 {
		return o.stepOne()
	}
	return o.stepBatch()
}

func (o *directOnline) finite() bool { return lowerFinite(o.m) }

func (o *directOnline) matrix(m blas64.General) { copyLowerMirror(m, o.m) }

func (o *directOnline) flops() float64 {
	n, b := float64(o.s.n), float64(o.s.batch)
	return n*n*n/3 + b*3*n*n
}

// factorM computes the Cholesky factor L (M = LLᵀ) of M into o.chol.
func (o *directOnline) factorM() bool {
	var ok bool
	if o.mHeld {
		ok = choleskyRank4Held(o.chol.Data, o.s.n, o.rdiag)
	} else {
		ok = cholesky(o.chol.Data, o.m.Data, o.s.n, o.rdiag)
	}
	o.mHeld = false
	if !ok {
		o.s.failed = ReasonNotPositiveDefinite
		if !lowerFinite(o.m) {
			o.s.failed = ReasonNonFinite
		}
		return false
	}
	return true
}

// factorCurrent makes chol the factor of the current M, unless it is.
func (o *directOnline) factorCurrent() bool {
	if o.cholCurrent {
		return true
	}
	o.cholCurrent = o.factorM()
	return o.cholCurrent
}

func (o *directOnline) factor() (l, rdiag []float64) { return o.chol.Data, o.rdiag }

func (o *directOnline) solve(v []float64) bool {
	if !o.factorCurrent() {
		return false
	}
	solveLower(o.chol.Data, o.s.n, o.rdiag, v)
	return true
}

// stepOne: r = M⁻¹x by a Cholesky solve, M ← M + η(r rᵀ − I), on the
// lower triangle of M.
func (o *directOnline) stepOne() bool {
	if !o.factorCurrent() {
		return false
	}
	o.cholCurrent = false
	s := o.s
	s.draw(o.g)
	mulVec(1, s.cHalf, o.g, o.r)
	solveLower(o.chol.Data, s.n, o.rdiag, o.r)
	n, eta := s.n, s.eta
	r := o.r[:n]
	if useVec(n, vecMinSyr) {
		// The update writes M's lower triangle into chol as well: from
		// vecMinCholesky on, the copy the next factorisation would make.
		m, l := o.m.Data, o.chol.Data
		syrLower(n, m, n, r, eta, l, n)
		for i := range n {
			m[i*n+i] -= eta
			l[i*n+i] = m[i*n+i]
		}
		o.mHeld = useVec(n, vecMinCholesky)
		return true
	}
	for i, ri := range r {
		row := o.m.Data[i*n : i*n+i+1]
		h := eta * ri
		for j, rj := range r[:len(row)] {
			row[j] += h * rj
		}
		row[i] -= eta
	}
	return true
}

// stepBatch: R = M⁻¹X for the batch, M ← M + η(RRᵀ/b − I), on the lower
// triangle of M.
func (o *directOnline) stepBatch() bool {
	if !o.factorCurrent() {
		return false
	}
	o.cholCurrent = false
	s := o.s
	n := s.n
	lower := blas64.Symmetric{Uplo: blas.Lower, N: n, Stride: o.m.Stride, Data: o.m.Data}
	for start, blocks := 0, 1; start < s.batch; start, blocks = start+batchBlock, blocks+1 {
		if blocks%s.checkBlocks == 0 && s.cancelled() {
			return false
		}
		cols := min(batchBlock, s.batch-start)
		g, r := block(o.gb, n, cols), block(o.rb, n, cols)
		s.drawColumns(g)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.cHalf, g, 0, r)
		solveLowerColumns(o.chol.Data, n, o.rdiag, r.Data, cols)
		blas64.Syrk(blas.NoTrans, s.eta/float64(s.batch), r, 1, lower)
	}
	for i := 0; i < n; i++ {
		o.m.Data[i*n+i] -= s.eta
	}
	return true
}
