package dynamics

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas/blas64"
)

// batchBlock is the number of samples handled at once by the batched paths,
// which bounds their workspace to n×batchBlock.
const batchBlock = 64

// onlineState is the state of the online rule of one point shared by every
// network: the sample stream, the batch, the whitening workspace and the
// network's own rule, with every workspace preallocated: step does not
// allocate.
//
// The online rule with batch b averages the Hebbian term over b samples
// drawn for the same M (see each network's onlineRule).
type onlineState struct {
	rule  onlineRule
	n, k  int
	batch int
	eta   float64
	rng   *rand.Rand
	cHalf blas64.General
	steps int64

	wh    *whitening
	mFull blas64.General // scratch n×n

	// pv, pw, pu are the power iteration's vector and workspaces (see
	// estimate); holdErrors keeps the errors of a hold period.
	pv, pw, pu []float64
	holdErrors []float64

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
	s := &onlineState{
		n:     pt.n,
		k:     pt.k,
		batch: p.Batch,
		eta:   p.Eta,
		rng:   newStream(p.Seed, samplesStream(p.Noise)),
		cHalf: pt.cHalf,
		wh:    newWhitening(pt.b),
		mFull: newGeneral(pt.n, pt.n),

		checkBlocks: checkBlocks(pt.n),
		pv:          make([]float64, pt.n),
		pw:          make([]float64, pt.n),
		pu:          make([]float64, pt.n),
	}
	for i := range s.pv {
		s.pv[i] = 1 / math.Sqrt(float64(pt.n))
	}
	s.rule = pt.net.online(pt, s)
	return s
}

// setContext switches the samples and the error to the C of the context
// pt: the state, the sample stream and the power iteration go on.
func (s *onlineState) setContext(pt *point) {
	s.cHalf = pt.cHalf
	s.wh = newWhitening(pt.b)
}

// start prepares the first step; false (with failed set) when the initial
// state cannot be used.
func (s *onlineState) start() bool { return s.rule.start() }

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
	if !s.rule.step() {
		return false
	}
	s.steps++
	return true
}

// setM leaves M, full symmetric, in s.mFull.
func (s *onlineState) setM() { s.rule.matrix(s.mFull) }

