package dynamics

import (
	"context"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// RefreshPeriod is the number of online steps of the interneuron network
// between two recomputations of the carried inverse M⁻¹ from W (M = WᵀW,
// Cholesky, inverse). In between, M⁻¹ is updated by Sherman–Morrison in
// O(n²) per step; the drift this accumulates is bounded in the tests.
const RefreshPeriod = 1000

// batchBlock is the number of samples handled at once by the batched paths,
// which bounds their workspace to n×batchBlock.
const batchBlock = 64

// Scales of the lazily scaled interneuron state are folded back into the
// matrices before they leave this range.
const (
	foldBelow = 1e-100
	foldAbove = 1e100
)

// onlineState is the state of the online rule of one point, with every
// workspace of a step preallocated: step does not allocate.
//
// The online rule with batch b averages the Hebbian term over b samples
// drawn for the same M. Direct: M ← M + η(⟨r rᵀ⟩ − I). Interneuron:
// W ← W + η(⟨z rᵀ⟩ − W) = W·A with A = (1 − η)I + η⟨r rᵀ⟩, so M ← A M A
// stays positive definite for η < 1. For b = 1 the interneuron step carries
// M⁻¹ by Sherman–Morrison in O(n² + kn); for 1 < b < n it applies A⁻¹ on
// both sides of M⁻¹ by the Woodbury identity in O(b(n² + kn)); for b ≥ n it
// forms A explicitly and recomputes M⁻¹ from W.
type onlineState struct {
	alg   Algorithm
	n, k  int
	batch int
	eta   float64
	rng   *rand.Rand
	cHalf blas64.General
	steps int64

	// Direct network: M (its lower triangle is kept up to date) and its
	// Cholesky factor L, M = LLᵀ, with the reciprocals of its diagonal.
	m, chol blas64.General
	rdiag   []float64

	// Interneuron network: W = wScale·w and M⁻¹ = mScale·minv (both
	// triangles kept, so that products run through the assembly Gemv and
	// Ger kernels). Carrying the scalar factors saves two passes over the
	// matrices per step.
	w        blas64.General
	wScale   float64
	minv     blas64.General
	mScale   float64
	woodbury bool
	// refreshEvery is RefreshPeriod; tests change it.
	refreshEvery int64

	g, x, r, z, v, u []float64
	q1, q2           []float64

	// Batch workspaces (nil for batch 1).
	gb, rb     blas64.General // n×min(batch, batchBlock)
	zb, vb, pb blas64.General // k×b, n×b, n×b (Woodbury)
	qb, kb, tb blas64.General // n×b, b×b, b×b (Woodbury)
	amat, wtmp blas64.General // n×n, k×n (explicit)

	wh    *whitening
	mFull blas64.General // scratch n×n

	// ctx, when set, is looked at every checkBlocks blocks of samples
	// inside a batched step, so that a step of a huge batch can be
	// abandoned; stopped reports that it was (the step returned false for
	// that reason, with failed empty).
	ctx         context.Context
	checkBlocks int
	stopped     bool

	// failed is the divergence reason of the last step that returned false.
	failed string
}

func newOnlineState(pt *point) *onlineState {
	p := pt.p
	n, k, b := pt.n, pt.k, p.Batch
	s := &onlineState{
		alg:   p.Algorithm,
		n:     n,
		k:     k,
		batch: b,
		eta:   p.Eta,
		rng:   newStream(p.Seed, streamSamples),
		cHalf: pt.cHalf,
		g:     make([]float64, n),
		x:     make([]float64, n),
		r:     make([]float64, n),
		v:     make([]float64, n),
		u:     make([]float64, n),
		q1:    make([]float64, n),
		q2:    make([]float64, n),
		wh:    newWhitening(pt.b),
		mFull: newGeneral(n, n),

		refreshEvery: RefreshPeriod,
		checkBlocks:  checkBlocks(n),
	}
	if s.alg == Direct {
		bb := min(b, batchBlock)
		s.m = newGeneral(n, n)
		copy(s.m.Data, pt.m0.Data)
		s.chol = newGeneral(n, n)
		s.rdiag = make([]float64, n)
		if b > 1 {
			s.gb, s.rb = newGeneral(n, bb), newGeneral(n, bb)
		}
		return s
	}
	s.w = newGeneral(k, n)
	copy(s.w.Data, pt.w0.Data)
	s.wScale, s.mScale = 1, 1
	s.minv = newGeneral(n, n)
	s.z = make([]float64, k)
	switch {
	case b == 1:
	case b < n:
		s.useWoodbury()
	default:
		s.useExplicitBatch()
	}
	return s
}

// useWoodbury allocates the workspaces of the Woodbury batch step.
func (s *onlineState) useWoodbury() {
	n, k, b := s.n, s.k, s.batch
	s.woodbury = true
	s.gb, s.rb = newGeneral(n, b), newGeneral(n, b)
	s.zb, s.vb, s.pb, s.qb = newGeneral(k, b), newGeneral(n, b), newGeneral(n, b), newGeneral(n, b)
	s.kb, s.tb = newGeneral(b, b), newGeneral(b, b)
}

// useExplicitBatch allocates the workspaces of the explicit batch step.
func (s *onlineState) useExplicitBatch() {
	n, k, bb := s.n, s.k, min(s.batch, batchBlock)
	s.woodbury = false
	s.gb, s.rb = newGeneral(n, bb), newGeneral(n, bb)
	s.amat, s.wtmp = newGeneral(n, n), newGeneral(k, n)
}

// start prepares the first step; false (with failed set) when M₀ cannot be
// factorised.
func (s *onlineState) start() bool {
	if s.alg == Interneuron {
		return s.refresh()
	}
	return true
}

func vec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }

