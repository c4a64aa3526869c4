package dynamics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Interneuron is the network whose recurrence is mediated by k ≥ n
// interneurons with weights W (k×n): M = WᵀW.
const Interneuron Algorithm = "interneuron"

// RefreshPeriod is the number of online steps of the interneuron network
// between two recomputations of the carried inverse M⁻¹ from W (M = WᵀW,
// Cholesky, inverse). In between, M⁻¹ is updated by Sherman–Morrison in
// O(n²) per step; the drift this accumulates is bounded in the tests.
const RefreshPeriod = 1000

// Scales of the lazily scaled interneuron state are folded back into the
// matrices before they leave this range.
const (
	foldBelow = 1e-100
	foldAbove = 1e100
)

func init() { register(interneuron{}) }

// interneuron is the network whose recurrence is mediated by k ≥ n
// interneurons (docs/model.md, network 2): the synapses W (k×n) learn,
// W ← W + η(z rᵀ − W), and M = WᵀW.
type interneuron struct{}

func (interneuron) Name() Algorithm { return Interneuron }

func (interneuron) Doc() string {
	return "recurrence through k ≥ n interneurons with learned synapses W, M = WᵀW; converges in time logarithmic in the initial spectrum"
}

func (interneuron) DefaultK(n int) int { return n }

func (interneuron) UsesK() bool { return true }

// Cost: a flow point costs about as much as the direct network's while
// k = n (about 50 steps) and grows with k/n; an online step is O(n² + kn)
// per sample.
func (interneuron) Cost(n, k, b float64) (flowPoint, onlineStep float64) {
	k = math.Max(k, n)
	return 50 * (1.9 + 0.08*n*n + 0.0015*n*n*n) * k / n, 0.37 + 0.001*(n+k)*n*b
}

func (interneuron) validate(p Params, ok paramsChecked) []error {
	var errs []error
	if ok.k && p.K < p.N {
		errs = append(errs, &FieldError{"k", p.K, fmt.Sprintf("is below n = %d: the interneuron network needs k ≥ n; set k ≥ %d or leave it out for k = n", p.N, p.N)})
	}
	if ok.eta && p.Eta >= 1 {
		errs = append(errs, &FieldError{"eta", p.Eta, "is out of range: the interneuron rule needs 0 < eta < 1"})
	}
	return errs
}

// setup draws W₀ = U diag(√λ) Vᵀ with U a Haar k×n frame, so that
// W₀ᵀW₀ = M₀ exactly; the wishart shape has drawn W₀ already.
func (interneuron) setup(pt *point) {
	if pt.w0.Data != nil {
		return
	}
	u := haarFrame(newStream(pt.p.Seed, streamInterneuronFrame), pt.k, pt.n)
	pt.w0 = newGeneral(pt.k, pt.n)
	// W₀ = U diag(√λ) Vᵀ = U (V diag(√λ))ᵀ.
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, u, pt.m0Half, 0, pt.w0)
}

func (interneuron) oracle(s, m0, tol float64) (float64, bool) {
	u0 := m0 * m0
	if u0 > s {
		return 0.25 * math.Log((u0-s)*(1-tol)/(s*tol)), true
	}
	return 0.25 * math.Log((s-u0)*(1+tol)/(s*tol)), true
}

// interneuronFlow is dM̃/dt = P diag(s) + diag(s) P − 2M̃, P = M̃⁻¹, the
// flow of M = WᵀW under dW/dt = W(C_rr − I), which depends on W only
// through M: n³ flops per right-hand side (Cholesky and inverse; the rest
// is O(n²)), against about 6.3n³ in the original basis with W as the state.
type interneuronFlow struct{ pt *point }

func (interneuron) flow(pt *point) flowRule { return interneuronFlow{pt} }

func (f interneuronFlow) dim() int { return f.pt.n * f.pt.n }

func (f interneuronFlow) initial() []float64 { return f.pt.m0InBasisOfC().Data }

func (f interneuronFlow) matrix(y []float64) []float64 { return y }

func (f interneuronFlow) resume(prev *point, y []float64) []float64 {
	return toBasisOf(f.pt, prev.fromBasisOfC(y))
}

