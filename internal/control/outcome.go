package control

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/workflows"
)

// The words every command uses for what a sweep is (list, status, watch,
// run, submit -watch): the sweep's own status, never Temporal's state of
// its workflow alone. A workflow that completed holds a sweep that is
// complete or incomplete (failed chunks, points without a row); one that
// failed holds a sweep that failed, or that the plan refused, or that a
// storage error stopped. The exit codes follow them: 0 complete (and
// running, for status), 1 incomplete, failed or cancelled, 2 refused, 4
// stopped by storage.
const (
	// SweepRunning: its workflow runs (planning, computing, paused or
	// finalizing).
	SweepRunning = "running"
	// SweepComplete: every point has a row (the manifest's status).
	SweepComplete = results.SweepComplete
	// SweepIncomplete: the workflow ended, but points have no row (the
	// manifest's status); running the spec again computes them.
	SweepIncomplete = results.SweepIncomplete
	// SweepFailed: the sweep stopped on an error (fail-fast, or one no
	// other word names).
	SweepFailed = results.SweepFailed
	// SweepRefused: the plan refused the sweep before any work (an
	// invalid spec, a sweep planned by other numerics, an output it
	// cannot plan into).
	SweepRefused = "refused"
	// SweepStopped: a storage error that retrying cannot cure stopped it;
	// what is stored stays.
	SweepStopped = "stopped"
	// SweepCanceled: cancelled (isweep cancel); what is stored stays.
	SweepCanceled = "canceled"
)

// ResultStatus says what a sweep whose workflow completed is, from its
// result: "complete", or "incomplete: 1 of 4 chunks failed", "incomplete:
// 3 of 30 points have no row".
func ResultStatus(res workflows.SweepResult) string {
	if res.Final.Status == results.SweepComplete {
		return SweepComplete
	}
	why := res.Final.Status
	if why == "" {
		why = SweepIncomplete
	}
	switch {
	case len(res.FailedChunks) > 0:
		why = fmt.Sprintf("%s: %d of %d chunks failed", why, len(res.FailedChunks), res.Plan.Chunks)
	case res.Final.Missing > 0:
		why = fmt.Sprintf("%s: %d of %d points have no row", why, res.Final.Missing, res.Plan.Points)
	}
	return why
}

// Failure is the kind of error a sweep's workflow ended with: the one
// place that reads the activities' error types, for the status words
// (FailureStatus) and the commands' exit codes alike.
type Failure int

const (
	// FailedOther: fail-fast, or an error no other kind names.
	FailedOther Failure = iota
	// RefusedSpec: the plan found the spec invalid.
	RefusedSpec
	// RefusedNumerics: the sweep was planned by other numerics and has
	// chunks left.
	RefusedNumerics
	// RefusedStorage: the plan refused the sweep for a storage error
	// that retrying cannot cure (an output it cannot plan into: parts of
	// a sweep without its plan, plan logs of two outputs, no space, …).
	RefusedStorage
	// RefusedOther: the plan refused the sweep for another reason.
	RefusedOther
	// StoppedStorage: a storage error that retrying cannot cure.
	StoppedStorage
	// Canceled: the sweep was cancelled.
	Canceled
)

// FailureOf returns the kind of err, a sweep workflow's error.
func FailureOf(err error) Failure {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case activities.StorageErrorType:
			if RefusedByPlan(err) {
				return RefusedStorage
			}
			return StoppedStorage
		case activities.InvalidSpecErrorType:
			return RefusedSpec
		case activities.NumericsMismatchErrorType:
			return RefusedNumerics
		}
		if RefusedByPlan(err) {
			return RefusedOther
		}
		return FailedOther
	}
	if temporal.IsCanceledError(err) {
		return Canceled
	}
	return FailedOther
}

// Status returns the status word of the failure f.
func (f Failure) Status() string {
	switch f {
	case RefusedSpec:
		return SweepRefused + ": invalid spec"
	case RefusedNumerics:
		return SweepRefused + ": other numerics"
	case RefusedStorage:
		return SweepRefused + ": storage error"
	case RefusedOther:
		return SweepRefused
	case StoppedStorage:
		return SweepStopped + ": storage error"
	case Canceled:
		return SweepCanceled
	}
	return SweepFailed
}

// FailureStatus says what a sweep whose workflow ended without a result
// is, from the error its workflow ended with and its state: refused,
// stopped (storage), failed, canceled, or the state (terminated,
// timed-out).
func FailureStatus(state string, err error) string {
	f := FailureOf(err)
	var appErr *temporal.ApplicationError
	if f != FailedOther || errors.As(err, &appErr) {
		return f.Status()
	}
	if state == StateCanceled {
		return SweepCanceled
	}
	if state == "" || state == StateCompleted {
		return SweepFailed
	}
	return state
}

// RefusedByPlan reports whether err, a sweep workflow's error, is the
// failure of its planning: the sweep was refused before any work.
func RefusedByPlan(err error) bool {
	var actErr *temporal.ActivityError
	return errors.As(err, &actErr) && actErr.ActivityType().GetName() == "PlanSweep"
}

// SweepStatus returns what the sweep of st is, in the words above: for a
// running sweep SweepRunning, for a closed one what its result (or the
// error it ended with) says.
func SweepStatus(ctx context.Context, c client.Client, st Status) string {
	switch st.State {
	case StateRunning:
		return SweepRunning
	case StatePaused:
		// Open, but held by Temporal: there is no result to read.
		return st.State
	case StateContinuedAsNew:
		// An earlier run of a sweep that went on in a new run: its
		// result is the latest run's (reading it would wait for the
		// sweep to end).
		return st.State
	}
	var res workflows.SweepResult
	if err := c.GetWorkflow(ctx, st.WorkflowID, st.RunID).Get(ctx, &res); err != nil {
		if ctx.Err() != nil {
			return st.State
		}
		return FailureStatus(st.State, err)
	}
	return ResultStatus(res)
}
