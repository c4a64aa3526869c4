package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
)

// Query, signal and default names of the sweep workflow.
const (
	// ProgressQuery returns a Progress.
	ProgressQuery = "progress"
	// PauseSignal stops new points from starting: no chunk is scheduled,
	// and the chunks in flight are cancelled (their points not yet stored
	// are computed again after ResumeSignal). A cancelled chunk stays in
	// flight until its worker has stopped it; one that completes first
	// (the cancellation reaches a worker at its next heartbeat) is counted
	// done then.
	PauseSignal = "pause"
	// ResumeSignal undoes PauseSignal.
	ResumeSignal = "resume"

	// DefaultMaxInFlight is the default bound on chunks in flight.
	DefaultMaxInFlight = 500
	// DefaultChunksPerRun is the default number of chunks one workflow run
	// schedules before it continues as new. Each chunk costs about three
	// history events, so a run stays far below the 10,240-event warning.
	DefaultChunksPerRun = 1000
	// DefaultChunkAttempts is how often a chunk is tried before it counts
	// as failed.
	DefaultChunkAttempts = 10
)

// Options tune a sweep run. Zero values mean the defaults.
type Options struct {
	// MaxInFlight bounds the chunks in flight at once. Default 500.
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// FailFast ends the sweep with an error at the first failed point or
	// chunk. Default false: failures are recorded as data and the sweep
	// goes on; a later submit of the same spec retries what is missing.
	FailFast bool `json:"fail_fast,omitempty"`
	// ChunksPerRun is the number of chunks a workflow run schedules before
	// it continues as new. Default 1000.
	ChunksPerRun int `json:"chunks_per_run,omitempty"`
	// ChunkAttempts bounds the attempts of one chunk (infrastructure
	// errors are retried with exponential backoff up to a minute apart).
	// Default 10.
	ChunkAttempts int `json:"chunk_attempts,omitempty"`
	// HeartbeatTimeout is how long a silent chunk is given before it is
	// retried elsewhere. Default 30 s.
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
	// Verify reads and hashes the stored parts of the chunks found done
	// before trusting them. Default false: their markers and sizes are
	// checked.
	Verify bool `json:"verify,omitempty"`
	// ReuseNumerics lists other numerics versions whose stored points the
	// sweep reuses when it is first planned (activities.PlanInput).
	// Default none.
	ReuseNumerics []int `json:"reuse_numerics,omitempty"`
}

func (o Options) withDefaults() Options {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.ChunksPerRun <= 0 {
		o.ChunksPerRun = DefaultChunksPerRun
	}
	if o.ChunkAttempts <= 0 {
		o.ChunkAttempts = DefaultChunkAttempts
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 30 * time.Second
	}
	return o
}

// SweepInput is the input of SweepWorkflow.
type SweepInput struct {
	// Spec is the sweep spec (JSON). It is validated again by the plan
	// activity; an invalid spec fails the workflow at once.
	Spec json.RawMessage `json:"spec"`
	// Options tune the run.
	Options Options `json:"options"`
	// State is carried from one run to the next by continue-as-new; nil on
	// the first run.
	State *State `json:"state,omitempty"`
}

// Counts tallies finished points by status.
//
// A chunk this execution schedules was not complete when the sweep was
// planned, so whatever its activity reports, its points were computed by
// this execution: in that attempt, or in an earlier attempt that stored
// them and whose result the workflow never got (a pause cancelled it after
// it had stored its chunk, or its completion was lost), whereupon the next
// attempt finds the chunk done.
type Counts struct {
	// Points counts the points computed (integrated and stored) by this
	// sweep execution, in its own chunks and in chunks of earlier sweeps
	// it made done, and StatusCounts those points by status (in JSON, a
	// field per status beside points).
	Points int64 `json:"points"`
	results.StatusCounts
	// AlreadyDone counts points of the sweep's own chunks found complete
	// in the store when the sweep was planned (a resumed sweep: stored by
	// an earlier execution): they were not computed again.
	AlreadyDone int64 `json:"already_done"`
	// Reused counts the sweep's points that earlier sweeps stored into the
	// same output, in their chunks found complete (when the sweep was
	// planned, or when this execution came to them): not computed again.
	// The sweep's points in an earlier sweep's chunk this execution
	// computed count in Points instead.
	Reused int64 `json:"reused"`
	// NotMembers counts the points of Points that are not points of this
	// sweep: an earlier sweep's chunk that this execution computed holds
	// them beside the sweep's own points. The sweep's points done are
	// Points − NotMembers + AlreadyDone + Reused.
	NotMembers int64 `json:"not_members,omitempty"`
	// ComputeSeconds sums the time workers spent integrating points.
	ComputeSeconds float64 `json:"compute_seconds"`
}

