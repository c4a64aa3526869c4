package dynamics

import (
	"context"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
)

// Reasons reported in Result.DivergeReason. They are stable strings, meant
// for grouping and filtering results.
const (
	// ReasonNotPositiveDefinite: M lost positive definiteness (a Cholesky
	// factorisation failed), for example after an online step of the direct
	// network with a learning rate above M's smallest eigenvalue.
	ReasonNotPositiveDefinite = "not_positive_definite"
	// ReasonNonFinite: the state or the error became NaN or infinite.
	ReasonNonFinite = "non_finite"
	// ReasonErrorAboveCap: the whitening error exceeded
	// max(ErrorCap, 100·e(0)).
	ReasonErrorAboveCap = "error_above_cap"
	// ReasonStepCap: the flow integrator took Limits.MaxFlowSteps
	// accepted steps without reaching the tolerance or the horizon. The
	// state stayed valid; the flow is too stiff for the explicit
	// integrator at that cost, typically because the eigenvalues of C span
	// many decades (the direction of the smallest eigenvalue s needs steps
	// of about √s once at its fixed point). Steps is the cap, and the last
	// trajectory sample holds the time reached.
	ReasonStepCap = "step_cap"
)

// ErrorCap is the whitening error above which a run is declared diverged
// (ReasonErrorAboveCap), unless the run started above it: the cap of a run
// is max(ErrorCap, 100·e(0)), so that a legitimate start far from whitening
// (a tiny init_scale) is not mistaken for divergence.
const ErrorCap = 1e6

// Run integrates one sweep point: it applies the defaults of p, validates it
// with DefaultLimits, and runs the flow or online dynamics. It returns an
// error only for invalid parameters (joined *FieldError values) or when ctx
// is done (ctx.Err()); divergence is reported in the Result.
//
// Flow points stop at the end of the first accepted integrator step whose
// error is ≤ Tol: ConvTime is the crossing located inside that step on the
// dense output, FinalError the error at the step's end (so ≤ Tol), and the
// trajectory's last sample is that step. Points that do not converge run to
// the horizon. Online points run up to Horizon steps: convergence is
// decided on a grid of checks of its own (CheckResolution), the first from
// which the error stays ≤ Tol for Hold (ConvStep, ConvTime = η·ConvStep),
// and the run stops there or when it diverges; the error is recorded at
// Record evenly spaced steps including 0; FinalError is the error at the
// last check. In both modes MinError
// is the smallest error evaluated (online: at the convergence checks and
// at the recorded steps). A diverged run keeps the last finite
// FinalError it saw. A flow run that reaches Limits.MaxFlowSteps accepted
// steps first ends there, diverged with ReasonStepCap. The work of a run is
// bounded (online by the validated batch × horizon, flow by the step cap)
// and every long loop looks at ctx at a bounded interval (online about
// every million flops of work, between steps and inside a batched step;
// flow at every evaluation of the right-hand side).
func Run(ctx context.Context, p Params) (Result, error) {
	return RunWithLimits(ctx, p, DefaultLimits())
}

// RunWithLimits is Run with explicit limits (zero fields take the values of
// DefaultLimits).
func RunWithLimits(ctx context.Context, p Params, lim Limits) (Result, error) {
	out, err := run(ctx, p, lim, nil)
	return out.Result, err
}

// RunInto is Run, recording the trajectory into traj's backing array: the
// Result's Trajectory is traj[:0] with the samples appended. A traj with
// room for them (at most Params.Record) makes the run allocate nothing for
// its trajectory, so a caller that runs many points can hand each a slice
// of one large buffer. A run that needs more room than cap(traj) moves its
// trajectory to a new array, as append does; nil traj behaves as Run.
func RunInto(ctx context.Context, p Params, traj []Sample) (Result, error) {
	return RunIntoWithLimits(ctx, p, DefaultLimits(), traj)
}

// RunIntoWithLimits is RunInto with explicit limits (zero fields take the
// values of DefaultLimits): those of the sweep the point belongs to.
func RunIntoWithLimits(ctx context.Context, p Params, lim Limits, traj []Sample) (Result, error) {
	out, err := run(ctx, p, lim, traj)
	return out.Result, err
}

// outcome is a Result plus the final M, which the tests inspect.
type outcome struct {
	Result
	// finalM is M (full symmetric n×n) at the end of the run.
	finalM blas64.General
}

// setContexts sets the point's convergence from that of its first
// context, and Contexts to results for a point with contexts (many).
func (o *outcome) setContexts(results []ContextResult, many bool) {
	if len(results) == 0 {
		return
	}
	first := results[0]
	o.ConvTime, o.ConvStep, o.FloorError = first.ConvTime, first.ConvStep, first.FloorError
	if many {
		o.Contexts = results
	}
}

func (o *outcome) diverge(reason string) {
	o.Diverged = true
	o.DivergeReason = reason
}

// run integrates p; the recorder appends the trajectory to traj[:0].
func run(ctx context.Context, p Params, lim Limits, traj []Sample) (outcome, error) {
	p = p.WithDefaults()
	if err := p.Validate(lim); err != nil {
		return outcome{}, err
	}
	if err := ctx.Err(); err != nil {
		return outcome{}, err
	}
	pt := newPoint(p)
	if p.Mode == Online {
		return runOnline(ctx, pt, traj)
	}
	return runFlow(ctx, pt, stepCount(lim.withDefaults().MaxFlowSteps), traj)
}

// stepCount converts a limit on steps to a count: its integer part, at
// least 1, and math.MaxInt64 for a limit beyond it.
func stepCount(limit float64) int64 {
	switch {
	case !(limit >= 1):
		return 1
	case limit >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(limit)
}

// reasonFor names why the state y could not be evaluated.
func reasonFor(y []float64) string {
	if !allFinite(y) {
		return ReasonNonFinite
	}
	return ReasonNotPositiveDefinite
}

// recorder keeps at most max trajectory samples.
type recorder struct {
	max     int
	samples []Sample
}

// newRecorder returns a recorder of at most max samples that appends to
// buf[:0], or to a new slice when buf has no capacity.
func newRecorder(max int, buf []Sample) *recorder {
	if cap(buf) == 0 {
		buf = make([]Sample, 0, min(max, 64))
	}
	return &recorder{max: max, samples: buf[:0]}
}

func (r *recorder) room() int { return r.max - len(r.samples) }

func (r *recorder) add(s Sample) {
	if len(r.samples) < r.max {
		r.samples = append(r.samples, s)
	}
}

// addFinal records the last state of a run, replacing the last sample when
// the recorder is full; a sample of the same step is not repeated.
func (r *recorder) addFinal(s Sample) {
	if n := len(r.samples); n > 0 && r.samples[n-1].Step == s.Step {
		r.samples[n-1] = s
		return
	}
	if len(r.samples) == r.max {
		r.samples[len(r.samples)-1] = s
		return
	}
	r.samples = append(r.samples, s)
}
