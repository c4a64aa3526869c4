// Package control is the client side of isweep: submit a sweep (or attach
// to the one already running), query its progress, pause, resume, cancel,
// list, and wait for its result. The command and the tests use it; it never
// runs workflow code.
package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/workflows"
)

// Submission describes a submitted sweep.
type Submission struct {
	SweepID    string
	WorkflowID string
	RunID      string
	// Attached reports that the sweep was already running and the submit
	// joined it instead of starting another.
	Attached bool
}

// OtherOutputError reports a submit of a sweep that is already running
// into another output: a Temporal server runs one workflow per sweep.
type OtherOutputError struct {
	SweepID string
	// Running is the output of the running sweep, Wanted the submitted one.
	Running, Wanted string
}

func (e *OtherOutputError) Error() string {
	return fmt.Sprintf("sweep %s is already running into %s, not %s; wait for it to end (isweep watch %s) or cancel it (isweep cancel %s), then submit again",
		e.SweepID, e.Running, e.Wanted, e.SweepID, e.SweepID)
}

// Submit starts the sweep of spec on taskQueue, or attaches to it when a
// workflow of the same sweep is already running into the same output (a
// running sweep into another output is an *OtherOutputError). A sweep that
// failed, was terminated or completed before starts again: it skips every
// chunk already in the store, so only what is missing is computed.
func Submit(ctx context.Context, c client.Client, spec *schemas.Spec, taskQueue string, opts workflows.Options) (Submission, error) {
	sweepID := spec.SweepID()
	id := workflows.WorkflowID(sweepID)
	// A running workflow of this sweep is joined, not duplicated: the
	// start below uses it (conflict policy), and describing first tells
	// the user which happened, and refuses to join one that writes
	// elsewhere.
	attached := false
	if d, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		info := d.GetWorkflowExecutionInfo()
		attached = info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		if _, output := memo(info.GetMemo().GetFields()); attached && output != spec.Output {
			return Submission{}, &OtherOutputError{SweepID: sweepID, Running: output, Wanted: spec.Output}
		}
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Memo:                     map[string]any{"name": spec.Name, "output": spec.Output},
	}, workflows.SweepWorkflowName, workflows.SweepInput{Spec: spec.Canonical(), Options: opts})
	if err != nil {
		return Submission{}, fmt.Errorf("submit sweep %s: %w", sweepID, err)
	}
	sub := Submission{SweepID: sweepID, WorkflowID: id, RunID: run.GetRunID(), Attached: attached}
	// A run started by another submit between the describe above and the
	// start: check that it writes where this one would.
	if d, err := c.DescribeWorkflowExecution(ctx, id, run.GetRunID()); err == nil {
		if _, output := memo(d.GetWorkflowExecutionInfo().GetMemo().GetFields()); output != spec.Output {
			return Submission{}, &OtherOutputError{SweepID: sweepID, Running: output, Wanted: spec.Output}
		}
	}
	return sub, nil
}

// ResolveID turns what a user typed (a sweep id or a workflow id) into a
// workflow id.
func ResolveID(sweep string) string {
	if strings.HasPrefix(sweep, "isweep/") {
		return sweep
	}
	return workflows.WorkflowID(sweep)
}

// Progress queries the progress of a sweep's latest run, its rate and ETA
// brought to this machine's time (workflows.Progress.At). A query needs a
// worker to answer it: a sweep no worker has picked up does not answer
// until ctx is done, so give ctx a deadline. For a closed sweep use Result.
func Progress(ctx context.Context, c client.Client, sweep string) (workflows.Progress, error) {
	id := ResolveID(sweep)
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return workflows.Progress{}, fmt.Errorf("no sweep %s on this Temporal server (workflow %s not found)", sweep, id)
		}
		return workflows.Progress{}, fmt.Errorf("query sweep %s: %w", sweep, err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		return workflows.Progress{}, err
	}
	return p.At(time.Now()), nil
}

