package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
)

// fakeSweep is the activity side of a workflow unit test: a plan of
// `chunks` chunks of 10 points, some already done.
type fakeSweep struct {
	chunks    int64
	done      []int64
	failChunk int64 // -1: none
	failPoint int64 // -1: none; a chunk reporting one failed point

	mu        sync.Mutex
	ran       map[int64]int
	inFlight  atomic.Int64
	maxFlight atomic.Int64
	finalized atomic.Int64
	// blocking, while set, makes RunChunk wait until its context is done
	// or release is closed.
	blocking atomic.Bool
	release  chan struct{}
	canceled atomic.Int64 // RunChunk activities cancelled
	blocked  atomic.Int64 // RunChunk calls held
	storage  int64        // -1: none; a chunk failing with a storage error
	mismatch int64        // -1: none; a chunk refused for its numerics version
	// onStart, when set, is called as RunChunk starts, with the number
	// of RunChunk calls started so far.
	onStart func(started int64)
	started atomic.Int64
}

func newFakeSweep(chunks int64, done ...int64) *fakeSweep {
	return &fakeSweep{chunks: chunks, done: done, failChunk: -1, failPoint: -1, storage: -1, mismatch: -1, ran: map[int64]int{}, release: make(chan struct{})}
}

func (f *fakeSweep) plan() activities.Plan {
	p := activities.Plan{SweepID: "0123456789abcdef", Name: "test", Output: "/tmp/x", GridPoints: f.chunks*10 - 3,
		Points: f.chunks*10 - 3, Planned: f.chunks*10 - 3, ChunkSize: 10, Chunks: f.chunks, OwnChunks: f.chunks}
	d := f.doneChunks()
	p.Done = &d
	return p
}

func (f *fakeSweep) doneChunks() activities.DoneChunks {
	d := activities.DoneChunks{Chunks: f.chunks, Bits: make([]byte, (f.chunks+7)/8)}
	for _, c := range f.done {
		d.Bits[c/8] |= 1 << (c % 8)
		d.Done++
	}
	return d
}

func (f *fakeSweep) register(env *testsuite.TestWorkflowEnvironment) {
	env.SetOnActivityCanceledListener(func(*activity.Info) { f.canceled.Add(1) })
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.PlanSweep, mock.Anything, mock.Anything).Return(f.plan(), nil)
	env.OnActivity(a.RunChunk, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, ref activities.ChunkRef) (activities.ChunkResult, error) {
			n := f.inFlight.Add(1)
			defer f.inFlight.Add(-1)
			for {
				m := f.maxFlight.Load()
				if n <= m || f.maxFlight.CompareAndSwap(m, n) {
					break
				}
			}
			if n := f.started.Add(1); f.onStart != nil {
				f.onStart(n)
			}
			time.Sleep(2 * time.Millisecond)
			if f.blocking.Load() {
				// Held until the test ends (the test environment never
				// cancels an activity's context): whatever this call
				// returns then is not waited for.
				f.blocked.Add(1)
				select {
				case <-ctx.Done():
					return activities.ChunkResult{}, ctx.Err()
				case <-f.release:
					return activities.ChunkResult{}, errors.New("released at the end of the test")
				}
			}
			f.mu.Lock()
			f.ran[ref.Chunk]++
			f.mu.Unlock()
			if ref.Chunk == f.storage {
				return activities.ChunkResult{}, temporal.NewNonRetryableApplicationError("store: put x: no space left on the device", activities.StorageErrorType, nil)
			}
			if ref.Chunk == f.mismatch {
				return activities.ChunkResult{}, temporal.NewNonRetryableApplicationError("sweep x was planned by numerics version 3", activities.NumericsMismatchErrorType, nil)
			}
			if ref.Chunk == f.failChunk {
				return activities.ChunkResult{}, temporal.NewNonRetryableApplicationError("disk on fire", "TestError", nil)
			}
			points := int64(10)
			if ref.Chunk == f.chunks-1 {
				points = 7
			}
			r := activities.ChunkResult{Chunk: ref.Chunk, Points: points, StatusCounts: results.StatusCounts{Converged: points}, ComputeSeconds: 0.5}
			if ref.Chunk == f.failPoint {
				r.Converged--
				r.Failed++
			}
			return r, nil
		})
	env.OnActivity(a.FinalizeSweep, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.SweepRef) (activities.FinalizeResult, error) {
			f.finalized.Add(1)
			return activities.FinalizeResult{Status: "complete", ManifestKey: "sweeps/0123456789abcdef/manifest.json"}, nil
		})
}