// evaluate returns the whitening error and the extreme eigenvalues of M.
// ok is false, with s.failed set, when M is not finite or not positive
// definite.
func (s *onlineState) evaluate() (e, lo, hi float64, ok bool) {
	if !s.rule.finite() {
		s.failed = ReasonNonFinite
		return 0, 0, 0, false
	}
	s.setM()
	if f, ok := s.rule.(factoredRule); ok {
		// The rule's factor, which the next step uses too.
		if !f.factorCurrent() {
			return 0, 0, 0, false
		}
		l, rd := f.factor()
		s.wh.setFactor(l, rd)
	} else if !s.wh.setM(s.mFull) {
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

// checkPeriod returns how many steps to run between two looks at the
// context: about a million flops of work, at most 4096 steps.
func (s *onlineState) checkPeriod() int64 {
	return int64(math.Max(1, math.Min(4096, 1e6/s.rule.flops())))
}

// CheckResolution is the relative time resolution of online convergence:
// the error is checked at steps 0, 1, 2, … spaced by
// max(1, ⌊CheckResolution·step⌋), whatever Record is, so a measured
// online time is late by at most that fraction of itself (or one step).
// About 100·(1 + ln(steps/100)) checks in all.
const CheckResolution = 0.01

// nextCheck returns the check step after step.
func nextCheck(step int64) int64 {
	return step + max(1, int64(CheckResolution*float64(step)))
}

// estimate returns a lower bound on the whitening error of the current
// state, ‖(C_rr − I)v‖ for the unit vector v of a power iteration on
// C_rr − I (warm started at every call, so that it follows the dominant
// direction as M moves), at the cost of two solves with M and two products
// with C^{1/2}: O(n²) beside the state's own factorisation. ok is false
// when M cannot be factorised.
func (s *onlineState) estimate() (e float64, ok bool) {
	v, w := s.pv, s.pw
	copy(w, v)
	if !s.rule.solve(w) {
		return 0, false
	}
	mulVec(1, s.cHalf, w, s.pu)
	mulVec(1, s.cHalf, s.pu, w)
	if !s.rule.solve(w) {
		return 0, false
	}
	var sq float64
	for i := range w {
		w[i] -= v[i]
		sq += w[i] * w[i]
	}
	norm := norm2From(w, sq)
	if norm > 0 && !math.IsInf(norm, 0) {
		for i := range v {
			v[i] = w[i] / norm
		}
	}
	return norm, !math.IsNaN(norm)
}

// runOnline runs up to Horizon learning steps of pt, recording into traj
// (see newRecorder). Convergence is decided on the check grid of
// nextCheck, independent of Record: at each check a cheap lower bound on
// the error (estimate) rules it out, or the error is evaluated. A run
// converges at the first check from which every check for Hold time is
// within Tol, and stops there; the trajectory holds the recorded steps
// and the last state. FinalError is the error at the last check, MinError
// the smallest error evaluated at a check.
//
// A point with contexts runs them in turn, each for its duration in
// steps (the last stops at its convergence, as a point without contexts
// does): at a switch the samples come from the new C, the state and the
// sample stream go on, and the check grid and the hold start again from
// the switch.
func runOnline(ctx context.Context, pt *point, traj []Sample) (outcome, error) {
	p := pt.p
	s := newOnlineState(pt)
	s.ctx = ctx
	var out outcome
	segs := pt.segments()
	total := int64(p.RunLength())
	records := min(int64(p.Record), total+1)
	recordStep := func(j int64) int64 { return (j*total + (records-1)/2) / (records - 1) }
	rec := newRecorder(int(records), traj)
	sampleAt := func(step int64, e, lo, hi float64) Sample {
		return Sample{T: p.Eta * float64(step), Step: step, Error: e, EigMin: lo, EigMax: hi}
	}
	many := len(segs) > 1
	var results []ContextResult
	finish := func() (outcome, error) {
		out.setContexts(results, many)
		out.finalM = s.fullM()
		return out, nil
	}

	if !s.start() {
		out.diverge(s.failed)
		results = append(results, ContextResult{Diverged: true})
		return finish()
	}
	e0, lo, hi, ok := s.evaluate()
	if !ok {
		out.diverge(s.failed)
		results = append(results, ContextResult{Diverged: true})
		return finish()
	}
	rec.add(sampleAt(0, e0, lo, hi))
	out.FinalError, out.MinError = e0, e0
	last := Sample{Step: 0, Error: e0, EigMin: lo, EigMax: hi}

	j := int64(1)
	next := recordStep(j)
	poll := s.checkPeriod()
	step := int64(0) // the steps taken
	for c, seg := range segs {
		first, lastSeg := c == 0, c == len(segs)-1
		from := int64(seg.start)
		end := from + int64(seg.duration)
		cr := ContextResult{Index: c, Start: p.Eta * float64(from), StartStep: from}
		if !first {
			s.setContext(seg.pt)
			e, _, _, ok := s.evaluate()
			if !ok {
				out.diverge(s.failed)
				cr.Diverged = true
				results = append(results, cr)
				break
			}
			e0 = e
			out.FinalError = e
			out.MinError = math.Min(out.MinError, e)
		}
		cr.StartError, cr.FinalError, cr.MinError = e0, e0, e0
		if many {
			s.setM()
			cr.ScaleRatio = scaleRatio(s.mFull, seg.pt.s)
		}
		errCap := math.Max(ErrorCap, 100*e0)

		// The hold: the context converges at holdFrom once the error has
		// stayed within tol at every check for holdSteps steps;
		// holdErrors are the errors of those checks, whose median is the
		// floor.
		holdSteps := holdStepsOf(p, end-from)
		holdFrom := int64(-1)
		holdErrors := s.holdErrors[:0]
		// within takes the error e of the check at step; it reports
		// whether the context has converged.
		within := func(step int64, e float64) bool {
			if e > p.Tol {
				holdFrom = -1
				return false
			}
			if holdFrom < 0 {
				holdFrom, holdErrors = step, holdErrors[:0]
			}
			holdErrors = append(holdErrors, e)
			if step-holdFrom < holdSteps {
				return false
			}
			st := holdFrom - from
			t := p.Eta * float64(st)
			cr.ConvStep, cr.ConvTime = &st, &t
			if holdSteps > 0 {
				floor := median(holdErrors)
				cr.FloorError = &floor
			}
			return true
		}
		converged := within(from, e0)
		stop := converged && lastSeg

		check := from + nextCheck(0)
		diverged := false
		for step < end && !stop {
			step++
			if !s.step() {
				if s.stopped {
					return outcome{}, ctx.Err()
				}
				out.diverge(s.failed)
				diverged = true
				break
			}
			isCheck := step == end || (step == check && !converged)
			if isCheck {
				check = from + nextCheck(step-from)
				est, ok := s.estimate()
				if ok && est > p.Tol && est <= errCap && step != end {
					holdFrom = -1 // e ≥ est > tol
				} else {
					e, lo, hi, ok := s.evaluate()
					if !ok {
						out.diverge(s.failed)
						diverged = true
						break
					}
					last = sampleAt(step, e, lo, hi)
					out.FinalError, cr.FinalError = e, e
					out.MinError = math.Min(out.MinError, e)
					cr.MinError = math.Min(cr.MinError, e)
					if e > errCap {
						out.diverge(ReasonErrorAboveCap)
						diverged = true
						break
					}
					if !converged {
						converged = within(step, e)
						stop = converged && lastSeg
					}
				}
			}
			if step == next {
				// A recorded sample, whether or not the step is a check;
				// its evaluation decides nothing, but it is an error
				// evaluated: MinError is at most every recorded error.
				if last.Step == step {
					rec.add(last)
				} else if e, lo, hi, ok := s.evaluate(); ok {
					rec.add(sampleAt(step, e, lo, hi))
					out.MinError = math.Min(out.MinError, e)
					cr.MinError = math.Min(cr.MinError, e)
				}
				for next <= step && j < records-1 {
					j++
					next = recordStep(j)
				}
			}
			if step%poll == 0 && ctx.Err() != nil {
				return outcome{}, ctx.Err()
			}
		}
		s.holdErrors = holdErrors
		cr.Diverged = diverged
		results = append(results, cr)
		if diverged || stop {
			break
		}
	}
	if n := len(rec.samples); last.Step > 0 && (n == 0 || last.Step >= rec.samples[n-1].Step) {
		rec.addFinal(last)
	}
	out.Steps = s.steps
	out.Trajectory = rec.samples
	return finish()
}

// holdStepsOf returns the hold of p in steps: ⌈Hold/η⌉, 0 (first passage)
// for a hold shorter than one step, and horizon + 1 (the run cannot
// converge) for one longer than the run.
func holdStepsOf(p Params, horizon int64) int64 {
	switch h := math.Ceil(p.Hold / p.Eta); {
	case p.Hold < p.Eta:
		return 0
	case h <= float64(horizon):
		return int64(h)
	}
	return horizon + 1
}

// median returns the median of x, which it reorders.
func median(x []float64) float64 {
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return 0.5 * (x[n/2-1] + x[n/2])
}