// Result returns the result of a closed sweep as its workflow's close
// event records it, without a query (which needs a worker to replay the
// workflow), and its status. For a sweep that ended without a result
// (failed, canceled, terminated, timed out) the error says how it ended; a
// running sweep is a *StateError.
func Result(ctx context.Context, c client.Client, sweep string) (workflows.SweepResult, Status, error) {
	st, err := Describe(ctx, c, sweep)
	if err != nil {
		return workflows.SweepResult{}, st, err
	}
	if st.State == StateRunning {
		return workflows.SweepResult{}, st, &StateError{Sweep: sweep, State: st.State, Action: "read the result of"}
	}
	var res workflows.SweepResult
	if err := c.GetWorkflow(ctx, st.WorkflowID, st.RunID).Get(ctx, &res); err != nil {
		return workflows.SweepResult{}, st, fmt.Errorf("sweep %s is %s: %w", sweep, st.State, err)
	}
	return res, st, nil
}

// Status is the state of a sweep's workflow.
type Status struct {
	WorkflowID string
	RunID      string
	// State is Temporal's workflow status: StateRunning, StateCompleted, …
	State     string
	Name      string
	Output    string
	TaskQueue string
	StartTime time.Time
	CloseTime time.Time
}

// Describe returns the status of a sweep's latest workflow run.
func Describe(ctx context.Context, c client.Client, sweep string) (Status, error) {
	id := ResolveID(sweep)
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Status{}, fmt.Errorf("no sweep %s on this Temporal server (workflow %s not found)", sweep, id)
		}
		return Status{}, err
	}
	info := d.GetWorkflowExecutionInfo()
	s := Status{
		WorkflowID: id,
		RunID:      info.GetExecution().GetRunId(),
		State:      stateName(info.GetStatus()),
		TaskQueue:  info.GetTaskQueue(),
		StartTime:  info.GetStartTime().AsTime(),
	}
	if info.GetCloseTime() != nil {
		s.CloseTime = info.GetCloseTime().AsTime()
	}
	s.Name, s.Output = memo(info.GetMemo().GetFields())
	return s, nil
}

func memo(fields map[string]*commonpb.Payload) (name, output string) {
	dc := converter.GetDefaultDataConverter()
	if p, ok := fields["name"]; ok {
		_ = dc.FromPayload(p, &name)
	}
	if p, ok := fields["output"]; ok {
		_ = dc.FromPayload(p, &output)
	}
	return name, output
}

// The states of a sweep's workflow run, as Status.State gives them:
// Temporal's execution status in lower case, words joined by "-".
const (
	StateRunning        = "running"
	StateCompleted      = "completed"
	StateFailed         = "failed"
	StateCanceled       = "canceled"
	StateTerminated     = "terminated"
	StateContinuedAsNew = "continued-as-new"
	StateTimedOut       = "timed-out"
	// StatePaused: paused by Temporal's own workflow pause (not isweep
	// pause, which keeps the run running).
	StatePaused = "paused"
)

// stateNames names each execution status of Temporal's API. The enum's
// String() is not stable across versions of the API module (it reads
// "ContinuedAsNew" now, "WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW"
// before), so the words are not derived from it.
var stateNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          StateRunning,
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        StateCompleted,
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           StateFailed,
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         StateCanceled,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       StateTerminated,
	enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: StateContinuedAsNew,
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        StateTimedOut,
	enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED:           StatePaused,
}

// stateName returns the word of Temporal's execution status s (an
// unknown one in lower case, as the API spells it).
func stateName(s enumspb.WorkflowExecutionStatus) string {
	if name, ok := stateNames[s]; ok {
		return name
	}
	return strings.ToLower(s.String())
}

