package dynamics

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Gain is the network of interneurons with fixed synapses and adaptive
// gains (docs/model.md, network 3).
const Gain Algorithm = "gain"

func init() { register(gain{}) }

// gain is the network whose k interneurons have fixed synapses, a frame
// W ∈ R^{n×k} of unit-norm columns drawn from the point's seed (see
// gainFrame), and adapt
// only their gains g ∈ R^k (Duong et al., ICML 2023):
//
//	M = I + W diag(g) Wᵀ,  r = M⁻¹x,  z = Wᵀr,  g ← g + η(⟨z∘z⟩ − 1),
//
// with the mean dynamics dg/dt = diag(WᵀC_rrW) − 1. At a fixed point
// wᵢᵀC_rr wᵢ = 1 for every i; when the outer products wᵢwᵢᵀ span the
// symmetric matrices (k ≥ n(n+1)/2, the default) that forces C_rr = I, so
// M* = C^{1/2}, the target of the other networks. M must stay positive
// definite (gains may be negative); losing it is divergence.
//
// The start is fair: g₀ solves W diag(g₀) Wᵀ = M₀ − I in the least-squares
// sense (the minimum-norm solution when k > n(n+1)/2), exactly when the
// frame spans, so the network starts from the M₀ of the others; with
// fewer gains it starts from the nearest M it can represent, which the
// trajectory's first sample shows.
type gain struct{}

func (gain) Name() Algorithm { return Gain }

func (gain) Doc() string {
	return "k interneurons with fixed random synapses whose gains g adapt, M = I + W diag(g) Wᵀ (k defaults to n(n+1)/2, which spans the symmetric matrices)"
}

// DefaultK is n(n+1)/2, the fewest gains that can whiten every C.
func (gain) DefaultK(n int) int { return n * (n + 1) / 2 }

func (gain) UsesK() bool { return true }

// Cost: a flow point takes about 100·n accepted steps over μ in [1, 100]
// (bench/pointcost: 198 at n = 2, 1958 at n = 16), each forming M (2n²k
// flops), inverting it (n³) and projecting C_rr on the frame (2n²k), seven
// times; an online step forms and factorizes M and costs O(n² + nk) per
// sample.
func (gain) Cost(n, k, b float64) (flowPoint, onlineStep float64) {
	return 100 * n * (1.9 + 0.08*n*n + 0.0015*n*n*n + 0.004*n*n*k), 0.15 + 0.0008*n*n*k + b*(0.003*n*n+0.002*n*k)
}

func (gain) validate(Params, paramsChecked) []error { return nil }

func (gain) oracle(s, m0, tol float64) (float64, bool) { return 0, false }

// gainStart is the gain network's initial state of a point.
type gainStart struct {
	frame blas64.General // W, n×k, unit-norm columns
	g0    []float64      // the initial gains
}

// setup draws the frame and fits the initial gains to M₀.
func (gain) setup(pt *point) {
	frame := gainFrame(newStream(pt.p.Seed, streamGainFrame), pt.n, pt.k)
	pt.start = &gainStart{frame: frame, g0: fitGains(frame, pt.m0)}
}

// gainFrame returns the n×k frame W = R·F of unit-norm columns: R a Haar
// rotation drawn from rng, and F the structured frame whose first columns
// are the basis vectors eᵢ and then (eᵢ + eⱼ)/√2 for i < j, in that order
// (n(n+1)/2 columns, whose outer products span the symmetric matrices);
// columns beyond those are Gaussian, normalised. The structure matters:
// the gain flow is the direct flow preconditioned by the operator
// X ↦ Σᵢ (wᵢᵀXwᵢ) wᵢwᵢᵀ, and its slowest direction sets the convergence
// time. With k = n(n+1)/2 that operator's condition number is 16 at n = 4
// and 160 at n = 16 for this frame (a rotation does not change it), while
// for Gaussian columns its median is about 2·10³ at n = 4 and 3·10⁴ at
// n = 8 (200 draws each), with a tail past 10¹⁰.
func gainFrame(rng *rand.Rand, n, k int) blas64.General {
	f := newGeneral(n, k)
	col := 0
	for i := 0; i < n && col < k; i++ {
		f.Data[i*k+col] = 1
		col++
	}
	for i := 0; i < n && col < k; i++ {
		for j := i + 1; j < n && col < k; j++ {
			f.Data[i*k+col] = math.Sqrt2 / 2
			f.Data[j*k+col] = math.Sqrt2 / 2
			col++
		}
	}
	w := newGeneral(n, k)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, haarFrame(rng, n, n), f, 0, w)
	for ; col < k; col++ {
		var norm float64
		for i := 0; i < n; i++ {
			v := rng.NormFloat64()
			w.Data[i*k+col] = v
			norm = math.Hypot(norm, v)
		}
		if norm == 0 {
			norm = 1 // a zero column (probability zero) stays zero
		}
		for i := 0; i < n; i++ {
			w.Data[i*k+col] /= norm
		}
	}
	return w
}