func TestSweepWorkflowRunsEveryChunkOnce(t *testing.T) {
	tests := []struct {
		name        string
		chunks      int64
		done        []int64
		maxInFlight int
	}{
		{"fresh", 25, nil, 0},
		{"resumed", 25, []int64{0, 3, 4, 24}, 0},
		{"all done", 5, []int64{0, 1, 2, 3, 4}, 0},
		{"window of 3", 40, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			f := newFakeSweep(tt.chunks, tt.done...)
			f.register(env)
			env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{MaxInFlight: tt.maxInFlight}})
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			var res SweepResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			isDone := map[int64]bool{}
			for _, c := range tt.done {
				isDone[c] = true
			}
			for c := int64(0); c < tt.chunks; c++ {
				want := 1
				if isDone[c] {
					want = 0
				}
				if got := f.ran[c]; got != want {
					t.Errorf("chunk %d ran %d times, want %d", c, got, want)
				}
			}
			if got, want := res.Counts.Points+res.Counts.AlreadyDone, f.plan().Planned; got != want {
				t.Errorf("got: %d points accounted for, want: %d", got, want)
			}
			if got := f.finalized.Load(); got != 1 {
				t.Errorf("got: finalize ran %d times, want: 1", got)
			}
			if tt.maxInFlight > 0 && f.maxFlight.Load() > int64(tt.maxInFlight) {
				t.Errorf("got: %d chunks in flight at once, want: at most %d", f.maxFlight.Load(), tt.maxInFlight)
			}
		})
	}
}

func TestSweepWorkflowContinuesAsNew(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := newFakeSweep(25, 1)
	f.register(env)
	env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{ChunksPerRun: 10}})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("got: %v, want: continue-as-new", err)
	}
	// Ten chunks scheduled, plus the done chunk 1 skipped on the way.
	var ran int
	for _, n := range f.ran {
		ran += n
	}
	if ran != 10 {
		t.Errorf("got: %d chunks ran in the first run, want: 10", ran)
	}
	if f.finalized.Load() != 0 {
		t.Errorf("finalize ran before the last run")
	}

	// The next run picks up the carried state.
	var in SweepInput
	if err := decodeContinueAsNewInput(can, &in); err != nil {
		t.Fatal(err)
	}
	if in.State == nil || in.State.Next != 11 || in.State.ChunksDone != 11 {
		t.Fatalf("got: carried state %+v, want: next 11 and 11 chunks done", in.State)
	}
	env2 := suite.NewTestWorkflowEnvironment()
	f.register(env2)
	env2.ExecuteWorkflow(SweepWorkflow, in)
	if err := env2.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("second run: got %v, want continue-as-new", err)
	}
	if err := decodeContinueAsNewInput(can, &in); err != nil {
		t.Fatal(err)
	}
	env3 := suite.NewTestWorkflowEnvironment()
	f.register(env3)
	env3.ExecuteWorkflow(SweepWorkflow, in)
	if err := env3.GetWorkflowError(); err != nil {
		t.Fatalf("third run: %v", err)
	}
	for c := int64(0); c < 25; c++ {
		want := 1
		if c == 1 {
			want = 0
		}
		if f.ran[c] != want {
			t.Errorf("chunk %d ran %d times, want %d", c, f.ran[c], want)
		}
	}
	var res SweepResult
	if err := env3.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if got, want := res.Counts.Points+res.Counts.AlreadyDone, f.plan().Planned; got != want {
		t.Errorf("got: %d points accounted for over three runs, want: %d", got, want)
	}
}