// List returns the sweeps known to the Temporal server, newest first, one
// each: the latest run of its workflow (a sweep that continued as new, or
// was submitted again after it ended, has several; the earlier ones are
// its history).
func List(ctx context.Context, c client.Client, limit int) ([]Status, error) {
	var out []Status
	latest := map[string]int{} // workflow id → its index in out
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf("WorkflowType = '%s'", workflows.SweepWorkflowName),
			NextPageToken: token,
			PageSize:      100,
		})
		if err != nil {
			return nil, fmt.Errorf("list sweeps: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			s := Status{
				WorkflowID: info.GetExecution().GetWorkflowId(),
				RunID:      info.GetExecution().GetRunId(),
				State:      stateName(info.GetStatus()),
				TaskQueue:  info.GetTaskQueue(),
				StartTime:  info.GetStartTime().AsTime(),
			}
			if info.GetCloseTime() != nil {
				s.CloseTime = info.GetCloseTime().AsTime()
			}
			s.Name, s.Output = memo(info.GetMemo().GetFields())
			if i, ok := latest[s.WorkflowID]; ok {
				if s.StartTime.After(out[i].StartTime) {
					out[i] = s
				}
				continue
			}
			latest[s.WorkflowID] = len(out)
			out = append(out, s)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Status) int { return b.StartTime.Compare(a.StartTime) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// OtherRunning returns the sweeps running on the server on taskQueue
// besides sweepID's (newest first): with an embedded server, those
// interrupted in an earlier isweep run with the same state, whose chunks
// the run's worker on taskQueue takes too.
func OtherRunning(ctx context.Context, c client.Client, sweepID, taskQueue string) ([]Status, error) {
	all, err := List(ctx, c, 0)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, s := range all {
		if s.State == StateRunning && s.TaskQueue == taskQueue && s.WorkflowID != workflows.WorkflowID(sweepID) {
			out = append(out, s)
		}
	}
	return out, nil
}

// StateError reports an action on a sweep that its state does not allow:
// a signal or a cancel to a sweep that has ended, or the result of one that
// is still running.
type StateError struct {
	Sweep string
	// State is the sweep's state, as in Status.
	State string
	// Action is what was asked: "pause", "resume", "cancel", …
	Action string
}

func (e *StateError) Error() string {
	if e.State == StateRunning {
		return fmt.Sprintf("cannot %s sweep %s: it is still running", e.Action, e.Sweep)
	}
	return fmt.Sprintf("cannot %s sweep %s: it is %s; only a running sweep can be paused, resumed or canceled", e.Action, e.Sweep, e.State)
}

// Pause stops a running sweep from scheduling new chunks; the chunks in
// flight finish. A sweep that is not running is a *StateError, one that
// does not exist an error saying so.
func Pause(ctx context.Context, c client.Client, sweep string) error {
	return act(ctx, c, sweep, "pause", func(id string) error {
		return c.SignalWorkflow(ctx, id, "", workflows.PauseSignal, nil)
	})
}

// Resume undoes Pause.
func Resume(ctx context.Context, c client.Client, sweep string) error {
	return act(ctx, c, sweep, "resume", func(id string) error {
		return c.SignalWorkflow(ctx, id, "", workflows.ResumeSignal, nil)
	})
}

// Cancel asks a running sweep to stop. What it stored stays; submitting
// the spec again resumes it.
func Cancel(ctx context.Context, c client.Client, sweep string) error {
	return act(ctx, c, sweep, "cancel", func(id string) error {
		return c.CancelWorkflow(ctx, id, "")
	})
}

// act does f to a running sweep's workflow; a sweep that is not running,
// or that ends before f reaches it, is a *StateError.
func act(ctx context.Context, c client.Client, sweep, action string, f func(id string) error) error {
	st, err := Describe(ctx, c, sweep)
	if err != nil {
		return err
	}
	if st.State != StateRunning {
		return &StateError{Sweep: sweep, State: st.State, Action: action}
	}
	err = f(st.WorkflowID)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		if st, derr := Describe(ctx, c, sweep); derr == nil && st.State != StateRunning {
			return &StateError{Sweep: sweep, State: st.State, Action: action}
		}
	}
	if err != nil {
		return fmt.Errorf("%s sweep %s: %w", action, sweep, err)
	}
	return nil
}

// ActivityFailure is the last failure of an activity of a sweep that is
// still pending: it is being retried.
type ActivityFailure struct {
	// Activity is the activity's type: "PlanSweep", "ListDoneChunks",
	// "RunChunk" or "FinalizeSweep".
	Activity string
	// Attempt is the attempt that failed.
	Attempt int32
	// Worker is the identity of the worker the attempt failed on.
	Worker string
	// Message is the failure's message.
	Message string
}

