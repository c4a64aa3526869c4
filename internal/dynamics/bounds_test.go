package dynamics

import (
	"context"
	"errors"
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
	for _, alg := range []Algorithm{Direct, Interneuron} {
		t.Run(string(alg), func(t *testing.T) {
			p := Params{Algorithm: alg, Mode: Online, N: 2, InitScale: 2, Batch: 10_000_000_000, Horizon: 1, Seed: 1}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := runGuarded(t, ctx, p, Limits{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got: %v, want: %v", err, context.DeadlineExceeded)
			}
		})
	}
}
