package control_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// server starts an in-memory Temporal server and a client of it.
func server(t *testing.T) client.Client {
	t.Helper()
	srv, err := devserver.Start(context.Background(), devserver.Options{WithoutWorkerService: true, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	c, err := srv.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// startWorker runs an isweep worker on taskQueue until stop or the test's
// end.
func startWorker(t *testing.T, c client.Client, taskQueue string) (stop func()) {
	t.Helper()
	w, err := worker.New(c, worker.Options{TaskQueue: taskQueue, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			w.Stop()
		}
	}
	t.Cleanup(stop)
	return stop
}

// tinySpec is a two-point sweep into output.
func tinySpec(t *testing.T, output string) *schemas.Spec {
	t.Helper()
	spec, err := schemas.Parse([]byte("apiVersion: isweep/v1\nname: tiny\noutput: "+output+"\ngrid: {seed: [1, 2]}\nfixed: {algorithm: direct, n: 2}\n"), "tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// eventually calls f until it returns true; the deadline only keeps a
// broken test from hanging.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !f(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// TestFinishedSweep runs a sweep to the end, stops the worker, then checks
// what a finished sweep tells: its result from the close event (no query:
// no worker is left to answer one), and that pause, resume and cancel are
// refused naming its state.
func TestFinishedSweep(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	stop := startWorker(t, c, "finished")
	sub, err := control.Submit(ctx, c, tinySpec(t, filepath.Join(t.TempDir(), "out")), "finished", workflows.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := control.Wait(ctx, c, sub.SweepID, 100*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	stop()

	res, st, err := control.Result(ctx, c, sub.SweepID)
	if err != nil || st.State != "completed" || res.Counts.Converged != 2 || res.Final.Status != "complete" {
		t.Errorf("Result: got: %+v, %s, %v want: 2 converged, completed, complete", res.Counts, st.State, err)
	}
	for _, tc := range []struct {
		action string
		f      func(context.Context, client.Client, string) error
	}{{"pause", control.Pause}, {"resume", control.Resume}, {"cancel", control.Cancel}} {
		err := tc.f(ctx, c, sub.SweepID)
		var se *control.StateError
		if !errors.As(err, &se) || se.State != "completed" || !strings.Contains(err.Error(), "it is completed") || !strings.Contains(err.Error(), "cannot "+tc.action) {
			t.Errorf("%s of a finished sweep: got: %v want: a *StateError saying it is completed", tc.action, err)
		}
		if err := tc.f(ctx, c, "0123456789abcdef"); err == nil || !strings.Contains(err.Error(), "no sweep 0123456789abcdef") {
			t.Errorf("%s of an unknown sweep: got: %v want: no sweep 0123456789abcdef", tc.action, err)
		}
	}
}

// TestRunningSweepWithoutWorker submits a sweep no worker polls for: the
// progress query does not answer, Result refuses a running sweep, Wait
// reports no pollers, and a worker that cannot open the output shows its
// failure in PendingFailures and in Wait's ticks.
func TestRunningSweepWithoutWorker(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	sub, err := control.Submit(ctx, c, tinySpec(t, "s3://bucket/prefix"), "nobody", workflows.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := control.Result(ctx, c, sub.SweepID); err == nil {
		t.Errorf("Result of a running sweep: got: no error want: a *StateError")
	}
	if n, err := control.Pollers(ctx, c, "nobody"); err != nil || n != 0 {
		t.Errorf("Pollers: got: %d, %v want: 0", n, err)
	}

	wctx, cancel := context.WithCancel(ctx)
	var ticks []control.Tick
	_, err = control.Wait(wctx, c, sub.SweepID, 50*time.Millisecond, func(tick control.Tick) {
		ticks = append(ticks, tick)
		if tick.Pollers >= 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: got: %v want: context.Canceled", err)
	}
	// Once ctx is cancelled, the workflow's Get returns too (the RPC's
	// cancellation, which is not context.Canceled) and Wait's select took
	// either: it failed in one run of the suite (a half chance each time).
	for i := range 8 {
		// Cancelled from onTick, with time for Get to return before
		// Wait selects again: both of its cases are ready then.
		cctx, cancel := context.WithCancel(ctx)
		_, err := control.Wait(cctx, c, sub.SweepID, time.Millisecond, func(control.Tick) {
			cancel()
			time.Sleep(20 * time.Millisecond)
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait cancelled, try %d: got: %v want: context.Canceled", i, err)
		}
	}
	if last := ticks[len(ticks)-1]; last.Answered || last.Pollers != 0 || last.TaskQueue != "nobody" {
		t.Errorf("Wait's tick: got: answered %v, %d pollers of %q want: not answered, 0 pollers of nobody", last.Answered, last.Pollers, last.TaskQueue)
	}

	// A worker without S3 credentials fails the plan and retries it.
	startWorker(t, c, "nobody")
	var failures []control.ActivityFailure
	eventually(t, "a failed plan", func() bool {
		failures, err = control.PendingFailures(ctx, c, sub.SweepID)
		return err == nil && len(failures) > 0
	})
	f := failures[0]
	if f.Activity != "PlanSweep" || f.Attempt < 1 || f.Worker == "" || !strings.Contains(f.Message, "no S3 credentials") {
		t.Errorf("PendingFailures: got: %+v want: PlanSweep's attempt failed on a worker for want of S3 credentials", f)
	}
	if n, err := control.Pollers(ctx, c, "nobody"); err != nil || n == 0 {
		t.Errorf("Pollers with a worker: got: %d, %v want: 1 or more", n, err)
	}
	if err := control.Cancel(ctx, c, sub.SweepID); err != nil {
		t.Errorf("Cancel of a running sweep: got: %v", err)
	}
}

// TestOtherRunning: the sweeps running on a task queue besides a given
// one, which an embedded isweep run's worker on that queue takes too (the
// run names them: a researcher saw a sweep interrupted earlier finish
// silently in another spec's run), not those of another queue.
func TestOtherRunning(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	dir := t.TempDir()
	a, err := control.Submit(ctx, c, tinySpec(t, filepath.Join(dir, "a")), "nobody", workflows.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(t, filepath.Join(dir, "b"))
	spec.Name = "other"
	b, err := control.Submit(ctx, c, spec, "nobody", workflows.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A sweep on another task queue: another worker's, not named.
	elsewhere := tinySpec(t, filepath.Join(dir, "c"))
	elsewhere.Name = "elsewhere"
	if _, err := control.Submit(ctx, c, elsewhere, "elsewhere", workflows.Options{}); err != nil {
		t.Fatal(err)
	}
	// Visibility (what List reads) may lag the start by a moment.
	var others []control.Status
	eventually(t, "OtherRunning to name the other sweep", func() bool {
		others, err = control.OtherRunning(ctx, c, a.SweepID, "nobody")
		return err == nil && len(others) > 0
	})
	if len(others) != 1 || others[0].WorkflowID != b.WorkflowID || others[0].Name != "other" {
		t.Errorf("OtherRunning besides %s: got: %+v want: sweep %s alone", a.SweepID, others, b.SweepID)
	}
	if err := c.TerminateWorkflow(ctx, b.WorkflowID, "", "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "OtherRunning to name none once the other ended", func() bool {
		others, err = control.OtherRunning(ctx, c, a.SweepID, "nobody")
		return err == nil && len(others) == 0
	})
}
