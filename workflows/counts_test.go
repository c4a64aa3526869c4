package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/isweep/isweep/activities"
)

// markerSweep is the activity side of the counting tests: a sweep of own
// chunks of 4 points, then foreign chunks (chunks of an earlier sweep that
// hold some of this sweep's points), whose RunChunk keeps chunk markers the
// way the store does. A chunk takes a second of the test clock, and stores
// its marker at the end of that second even when a pause cancelled it
// meanwhile: the test environment drops the result of a cancelled activity
// but lets the call run on, as a worker computes on until a heartbeat
// brings it the cancellation. A chunk run again finds its marker and
// reports AlreadyDone with the marker's counts, as RunChunk does.
type markerSweep struct {
	own, foreign int64
	// foreignPoints are the points of each foreign chunk, foreignMembers
	// those of them that are points of this sweep.
	foreignPoints, foreignMembers int64
	// done are the chunks complete when the sweep is planned; stored
	// those whose marker appears between planning and their run (an
	// earlier sweep finished its chunk meanwhile).
	done, stored []int64
	// lost are the chunks whose first attempt stores the marker and then
	// fails (a completion the server never got).
	lost []int64

	mu      sync.Mutex
	markers map[int64]activities.ChunkResult
}

const markerChunkSize = 4

func (f *markerSweep) isForeign(c int64) bool { return c >= f.own }

// result is what chunk c reports when it computes its points: the own
// chunks whose number is a multiple of 3 have one point not converged.
func (f *markerSweep) result(c int64) activities.ChunkResult {
	r := activities.ChunkResult{Chunk: c, Points: markerChunkSize, ComputeSeconds: 1}
	if f.isForeign(c) {
		r.Points, r.Foreign, r.Reused = f.foreignPoints, true, f.foreignMembers
	} else if c%3 == 0 {
		r.NotConverged = 1
	}
	r.Converged = r.Points - r.NotConverged
	return r
}

func (f *markerSweep) plan() activities.Plan {
	chunks := f.own + f.foreign
	d := activities.DoneChunks{Chunks: chunks, Bits: make([]byte, (chunks+7)/8)}
	var ready int64
	for _, c := range f.done {
		d.Bits[c/8] |= 1 << (c % 8)
		d.Done++
		if f.isForeign(c) {
			ready += f.foreignMembers
		}
	}
	planned, reused := f.own*markerChunkSize, f.foreign*f.foreignMembers
	return activities.Plan{SweepID: "0123456789abcdef", Name: "counts", Output: "/tmp/x",
		GridPoints: planned + reused, Points: planned + reused, Reused: reused, ReusedReady: ready,
		Planned: planned, ChunkSize: markerChunkSize, Chunks: chunks, OwnChunks: f.own, Done: &d}
}

func (f *markerSweep) register(env *testsuite.TestWorkflowEnvironment) {
	f.markers = map[int64]activities.ChunkResult{}
	for _, c := range f.stored {
		f.markers[c] = f.result(c)
	}
	lost := map[int64]bool{}
	for _, c := range f.lost {
		lost[c] = true
	}
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.PlanSweep, mock.Anything, mock.Anything).Return(f.plan(), nil)
	env.OnActivity(a.RunChunk, mock.Anything, mock.Anything).After(time.Second).Return(
		func(_ context.Context, ref activities.ChunkRef) (activities.ChunkResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if m, ok := f.markers[ref.Chunk]; ok {
				m.AlreadyDone, m.ComputeSeconds = true, 0
				return m, nil
			}
			f.markers[ref.Chunk] = f.result(ref.Chunk)
			if lost[ref.Chunk] {
				delete(lost, ref.Chunk)
				return activities.ChunkResult{}, errors.New("heartbeat timeout after the marker was stored")
			}
			return f.result(ref.Chunk), nil
		})
	env.OnActivity(a.FinalizeSweep, mock.Anything, mock.Anything).Return(activities.FinalizeResult{Status: "complete"}, nil)
}

// pauseResume pauses the sweep at each of the times and resumes it after
// the gap.
func pauseResume(env *testsuite.TestWorkflowEnvironment, at []time.Duration, gap time.Duration) {
	for _, t := range at {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(PauseSignal, nil) }, t)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(ResumeSignal, nil) }, t+gap)
	}
}

