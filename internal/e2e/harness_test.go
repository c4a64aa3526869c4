package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// isweepBin is the isweep command, built once for the whole package.
var isweepBin string

func TestMain(m *testing.M) { os.Exit(proctest.RunWithBinary(m, "isweep-e2e-", &isweepBin)) }

// startProc starts the isweep binary (see proctest.Start).
func startProc(t testing.TB, name string, env []string, ready string, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Start(t, isweepBin, name, env, ready, args...)
}

// startServerProc runs `isweep server` on db and port.
func startServerProc(t testing.TB, db string, port int) *proctest.Proc {
	return startProc(t, "server", nil, "Temporal frontend on", "server", "-db", db, "-port", strconv.Itoa(port))
}

// startWorkerProc runs `isweep worker` against address.
func startWorkerProc(t testing.TB, name, address string, env []string, concurrency int) *proctest.Proc {
	return startProc(t, name, env, "polling task queue", "worker", "-address", address, "-concurrency", strconv.Itoa(concurrency))
}

// embedded is an in-process server and worker.
type embedded struct {
	srv    *devserver.Server
	client client.Client
	worker sdkworker.Worker
}

func startEmbedded(t testing.TB, withWorker bool) *embedded {
	t.Helper()
	ctx := context.Background()
	srv, err := devserver.Start(ctx, devserver.Options{DBPath: filepath.Join(t.TempDir(), "temporal.db")})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	c, err := srv.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e := &embedded{srv: srv, client: c}
	if withWorker {
		e.worker = startWorker(t, c, 2)
	}
	return e
}

func startWorker(t testing.TB, c client.Client, concurrency int) sdkworker.Worker {
	t.Helper()
	w, err := worker.New(c, worker.Options{Concurrency: concurrency, CodeVersion: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// writeSpec writes a spec into dir and parses it, with its output made
// absolute the way the command does.
func writeSpec(t testing.TB, dir, text string) (*schemas.Spec, string) {
	t.Helper()
	path := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := schemas.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.Output, "s3://") && !filepath.IsAbs(spec.Output) {
		spec.Output = filepath.Join(dir, spec.Output)
	}
	return spec, path
}

// testOptions make a killed worker's chunk come back quickly.
var testOptions = workflows.Options{HeartbeatTimeout: 5 * time.Second}

func submit(t testing.TB, c client.Client, spec *schemas.Spec, opts workflows.Options) control.Submission {
	t.Helper()
	sub, err := control.Submit(context.Background(), c, spec, worker.DefaultTaskQueue, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// doneChunks counts the chunk markers of a sweep in its output.
func doneChunks(t testing.TB, spec *schemas.Spec) int {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, spec.Output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range st.List(ctx, "sweeps/"+spec.SweepID()+"/chunks/") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