func (s *onlineState) draw(g []float64) {
	for i := range g {
		g[i] = s.rng.NormFloat64()
	}
}

// drawColumns fills the n×cols matrix g with cols samples of N(0, I), one
// column (sample) after the other, so that the draws of a sample do not
// depend on the batch size.
func (s *onlineState) drawColumns(g blas64.General) {
	for c := 0; c < g.Cols; c++ {
		for i := 0; i < g.Rows; i++ {
			g.Data[i*g.Stride+c] = s.rng.NormFloat64()
		}
	}
}

// checkBlocks returns how many blocks of batchBlock samples a batched step
// handles between two looks at the context: about a million flops of work
// (a block costs about 3·batchBlock·n² flops), at least one block and at
// most 16 (1024 samples, tens of µs at small n, against some 20 ns for a
// look at the context).
func checkBlocks(n int) int {
	return int(math.Max(1, math.Min(16, 1e6/(3*batchBlock*float64(n)*float64(n)))))
}

// cancelled reports whether the context of s is done, and marks s stopped
// when it is.
func (s *onlineState) cancelled() bool {
	if s.ctx == nil || s.ctx.Err() == nil {
		return false
	}
	s.stopped, s.failed = true, ""
	return true
}

// block returns the leading rows×cols block of the workspace a, packed.
func block(a blas64.General, rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: a.Data[:rows*cols]}
}

// step applies one learning step. It returns false, with s.failed set, when
// the step broke the state (divergence), or with s.stopped set when the
// context was done in the middle of a batched step (the state is then
// partly updated and must be dropped).
func (s *onlineState) step() bool {
	var ok bool
	switch {
	case s.alg == Direct && s.batch == 1:
		ok = s.stepDirect()
	case s.alg == Direct:
		ok = s.stepDirectBatch()
	case s.batch == 1:
		ok = s.stepInterneuron()
	case s.woodbury:
		ok = s.stepInterneuronWoodbury()
	default:
		ok = s.stepInterneuronExplicit()
	}
	if !ok {
		return false
	}
	s.steps++
	if s.alg == Interneuron && s.steps%s.refreshEvery == 0 {
		return s.refresh()
	}
	return true
}

// factorM computes the Cholesky factor L (M = LLᵀ) of the direct network's
// M into s.chol.
func (s *onlineState) factorM() bool {
	if !cholesky(s.chol.Data, s.m.Data, s.n, s.rdiag) {
		s.failed = ReasonNotPositiveDefinite
		if !lowerFinite(s.m) {
			s.failed = ReasonNonFinite
		}
		return false
	}
	return true
}

// stepDirect: r = M⁻¹x by a Cholesky solve, M ← M + η(r rᵀ − I), on the
// lower triangle of M.
func (s *onlineState) stepDirect() bool {
	if !s.factorM() {
		return false
	}
	s.draw(s.g)
	blas64.Gemv(blas.NoTrans, 1, s.cHalf, vec(s.g), 0, vec(s.r))
	solveLower(s.chol.Data, s.n, s.rdiag, s.r)
	n, eta := s.n, s.eta
	r := s.r[:n]
	for i, ri := range r {
		row := s.m.Data[i*n : i*n+i+1]
		h := eta * ri
		for j, rj := range r[:len(row)] {
			row[j] += h * rj
		}
		row[i] -= eta
	}
	return true
}

