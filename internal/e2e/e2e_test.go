// Package e2e holds the end-to-end tests of isweep: real Temporal servers
// (embedded and as `isweep server` processes), real workers (in process and
// as `isweep worker` processes), a real S3 server, and faults made by
// SIGKILL. Every test ends by reading the stored Parquet and checking that
// each grid point is there exactly once.
package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/workflows"
)

// cheapSpec is a flow sweep of both networks: 2 × 3 × 8 × 2 = 96 points.
const cheapSpec = `apiVersion: isweep/v1
name: e2e-cheap
output: results
chunk: 8
grid:
  algorithm: [direct, interneuron]
  n: [1, 2, 4]
  init_scale: {logspace: [-1, 2, 8]}
  seed: [1, 2]
fixed:
  mode: flow
  input_spectrum: {min: 0.5, max: 2}
  input_basis: random
`

// slowSpec has online points of some tenths of a second each, so that a
// kill lands in the middle of a chunk: 48 points in 12 chunks.
const slowSpec = `apiVersion: isweep/v1
name: e2e-slow
output: %s
chunk: 4
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 24, 1]}
fixed:
  mode: online
  n: 16
  eta: 0.002
  init_scale: 2
  horizon: 60000
  record: 50
  input_spectrum: {min: 0.5, max: 2}
`

func TestSweepEndToEnd(t *testing.T) {
	e := startEmbedded(t, true)
	spec, _ := writeSpec(t, t.TempDir(), cheapSpec)

	// Two submits of the same sweep at once meet in one workflow.
	var wg sync.WaitGroup
	subs := make([]control.Submission, 2)
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subs[i] = submit(t, e.client, spec, workflows.Options{})
		}()
	}
	wg.Wait()
	if subs[0].RunID != subs[1].RunID {
		t.Errorf("got: runs %s and %s for two submits at once, want: one", subs[0].RunID, subs[1].RunID)
	}
	res := proctest.WaitResult(t, e.client, spec.SweepID())
	if res.Final.Status != "complete" {
		t.Fatalf("got: status %q, want: complete (%+v)", res.Final.Status, res)
	}
	rows := proctest.CheckExactlyOnce(t, spec)
	if res.Counts.Points != int64(len(rows)) || res.Counts.Converged != int64(len(rows)) {
		t.Errorf("got: counts %+v, want: %d points, all converged", res.Counts, len(rows))
	}

	// Submitting the finished sweep again computes nothing.
	again := submit(t, e.client, spec, workflows.Options{})
	if again.RunID == subs[0].RunID {
		t.Fatal("a completed sweep was not started again")
	}
	res2 := proctest.WaitResult(t, e.client, spec.SweepID())
	if res2.Counts.Points != 0 || res2.Counts.AlreadyDone != res.Plan.Planned {
		t.Errorf("resubmit: got: %d computed, %d already done; want: 0 and %d", res2.Counts.Points, res2.Counts.AlreadyDone, res.Plan.Planned)
	}
	proctest.CheckExactlyOnce(t, spec)
}

func TestExtendedSpecComputesOnlyNewPoints(t *testing.T) {
	e := startEmbedded(t, true)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, cheapSpec)
	submit(t, e.client, spec, workflows.Options{})
	first := proctest.WaitResult(t, e.client, spec.SweepID())

	// One more seed: 48 new points.
	extendedText := `apiVersion: isweep/v1
name: e2e-cheap
output: results
chunk: 8
grid:
  algorithm: [direct, interneuron]
  n: [1, 2, 4]
  init_scale: {logspace: [-1, 2, 8]}
  seed: [1, 2, 3]
fixed:
  mode: flow
  input_spectrum: {min: 0.5, max: 2}
  input_basis: random
`
	extended, _ := writeSpec(t, dir, extendedText)
	if extended.SweepID() == spec.SweepID() {
		t.Fatal("extended spec has the same sweep id")
	}
	submit(t, e.client, extended, workflows.Options{})
	second := proctest.WaitResult(t, e.client, extended.SweepID())
	if got, want := second.Plan.Reused, first.Plan.Planned; got != want {
		t.Errorf("got: %d points reused, want: %d", got, want)
	}
	if got, want := second.Counts.Points, int64(48); got != want {
		t.Errorf("got: %d points computed for the extension, want: %d", got, want)
	}
}

func TestWorkerKilledMidChunk(t *testing.T) {
	port := proctest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServerProc(t, filepath.Join(t.TempDir(), "temporal.db"), port)
	c := proctest.Dial(t, addr)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, fmt.Sprintf(slowSpec, filepath.Join(dir, "results")))

	first := startWorkerProc(t, "worker-1", addr, nil, 2)
	sub := submit(t, c, spec, testOptions)
	p := proctest.WaitFor(t, c, sub.SweepID, "a chunk done and another in flight", func(p workflows.Progress) bool {
		return p.ChunksDone >= 1 && p.ChunksInFlight >= 1
	})
	first.Kill()
	t.Logf("killed worker-1 with %d of %d chunks done, %d in flight", p.ChunksDone, p.ChunksTotal, p.ChunksInFlight)
	startWorkerProc(t, "worker-2", addr, nil, 2)
	res := proctest.WaitResult(t, c, sub.SweepID)
	if res.Final.Status != "complete" {
		t.Fatalf("got: status %q, want: complete", res.Final.Status)
	}
	proctest.CheckExactlyOnce(t, spec)
}