// add counts the result of a chunk this execution scheduled (see Counts).
// again reports a chunk scheduled once more after a pause cancelled it: a
// chunk of an earlier sweep found complete then was most likely completed
// by the cancelled attempt, and counts as computed; found complete on its
// first schedule, it was completed by its own sweep and counts as reused.
func (c *Counts) add(r activities.ChunkResult, again bool) {
	if r.Foreign && r.AlreadyDone && !again {
		c.Reused += r.Reused
		return
	}
	c.Points += r.Points
	c.AddCounts(r.StatusCounts)
	c.ComputeSeconds += r.ComputeSeconds
	if r.Foreign {
		c.NotMembers += max(0, r.Points-r.Reused)
	}
}

// done returns the sweep's points with a row among those counted.
func (c *Counts) done() int64 { return c.Points - c.NotMembers + c.AlreadyDone + c.Reused }

// State is the part of a sweep that outlives one workflow run.
type State struct {
	Plan activities.Plan `json:"plan"`
	// Done marks the chunks that were complete when the sweep started.
	Done activities.DoneChunks `json:"done"`
	// Next is the next chunk to schedule after those in Requeued, the
	// chunks a pause cancelled.
	Next     int64   `json:"next"`
	Requeued []int64 `json:"requeued,omitempty"`
	// ChunksDone counts finished chunks (including those already done).
	ChunksDone   int64   `json:"chunks_done"`
	FailedChunks []int64 `json:"failed_chunks,omitempty"`
	Counts       Counts  `json:"counts"`
	Paused       bool    `json:"paused,omitempty"`
	// StartedAt is when the first run of this execution started.
	StartedAt time.Time `json:"started_at"`
	// PausedSeconds sums the time this execution spent in pauses that
	// ended; PausedAt is when the pause under way began.
	PausedSeconds float64   `json:"paused_seconds,omitempty"`
	PausedAt      time.Time `json:"paused_at,omitzero"`
	// Runs counts the workflow runs so far (continue-as-new).
	Runs int `json:"runs"`
}

// runningSeconds returns the time this execution has run until now, its
// pauses left out.
func (st *State) runningSeconds(now time.Time) float64 {
	if st.Paused && !st.PausedAt.IsZero() {
		now = st.PausedAt
	}
	return now.Sub(st.StartedAt).Seconds() - st.PausedSeconds
}

// A rate is given once the execution has computed points for
// minRateSeconds of running time, and at least minRateChunks chunks' worth
// of them: the first chunks come back at nearly the same time, and a rate
// from them says little.
const (
	minRateSeconds = 10
	minRateChunks  = 2
)

// Progress is the answer to ProgressQuery.
type Progress struct {
	SweepID string `json:"sweep_id"`
	Name    string `json:"name"`
	// Phase is "planning", "running", "paused", "finalizing" or "done".
	Phase string `json:"phase"`
	// Total is the number of distinct points of the sweep: Done counts
	// those with a row, whether computed now, found already done, or
	// stored by an earlier sweep into the same output (Reused of Total).
	Total          int64  `json:"total"`
	Done           int64  `json:"done"`
	Counts         Counts `json:"counts"`
	Reused         int64  `json:"reused"`
	ChunksTotal    int64  `json:"chunks_total"`
	ChunksDone     int64  `json:"chunks_done"`
	ChunksInFlight int64  `json:"chunks_in_flight"`
	ChunksFailed   int64  `json:"chunks_failed"`
	// Rate is points computed per second of the execution's running time
	// (its pauses left out), zero until there is enough to go by (10 s and
	// two chunks' worth of points); ETASeconds the time left at that rate,
	// zero when unknown and while paused.
	Rate       float64 `json:"rate"`
	ETASeconds float64 `json:"eta_seconds"`
	Runs       int     `json:"runs"`
	// ChunkSize is the sweep's chunk size; RunningSeconds the execution's
	// running time (pauses left out) at AsOf, the workflow's time when it
	// answered: the time of its last workflow task, not of the query. A
	// client brings Rate and ETASeconds to its own time with At.
	ChunkSize      int64     `json:"chunk_size"`
	RunningSeconds float64   `json:"running_seconds"`
	AsOf           time.Time `json:"as_of,omitzero"`
}