// stepDirectBatch: R = M⁻¹X for the batch, M ← M + η(RRᵀ/b − I), on the
// lower triangle of M.
func (s *onlineState) stepDirectBatch() bool {
	if !s.factorM() {
		return false
	}
	n := s.n
	lower := blas64.Symmetric{Uplo: blas.Lower, N: n, Stride: s.m.Stride, Data: s.m.Data}
	for start, blocks := 0, 1; start < s.batch; start, blocks = start+batchBlock, blocks+1 {
		if blocks%s.checkBlocks == 0 && s.cancelled() {
			return false
		}
		cols := min(batchBlock, s.batch-start)
		g, r := block(s.gb, n, cols), block(s.rb, n, cols)
		s.drawColumns(g)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.cHalf, g, 0, r)
		solveLowerColumns(s.chol.Data, n, s.rdiag, r.Data, cols)
		blas64.Syrk(blas.NoTrans, s.eta/float64(s.batch), r, 1, lower)
	}
	for i := 0; i < n; i++ {
		s.m.Data[i*n+i] -= s.eta
	}
	return true
}

// stepInterneuron is the O(n² + kn) step with batch 1:
//
//	r = M⁻¹x, z = W r, W ← (1 − η)W + η z rᵀ,
//	M⁻¹ ← A⁻¹M⁻¹A⁻¹ = (M⁻¹ − c(r uᵀ + u rᵀ))/(1 − η)²,
//
// with A⁻¹ = (I − c r rᵀ)/(1 − η), c = η/((1 − η) + η rᵀr), v = M⁻¹r and
// u = v − (c·rᵀv/2) r.
func (s *onlineState) stepInterneuron() bool {
	eta := s.eta
	s.draw(s.g)
	blas64.Gemv(blas.NoTrans, 1, s.cHalf, vec(s.g), 0, vec(s.x))
	blas64.Gemv(blas.NoTrans, s.mScale, s.minv, vec(s.x), 0, vec(s.r))
	blas64.Gemv(blas.NoTrans, s.wScale, s.w, vec(s.r), 0, vec(s.z))
	s.wScale *= 1 - eta
	blas64.Ger(eta/s.wScale, vec(s.z), vec(s.r), s.w)

	blas64.Gemv(blas.NoTrans, s.mScale, s.minv, vec(s.r), 0, vec(s.v))
	rr := blas64.Dot(vec(s.r), vec(s.r))
	alpha := blas64.Dot(vec(s.r), vec(s.v))
	c := eta / ((1 - eta) + eta*rr)
	if math.IsNaN(c) || math.IsInf(c, 0) || math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		s.failed = ReasonNonFinite
		return false
	}
	h := 0.5 * c * alpha
	for i, vi := range s.v {
		s.u[i] = vi - h*s.r[i]
	}
	s.symmetricRankTwo(-c/s.mScale, s.r, s.u)
	s.mScale /= (1 - eta) * (1 - eta)
	if s.wScale < foldBelow {
		s.foldW()
	}
	if s.mScale > foldAbove {
		s.foldMinv()
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
func (s *onlineState) symmetricRankTwo(alpha float64, r, u []float64) {
	t := 1.0
	if nr, nu := blas64.Nrm2(vec(r)), blas64.Nrm2(vec(u)); nr > 0 && nu > 0 {
		t = math.Sqrt(nu / nr)
	}
	f := math.Sqrt(-alpha / 2)
	for i := range r {
		a, b := t*r[i], u[i]/t
		s.q1[i] = f * (a + b)
		s.q2[i] = f * (a - b)
	}
	blas64.Ger(-1, vec(s.q1), vec(s.q1), s.minv)
	blas64.Ger(1, vec(s.q2), vec(s.q2), s.minv)
}

// foldW multiplies wScale into w.
func (s *onlineState) foldW() {
	if s.wScale != 1 {
		blas64.Scal(s.wScale, vec(s.w.Data))
		s.wScale = 1
	}
}

// foldMinv multiplies mScale into minv.
func (s *onlineState) foldMinv() {
	if s.mScale != 1 {
		blas64.Scal(s.mScale, vec(s.minv.Data))
		s.mScale = 1
	}
}

// stepInterneuronWoodbury is the batch step for 1 < b < n: with the n×b
// matrix R = M⁻¹X, A = (1 − η)(I + γRRᵀ), γ = η/((1 − η)b), and
// A⁻¹ = (I − RKRᵀ)/(1 − η), K = (I/γ + RᵀR)⁻¹. With V = M⁻¹R, P = RK,
// T = RᵀV and Q = V − PT/2, A⁻¹M⁻¹A⁻¹ = (M⁻¹ − (PQᵀ + QPᵀ))/(1 − η)².
func (s *onlineState) stepInterneuronWoodbury() bool {
	s.foldW()
	s.foldMinv()
	eta, b := s.eta, float64(s.batch)
	minv := upper(s.minv)
	s.drawColumns(s.gb)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.cHalf, s.gb, 0, s.vb) // X, in vb for now
	blas64.Symm(blas.Left, 1, minv, s.vb, 0, s.rb)                     // R = M⁻¹X
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.w, s.rb, 0, s.zb)     // Z = W R
	blas64.Gemm(blas.NoTrans, blas.Trans, eta/b, s.zb, s.rb, 1-eta, s.w)
	blas64.Symm(blas.Left, 1, minv, s.rb, 0, s.vb) // V = M⁻¹R

	kb := upper(s.kb)
	blas64.Syrk(blas.Trans, 1, s.rb, 0, kb)
	invGamma := (1 - eta) * b / eta
	for i := 0; i < s.batch; i++ {
		s.kb.Data[i*s.kb.Stride+i] += invGamma
	}
	t, ok := lapack64.Potrf(kb)
	if ok {
		_, ok = lapack64.Potri(t)
	}
	if !ok {
		s.failed = ReasonNonFinite
		return false
	}
	blas64.Symm(blas.Right, 1, kb, s.rb, 0, s.pb)                      // P = R K
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, s.rb, s.vb, 0, s.tb)      // T = RᵀV
	copy(s.qb.Data, s.vb.Data)                                         // Q = V
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -0.5, s.pb, s.tb, 1, s.qb) // Q = V − PT/2
	blas64.Syr2k(blas.NoTrans, -1, s.pb, s.qb, 1, minv)
	mirrorUpper(s.minv)
	s.mScale = 1 / ((1 - eta) * (1 - eta))
	return true
}

