package dynamics

import (
	"context"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
)

// Tolerances of the flow integrator at tol ≥ 1e-4. The local error of
// every accepted step is below FlowAbsTol·min(1, max|y₀|) + FlowRelTol·|y|
// per entry of the state (M for both networks, in the eigenbasis of C; see
// flowSystem), which keeps convergence times within about 1e-6 relative of
// the closed forms at tol = 0.01 (the largest gap over the grid of
// TestFlowMatchesOracle is 6e-7). A smaller tol tightens both in
// proportion (see flowTolerances).
const (
	FlowRelTol = 1e-8
	FlowAbsTol = 1e-10
)

// FlowMinTol is the smallest tol of a flow point: the integrator's
// relative tolerance follows tol down (flowTolRatio·tol), and below
// 1e-13 the steps of a double-precision Dormand–Prince integration no
// longer control their error.
const FlowMinTol = 1e-9

// flowTolRatio bounds the integrator's relative tolerance by this
// fraction of tol: the computed error, a difference of numbers of order
// one, is then accurate to well below tol, and the convergence time to
// about 1e-5 relative (TestFlowMatchesOracleAtSmallTol).
const flowTolRatio = 1e-4

// flowTolerances returns the integrator's relative and absolute
// tolerances for a flow to tol from y0: FlowRelTol and
// FlowAbsTol·min(1, max|y₀|) down to tol = FlowRelTol/flowTolRatio, both
// scaled by tol below it.
func flowTolerances(tol float64, y0 []float64) (rtol, atol float64) {
	scale := flowTolScale(tol)
	atol = FlowAbsTol * math.Min(1, maxAbs(y0))
	if !(atol > 0) {
		atol = FlowAbsTol
	}
	return FlowRelTol * scale, atol * scale
}

// flowTolScale is the factor of the integrator's tolerances for a flow
// to tol: 1 for tol ≥ FlowRelTol/flowTolRatio (1e-4), tol in proportion
// below.
func flowTolScale(tol float64) float64 { return math.Min(1, flowTolRatio*tol/FlowRelTol) }

// contextAbsTolFloor bounds the absolute tolerance of the contexts of a
// point with contexts from below, relative to FlowAbsTol (see
// flowContext).
const contextAbsTolFloor = 1e-6

// flowRecordDecades is the number of decades below the horizon covered by
// the log-spaced recording times of a flow trajectory.
const flowRecordDecades = 8

// flowSystem evaluates the right-hand side of the mean dynamics of a
// network (its flowRule). It works in the eigenbasis of C, where
// C = diag(s): a network's state describes M̃ = QᵀMQ (Q the eigenbasis of
// C). Every flow is equivariant under this rotation, and the error and the
// eigenvalues of M are invariant under it, so only the final M is rotated
// back. A right-hand side then costs fewer flops than in the original
// basis (see each network's flowRule).
type flowSystem struct {
	rule flowRule
	n    int
	s    []float64 // eigenvalues of C
	wh   *whitening
	// crrCurrent reports that wh.crr is C_rr of the last state set.
	crrCurrent bool
	ctx        context.Context
	stop       bool // the context was cancelled during an evaluation
	// rhsCalls counts the right-hand sides evaluated; the context is
	// looked at every checkEvery of them (see newFlowSystem).
	rhsCalls, checkEvery int
}

func newFlowSystem(ctx context.Context, pt *point) *flowSystem {
	d := make([]float64, pt.n)
	for i, v := range pt.s {
		d[i] = math.Sqrt(v)
	}
	// The context is looked at about every 4096·n flops of right-hand
	// side (one evaluation from n = 64 on, every 1024 at n = 2): a look
	// takes a lock, which was 1 % of a point with n = 2.
	checkEvery := max(1, 4096/(pt.n*pt.n))
	return &flowSystem{rule: pt.net.flow(pt), n: pt.n, s: pt.s, wh: newDiagonalWhitening(d), ctx: ctx, checkEvery: checkEvery}
}

func (fs *flowSystem) dim() int { return fs.rule.dim() }

