package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/workflows"
)

// isweepBin is the isweep command, built once for the whole package.
var isweepBin string

// repoRoot is the repository's root folder (deploy/ lives there).
var repoRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "isweep-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = filepath.Join(wd, "..", "..")
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

// proc is a child process of a test: a server, a worker or a command.
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

// startProc starts the isweep binary with args and env added to this
// process's environment, and waits until a line of its output contains
// ready (if not empty).
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
	t.Cleanup(p.kill)
	if ready == "" {
		return p
	}
	select {
	case <-readyCh:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", name, p.log.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s not ready after 3 minutes:\n%s", name, p.log.String())
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

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s still running after %s:\n%s", p.name, timeout, p.log.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

var metricsAddrRE = regexp.MustCompile(`health and metrics on http://(\S+)`)

// metricsURL returns the base URL of a worker's health and metrics server,
// read from its log.
func (p *proc) metricsURL() string {
	p.t.Helper()
	m := metricsAddrRE.FindStringSubmatch(p.log.String())
	if m == nil {
		p.t.Fatalf("%s: no health and metrics address in its log:\n%s", p.name, p.log.String())
	}
	return "http://" + m[1]
}

// runIsweep runs the isweep binary to its end with exactly env (plus PATH
// and HOME) and returns its exit code and combined output.
func runIsweep(t testing.TB, env []string, args ...string) (int, string) {
	t.Helper()
	return runIsweepIn(t, "", env, args...)
}

// runIsweepIn is runIsweep in the folder dir ("" for this one).
func runIsweepIn(t testing.TB, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, isweepBin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("isweep %s: %v\n%s", strings.Join(args, " "), err, out)
	return -1, ""
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

// startWorkerProc runs `isweep worker` against address with a health and
// metrics server on a free loopback port.
func startWorkerProc(t testing.TB, name, address string, env []string, extra ...string) *proc {
	args := append([]string{"worker", "-address", address, "-concurrency", "1", "-metrics-addr", "127.0.0.1:0"}, extra...)
	return startProc(t, name, env, "polling task queue", args...)
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

// httpGet returns the status and body of url.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// waitReady polls a worker's /readyz until it answers 200.
func waitReady(t testing.TB, p *proc) {
	t.Helper()
	url := p.metricsURL() + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for {
		status, body := httpGet(t, url)
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET /readyz: got: %d %q, want: 200", p.name, status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeSpec writes a spec into dir and parses it.
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
	return spec, path
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

// waitResult waits for the sweep's result.
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
		var we *temporal.WorkflowExecutionError
		if errors.As(err, &we) {
			t.Fatalf("sweep %s failed: %v", sweepID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("sweep %s: no result: %v", sweepID, lastErr)
	return workflows.SweepResult{}
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
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	rows, err := results.ReadPoints(ctx, st, spec.SweepID(), alloc)
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
