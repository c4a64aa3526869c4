package workflows

import (
	"math"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

// The rate counts the points computed per second of running time (a
// pause's time left out) once there is enough of both to go by, and no ETA
// is given while paused. The tester saw "151 pts/s" after 8 points and
// "ETA 5s … (paused)".
func TestSweepWorkflowRateAndETA(t *testing.T) {
	// One chunk of 4 points a second: 4 points per second of running time.
	const pause, resume = 13500 * time.Millisecond, 200 * time.Second
	tests := []struct {
		at        time.Duration
		wantPhase string
		wantRate  float64 // 0: no rate yet
		wantETA   bool
	}{
		{2500 * time.Millisecond, "running", 0, false},
		{12500 * time.Millisecond, "running", 4, true},
		{100 * time.Second, "paused", 4, false},
		{210 * time.Second, "running", 4, true},
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := &markerSweep{own: 40}
	f.register(env)
	pauseResume(env, []time.Duration{pause}, resume-pause)
	got := make([]Progress, len(tests))
	for i, tt := range tests {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(ProgressQuery)
			if err != nil {
				t.Errorf("query: %v", err)
				return
			}
			if err := v.Get(&got[i]); err != nil {
				t.Error(err)
			}
		}, tt.at)
	}
	env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{MaxInFlight: 1}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		p := got[i]
		if p.Phase != tt.wantPhase {
			t.Errorf("at %v: got: phase %q, want: %q", tt.at, p.Phase, tt.wantPhase)
		}
		if tt.wantRate == 0 && p.Rate != 0 || tt.wantRate != 0 && math.Abs(p.Rate-tt.wantRate) > 0.5 {
			t.Errorf("at %v: got: %.2f pts/s after %d points, want: %v (0: none yet)", tt.at, p.Rate, p.Counts.Points, tt.wantRate)
		}
		if (p.ETASeconds > 0) != tt.wantETA {
			t.Errorf("at %v: got: ETA %.1f s (%s), want an ETA: %v", tt.at, p.ETASeconds, p.Phase, tt.wantETA)
		}
	}
}

// A query is answered at the time of the workflow's last task, so while
// nothing finishes (a store that is down) the rate the workflow gives holds
// still: the tester saw "110/400 … 11 pts/s ETA 26s" for seven minutes.
// Brought to the client's time with At, it falls and the ETA grows; a
// paused sweep, a sweep without enough to go by and a client whose clock is
// behind keep what the workflow said.
func TestProgressAt(t *testing.T) {
	asOf := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	running := Progress{Phase: "running", Total: 400, Done: 110, Counts: Counts{Points: 110}, ChunkSize: 10, RunningSeconds: 10, AsOf: asOf}
	tests := []struct {
		name     string
		p        Progress
		now      time.Time
		wantRate float64
		wantETA  float64
	}{
		{"at the answer", running, asOf, 11, 290.0 / 11},
		{"seven minutes on", running, asOf.Add(7 * time.Minute), 110.0 / 430, 290 / (110.0 / 430)},
		{"a client clock behind", running, asOf.Add(-time.Minute), 11, 290.0 / 11},
		{"paused", func() Progress { p := running; p.Phase = "paused"; return p }(), asOf.Add(7 * time.Minute), 11, 0},
		{"too early for a rate", func() Progress { p := running; p.RunningSeconds = 2; return p }(), asOf.Add(5 * time.Second), 0, 0},
		{"two chunks' worth only later", func() Progress { p := running; p.Counts.Points, p.ChunkSize = 110, 100; return p }(), asOf.Add(time.Hour), 0, 0},
	}
	for _, tt := range tests {
		got := tt.p.At(tt.now)
		if math.Abs(got.Rate-tt.wantRate) > 1e-9*tt.wantRate || math.Abs(got.ETASeconds-tt.wantETA) > 1e-9*tt.wantETA {
			t.Errorf("%s: got: rate %g ETA %g s want: rate %g ETA %g s", tt.name, got.Rate, got.ETASeconds, tt.wantRate, tt.wantETA)
		}
	}
}
