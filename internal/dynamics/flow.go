package dynamics

import (
	"context"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Tolerances of the flow integrator. The local error of every accepted step
// is below FlowAbsTol·min(1, max|y₀|) + FlowRelTol·|y| per entry of the state
// (M for the direct network, W for the interneuron network), which keeps
// convergence times within about 1e-7 relative of the closed forms.
const (
	FlowRelTol = 1e-8
	FlowAbsTol = 1e-10
)

// flowRecordDecades is the number of decades below the horizon covered by
// the log-spaced recording times of a flow trajectory.
const flowRecordDecades = 8

// flowSystem evaluates the right-hand side of the mean dynamics:
// direct dM/dt = C_rr − I on the full symmetric n×n M, interneuron
// dW/dt = W(C_rr − I) on the k×n W, with C_rr = M⁻¹CM⁻¹ and M = WᵀW.
type flowSystem struct {
	alg  Algorithm
	n, k int
	wh   *whitening
	dev  blas64.General // C_rr − I, full (interneuron)
	m    blas64.General // M, full, for eigenvalue queries (interneuron)
	ctx  context.Context
	stop bool // the context was cancelled during an evaluation
}

func newFlowSystem(ctx context.Context, pt *point) *flowSystem {
	fs := &flowSystem{alg: pt.p.Algorithm, n: pt.n, k: pt.k, wh: newWhitening(pt.b), ctx: ctx}
	if fs.alg == Interneuron {
		fs.dev = newGeneral(pt.n, pt.n)
		fs.m = newGeneral(pt.n, pt.n)
	}
	return fs
}

func (fs *flowSystem) dim() int {
	if fs.alg == Interneuron {
		return fs.k * fs.n
	}
	return fs.n * fs.n
}

func (fs *flowSystem) state(y []float64) blas64.General {
	if fs.alg == Interneuron {
		return blas64.General{Rows: fs.k, Cols: fs.n, Stride: fs.n, Data: y}
	}
	return blas64.General{Rows: fs.n, Cols: fs.n, Stride: fs.n, Data: y}
}

// setState computes C_rr of the state y; false when M is not positive
// definite.
func (fs *flowSystem) setState(y []float64) bool {
	if fs.alg == Interneuron {
		return fs.wh.setW(fs.state(y))
	}
	return fs.wh.setM(fs.state(y))
}

// rhs is the rhsFunc of the flow. It also returns false, and sets stop, when
// the context is done, so that a long step can be abandoned.
func (fs *flowSystem) rhs(y, dy []float64) bool {
	if fs.ctx.Err() != nil {
		fs.stop = true
		return false
	}
	if !fs.setState(y) {
		return false
	}
	n := fs.n
	crr := fs.wh.crr.Data
	if fs.alg == Direct {
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := crr[i*n+j]
				if i == j {
					v--
				}
				dy[i*n+j] = v
				dy[j*n+i] = v
			}
		}
		return true
	}
	dev := fs.dev.Data
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := crr[i*n+j]
			if i == j {
				v--
			}
			dev[i*n+j] = v
			dev[j*n+i] = v
		}
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, fs.state(y), fs.dev, 0, fs.state(dy))
	return true
}

// eigRange returns the extreme eigenvalues of M for the state y.
func (fs *flowSystem) eigRange(y []float64) (lo, hi float64) {
	if fs.alg == Interneuron {
		blas64.Syrk(blas.Trans, 1, fs.state(y), 0, upper(fs.m))
		return fs.wh.eigRange(fs.m)
	}
	return fs.wh.eigRange(fs.state(y))
}

// fullM returns M of the state y as a new full symmetric matrix.
func (fs *flowSystem) fullM(y []float64) blas64.General {
	m := newGeneral(fs.n, fs.n)
	if fs.alg == Interneuron {
		w := fs.state(y)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, w, w, 0, m)
		return m
	}
	copy(m.Data, y)
	return m
}