func TestServerKilledAndRestarted(t *testing.T) {
	port := proctest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	db := filepath.Join(t.TempDir(), "temporal.db")
	server := startServerProc(t, db, port)
	c := proctest.Dial(t, addr)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, fmt.Sprintf(slowSpec, filepath.Join(dir, "results")))
	startWorkerProc(t, "worker", addr, nil, 2)
	sub := submit(t, c, spec, testOptions)
	p := proctest.WaitFor(t, c, sub.SweepID, "two chunks done", func(p workflows.Progress) bool { return p.ChunksDone >= 2 })
	server.Kill()
	t.Logf("killed the server with %d of %d chunks done", p.ChunksDone, p.ChunksTotal)
	time.Sleep(2 * time.Second)
	startServerProc(t, db, port)
	res := proctest.WaitResult(t, c, sub.SweepID)
	if res.Final.Status != "complete" {
		t.Fatalf("got: status %q, want: complete", res.Final.Status)
	}
	proctest.CheckExactlyOnce(t, spec)
}

func TestTerminatedSweepResubmittedRunsOnlyMissingChunks(t *testing.T) {
	e := startEmbedded(t, true)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, fmt.Sprintf(slowSpec, filepath.Join(dir, "results")))
	sub := submit(t, e.client, spec, testOptions)
	proctest.WaitFor(t, e.client, sub.SweepID, "three chunks done", func(p workflows.Progress) bool { return p.ChunksDone >= 3 })
	if err := e.client.TerminateWorkflow(context.Background(), sub.WorkflowID, "", "test: terminate mid-sweep"); err != nil {
		t.Fatal(err)
	}
	// Chunks in flight learn of the termination at their next heartbeat
	// and stop; give them that time so the count below is stable.
	time.Sleep(7 * time.Second)
	done := doneChunks(t, spec)
	grid, _ := spec.Grid()
	chunks := grid.Chunks()
	t.Logf("terminated with %d of %d chunks stored", done, chunks)

	sub2 := submit(t, e.client, spec, testOptions)
	if sub2.RunID == sub.RunID {
		t.Fatal("resubmit attached to the terminated run")
	}
	res := proctest.WaitResult(t, e.client, sub.SweepID)
	computedChunks := (res.Counts.Points + int64(grid.ChunkSize()) - 1) / int64(grid.ChunkSize())
	if res.Counts.AlreadyDone < int64(done*grid.ChunkSize()) {
		t.Errorf("got: %d points found done, want: at least the %d of the %d stored chunks", res.Counts.AlreadyDone, done*grid.ChunkSize(), done)
	}
	if computedChunks > chunks-int64(done) {
		t.Errorf("got: %d chunks computed again, want: at most the %d missing", computedChunks, chunks-int64(done))
	}
	t.Logf("resubmit computed %d points (%d chunks), skipped %d points", res.Counts.Points, computedChunks, res.Counts.AlreadyDone)
	proctest.CheckExactlyOnce(t, spec)
}

func TestS3OutageMidSweep(t *testing.T) {
	s3 := s3test.Start(t)
	for _, kv := range s3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e := startEmbedded(t, true)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, fmt.Sprintf(slowSpec, s3.Location("e2e/outage")))
	sub := submit(t, e.client, spec, testOptions)
	proctest.WaitFor(t, e.client, sub.SweepID, "two chunks done", func(p workflows.Progress) bool { return p.ChunksDone >= 2 })
	s3.Stop()
	time.Sleep(8 * time.Second)
	if err := s3.Restart(); err != nil {
		t.Fatal(err)
	}
	res := proctest.WaitResult(t, e.client, sub.SweepID)
	if res.Final.Status != "complete" {
		t.Fatalf("got: status %q, want: complete", res.Final.Status)
	}
	proctest.CheckExactlyOnce(t, spec)
}

// TestHundredThousandPoints runs 10^5 cheap points on the embedded server
// and reads every run's history from the server: none may pass the
// 10,240-event warning.
func TestHundredThousandPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("10^5 points: skipped with -short")
	}
	e := startEmbedded(t, true)
	spec, _ := writeSpec(t, t.TempDir(), `apiVersion: isweep/v1
name: e2e-1e5
output: results
chunk: 100
grid:
  algorithm: [direct, interneuron]
  init_scale: {logspace: [-1, 2, 50]}
  seed: {range: [0, 1000, 1]}
fixed:
  mode: flow
  n: 2
  record: 4
  input_spectrum: {min: 0.5, max: 2}
`)
	sub := submit(t, e.client, spec, workflows.Options{ChunksPerRun: 400})
	res := proctest.WaitResult(t, e.client, sub.SweepID)
	if res.Final.Status != "complete" || res.Counts.Points != 100000 {
		t.Fatalf("got: status %q with %d points, want: complete with 100000", res.Final.Status, res.Counts.Points)
	}
	proctest.CheckExactlyOnce(t, spec)

	ctx := context.Background()
	resp, err := e.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", sub.WorkflowID),
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, ex := range resp.GetExecutions() {
		runs++
		events := 0
		iter := e.client.GetWorkflowHistory(ctx, sub.WorkflowID, ex.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			if _, err := iter.Next(); err != nil {
				t.Fatal(err)
			}
			events++
		}
		t.Logf("run %s: %d events (%s)", ex.GetExecution().GetRunId(), events, ex.GetStatus())
		if events > 10240 {
			t.Errorf("run %s: got: %d history events, want: at most 10,240", ex.GetExecution().GetRunId(), events)
		}
	}
	if runs < 3 {
		t.Errorf("got: %d runs, want: at least 3 (1000 chunks, 400 per run)", runs)
	}
}
