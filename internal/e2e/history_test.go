package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/workflows"
)

// TestSweepHistoriesReplay runs a sweep through several continue-as-new
// runs with a pause and a resume, reads every run's history from the
// server, and replays it against the current workflow code: a change that
// breaks determinism fails here. With ISWEEP_RECORD_HISTORIES=1 it also
// stores the histories under workflows/testdata, where the workflows
// package replays them on every test run.
func TestSweepHistoriesReplay(t *testing.T) {
	e := startEmbedded(t, false)
	spec, _ := writeSpec(t, t.TempDir(), `apiVersion: isweep/v1
name: e2e-history
output: results
chunk: 4
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10, 100]
  seed: [1, 2, 3, 4, 5]
fixed: {mode: online, n: 8, eta: 0.001, horizon: 200000, tol: 0.000000001, record: 5}
`)
	ctx := context.Background()
	sub := submit(t, e.client, spec, workflows.Options{ChunksPerRun: 3, MaxInFlight: 2})
	// Pause before any worker runs: the sweep plans, then holds with no
	// chunk scheduled until it is resumed. Both signals are in the history.
	if err := control.Pause(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	startWorker(t, e.client, 2)
	p := proctest.WaitFor(t, e.client, sub.SweepID, "paused", func(p workflows.Progress) bool { return p.Phase == "paused" })
	time.Sleep(500 * time.Millisecond)
	if p, err := control.Progress(ctx, e.client, sub.SweepID); err != nil || p.ChunksDone != 0 || p.ChunksInFlight != 0 {
		t.Fatalf("got: progress %+v (%v) while paused, want: nothing scheduled", p, err)
	}
	t.Logf("paused with %d chunks planned", p.ChunksTotal)
	if err := control.Resume(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	// Paused again with chunks in flight: the pause cancels them (the
	// cancellations are in the history) and the resume runs them again.
	proctest.WaitFor(t, e.client, sub.SweepID, "a chunk in flight", func(p workflows.Progress) bool { return p.ChunksInFlight > 0 })
	if err := control.Pause(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, e.client, sub.SweepID, "paused, nothing in flight", func(p workflows.Progress) bool {
		return p.Phase == "paused" && p.ChunksInFlight == 0
	})
	if err := control.Resume(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	res := proctest.WaitResult(t, e.client, sub.SweepID)
	if res.Final.Status != "complete" {
		t.Fatalf("got: %q, want: complete", res.Final.Status)
	}
	proctest.CheckExactlyOnce(t, spec)

	resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", sub.WorkflowID),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetExecutions()) < 3 {
		t.Fatalf("got: %d runs, want: several (continue-as-new every 3 chunks)", len(resp.GetExecutions()))
	}
	record := os.Getenv("ISWEEP_RECORD_HISTORIES") != ""
	cancels := 0
	for i, ex := range resp.GetExecutions() {
		runID := ex.GetExecution().GetRunId()
		hist := &historypb.History{}
		iter := e.client.GetWorkflowHistory(ctx, sub.WorkflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			hist.Events = append(hist.Events, ev)
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED {
				cancels++
			}
		}
		replayer := sdkworker.NewWorkflowReplayer()
		replayer.RegisterWorkflowWithOptions(workflows.SweepWorkflow, workflow.RegisterOptions{Name: workflows.SweepWorkflowName})
		if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
			t.Errorf("run %s (%s, %d events) does not replay: %v", runID, ex.GetStatus(), len(hist.Events), err)
		}
		if record {
			body, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "workflows", "testdata", fmt.Sprintf("sweep-history-%d.json", i))
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("recorded %s (%d events, %s)", path, len(hist.Events), ex.GetStatus())
		}
	}
	if cancels == 0 {
		t.Error("got: no chunk cancelled by the pause in any history, want: the pause with chunks in flight recorded")
	}
}