func decodeContinueAsNewInput(can *workflow.ContinueAsNewError, in *SweepInput) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, in)
}

func TestSweepWorkflowFailures(t *testing.T) {
	tests := []struct {
		name      string
		failFast  bool
		failChunk int64
		failPoint int64
		wantErr   bool
		wantFail  []int64
	}{
		{"chunk fails, keep going", false, 3, -1, false, []int64{3}},
		{"chunk fails, fail fast", true, 3, -1, true, nil},
		{"point fails, keep going", false, -1, 2, false, nil},
		{"point fails, fail fast", true, -1, 2, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			f := newFakeSweep(8)
			f.failChunk, f.failPoint = tt.failChunk, tt.failPoint
			f.register(env)
			env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{FailFast: tt.failFast, MaxInFlight: 1}})
			err := env.GetWorkflowError()
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if f.finalized.Load() != 0 {
					t.Errorf("fail-fast sweep was finalized")
				}
				return
			}
			var res SweepResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if len(res.FailedChunks) != len(tt.wantFail) || (len(tt.wantFail) > 0 && res.FailedChunks[0] != tt.wantFail[0]) {
				t.Errorf("got: failed chunks %v, want: %v", res.FailedChunks, tt.wantFail)
			}
		})
	}
}

func TestSweepWorkflowInvalidSpecFailsAtOnce(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	calls := 0
	env.OnActivity(a.PlanSweep, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PlanInput) (activities.Plan, error) {
			calls++
			return activities.Plan{}, temporal.NewNonRetryableApplicationError("grid.eta: 1.5 is out of range", activities.InvalidSpecErrorType, nil)
		})
	env.ExecuteWorkflow(SweepWorkflow, SweepInput{})
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.InvalidSpecErrorType {
		t.Fatalf("got: %v, want: an %s", err, activities.InvalidSpecErrorType)
	}
	if calls != 1 {
		t.Errorf("got: %d plan attempts, want: 1 (not retried)", calls)
	}
}

func TestSweepWorkflowPauseResumeAndProgress(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := newFakeSweep(6)
	f.register(env)
	var paused Progress
	var ranWhilePaused int
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(PauseSignal, nil)
	}, 0)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&paused); err != nil {
			t.Error(err)
		}
		f.mu.Lock()
		ranWhilePaused = len(f.ran)
		f.mu.Unlock()
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResumeSignal, nil)
	}, 2*time.Hour)
	env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{MaxInFlight: 1}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if paused.Phase != "paused" {
		t.Errorf("got: phase %q while paused, want: paused", paused.Phase)
	}
	if paused.ChunksTotal != 6 || paused.Total != f.plan().Planned {
		t.Errorf("got: progress %+v, want 6 chunks and %d points", paused, f.plan().Planned)
	}
	if ranWhilePaused >= 6 {
		t.Errorf("got: %d chunks ran while paused, want fewer than 6", ranWhilePaused)
	}
	if len(f.ran) != 6 {
		t.Errorf("got: %d chunks ran in the end, want 6", len(f.ran))
	}
}

// The reliability issue's item 11: cancelling a paused sweep wedged its
// workflow (a potential deadlock: the closed ctx.Done() case kept the
// selector pending forever).
func TestSweepWorkflowCancelInEveryState(t *testing.T) {
	for _, tt := range []struct {
		name  string
		pause bool
		block bool
	}{
		{"paused before any chunk", true, false},
		{"running, chunks in flight", false, true},
		{"paused with chunks cancelled", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			f := newFakeSweep(6)
			f.blocking.Store(tt.block)
			f.register(env)
			if tt.pause && !tt.block {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(PauseSignal, nil) }, 0)
				env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
			}
			if tt.block {
				// Once every chunk is in flight: pause (or not), then cancel.
				f.onStart = func(n int64) {
					if n != 6 {
						return
					}
					if tt.pause {
						env.SignalWorkflow(PauseSignal, nil)
					}
					env.CancelWorkflow()
				}
			}
			env.ExecuteWorkflow(SweepWorkflow, SweepInput{})
			close(f.release)
			if !env.IsWorkflowCompleted() {
				t.Fatal("got: workflow not completed, want: canceled")
			}
			if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
				t.Errorf("got: %v, want: canceled", err)
			}
			if f.finalized.Load() != 0 {
				t.Error("a canceled sweep was finalized")
			}
		})
	}
}