// stepInterneuronExplicit is the batch step for b ≥ n: it forms
// A = (1 − η)I + (η/b)RRᵀ, sets W ← W A and recomputes M⁻¹ from W.
func (s *onlineState) stepInterneuronExplicit() bool {
	s.foldW()
	n := s.n
	a := upper(s.amat)
	for i := range s.amat.Data {
		s.amat.Data[i] = 0
	}
	minv := upper(s.minv)
	for start, blocks := 0, 1; start < s.batch; start, blocks = start+batchBlock, blocks+1 {
		if blocks%s.checkBlocks == 0 && s.cancelled() {
			return false
		}
		cols := min(batchBlock, s.batch-start)
		g, r := block(s.gb, n, cols), block(s.rb, n, cols)
		s.drawColumns(g)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.cHalf, g, 0, r)
		// r ← M⁻¹ r, through a copy in g (g is no longer needed).
		copy(g.Data, r.Data)
		blas64.Symm(blas.Left, s.mScale, minv, g, 0, r)
		blas64.Syrk(blas.NoTrans, s.eta/float64(s.batch), r, 1, a)
	}
	for i := 0; i < n; i++ {
		s.amat.Data[i*n+i] += 1 - s.eta
	}
	mirrorUpper(s.amat)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, s.w, s.amat, 0, s.wtmp)
	s.w, s.wtmp = s.wtmp, s.w
	return s.refresh()
}

// refresh recomputes M⁻¹ from W: M = WᵀW, Cholesky, inverse.
func (s *onlineState) refresh() bool {
	s.foldW()
	minv := upper(s.minv)
	blas64.Syrk(blas.Trans, 1, s.w, 0, minv)
	t, ok := lapack64.Potrf(minv)
	if ok {
		_, ok = lapack64.Potri(t)
	}
	mirrorUpper(s.minv)
	s.mScale = 1
	if !ok {
		s.failed = ReasonNotPositiveDefinite
		if !allFinite(s.w.Data) {
			s.failed = ReasonNonFinite
		}
		return false
	}
	return true
}

// setM leaves M (interneuron: WᵀW), full symmetric, in s.mFull.
func (s *onlineState) setM() {
	if s.alg == Direct {
		copyLowerMirror(s.mFull, s.m)
		return
	}
	blas64.Syrk(blas.Trans, s.wScale*s.wScale, s.w, 0, upper(s.mFull))
	mirrorUpper(s.mFull)
}