func (f interneuronFlow) rhs(fs *flowSystem, y, dy []float64) {
	n, s, p := f.pt.n, f.pt.s, fs.wh.p
	for i := 0; i < n; i++ {
		si := s[i]
		for j := i; j < n; j++ {
			v := p[i*n+j]*(si+s[j]) - 2*y[i*n+j]
			dy[i*n+j] = v
			dy[j*n+i] = v
		}
	}
}

// interneuronOnline carries W = wScale·w and M⁻¹ = mScale·minv (both
// triangles kept, so that products run through the assembly Gemv and Ger
// kernels; carrying the scalar factors saves two passes over the matrices
// per step). The rule with batch b is W ← W + η(⟨z rᵀ⟩ − W) = W·A with
// A = (1 − η)I + η⟨r rᵀ⟩, so M ← A M A stays positive definite for η < 1.
// For b = 1 the step carries M⁻¹ by Sherman–Morrison in O(n² + kn); for
// 1 < b < n it applies A⁻¹ on both sides of M⁻¹ by the Woodbury identity in
// O(b(n² + kn)); for b ≥ n it forms A explicitly and recomputes M⁻¹ from W.
type interneuronOnline struct {
	s        *onlineState
	w        blas64.General
	wScale   float64
	minv     blas64.General
	mScale   float64
	woodbury bool
	// steps counts the steps taken; refreshEvery is RefreshPeriod (tests
	// change it).
	steps        int64
	refreshEvery int64

	g, x, r, z, v, u []float64
	q1, q2, sol      []float64

	// Batch workspaces (nil for batch 1).
	gb, rb     blas64.General // n×min(batch, batchBlock)
	zb, vb, pb blas64.General // k×b, n×b, n×b (Woodbury)
	qb, kb, tb blas64.General // n×b, b×b, b×b (Woodbury)
	amat, wtmp blas64.General // n×n, k×n (explicit)
}

func (interneuron) online(pt *point, s *onlineState) onlineRule {
	n, k, b := pt.n, pt.k, s.batch
	o := &interneuronOnline{
		s: s, w: newGeneral(k, n), wScale: 1, minv: newGeneral(n, n), mScale: 1,
		refreshEvery: RefreshPeriod,
		g:            make([]float64, n), x: make([]float64, n), r: make([]float64, n), z: make([]float64, k),
		v: make([]float64, n), u: make([]float64, n), q1: make([]float64, n), q2: make([]float64, n), sol: make([]float64, n),
	}
	copy(o.w.Data, pt.w0.Data)
	switch {
	case b == 1:
	case b < n:
		o.useWoodbury()
	default:
		o.useExplicitBatch()
	}
	return o
}

// useWoodbury allocates the workspaces of the Woodbury batch step.
func (o *interneuronOnline) useWoodbury() {
	n, k, b := o.s.n, o.s.k, o.s.batch
	o.woodbury = true
	o.gb, o.rb = newGeneral(n, b), newGeneral(n, b)
	o.zb, o.vb, o.pb, o.qb = newGeneral(k, b), newGeneral(n, b), newGeneral(n, b), newGeneral(n, b)
	o.kb, o.tb = newGeneral(b, b), newGeneral(b, b)
}

// useExplicitBatch allocates the workspaces of the explicit batch step.
func (o *interneuronOnline) useExplicitBatch() {
	n, k, bb := o.s.n, o.s.k, min(o.s.batch, batchBlock)
	o.woodbury = false
	o.gb, o.rb = newGeneral(n, bb), newGeneral(n, bb)
	o.amat, o.wtmp = newGeneral(n, n), newGeneral(k, n)
}

func (o *interneuronOnline) start() bool { return o.refresh() }

func (o *interneuronOnline) step() bool {
	var ok bool
	switch {
	case o.s.batch == 1:
		ok = o.stepOne()
	case o.woodbury:
		ok = o.stepWoodbury()
	default:
		ok = o.stepExplicit()
	}
	if !ok {
		return false
	}
	o.steps++
	if o.steps%o.refreshEvery == 0 {
		return o.refresh()
	}
	return true
}

func (o *interneuronOnline) finite() bool {
	return allFinite(o.w.Data) && !math.IsInf(o.wScale, 0) && !math.IsNaN(o.wScale)
}

// matrix writes M = WᵀW.
func (o *interneuronOnline) matrix(m blas64.General) {
	blas64.Syrk(blas.Trans, o.wScale*o.wScale, o.w, 0, upper(m))
	mirrorUpper(m)
}

