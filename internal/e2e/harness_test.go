package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// isweepBin is the isweep command, built once for the whole package.
var isweepBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "isweep-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	isweepBin = filepath.Join(dir, "isweep")
	build := exec.Command("go", "build", "-o", isweepBin, "github.com/isweep/isweep/cmd/isweep")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build isweep:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process of a test: a server or a worker.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts the isweep binary with args and waits until a line of
// its output contains ready (if not empty).
func startProc(t testing.TB, name string, env []string, ready string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(isweepBin, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p := &proc{t: t, name: name, cmd: cmd, done: make(chan struct{}), log: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	readyCh := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.log, line)
			if ready != "" && strings.Contains(line, ready) {
				once.Do(func() { close(readyCh) })
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	if ready == "" {
		return p
	}
	select {
	case <-readyCh:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", name, p.log.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s not ready after 2 minutes:\n%s", name, p.log.String())
	}
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServerProc runs `isweep server` on db and port.
func startServerProc(t testing.TB, db string, port int) *proc {
	return startProc(t, "server", nil, "Temporal frontend on", "server", "-db", db, "-port", strconv.Itoa(port))
}

// startWorkerProc runs `isweep worker` against address.
func startWorkerProc(t testing.TB, name, address string, env []string, concurrency int) *proc {
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

func dial(t testing.TB, address string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: address, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// quietLogger drops SDK log lines (the tests say what matters).
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

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

// waitFor polls the sweep's progress until cond holds.
func waitFor(t testing.TB, c client.Client, sweepID, what string, cond func(workflows.Progress) bool) workflows.Progress {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p, err := control.Progress(ctx, c, sweepID)
		cancel()
		if err == nil && cond(p) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sweep %s: timed out waiting for %s", sweepID, what)
	return workflows.Progress{}
}

// waitResult waits for the sweep's result, riding out a server that is
// down for a while.
func waitResult(t testing.TB, c client.Client, sweepID string) workflows.SweepResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var res workflows.SweepResult
		err := c.GetWorkflow(ctx, workflows.WorkflowID(sweepID), "").Get(ctx, &res)
		cancel()
		if err == nil {
			return res
		}
		lastErr = err
		if isWorkflowFailure(err) {
			t.Fatalf("sweep %s failed: %v", sweepID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("sweep %s: no result: %v", sweepID, lastErr)
	return workflows.SweepResult{}
}

func isWorkflowFailure(err error) bool {
	var we *temporal.WorkflowExecutionError
	return errors.As(err, &we)
}

// checkExactlyOnce reads every points part of the sweep and checks that
// each grid point has exactly one row. It returns the rows.
func checkExactlyOnce(t testing.TB, spec *schemas.Spec) []results.PointRow {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, spec.Output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := results.ReadPoints(ctx, st, spec.SweepID(), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for i := int64(0); i < grid.Len(); i++ {
		want[grid.Point(i).ID] = i
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.PointID]++
		if idx, ok := want[r.PointID]; !ok {
			t.Errorf("row for point %s which is not in the grid", r.PointID)
		} else if idx != r.PointIndex {
			t.Errorf("point %s: got: index %d, want: %d", r.PointID, r.PointIndex, idx)
		}
	}
	missing, twice := 0, 0
	for id := range want {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || int64(len(rows)) != grid.Len() {
		t.Fatalf("got: %d rows for %d grid points, %d missing, %d more than once; want: every point exactly once", len(rows), grid.Len(), missing, twice)
	}
	return rows
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