// setState computes M̃⁻¹ of the state y; false when M̃ is not positive
// definite.
func (fs *flowSystem) setState(y []float64) bool {
	fs.crrCurrent = false
	return fs.wh.invert(fs.rule.matrix(y))
}

// outputCovariance returns C̃_rr = M̃⁻¹ diag(s) M̃⁻¹ (full, row-major) of
// the last state set.
func (fs *flowSystem) outputCovariance() []float64 {
	if !fs.crrCurrent {
		fs.wh.outputCovariance()
		fs.crrCurrent = true
	}
	return fs.wh.crr
}

// rhs is the rhsFunc of the flow. It also returns false, and sets stop, when
// the context is done, so that a long step can be abandoned.
func (fs *flowSystem) rhs(y, dy []float64) bool {
	fs.rhsCalls++
	if fs.rhsCalls%fs.checkEvery == 0 && fs.ctx.Err() != nil {
		fs.stop = true
		return false
	}
	if !fs.setState(y) {
		return false
	}
	fs.rule.rhs(fs, y, dy)
	return true
}

// errorNorm returns the whitening error of the last state set.
func (fs *flowSystem) errorNorm() float64 {
	fs.outputCovariance()
	return fs.wh.errorNorm()
}

// eigRange returns the extreme eigenvalues of M for the state y.
func (fs *flowSystem) eigRange(y []float64) (lo, hi float64) {
	m := fs.rule.matrix(y)
	return fs.wh.eigRange(blas64.General{Rows: fs.n, Cols: fs.n, Stride: fs.n, Data: m})
}

// finalM returns M (full symmetric, in the original basis) of the state y.
func (fs *flowSystem) finalM(pt *point, y []float64) blas64.General {
	return pt.fromBasisOfC(fs.rule.matrix(y))
}

// runFlow integrates the mean dynamics of pt until the error reaches the
// tolerance or the horizon, or until maxSteps accepted steps (diverged,
// ReasonStepCap), recording into traj (see newRecorder). A point with
// contexts integrates each context but the last to its end, from the state
// the one before left (a new integration at every switch: the right-hand
// side jumps there), and the last as a point without contexts; maxSteps
// bounds the accepted steps of the whole run.
func runFlow(ctx context.Context, pt *point, maxSteps int64, traj []Sample) (outcome, error) {
	p := pt.p
	segs := pt.segments()
	var out outcome
	rec := newRecorder(p.Record, traj)
	var results []ContextResult
	var prev *point
	var y []float64
	var steps, evals int64
	for c, seg := range segs {
		last := c == len(segs)-1
		fs := newFlowSystem(ctx, seg.pt)
		var y0 []float64
		if c == 0 {
			y0 = fs.rule.initial()
		} else {
			y0 = fs.rule.resume(prev, y)
		}
		cr := ContextResult{Index: c, Start: seg.start, StartStep: steps}
		e0, ok := fs.errorAt(y0)
		if !ok {
			out.diverge(reasonFor(y0))
			out.finalM = fs.finalM(seg.pt, y0)
			cr.Diverged = true
			if c > 0 {
				out.Trajectory = rec.samples
			}
			out.setContexts(append(results, cr), len(segs) > 1)
			return out, nil
		}
		cr.StartError, cr.FinalError, cr.MinError = e0, e0, e0
		if c == 0 {
			lo, hi := fs.eigRange(y0)
			rec.add(Sample{T: 0, Step: 0, Error: e0, EigMin: lo, EigMax: hi})
			out.MinError = e0
		}
		out.FinalError, out.MinError = e0, math.Min(out.MinError, e0)
		if len(segs) > 1 {
			cr.ScaleRatio = scaleRatio(fs.finalM(seg.pt, y0), seg.pt.s)
		}
		if e0 <= p.Tol {
			zero := 0.0
			cr.ConvTime = &zero
			if last {
				results = append(results, cr)
				out.finalM = fs.finalM(seg.pt, y0)
				break
			}
		}
		yEnd, diverged, err := flowContext(ctx, fs, seg, y0, e0, last, maxSteps-steps, &cr, &out, rec, steps, evals)
		if err != nil {
			return outcome{}, err
		}
		steps, evals = out.Steps, out.RHSEvals
		results = append(results, cr)
		out.finalM = fs.finalM(seg.pt, yEnd)
		if diverged {
			break
		}
		prev, y = seg.pt, yEnd
	}
	out.Trajectory = rec.samples
	out.setContexts(results, len(segs) > 1)
	return out, nil
}

