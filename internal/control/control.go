// Package control is the client side of isweep: submit a sweep (or attach
// to the one already running), query its progress, pause, resume, cancel,
// list, and wait for its result. The command and the tests use it; it never
// runs workflow code.
package control

import (
	"context"
	"errors"
	"fmt"
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

// Progress queries the progress of a sweep's latest run. For a closed
// workflow it returns the progress recorded in its result.
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
	return p, nil
}

// Status is the state of a sweep's workflow.
type Status struct {
	WorkflowID string
	RunID      string
	// State is Temporal's workflow status in lower case: "running",
	// "completed", "failed", "canceled", "terminated", "continued-as-new",
	// "timed-out".
	State     string
	Name      string
	Output    string
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

func stateName(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// List returns the sweeps known to the Temporal server, newest first.
func List(ctx context.Context, c client.Client, limit int) ([]Status, error) {
	var out []Status
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
				StartTime:  info.GetStartTime().AsTime(),
			}
			if info.GetCloseTime() != nil {
				s.CloseTime = info.GetCloseTime().AsTime()
			}
			s.Name, s.Output = memo(info.GetMemo().GetFields())
			out = append(out, s)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, nil
		}
	}
}

// Pause and Resume signal a running sweep.
func Pause(ctx context.Context, c client.Client, sweep string) error {
	return c.SignalWorkflow(ctx, ResolveID(sweep), "", workflows.PauseSignal, nil)
}

// Resume undoes Pause.
func Resume(ctx context.Context, c client.Client, sweep string) error {
	return c.SignalWorkflow(ctx, ResolveID(sweep), "", workflows.ResumeSignal, nil)
}

// Cancel asks a running sweep to stop. What it stored stays; submitting
// the spec again resumes it.
func Cancel(ctx context.Context, c client.Client, sweep string) error {
	return c.CancelWorkflow(ctx, ResolveID(sweep), "")
}

// Wait blocks until the sweep's workflow (following continue-as-new)
// closes, calling onProgress every interval while it runs.
func Wait(ctx context.Context, c client.Client, sweep string, interval time.Duration, onProgress func(workflows.Progress)) (workflows.SweepResult, error) {
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
	for {
		select {
		case <-done:
			return res, err
		case <-ctx.Done():
			<-done
			return res, ctx.Err()
		case <-t.C:
			if onProgress != nil {
				if p, qerr := Progress(ctx, c, sweep); qerr == nil {
					onProgress(p)
				}
			}
		}
	}
}