// At returns p with its rate and ETA as of now: a running sweep's running
// time goes on past AsOf whether or not chunks finish. In a query the
// workflow's clock stands at its last workflow task, so the rate it gives
// holds still while nothing finishes (a store that is down, for minutes):
// brought to now it falls, and the ETA grows, as they should.
func (p Progress) At(now time.Time) Progress {
	running := p.RunningSeconds
	if p.Phase == "running" && !p.AsOf.IsZero() && now.After(p.AsOf) {
		running += now.Sub(p.AsOf).Seconds()
	}
	p.Rate, p.ETASeconds = 0, 0
	if running >= minRateSeconds && p.Counts.Points >= minRateChunks*max(p.ChunkSize, 1) {
		p.Rate = float64(p.Counts.Points) / running
		if p.Phase == "running" {
			p.ETASeconds = float64(p.Total-p.Done) / p.Rate
		}
	}
	return p
}

// SweepResult is the outcome of SweepWorkflow.
type SweepResult struct {
	Plan   activities.Plan `json:"plan"`
	Counts Counts          `json:"counts"`
	// FailedChunks lists the chunks that failed after all their attempts;
	// submitting the spec again retries them.
	FailedChunks []int64                   `json:"failed_chunks,omitempty"`
	Final        activities.FinalizeResult `json:"final"`
}