// flowContext integrates the context seg from its state y0 (error e0 >
// tol, or a context before the last that starts converged) over its
// duration, with at most maxSteps accepted steps; the last context stops
// at convergence. It fills in cr and the run's out (Steps and RHSEvals
// counted from steps and evals, the run's before the context) and
// returns the final state and whether the run diverged.
func flowContext(ctx context.Context, fs *flowSystem, seg segment, y0 []float64, e0 float64, last bool,
	maxSteps int64, cr *ContextResult, out *outcome, rec *recorder, steps, evals int64) ([]float64, bool, error) {
	p := seg.pt.p
	errCap := math.Max(ErrorCap, 100*e0)
	rtol, atol := flowTolerances(p.Tol, y0)
	if len(p.Contexts) > 0 {
		// A context runs on past its convergence, where a state near 0
		// at the start (the gain network's g₀ for M₀ = I) would leave an
		// absolute tolerance below the rounding of the right-hand side
		// and the steps collapse.
		atol = math.Max(atol, contextAbsTolFloor*FlowAbsTol)
	}
	d := newDopri5(fs.rhs, fs.dim(), rtol, atol)
	d.halt = func() bool { return fs.stop }
	horizon := seg.duration
	if !d.start(0, y0, horizon) {
		if fs.stop {
			return nil, false, ctx.Err()
		}
		out.diverge(reasonFor(y0))
		cr.Diverged = true
		return y0, true, nil
	}
	// sample describes the state reached, in the run's time and steps.
	sample := func(e float64) Sample {
		s := fs.sample(d, e)
		s.T += seg.start
		s.Step += steps
		return s
	}
	// The recorded times of a context: log-spaced over its duration, the
	// run's record shared among the contexts.
	targets := newLogTargets(horizon, p.Record-2)
	if len(p.Contexts) > 0 {
		targets = newLogTargets(horizon, max(1, (p.Record-2)/(len(p.Contexts)+1)))
	}
	yTheta := make([]float64, fs.dim())
	ePrev := e0
	for {
		status := d.advance(horizon)
		out.Steps, out.RHSEvals = steps+d.accepted, evals+d.evals
		if fs.stop {
			return nil, false, ctx.Err()
		}
		if status != stepAccepted {
			// The last accepted state is in d.y (advance leaves it alone
			// on failure).
			if status == stepUndefined && allFinite(d.y) {
				out.diverge(ReasonNotPositiveDefinite)
			} else {
				out.diverge(ReasonNonFinite)
			}
			cr.Diverged = true
			return d.y, true, nil
		}
		e := fs.errorNorm()
		if math.IsNaN(e) || !allFinite(d.y) {
			out.diverge(ReasonNonFinite)
			cr.Diverged = true
			return d.y, true, nil
		}
		out.FinalError, cr.FinalError = e, e
		out.MinError = math.Min(out.MinError, e)
		cr.MinError = math.Min(cr.MinError, e)
		if e > errCap {
			out.diverge(ReasonErrorAboveCap)
			cr.Diverged = true
			rec.addFinal(sample(e))
			return d.y, true, nil
		}
		if e <= p.Tol && cr.ConvTime == nil {
			t := fs.crossing(d, ePrev, e, p.Tol, yTheta)
			cr.ConvTime = &t
			if last {
				rec.addFinal(sample(e))
				return d.y, false, nil
			}
		}
		if d.t >= horizon {
			if last {
				rec.addFinal(sample(e))
			} else if rec.room() > 1 {
				rec.add(sample(e))
			}
			return d.y, false, nil
		}
		if d.accepted >= maxSteps {
			out.diverge(ReasonStepCap)
			cr.Diverged = true
			rec.addFinal(sample(e))
			return d.y, true, nil
		}
		if targets.due(d.t) && rec.room() > 1 {
			rec.add(sample(e))
		}
		ePrev = e
	}
}

