package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/schemas"
)

// isweepBin is the isweep command, built once for the whole package.
var isweepBin string

// repoRoot is the repository's root folder (deploy/ lives there).
var repoRoot string

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = filepath.Join(wd, "..", "..")
	os.Exit(proctest.RunWithBinary(m, "isweep-cluster-", &isweepBin))
}

// proc is a child process of a test: a server, a worker or a command.
type proc = proctest.Proc

// startProc starts the isweep binary (see proctest.Start).
func startProc(t testing.TB, name string, env []string, ready string, args ...string) *proc {
	t.Helper()
	return proctest.Start(t, isweepBin, name, env, ready, args...)
}

var metricsAddrRE = regexp.MustCompile(`health and metrics on http://(\S+)`)

// metricsURL returns the base URL of a worker's health and metrics server,
// read from its log.
func metricsURL(t testing.TB, p *proc) string {
	t.Helper()
	m := metricsAddrRE.FindStringSubmatch(p.Output())
	if m == nil {
		t.Fatalf("%s: no health and metrics address in its log:\n%s", p.Name(), p.Output())
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
	url := metricsURL(t, p) + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for {
		status, body := httpGet(t, url)
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET /readyz: got: %d %q, want: 200", p.Name(), status, body)
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