// SweepWorkflow drives the points of a sweep through chunk activities: it
// plans the sweep, skips the chunks already complete in the store, keeps at
// most MaxInFlight chunks in flight, continues as new every ChunksPerRun
// chunks, and finally writes the manifest and summary.
func SweepWorkflow(ctx workflow.Context, in SweepInput) (SweepResult, error) {
	opts := in.Options.withDefaults()
	logger := workflow.GetLogger(ctx)
	var a *activities.Activities

	retry := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        int32(opts.ChunkAttempts),
		NonRetryableErrorTypes: []string{activities.InvalidSpecErrorType, activities.StorageErrorType},
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    opts.HeartbeatTimeout,
		RetryPolicy:         retry,
	})
	// Planning and finalizing are shorter; they heartbeat too, so that a
	// worker that dies in them is noticed in seconds, not at the timeout.
	shortCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    opts.HeartbeatTimeout,
		RetryPolicy:         retry,
	})

	st := in.State
	phase := "planning"
	var inFlight []chunkInFlight
	progress := func() Progress {
		p := Progress{Phase: phase, Runs: 1}
		if st == nil {
			return p
		}
		p.SweepID, p.Name = st.Plan.SweepID, st.Plan.Name
		p.Total, p.Reused = st.Plan.Points, st.Plan.Reused
		p.Counts = st.Counts
		p.Done = st.Counts.done()
		p.ChunksTotal, p.ChunksDone = st.Plan.Chunks, st.ChunksDone
		p.ChunksInFlight, p.ChunksFailed = int64(len(inFlight)), int64(len(st.FailedChunks))
		p.Runs = st.Runs
		if st.Paused && phase == "running" {
			p.Phase = "paused"
		}
		now := workflow.Now(ctx)
		p.ChunkSize, p.RunningSeconds, p.AsOf = st.Plan.ChunkSize, st.runningSeconds(now), now
		return p.At(now)
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return progress(), nil
	}); err != nil {
		return SweepResult{}, err
	}

	if st == nil {
		var plan activities.Plan
		if err := workflow.ExecuteActivity(shortCtx, a.PlanSweep, activities.PlanInput{Spec: in.Spec, Verify: opts.Verify, ReuseNumerics: opts.ReuseNumerics}).Get(ctx, &plan); err != nil {
			return SweepResult{}, err
		}
		done := activities.DoneChunks{Chunks: plan.Chunks, Bits: make([]byte, (plan.Chunks+7)/8)}
		if plan.Done != nil {
			done = *plan.Done
		}
		// The state carries the bitmap once, in Done.
		plan.Done = nil
		st = &State{Plan: plan, Done: done, StartedAt: workflow.Now(ctx)}
		st.Counts.Reused = plan.ReusedReady
		logger.Info("Sweep planned", "SweepID", plan.SweepID, "Points", plan.Points,
			"Planned", plan.Planned, "Reused", plan.Reused, "Chunks", plan.Chunks, "AlreadyDone", done.Done,
			"Rejected", len(plan.Rejected))
	}
	st.Runs++
	phase = "running"

	// Since version 1 the workflow waits for the chunks a pause cancelled
	// to end: a chunk that completes before its cancellation reaches the
	// worker is counted when it completes, not when its next attempt
	// finds it done after the resume, and it is not scheduled again while
	// the cancelled attempt runs on.
	chunkCtx := ctx
	if workflow.GetVersion(ctx, pauseWaitsChange, workflow.DefaultVersion, 1) >= 1 {
		chunkCtx = workflow.WithWaitForCancellation(ctx, true)
	}

	plan := st.Plan
	chunkPoints := func(c int64) int64 {
		switch {
		case c >= plan.OwnChunks:
			return 0 // a chunk of an earlier sweep: counted as reused
		case c == plan.OwnChunks-1:
			return plan.Planned - c*plan.ChunkSize
		}
		return plan.ChunkSize
	}

	pauseCh := workflow.GetSignalChannel(ctx, PauseSignal)
	resumeCh := workflow.GetSignalChannel(ctx, ResumeSignal)
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(pauseCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		if !st.Paused {
			logger.Info("Sweep paused", "SweepID", plan.SweepID, "ChunksCancelled", len(inFlight))
			st.PausedAt = workflow.Now(ctx)
		}
		st.Paused = true
		// No new point starts: the chunks in flight are cancelled, and
		// computed again after a resume (what they stored stays).
		for i := range inFlight {
			if !inFlight[i].paused {
				inFlight[i].paused = true
				inFlight[i].cancel()
			}
		}
	})
	sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		if st.Paused {
			logger.Info("Sweep resumed", "SweepID", plan.SweepID)
			st.PausedSeconds += workflow.Now(ctx).Sub(st.PausedAt).Seconds()
			st.PausedAt = time.Time{}
		}
		st.Paused = false
	})
	// A cancel request wakes the loop even when nothing is in flight. The
	// channel stays ready once closed: the loop checks canceled before it
	// selects again.
	canceled := false
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { canceled = true })

	var failure error
	scheduledThisRun := 0
	// next returns the next chunk to schedule and whether it was
	// scheduled before (a pause cancelled it), or false when none is left.
	next := func() (c int64, again, ok bool) {
		for {
			if len(st.Requeued) > 0 {
				c := st.Requeued[0]
				st.Requeued = st.Requeued[1:]
				return c, true, true
			}
			if st.Next >= plan.Chunks {
				return 0, false, false
			}
			c := st.Next
			st.Next++
			if st.Done.Has(c) {
				st.ChunksDone++
				st.Counts.AlreadyDone += chunkPoints(c)
				continue
			}
			return c, false, true
		}
	}
	for {
		// Take in what is already there (signals above all) before
		// scheduling more: a pause sent before the sweep started holds.
		for !canceled && sel.HasPending() {
			sel.Select(ctx)
		}
		if canceled || ctx.Err() != nil {
			return SweepResult{}, temporal.NewCanceledError("sweep canceled")
		}
		for !st.Paused && failure == nil && len(inFlight) < opts.MaxInFlight && scheduledThisRun < opts.ChunksPerRun {
			c, again, ok := next()
			if !ok {
				break
			}
			scheduledThisRun++
			cctx, cancel := workflow.WithCancel(chunkCtx)
			inFlight = append(inFlight, chunkInFlight{chunk: c, cancel: cancel, again: again})
			f := workflow.ExecuteActivity(cctx, a.RunChunk, activities.ChunkRef{Output: plan.Output, SweepID: plan.SweepID, Chunk: c})
			sel.AddFuture(f, func(f workflow.Future) {
				i := slices.IndexFunc(inFlight, func(x chunkInFlight) bool { return x.chunk == c })
				paused := inFlight[i].paused
				inFlight = slices.Delete(inFlight, i, i+1)
				var r activities.ChunkResult
				if err := f.Get(ctx, &r); err != nil {
					if paused && ctx.Err() == nil {
						// Cancelled by the pause, or ended otherwise once
						// cancelled (a worker lost meanwhile: the server
						// does not retry a cancelled activity): computed
						// again after the resume.
						if !temporal.IsCanceledError(err) {
							logger.Info("Chunk cancelled by the pause ended with an error; it runs again after the resume", "SweepID", plan.SweepID, "Chunk", c, "Error", err)
						}
						st.Requeued = append(st.Requeued, c)
						return
					}
					if temporal.IsCanceledError(err) {
						return
					}
					logger.Error("Chunk failed", "SweepID", plan.SweepID, "Chunk", c, "Error", err)
					st.FailedChunks = append(st.FailedChunks, c)
					var appErr *temporal.ApplicationError
					switch {
					case failure != nil:
					case errors.As(err, &appErr) && appErr.Type() == activities.StorageErrorType:
						// Every chunk would fail the same way: stop at once.
						failure = temporal.NewNonRetryableApplicationError(
							fmt.Sprintf("chunk %d of sweep %s cannot be stored: %s", c, plan.SweepID, appErr.Message()),
							activities.StorageErrorType, nil)
					case errors.As(err, &appErr) && appErr.Type() == activities.NumericsMismatchErrorType:
						// So would every chunk of the sweep on this worker.
						failure = temporal.NewNonRetryableApplicationError(appErr.Message(), activities.NumericsMismatchErrorType, nil)
					case opts.FailFast:
						failure = fmt.Errorf("chunk %d of sweep %s failed: %w", c, plan.SweepID, err)
					}
					return
				}
				st.ChunksDone++
				st.Counts.add(r, again)
				if opts.FailFast && r.Failed > 0 && failure == nil {
					failure = temporal.NewNonRetryableApplicationError(
						fmt.Sprintf("chunk %d of sweep %s has %d failed points (fail-fast)", c, plan.SweepID, r.Failed),
						"PointFailedError", nil)
				}
			})
		}
		if failure != nil {
			logger.Error("Sweep failed", "SweepID", plan.SweepID, "Error", failure)
			return SweepResult{Plan: plan, Counts: st.Counts, FailedChunks: st.FailedChunks}, failure
		}
		if len(inFlight) == 0 {
			if st.Next >= plan.Chunks && len(st.Requeued) == 0 {
				break
			}
			if !st.Paused && scheduledThisRun >= opts.ChunksPerRun {
				// Drained: carry the state into a fresh run.
				logger.Info("Sweep continues as new", "SweepID", plan.SweepID, "Next", st.Next, "ChunksDone", st.ChunksDone)
				return SweepResult{}, workflow.NewContinueAsNewError(ctx, SweepWorkflow, SweepInput{Spec: in.Spec, Options: in.Options, State: st})
			}
		}
		sel.Select(ctx)
	}

	phase = "finalizing"
	var final activities.FinalizeResult
	if err := workflow.ExecuteActivity(shortCtx, a.FinalizeSweep, activities.SweepRef{Output: plan.Output, SweepID: plan.SweepID}).Get(ctx, &final); err != nil {
		return SweepResult{}, err
	}
	phase = "done"
	logger.Info("Sweep finished", "SweepID", plan.SweepID, "Computed", st.Counts.Points,
		"AlreadyDone", st.Counts.AlreadyDone, "FailedChunks", len(st.FailedChunks), "Status", final.Status)
	return SweepResult{Plan: plan, Counts: st.Counts, FailedChunks: st.FailedChunks, Final: final}, nil
}

// chunkInFlight is a chunk activity the workflow waits for; cancel
// cancels it, paused records that a pause did, and again that a pause
// cancelled the chunk before.
type chunkInFlight struct {
	chunk  int64
	cancel workflow.CancelFunc
	paused bool
	again  bool
}

// pauseWaitsChange is the change id of the chunks whose cancellation by a
// pause the workflow waits for (workflow.GetVersion).
const pauseWaitsChange = "pause-waits-for-cancelled-chunks"

// SweepWorkflowName is the name SweepWorkflow is registered and started
// under.
const SweepWorkflowName = "SweepWorkflow"

// WorkflowID returns the workflow id of a sweep: one sweep id, one
// workflow id, so two submits of the same sweep meet in one workflow.
func WorkflowID(sweepID string) string { return "isweep/" + sweepID }