// The hostile tester's pause/resume of an 80-point sweep: the chunks a
// pause cancelled after they had stored their points came back after the
// resume as found done, and the summary said "64 computed now, 16 found
// stored by earlier runs of this sweep" of a sweep that ran once. An
// extended sweep that computed an earlier sweep's chunk counted its points
// as reused only ("0 computed now").
func TestSweepWorkflowCountsWhatItComputed(t *testing.T) {
	type want struct {
		points, converged, notConverged, alreadyDone, reused, notMembers int64
	}
	tests := []struct {
		name                          string
		own, foreign                  int64
		foreignPoints, foreignMembers int64
		done, stored, lost            []int64
		pauses                        []time.Duration
		gap                           time.Duration
		want                          want
	}{
		{name: "no pause", own: 20,
			want: want{points: 80, converged: 73, notConverged: 7}},
		{name: "one pause, cancelled chunks stored meanwhile", own: 20,
			pauses: []time.Duration{2500 * time.Millisecond}, gap: 5 * time.Second,
			want: want{points: 80, converged: 73, notConverged: 7}},
		{name: "five rapid pause/resume pairs", own: 20,
			pauses: []time.Duration{2500 * time.Millisecond, 3700 * time.Millisecond, 4900 * time.Millisecond, 6100 * time.Millisecond, 7300 * time.Millisecond},
			gap:    200 * time.Millisecond,
			want:   want{points: 80, converged: 73, notConverged: 7}},
		{name: "resumed from an earlier execution, then paused", own: 20, done: []int64{0, 1, 2, 3},
			pauses: []time.Duration{1500 * time.Millisecond}, gap: 5 * time.Second,
			want: want{points: 64, converged: 59, notConverged: 5, alreadyDone: 16}},
		{name: "completion lost after the marker was stored", own: 20, lost: []int64{1, 7},
			want: want{points: 80, converged: 73, notConverged: 7}},
		{name: "foreign chunks computed", own: 18, foreign: 2, foreignPoints: 4, foreignMembers: 3,
			want: want{points: 80, converged: 74, notConverged: 6, notMembers: 2}},
		{name: "foreign chunks found done when planned", own: 18, foreign: 2, foreignPoints: 4, foreignMembers: 3, done: []int64{18, 19},
			want: want{points: 72, converged: 66, notConverged: 6, reused: 6}},
		{name: "foreign chunks found done when run", own: 18, foreign: 2, foreignPoints: 4, foreignMembers: 3, stored: []int64{18, 19},
			want: want{points: 72, converged: 66, notConverged: 6, reused: 6}},
		{name: "foreign chunks computed, paused after they stored", own: 18, foreign: 2, foreignPoints: 4, foreignMembers: 3,
			pauses: []time.Duration{4500 * time.Millisecond}, gap: 5 * time.Second,
			want: want{points: 80, converged: 74, notConverged: 6, notMembers: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			f := &markerSweep{own: tt.own, foreign: tt.foreign, foreignPoints: tt.foreignPoints, foreignMembers: tt.foreignMembers,
				done: tt.done, stored: tt.stored, lost: tt.lost}
			f.register(env)
			pauseResume(env, tt.pauses, tt.gap)
			env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{MaxInFlight: 4}})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			var res SweepResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			c := res.Counts
			got := want{c.Points, c.Converged, c.NotConverged, c.AlreadyDone, c.Reused, c.NotMembers}
			if got != tt.want {
				t.Errorf("got: %+v, want: %+v", got, tt.want)
			}
			v, err := env.QueryWorkflow(ProgressQuery)
			if err != nil {
				t.Fatal(err)
			}
			var p Progress
			if err := v.Get(&p); err != nil {
				t.Fatal(err)
			}
			if p.Done != p.Total || p.ChunksDone != p.ChunksTotal {
				t.Errorf("got: %d/%d points, %d/%d chunks done at the end, want: all", p.Done, p.Total, p.ChunksDone, p.ChunksTotal)
			}
		})
	}
}