// fitGains returns the g that minimises ‖W diag(g) Wᵀ − (M₀ − I)‖_F (the
// minimum-norm one when several do), for the n×k frame w: a least-squares
// problem over the n(n+1)/2 entries of the lower triangle, off-diagonal
// ones weighted √2 so that the residual is the Frobenius norm.
func fitGains(w, m0 blas64.General) []float64 {
	n, k := w.Rows, w.Cols
	rows := n * (n + 1) / 2
	a := newGeneral(rows, k)
	b := newGeneral(max(rows, k), 1)
	row := 0
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			weight := math.Sqrt2
			target := m0.Data[i*m0.Stride+j]
			if i == j {
				weight = 1
				target--
			}
			for c := 0; c < k; c++ {
				a.Data[row*k+c] = weight * w.Data[i*k+c] * w.Data[j*k+c]
			}
			b.Data[row] = weight * target
			row++
		}
	}
	work := make([]float64, 1)
	lapack64.Gels(blas.NoTrans, a, b, work, -1)
	work = make([]float64, max(int(work[0]), rows+max(rows, k)))
	g := make([]float64, k)
	if lapack64.Gels(blas.NoTrans, a, b, work, len(work)) {
		copy(g, b.Data[:k])
		return g
	}
	// A rank-deficient frame (probability zero): the minimum-norm
	// solution by the SVD would do; starting from g = 0 (M = I) is
	// recorded by the trajectory's first sample instead.
	return g
}

// gainMatrix writes M = I + W diag(g) Wᵀ (full symmetric) into m, with wg
// an n×k workspace.
func gainMatrix(m, w, wg blas64.General, g []float64) {
	n, k := w.Rows, w.Cols
	for i := 0; i < n; i++ {
		wr, gr := w.Data[i*w.Stride:i*w.Stride+k], wg.Data[i*wg.Stride:i*wg.Stride+k]
		for c, v := range wr {
			gr[c] = v * g[c]
		}
	}
	for i := 0; i < n; i++ {
		gr := wg.Data[i*wg.Stride : i*wg.Stride+k]
		for j := 0; j <= i; j++ {
			v := dot(gr, w.Data[j*w.Stride:j*w.Stride+k])
			if i == j {
				v++
			}
			m.Data[i*m.Stride+j] = v
			m.Data[j*m.Stride+i] = v
		}
	}
}

// gainFlow is dg/dt = diag(W̃ᵀ C̃_rr W̃) − 1 with W̃ = QᵀW, the frame in
// the eigenbasis of C, on the state g (k entries).
type gainFlow struct {
	pt     *point
	wt     blas64.General // W̃ = QᵀW, n×k
	wg, cw blas64.General // n×k workspaces
	m      blas64.General // M̃ of the last state asked for
}

func (gain) flow(pt *point) flowRule {
	n, k := pt.n, pt.k
	f := &gainFlow{pt: pt, wt: newGeneral(n, k), wg: newGeneral(n, k), cw: newGeneral(n, k), m: newGeneral(n, n)}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, pt.q, pt.start.(*gainStart).frame, 0, f.wt)
	return f
}

func (f *gainFlow) dim() int { return f.pt.k }

func (f *gainFlow) initial() []float64 { return append([]float64(nil), f.pt.start.(*gainStart).g0...) }

// resume keeps the gains: the frame is the same in every context.
func (f *gainFlow) resume(_ *point, y []float64) []float64 { return append([]float64(nil), y...) }

func (f *gainFlow) matrix(y []float64) []float64 {
	gainMatrix(f.m, f.wt, f.wg, y)
	return f.m.Data
}

