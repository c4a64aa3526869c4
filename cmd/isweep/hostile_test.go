package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// Regression tests of the hostile pass over the one vocabulary of sweep
// status (list, status, watch), the refused plan's cleanup and the
// 'started sweep' line.

// holdChunk is a worker interceptor that holds RunChunk of one chunk,
// heartbeating, until release is closed: the sweep stays running there.
type holdChunk struct {
	interceptor.WorkerInterceptorBase
	chunk   int64
	release chan struct{}
}

func (h *holdChunk) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &holdChunkInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

type holdChunkInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *holdChunk
}

func (h *holdChunkInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name == "RunChunk" && len(in.Args) == 1 {
		if ref, ok := in.Args[0].(activities.ChunkRef); ok && ref.Chunk == h.h.chunk {
			t := time.NewTicker(time.Second)
			defer t.Stop()
		wait:
			for {
				select {
				case <-h.h.release:
					break wait
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-t.C:
					activity.RecordHeartbeat(ctx)
				}
			}
		}
	}
	return h.Next.ExecuteActivity(ctx, in)
}

// startServerAndWorker starts an embedded Temporal server and a worker
// with the given interceptors; it returns a client and the environment
// that points the isweep command at the server.
func startServerAndWorker(t *testing.T, dir string, icpt ...interceptor.WorkerInterceptor) (client.Client, []string) {
	t.Helper()
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DBPath: filepath.Join(dir, "temporal.db"), WithoutWorkerService: true, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	c, err := srv.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w, err := worker.New(c, worker.Options{Concurrency: 2, Interceptors: icpt})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, []string{"TEMPORAL_ADDRESS=" + srv.FrontendAddress(), "TEMPORAL_NAMESPACE=" + srv.Namespace()}
}

// rowsOf returns the lines of out that name sweepID.
func rowsOf(out, sweepID string) []string {
	var rows []string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, sweepID) {
			rows = append(rows, line)
		}
	}
	return rows
}

// TestListOfASweepThatContinuedAsNew: a sweep of more chunks than one
// workflow run schedules (1,000 by default; 2 here) continues as new.
// While it runs on, `isweep list` must answer at once with one row saying
// running: it waited for the whole sweep to end (SweepStatus reads the
// result of the earlier run, which follows the chain to the running run),
// and, interrupted, printed Temporal's words ("continuedasnew": stateName
// does not know the SDK's "ContinuedAsNew" spelling) and exited 0. Once
// the sweep is complete, list shows it once, as complete.
func TestListOfASweepThatContinuedAsNew(t *testing.T) {
	dir := t.TempDir()
	hold := &holdChunk{chunk: 5, release: make(chan struct{})}
	c, env := startServerAndWorker(t, dir, hold)
	released := false
	release := func() {
		if !released {
			released = true
			close(hold.release)
		}
	}
	t.Cleanup(release)

	path := writeFile(t, dir, "spec.yaml", `apiVersion: isweep/v1
name: continued
output: out
chunk: 1
grid:
  algorithm: [direct]
  init_scale: [1, 2, 3, 4, 5, 6, 7, 8]
fixed: {mode: flow, n: 2, tol: 0.1, record: 2}
`)
	spec, err := schemas.ParseFile(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	spec.Output = filepath.Join(dir, "out")
	sub, err := control.Submit(t.Context(), c, spec, worker.DefaultTaskQueue, workflows.Options{ChunksPerRun: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Chunks 0-3 done (two runs), chunk 5 held: the third run is running.
	waitProgress(t, dir, env, sub.SweepID, func(p workflows.Progress) bool { return p.Runs >= 3 && p.ChunksInFlight > 0 })

	r := startIsweep(t, dir, env, "list")
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Signal(os.Interrupt)
		code := r.wait(t, time.Minute)
		t.Errorf("list while a sweep that continued as new runs: no answer within 20 s; interrupted: exit %d:\n%s\nwant: an answer at once", code, r.out.String())
		release()
		return
	}
	out := r.out.String()
	if rows := rowsOf(out, sub.SweepID); len(rows) != 1 || !strings.Contains(rows[0], " running ") {
		t.Errorf("list while it runs: got:\n%s\nwant: one row for sweep %s, saying running", out, sub.SweepID)
	}
	release()

	if err := c.GetWorkflow(t.Context(), sub.WorkflowID, "").Get(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	code, out := runIsweepEnv(t, dir, env, time.Minute, "list")
	if rows := rowsOf(out, sub.SweepID); code != 0 || len(rows) != 1 || !strings.Contains(rows[0], " complete ") || strings.Contains(out, "continuedasnew") {
		t.Errorf("list once complete: got: exit %d\n%s\nwant: one row for sweep %s, saying complete", code, out, sub.SweepID)
	}
}

// TestRefusedPlanSaysRefusedEverywhere: a sweep the plan refuses before
// any work (here: the output holds parts of a sweep whose folder and plan
// log were deleted) never says it started, as run does; list and status
// must then call it refused, the word their vocabulary has for "the plan
// refused the sweep before any work (… an output it cannot plan into)"
// (control.SweepRefused). They said "stopped: storage error", the word for
// a sweep a storage error stopped midway. And the refusal must leave the
// output as it was: it left an empty sweeps/ folder where there was none.
func TestRefusedPlanSaysRefusedEverywhere(t *testing.T) {
	dir := t.TempDir()
	const spec = `apiVersion: isweep/v1
name: %s
output: out
chunk: 2
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10]
fixed: {mode: flow, n: 2}
`
	_, env := startServerAndWorker(t, dir)
	a := writeFile(t, dir, "a.yaml", fmt.Sprintf(spec, "a"))
	b := writeFile(t, dir, "b.yaml", fmt.Sprintf(spec, "b"))
	if code, out := runIsweepEnv(t, dir, env, 2*time.Minute, "submit", "-watch", a); code != 0 {
		t.Fatalf("submit a: exit %d\n%s", code, out)
	}
	output := filepath.Join(dir, "out")
	for _, name := range []string{"sweeps", "plans"} {
		if err := os.RemoveAll(filepath.Join(output, name)); err != nil {
			t.Fatal(err)
		}
	}
	before := listAll(t, output)
	code, out := runIsweepEnv(t, dir, env, 2*time.Minute, "submit", "-watch", b)
	if code != exitStorage || !strings.Contains(out, "neither a plan") || strings.Contains(out, "started sweep") {
		t.Fatalf("submit -watch b: got: exit %d\n%s\nwant: exit %d, refused, not started", code, out, exitStorage)
	}
	if after := listAll(t, output); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the output after the refusal: got:\n%s\nwant: as before:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	parsed, err := schemas.ParseFile(filepath.Join(dir, b))
	if err != nil {
		t.Fatal(err)
	}
	sweepID := parsed.SweepID()
	code, out = runIsweepEnv(t, dir, env, time.Minute, "list")
	if rows := rowsOf(out, sweepID); code != 0 || len(rows) != 1 || !strings.Contains(rows[0], "refused") {
		t.Errorf("list: got: exit %d\n%s\nwant: the row of %s saying refused", code, out, sweepID)
	}
	code, out = runIsweepEnv(t, dir, env, time.Minute, "status", sweepID)
	if !strings.Contains(out, "refused") {
		t.Errorf("status: got: exit %d\n%s\nwant: refused", code, out)
	}
}
