package dynamics

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// hangGuard is how long a test waits for a run that must end promptly
// before it gives up: a guard against a hang, not a performance limit.
const hangGuard = 2 * time.Minute

// runGuarded runs p with the limits lim on ctx and returns its outcome, or
// fails the test when the run has not returned within hangGuard.
func runGuarded(t *testing.T, ctx context.Context, p Params, lim Limits) (outcome, error) {
	t.Helper()
	type result struct {
		out outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := run(ctx, p, lim, nil)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(hangGuard):
		t.Fatalf("%+v: got: no return within %s, want: the run to end", p, hangGuard)
		return outcome{}, nil
	}
}

// TestOnlineHugeBatchStopsOnCancel runs online points whose single step
// averages 10¹⁰ samples (the most the default limits admit; minutes to
// hours of work inside one step) with a context that expires after 50 ms:
// the run must return the context's error, not finish the step first.
func TestOnlineHugeBatchStopsOnCancel(t *testing.T) {
	for _, alg := range NetworkNames() {
		t.Run(alg, func(t *testing.T) {
			p := Params{Algorithm: Algorithm(alg), Mode: Online, N: 2, InitScale: 2, Batch: 10_000_000_000, Horizon: 1, Seed: 1}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := runGuarded(t, ctx, p, Limits{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got: %v, want: %v", err, context.DeadlineExceeded)
			}
		})
	}
}

// stiff is the flow of the direct network on an input spectrum spanning
// the given number of decades below 1, from init_scale 10. The direction
// of the smallest eigenvalue s reaches its fixed point m = √s about two time
// units before the others converge, and there the flow is stiff (the
// Jacobian has the eigenvalue −2/√s): the explicit integrator needs steps
// of about √s. Over 8 decades that is some 10⁴ steps; over 20 decades some
// 10¹⁰, hours of work: without a cap the run did not end (it ran past the
// two-minute guard of runGuarded), and with the default cap of 10⁷ steps
// it takes some 10 s.
func stiff(decades float64) Params {
	return Params{Algorithm: Direct, N: 2, InputSpectrum: Spectrum{Min: math.Pow(10, -decades), Max: 1}, InitScale: 10}
}

// TestFlowStepCap runs stiff flows against the step cap: a flow that
// reaches it ends diverged with ReasonStepCap at exactly the cap, its
// state and time recorded; a flow that needs fewer steps converges.
func TestFlowStepCap(t *testing.T) {
	tests := []struct {
		name   string
		p      Params
		lim    Limits
		capped bool
	}{
		{"20 decades, capped", stiff(20), Limits{MaxFlowSteps: 1e5}, true},
		{"8 decades, capped", stiff(8), Limits{MaxFlowSteps: 1000}, true},
		{"8 decades, default cap", stiff(8), Limits{}, false},
		{"8 decades, a fraction of a step", stiff(8), Limits{MaxFlowSteps: 0.5}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runGuarded(t, context.Background(), tt.p, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			checkOutcome(t, tt.p, out)
			capSteps := stepCount(tt.lim.withDefaults().MaxFlowSteps)
			if !tt.capped {
				if out.Diverged || out.ConvTime == nil || out.Steps >= capSteps || out.Steps <= 1000 {
					t.Errorf("got: diverged %v (%q), converged %v after %d steps, want: converged after 1000 < steps < %d", out.Diverged, out.DivergeReason, out.ConvTime != nil, out.Steps, capSteps)
				}
				return
			}
			if !out.Diverged || out.DivergeReason != ReasonStepCap || out.Steps != capSteps || out.ConvTime != nil {
				t.Errorf("got: diverged %v (%q) after %d steps, converged %v, want: diverged (%q) after %d steps", out.Diverged, out.DivergeReason, out.Steps, out.ConvTime != nil, ReasonStepCap, capSteps)
			}
			last := out.Trajectory[len(out.Trajectory)-1]
			horizon := tt.p.WithDefaults().Horizon
			if last.Step != capSteps || !(last.T > 0 && last.T < horizon) || last.Error != out.FinalError || !(out.FinalError > tt.p.WithDefaults().Tol) {
				t.Errorf("last sample: got: %+v (final error %g), want: step %d at 0 < t < %g with the final error, above tol", last, out.FinalError, capSteps, horizon)
			}
		})
	}
}