// solve applies the carried M⁻¹.
func (o *interneuronOnline) solve(v []float64) bool {
	mulVec(o.mScale, o.minv, v, o.sol)
	copy(v, o.sol)
	return true
}

func (o *interneuronOnline) flops() float64 {
	n, k, b := float64(o.s.n), float64(o.s.k), float64(o.s.batch)
	return b * (4*n*n + 3*k*n)
}

// stepOne is the O(n² + kn) step with batch 1:
//
//	r = M⁻¹x, z = W r, W ← (1 − η)W + η z rᵀ,
//	M⁻¹ ← A⁻¹M⁻¹A⁻¹ = (M⁻¹ − c(r uᵀ + u rᵀ))/(1 − η)²,
//
// with A⁻¹ = (I − c r rᵀ)/(1 − η), c = η/((1 − η) + η rᵀr), v = M⁻¹r and
// u = v − (c·rᵀv/2) r.
func (o *interneuronOnline) stepOne() bool {
	eta := o.s.eta
	o.s.draw(o.g)
	mulVec(1, o.s.cHalf, o.g, o.x)
	mulVec(o.mScale, o.minv, o.x, o.r)
	mulVec(o.wScale, o.w, o.r, o.z)
	o.wScale *= 1 - eta
	blas64.Ger(eta/o.wScale, vec(o.z), vec(o.r), o.w)

	mulVec(o.mScale, o.minv, o.r, o.v)
	rr := blas64.Dot(vec(o.r), vec(o.r))
	alpha := blas64.Dot(vec(o.r), vec(o.v))
	c := eta / ((1 - eta) + eta*rr)
	if math.IsNaN(c) || math.IsInf(c, 0) || math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		o.s.failed = ReasonNonFinite
		return false
	}
	h := 0.5 * c * alpha
	for i, vi := range o.v {
		o.u[i] = vi - h*o.r[i]
	}
	o.symmetricRankTwo(-c/o.mScale, o.r, o.u)
	o.mScale /= (1 - eta) * (1 - eta)
	if o.wScale < foldBelow {
		o.foldW()
	}
	if o.mScale > foldAbove {
		o.foldMinv()
	}
	return true
}

// symmetricRankTwo adds alpha·(r uᵀ + u rᵀ), alpha < 0, to minv keeping it
// exactly symmetric. Two Ger calls with (r, u) and (u, r) would round the two
// triangles differently, and the asymmetric part of M⁻¹ is amplified by the
// Sherman–Morrison recursion (by about (1 − η)⁻² per step). So the update is
// written as the difference of two symmetric rank-one terms,
//
//	r uᵀ + u rᵀ = ½[(a + b)(a + b)ᵀ − (a − b)(a − b)ᵀ],  a = t·r, b = u/t,
//
// with t = √(‖u‖/‖r‖) balancing the norms so that the difference does not
// cancel badly, each applied by Ger with alpha = ±1 on q = √(|alpha|/2)(a ± b):
// entry (i, j) and (j, i) then receive the same rounded products q_i·q_j.
func (o *interneuronOnline) symmetricRankTwo(alpha float64, r, u []float64) {
	t := 1.0
	if nr, nu := blas64.Nrm2(vec(r)), blas64.Nrm2(vec(u)); nr > 0 && nu > 0 {
		t = math.Sqrt(nu / nr)
	}
	f := math.Sqrt(-alpha / 2)
	for i := range r {
		a, b := t*r[i], u[i]/t
		o.q1[i] = f * (a + b)
		o.q2[i] = f * (a - b)
	}
	blas64.Ger(-1, vec(o.q1), vec(o.q1), o.minv)
	blas64.Ger(1, vec(o.q2), vec(o.q2), o.minv)
}

// foldW multiplies wScale into w.
func (o *interneuronOnline) foldW() {
	if o.wScale != 1 {
		blas64.Scal(o.wScale, vec(o.w.Data))
		o.wScale = 1
	}
}

// foldMinv multiplies mScale into minv.
func (o *interneuronOnline) foldMinv() {
	if o.mScale != 1 {
		blas64.Scal(o.mScale, vec(o.minv.Data))
		o.mScale = 1
	}
}