// Item 12: pause did nothing while every chunk was already scheduled (any
// sweep under MaxInFlight chunks). A pause cancels the chunks in flight,
// and a resume runs them again.
func TestSweepWorkflowPauseStopsChunksInFlight(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := newFakeSweep(6)
	f.blocking.Store(true)
	f.register(env)
	var paused Progress
	// Once every chunk is in flight, pause; when the pause has cancelled
	// them all, look at the progress, then resume.
	f.onStart = func(n int64) {
		if n == 6 {
			env.SignalWorkflow(PauseSignal, nil)
		}
	}
	go func() {
		for f.canceled.Load() < 6 || f.blocked.Load() < 6 {
			time.Sleep(time.Millisecond)
		}
		v, err := env.QueryWorkflow(ProgressQuery)
		if err != nil {
			t.Errorf("query: %v", err)
		} else if err := v.Get(&paused); err != nil {
			t.Error(err)
		}
		f.blocking.Store(false)
		env.SignalWorkflow(ResumeSignal, nil)
	}()
	env.ExecuteWorkflow(SweepWorkflow, SweepInput{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if paused.Phase != "paused" || paused.ChunksInFlight != 0 || paused.ChunksDone != 0 {
		t.Errorf("while paused: got: phase %q, %d chunks in flight, %d done; want: paused, none in flight, none done", paused.Phase, paused.ChunksInFlight, paused.ChunksDone)
	}
	if got := f.canceled.Load(); got != 6 {
		t.Errorf("got: %d chunks saw the pause, want: 6", got)
	}
	for c := range int64(6) {
		if f.ran[c] != 1 {
			t.Errorf("chunk %d: got: completed %d times, want: once, after the resume", c, f.ran[c])
		}
	}
	var res SweepResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Counts.Points != f.plan().Planned {
		t.Errorf("got: %d points, want: %d", res.Counts.Points, f.plan().Planned)
	}
}

// Item 10: a chunk that cannot be stored (a permanent storage error) stops
// the sweep at once, with an error of type StorageErrorType, instead of
// every chunk failing in turn after its retries; so does a chunk refused
// for its numerics version (every chunk would be refused alike).
func TestSweepWorkflowStopsOnAStorageError(t *testing.T) {
	for _, tc := range []struct {
		errType, cause string
		set            func(f *fakeSweep)
	}{
		{activities.StorageErrorType, "no space left", func(f *fakeSweep) { f.storage = 2 }},
		{activities.NumericsMismatchErrorType, "planned by numerics version 3", func(f *fakeSweep) { f.mismatch = 2 }},
	} {
		t.Run(tc.errType, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			f := newFakeSweep(20)
			tc.set(f)
			f.register(env)
			env.ExecuteWorkflow(SweepWorkflow, SweepInput{Options: Options{MaxInFlight: 1}})
			err := env.GetWorkflowError()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != tc.errType || !strings.Contains(err.Error(), tc.cause) {
				t.Fatalf("got: %v, want: a %s naming the cause", err, tc.errType)
			}
			if got := len(f.ran); got != 3 || f.finalized.Load() != 0 {
				t.Errorf("got: %d chunks ran, finalized %d times; want: 3 (up to the failing one), not finalized", got, f.finalized.Load())
			}
		})
	}
}