// errorAt returns the whitening error of the state y.
func (fs *flowSystem) errorAt(y []float64) (float64, bool) {
	if !fs.setState(y) {
		return math.NaN(), false
	}
	e := fs.errorNorm()
	return e, !math.IsNaN(e)
}

// sample describes the state reached by the last accepted step.
func (fs *flowSystem) sample(d *dopri5, e float64) Sample {
	lo, hi := fs.eigRange(d.y)
	return Sample{T: d.t, Step: d.accepted, Error: e, EigMin: lo, EigMax: hi}
}

// crossing locates the time inside the step just accepted at which the
// error falls to tol, given the errors at its ends (ePrev > tol ≥ eNew). It
// runs the Illinois variant of regula falsi on θ ↦ e(y(t₀ + θh)) − tol over
// the dense output, and returns the left-most point known to satisfy
// e ≤ tol once the bracket is below 1e-12 of the step (about 10 error
// evaluations).
func (fs *flowSystem) crossing(d *dopri5, ePrev, eNew, tol float64, y []float64) float64 {
	a, fa := 0.0, ePrev-tol
	b, fb := 1.0, eNew-tol
	side := 0
	for range 60 {
		if b-a <= 1e-12 {
			break
		}
		theta := (a*fb - b*fa) / (fb - fa)
		if !(theta > a && theta < b) {
			theta = 0.5 * (a + b)
		}
		d.dense(theta, y)
		e, ok := fs.errorAt(y)
		if !ok {
			break // keep the bracket found so far
		}
		f := e - tol
		if f <= 0 {
			b, fb = theta, f
			if side == +1 {
				fa /= 2
			}
			side = +1
			if f == 0 {
				break
			}
		} else {
			a, fa = theta, f
			if side == -1 {
				fb /= 2
			}
			side = -1
		}
		if math.Abs(f) <= 1e-13*tol {
			return d.tOld() + theta*d.hLast
		}
	}
	return d.tOld() + b*d.hLast
}

func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// logTargets yields recording times log-spaced over [horizon·10⁻⁸, horizon].
type logTargets struct {
	lo, logRatio float64
	count, next  int
	// nextAt is at(next), computed once per target rather than at every
	// step that asks (an exponential: a tenth of a small point's time).
	nextAt float64
}

func newLogTargets(horizon float64, count int) *logTargets {
	lo := horizon * math.Pow(10, -flowRecordDecades)
	lt := &logTargets{lo: lo, logRatio: math.Log(horizon / lo), count: count}
	lt.nextAt = lt.at(0)
	return lt
}

func (lt *logTargets) at(j int) float64 {
	if lt.count <= 1 {
		return lt.lo
	}
	return lt.lo * math.Exp(lt.logRatio*float64(j)/float64(lt.count-1))
}

// due reports whether a sample at time t reaches the next target, and skips
// every target up to t. A step can pass many targets at once (a thousand
// over eight decades by default): the search starts near the first one
// past t, found by its logarithm, and settles by at itself, so that it
// ends where stepping through the targets one by one would.
func (lt *logTargets) due(t float64) bool {
	if lt.next >= lt.count || t < lt.nextAt {
		return false
	}
	j := lt.next + 1
	if lt.count > 1 {
		if guess := math.Log(t/lt.lo) / lt.logRatio * float64(lt.count-1); guess > float64(j) {
			j = int(min(guess, float64(lt.count)))
		}
	}
	for j > lt.next+1 && lt.at(j-1) > t {
		j--
	}
	for j < lt.count && lt.at(j) <= t {
		j++
	}
	lt.next, lt.nextAt = j, lt.at(j)
	return true
}