// stepWoodbury is the batch step for 1 < b < n: with the n×b
// matrix R = M⁻¹X, A = (1 − η)(I + γRRᵀ), γ = η/((1 − η)b), and
// A⁻¹ = (I − RKRᵀ)/(1 − η), K = (I/γ + RᵀR)⁻¹. With V = M⁻¹R, P = RK,
// T = RᵀV and Q = V − PT/2, A⁻¹M⁻¹A⁻¹ = (M⁻¹ − (PQᵀ + QPᵀ))/(1 − η)².
func (o *interneuronOnline) stepWoodbury() bool {
	o.foldW()
	o.foldMinv()
	eta, b := o.s.eta, float64(o.s.batch)
	minv := upper(o.minv)
	o.s.drawColumns(o.gb)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, o.s.cHalf, o.gb, 0, o.vb) // X, in vb for now
	blas64.Symm(blas.Left, 1, minv, o.vb, 0, o.rb)                       // R = M⁻¹X
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, o.w, o.rb, 0, o.zb)       // Z = W R
	blas64.Gemm(blas.NoTrans, blas.Trans, eta/b, o.zb, o.rb, 1-eta, o.w)
	blas64.Symm(blas.Left, 1, minv, o.rb, 0, o.vb) // V = M⁻¹R

	kb := upper(o.kb)
	blas64.Syrk(blas.Trans, 1, o.rb, 0, kb)
	invGamma := (1 - eta) * b / eta
	for i := 0; i < o.s.batch; i++ {
		o.kb.Data[i*o.kb.Stride+i] += invGamma
	}
	t, ok := lapack64.Potrf(kb)
	if ok {
		_, ok = lapack64.Potri(t)
	}
	if !ok {
		o.s.failed = ReasonNonFinite
		return false
	}
	blas64.Symm(blas.Right, 1, kb, o.rb, 0, o.pb)                      // P = R K
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, o.rb, o.vb, 0, o.tb)      // T = RᵀV
	copy(o.qb.Data, o.vb.Data)                                         // Q = V
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -0.5, o.pb, o.tb, 1, o.qb) // Q = V − PT/2
	blas64.Syr2k(blas.NoTrans, -1, o.pb, o.qb, 1, minv)
	mirrorUpper(o.minv)
	o.mScale = 1 / ((1 - eta) * (1 - eta))
	return true
}

// stepExplicit is the batch step for b ≥ n: it forms
// A = (1 − η)I + (η/b)RRᵀ, sets W ← W A and recomputes M⁻¹ from W.
func (o *interneuronOnline) stepExplicit() bool {
	o.foldW()
	n := o.s.n
	a := upper(o.amat)
	for i := range o.amat.Data {
		o.amat.Data[i] = 0
	}
	minv := upper(o.minv)
	for start, blocks := 0, 1; start < o.s.batch; start, blocks = start+batchBlock, blocks+1 {
		if blocks%o.s.checkBlocks == 0 && o.s.cancelled() {
			return false
		}
		cols := min(batchBlock, o.s.batch-start)
		g, r := block(o.gb, n, cols), block(o.rb, n, cols)
		o.s.drawColumns(g)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, o.s.cHalf, g, 0, r)
		// r ← M⁻¹ r, through a copy in g (g is no longer needed).
		copy(g.Data, r.Data)
		blas64.Symm(blas.Left, o.mScale, minv, g, 0, r)
		blas64.Syrk(blas.NoTrans, o.s.eta/float64(o.s.batch), r, 1, a)
	}
	for i := 0; i < n; i++ {
		o.amat.Data[i*n+i] += 1 - o.s.eta
	}
	mirrorUpper(o.amat)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, o.w, o.amat, 0, o.wtmp)
	o.w, o.wtmp = o.wtmp, o.w
	return o.refresh()
}

// refresh recomputes M⁻¹ from W: M = WᵀW, Cholesky, inverse.
func (o *interneuronOnline) refresh() bool {
	o.foldW()
	minv := upper(o.minv)
	blas64.Syrk(blas.Trans, 1, o.w, 0, minv)
	t, ok := lapack64.Potrf(minv)
	if ok {
		_, ok = lapack64.Potri(t)
	}
	mirrorUpper(o.minv)
	o.mScale = 1
	if !ok {
		o.s.failed = ReasonNotPositiveDefinite
		if !allFinite(o.w.Data) {
			o.s.failed = ReasonNonFinite
		}
		return false
	}
	return true
}