// runFlow integrates the mean dynamics of pt until the error reaches the
// tolerance or the horizon.
func runFlow(ctx context.Context, pt *point) (outcome, error) {
	p := pt.p
	fs := newFlowSystem(ctx, pt)
	y0 := pt.m0.Data
	if p.Algorithm == Interneuron {
		y0 = pt.w0.Data
	}
	var out outcome
	rec := newRecorder(p.Record)

	e0, ok := fs.errorAt(y0)
	if !ok {
		out.diverge(reasonFor(y0))
		out.finalM = fs.fullM(y0)
		return out, nil
	}
	lo, hi := fs.eigRange(y0)
	rec.add(Sample{T: 0, Step: 0, Error: e0, EigMin: lo, EigMax: hi})
	out.FinalError, out.MinError = e0, e0
	if e0 <= p.Tol {
		zero := 0.0
		out.ConvTime = &zero
		out.Trajectory = rec.samples
		out.finalM = fs.fullM(y0)
		return out, nil
	}
	errCap := math.Max(ErrorCap, 100*e0)

	atol := FlowAbsTol * math.Min(1, maxAbs(y0))
	if !(atol > 0) {
		atol = FlowAbsTol
	}
	d := newDopri5(fs.rhs, fs.dim(), FlowRelTol, atol)
	d.halt = func() bool { return fs.stop }
	horizon := p.Horizon
	if !d.start(0, y0, horizon) {
		if fs.stop {
			return out, ctx.Err()
		}
		out.diverge(reasonFor(y0))
		out.finalM = fs.fullM(y0)
		return out, nil
	}
	targets := newLogTargets(horizon, p.Record-2)
	yTheta := make([]float64, fs.dim())
	ePrev := e0
	for {
		status := d.advance(horizon)
		out.Steps, out.RHSEvals = d.accepted, d.evals
		if fs.stop {
			return outcome{}, ctx.Err()
		}
		if status != stepAccepted {
			// The last accepted state is in d.y (advance leaves it alone
			// on failure).
			if status == stepUndefined && allFinite(d.y) {
				out.diverge(ReasonNotPositiveDefinite)
			} else {
				out.diverge(ReasonNonFinite)
			}
			break
		}
		e := fs.wh.errorNorm()
		if math.IsNaN(e) || !allFinite(d.y) {
			out.diverge(ReasonNonFinite)
			break
		}
		out.FinalError = e
		out.MinError = math.Min(out.MinError, e)
		if e > errCap {
			out.diverge(ReasonErrorAboveCap)
			rec.addFinal(fs.sample(d, e))
			break
		}
		if e <= p.Tol {
			t := fs.crossing(d, ePrev, e, p.Tol, yTheta)
			out.ConvTime = &t
			rec.addFinal(fs.sample(d, e))
			break
		}
		if d.t >= horizon {
			rec.addFinal(fs.sample(d, e))
			break
		}
		if targets.due(d.t) && rec.room() > 1 {
			rec.add(fs.sample(d, e))
		}
		ePrev = e
	}
	out.Trajectory = rec.samples
	out.finalM = fs.fullM(d.y)
	return out, nil
}

// errorAt returns the whitening error of the state y.
func (fs *flowSystem) errorAt(y []float64) (float64, bool) {
	if !fs.setState(y) {
		return math.NaN(), false
	}
	e := fs.wh.errorNorm()
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
}

func newLogTargets(horizon float64, count int) *logTargets {
	lo := horizon * math.Pow(10, -flowRecordDecades)
	return &logTargets{lo: lo, logRatio: math.Log(horizon / lo), count: count}
}

func (lt *logTargets) at(j int) float64 {
	if lt.count <= 1 {
		return lt.lo
	}
	return lt.lo * math.Exp(lt.logRatio*float64(j)/float64(lt.count-1))
}

// due reports whether a sample at time t reaches the next target, and skips
// every target up to t.
func (lt *logTargets) due(t float64) bool {
	if lt.next >= lt.count || t < lt.at(lt.next) {
		return false
	}
	for lt.next < lt.count && lt.at(lt.next) <= t {
		lt.next++
	}
	return true
}