// evaluate returns the whitening error and the extreme eigenvalues of M.
// ok is false, with s.failed set, when M is not finite or not positive
// definite.
func (s *onlineState) evaluate() (e, lo, hi float64, ok bool) {
	finite := true
	if s.alg == Direct {
		finite = lowerFinite(s.m)
	} else {
		finite = allFinite(s.w.Data) && !math.IsInf(s.wScale, 0) && !math.IsNaN(s.wScale)
	}
	if !finite {
		s.failed = ReasonNonFinite
		return 0, 0, 0, false
	}
	s.setM()
	if !s.wh.setM(s.mFull) {
		s.failed = ReasonNotPositiveDefinite
		return 0, 0, 0, false
	}
	e = s.wh.errorNorm()
	lo, hi = s.wh.eigRange(s.mFull)
	if math.IsNaN(e) || math.IsNaN(lo) || math.IsNaN(hi) {
		s.failed = ReasonNonFinite
		return 0, 0, 0, false
	}
	return e, lo, hi, true
}

// fullM returns M as a new full symmetric matrix.
func (s *onlineState) fullM() blas64.General {
	s.setM()
	out := newGeneral(s.n, s.n)
	copy(out.Data, s.mFull.Data)
	return out
}

// inverseDrift returns max |(M⁻¹_carried · M − I)_ij| for the interneuron
// network, with M = WᵀW computed afresh: how far the carried inverse has
// drifted since the last refresh.
func (s *onlineState) inverseDrift() float64 {
	n := s.n
	m := newGeneral(n, n)
	blas64.Gemm(blas.Trans, blas.NoTrans, s.wScale*s.wScale, s.w, s.w, 0, m)
	prod := newGeneral(n, n)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, s.mScale, s.minv, m, 0, prod)
	var worst float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := prod.Data[i*n+j]
			if i == j {
				v--
			}
			worst = math.Max(worst, math.Abs(v))
		}
	}
	return worst
}

// checkPeriod returns how many steps to run between two looks at the
// context: about a million flops of work, at most 4096 steps.
func (s *onlineState) checkPeriod() int64 {
	n, k, b := float64(s.n), float64(s.k), float64(s.batch)
	cost := b * (4*n*n + 3*k*n)
	if s.alg == Direct {
		cost = n*n*n/3 + b*3*n*n
	}
	return int64(math.Max(1, math.Min(4096, 1e6/cost)))
}

// runOnline runs Horizon learning steps of pt, recording into traj (see
// newRecorder).
func runOnline(ctx context.Context, pt *point, traj []Sample) (outcome, error) {
	p := pt.p
	s := newOnlineState(pt)
	s.ctx = ctx
	var out outcome
	horizon := int64(p.Horizon)
	records := min(int64(p.Record), horizon+1)
	recordStep := func(j int64) int64 { return (j*horizon + (records-1)/2) / (records - 1) }
	rec := newRecorder(int(records), traj)

	if !s.start() {
		out.diverge(s.failed)
		out.finalM = s.fullM()
		return out, nil
	}
	e0, lo, hi, ok := s.evaluate()
	if !ok {
		out.diverge(s.failed)
		out.finalM = s.fullM()
		return out, nil
	}
	rec.add(Sample{T: 0, Step: 0, Error: e0, EigMin: lo, EigMax: hi})
	out.FinalError, out.MinError = e0, e0
	if e0 <= p.Tol {
		zeroT, zeroS := 0.0, int64(0)
		out.ConvTime, out.ConvStep = &zeroT, &zeroS
		out.Trajectory = rec.samples
		out.finalM = s.fullM()
		return out, nil
	}
	errCap := math.Max(ErrorCap, 100*e0)

	j := int64(1)
	next := recordStep(j)
	check := s.checkPeriod()
	for step := int64(1); step <= horizon; step++ {
		if !s.step() {
			if s.stopped {
				return outcome{}, ctx.Err()
			}
			out.diverge(s.failed)
			break
		}
		if step == next {
			e, lo, hi, ok := s.evaluate()
			if !ok {
				out.diverge(s.failed)
				break
			}
			rec.add(Sample{T: p.Eta * float64(step), Step: step, Error: e, EigMin: lo, EigMax: hi})
			out.FinalError = e
			out.MinError = math.Min(out.MinError, e)
			if e <= p.Tol {
				// Converged: like a flow run, an online run stops here.
				st, t := step, p.Eta*float64(step)
				out.ConvStep, out.ConvTime = &st, &t
				break
			}
			if e > errCap {
				out.diverge(ReasonErrorAboveCap)
				break
			}
			for next <= step && j < records-1 {
				j++
				next = recordStep(j)
			}
		}
		if step%check == 0 && ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
	}
	out.Steps = s.steps
	out.Trajectory = rec.samples
	out.finalM = s.fullM()
	return out, nil
}