func (f *gainFlow) rhs(fs *flowSystem, y, dy []float64) {
	n, k := f.pt.n, f.pt.k
	crr := blas64.General{Rows: n, Cols: n, Stride: n, Data: fs.outputCovariance()}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, crr, f.wt, 0, f.cw)
	for c := 0; c < k; c++ {
		dy[c] = -1
	}
	for a := 0; a < n; a++ {
		wr, cr := f.wt.Data[a*k:a*k+k], f.cw.Data[a*k:a*k+k]
		for c := range dy[:k] {
			dy[c] += wr[c] * cr[c]
		}
	}
}

// gainOnline carries the gains; a step forms M and its Cholesky factor,
// then for each sample r = M⁻¹x and z = Wᵀr, and moves the gains by
// η(⟨z∘z⟩ − 1). Forming M costs 2n²k flops, the factorization n³/3, a
// sample O(n² + nk).
type gainOnline struct {
	s       *onlineState
	w       blas64.General // the frame, n×k
	g       []float64
	m, chol blas64.General // M (full) and its Cholesky factor
	rdiag   []float64
	wg      blas64.General // n×k workspace
	gb, rb  blas64.General // n×min(batch, batchBlock)
	zb      blas64.General // k×min(batch, batchBlock)
	zzMean  []float64      // Σ z∘z over the batch
	// cholCurrent reports that chol is the factor of the current M (made
	// by solve between two steps, and used by the next step).
	cholCurrent bool
}

func (gain) online(pt *point, s *onlineState) onlineRule {
	n, k, bb := pt.n, pt.k, min(s.batch, batchBlock)
	start := pt.start.(*gainStart)
	o := &gainOnline{
		s: s, w: start.frame, g: append([]float64(nil), start.g0...),
		m: newGeneral(n, n), chol: newGeneral(n, n), rdiag: make([]float64, n), wg: newGeneral(n, k),
		gb: newGeneral(n, bb), rb: newGeneral(n, bb), zb: newGeneral(k, bb), zzMean: make([]float64, k),
	}
	return o
}

func (o *gainOnline) start() bool { return true }

func (o *gainOnline) finite() bool { return allFinite(o.g) }

func (o *gainOnline) matrix(m blas64.General) {
	gainMatrix(m, o.w, o.wg, o.g)
}

func (o *gainOnline) flops() float64 {
	n, k, b := float64(o.s.n), float64(o.s.k), float64(o.s.batch)
	return 2*n*n*k + n*n*n/3 + b*(3*n*n+2*n*k)
}

// factorCurrent forms M of the current gains and factorises it, unless
// that is done.
func (o *gainOnline) factorCurrent() bool {
	if o.cholCurrent {
		return true
	}
	if !allFinite(o.g) {
		o.s.failed = ReasonNonFinite
		return false
	}
	gainMatrix(o.m, o.w, o.wg, o.g)
	if !cholesky(o.chol.Data, o.m.Data, o.s.n, o.rdiag) {
		o.s.failed = ReasonNotPositiveDefinite
		return false
	}
	o.cholCurrent = true
	return true
}

func (o *gainOnline) factor() (l, rdiag []float64) { return o.chol.Data, o.rdiag }

func (o *gainOnline) solve(v []float64) bool {
	if !o.factorCurrent() {
		return false
	}
	solveLower(o.chol.Data, o.s.n, o.rdiag, v)
	return true
}

func (o *gainOnline) step() bool {
	s := o.s
	n, k := s.n, s.k
	if !o.factorCurrent() {
		return false
	}
	o.cholCurrent = false
	clear(o.zzMean)
	for start, blocks := 0, 1; start < s.batch; start, blocks = start+batchBlock, blocks+1 {
		if blocks%s.checkBlocks == 0 && s.cancelled() {
			return false
		}
		cols := min(batchBlock, s.batch-start)
		g, r, z := block(o.gb, n, cols), block(o.rb, n, cols), block(o.zb, k, cols)
		s.drawColumns(g)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.cHalf, g, 0, r)
		solveLowerColumns(o.chol.Data, n, o.rdiag, r.Data, cols)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, o.w, r, 0, z)
		for c := 0; c < k; c++ {
			var sum float64
			for _, v := range z.Data[c*cols : c*cols+cols] {
				sum += v * v
			}
			o.zzMean[c] += sum
		}
	}
	inv := 1 / float64(s.batch)
	for c, zz := range o.zzMean {
		o.g[c] += s.eta * (zz*inv - 1)
	}
	return true
}