// PendingFailures returns the last failures of the sweep's pending
// activities, as DescribeWorkflowExecution reports them, in the order it
// lists them. Activities that have not failed are left out.
func PendingFailures(ctx context.Context, c client.Client, sweep string) ([]ActivityFailure, error) {
	id := ResolveID(sweep)
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("no sweep %s on this Temporal server (workflow %s not found)", sweep, id)
		}
		return nil, err
	}
	return pendingFailures(d), nil
}

func pendingFailures(d *workflowservice.DescribeWorkflowExecutionResponse) []ActivityFailure {
	var out []ActivityFailure
	for _, a := range d.GetPendingActivities() {
		f := a.GetLastFailure()
		if f == nil {
			continue
		}
		// Attempt is the attempt scheduled (waiting out its backoff) or
		// running now; the last failure is the one before.
		attempt := max(a.GetAttempt()-1, 1)
		out = append(out, ActivityFailure{
			Activity: a.GetActivityType().GetName(),
			Attempt:  attempt,
			Worker:   a.GetLastWorkerIdentity(),
			Message:  f.GetMessage(),
		})
	}
	return out
}

// Pollers returns how many workers poll taskQueue (for workflow or for
// activity tasks, whichever is more) as the server saw them recently.
func Pollers(ctx context.Context, c client.Client, taskQueue string) (int, error) {
	n := 0
	for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := c.DescribeTaskQueue(ctx, taskQueue, typ)
		if err != nil {
			return 0, fmt.Errorf("describe task queue %s: %w", taskQueue, err)
		}
		n = max(n, len(resp.GetPollers()))
	}
	return n, nil
}

// Tick is what Wait reports at every interval while a sweep runs.
type Tick struct {
	// Progress is the sweep's progress when Answered: the progress query
	// answered within QueryTimeout. A sweep no worker has picked up yet
	// does not answer.
	Progress workflows.Progress
	Answered bool
	// Failures are the last failures of the sweep's pending activities
	// (see PendingFailures), TaskQueue its task queue and Pollers the
	// workers polling it (-1 when unknown), refreshed every few seconds.
	Failures  []ActivityFailure
	TaskQueue string
	Pollers   int
}

// QueryTimeout bounds each progress query of Wait.
const QueryTimeout = 3 * time.Second

// refreshEvery is how often Wait refreshes a Tick's failures and pollers.
const refreshEvery = 2 * time.Second

// Wait blocks until the sweep's workflow (following continue-as-new)
// closes, calling onTick every interval while it runs.
func Wait(ctx context.Context, c client.Client, sweep string, interval time.Duration, onTick func(Tick)) (workflows.SweepResult, error) {
	id := ResolveID(sweep)
	done := make(chan struct{})
	var res workflows.SweepResult
	var err error
	go func() {
		defer close(done)
		err = c.GetWorkflow(ctx, id, "").Get(ctx, &res)
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	last := Tick{Pollers: -1}
	var refreshed time.Time
	for {
		select {
		case <-done:
			if ctx.Err() != nil {
				// The wait ended because ctx did: Get's error is then the
				// RPC's cancellation, which does not match context.Canceled.
				return res, ctx.Err()
			}
			return res, err
		case <-ctx.Done():
			<-done
			return res, ctx.Err()
		case <-t.C:
			if onTick == nil {
				continue
			}
			tick := last
			qctx, cancel := context.WithTimeout(ctx, QueryTimeout)
			p, qerr := Progress(qctx, c, sweep)
			cancel()
			if tick.Answered = qerr == nil; tick.Answered {
				tick.Progress = p
			}
			if time.Since(refreshed) >= refreshEvery {
				refreshed = time.Now()
				refresh(ctx, c, id, &tick)
			}
			last = tick
			onTick(tick)
		}
	}
}

// refresh fills in the failures, the task queue and its pollers of a tick;
// what cannot be read keeps its last value.
func refresh(ctx context.Context, c client.Client, id string, tick *Tick) {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return
	}
	tick.Failures = pendingFailures(d)
	tick.TaskQueue = d.GetWorkflowExecutionInfo().GetTaskQueue()
	if n, err := Pollers(ctx, c, tick.TaskQueue); err == nil {
		tick.Pollers = n
	}
}
