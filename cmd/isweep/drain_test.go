package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// drainSpec has 8 chunks of 15 online points, about 2 s of work each on a
// free core: long enough to be stopped midway.
const drainSpec = `apiVersion: isweep/v1
name: drain
output: %s
chunk: 15
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 60, 1]}
fixed: {mode: online, n: 16, init_scale: 3, eta: 0.001, horizon: 200000, tol: 0.000000001, record: 10}
`

var workerMetricsRE = regexp.MustCompile(`health and metrics on http://(\S+)`)

// chunksInFlight reads isweep_chunks_in_flight from the /metrics of the
// worker r (started with -metrics-addr).
func chunksInFlight(t *testing.T, r *runCmd) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(workerMetrics(t, r)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "isweep_chunks_in_flight "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	return 0
}

// workerMetrics returns the text of the /metrics of the worker r
// (started with -metrics-addr).
func workerMetrics(t *testing.T, r *runCmd) string {
	t.Helper()
	m := workerMetricsRE.FindStringSubmatch(r.out.String())
	if m == nil {
		t.Fatalf("no metrics address in the worker's log:\n%s", r.out.String())
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitChunkRunning waits until the worker r computes a chunk.
func waitChunkRunning(t *testing.T, r *runCmd) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for chunksInFlight(t, r) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never computed a chunk:\n%s", r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerStopsCleanlyOnSIGTERM runs a sweep on an `isweep server` and
// worker processes the way a batch scheduler handles them: one worker
// starts before the server and waits for it (-connect-timeout); one is
// sent SIGTERM mid-chunk with -grace 0 and hands its chunk back, which
// another worker computes; one is sent SIGTERM mid-chunk with a long
// grace and finishes its chunk before it exits; the first exits by itself
// once there is no work (-idle-exit). Every point is stored exactly once,
// and the chunk handed back was retried because the worker said so, not
// because its heartbeats stopped (the sweep's heartbeat timeout is ten
// minutes).
func TestWorkerStopsCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	port := proctest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := []string{"TEMPORAL_ADDRESS=" + addr}

	// Started before its server: it waits, saying so.
	waiting := startIsweep(t, dir, env, "worker", "-concurrency", "1", "-connect-timeout", "5m", "-idle-exit", "15s")
	waitOutput(t, waiting, "waiting for the Temporal server")
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	waitOutput(t, waiting, "polling task queue")

	specFile := writeFile(t, dir, "drain.yaml", fmt.Sprintf(drainSpec, "out"))
	if code, out := runIsweepEnv(t, dir, env, time.Minute, "submit", "-heartbeat-timeout", "10m", specFile); code != 0 {
		t.Fatalf("submit: exit %d:\n%s", code, out)
	}
	sweepID := sweepIDOf(t, dir, specFile)

	// Grace 0: the chunk running is handed back at once.
	quick := startIsweep(t, dir, env, "worker", "-concurrency", "1", "-grace", "0s", "-metrics-addr", "127.0.0.1:0")
	waitOutput(t, quick, "polling task queue")
	waitChunkRunning(t, quick)
	if err := quick.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := quick.wait(t, 2*time.Minute); code != 0 || !regexp.MustCompile(`stopped: \d+ activities finished, [1-9]\d* handed back`).MatchString(quick.out.String()) {
		t.Fatalf("worker -grace 0 after SIGTERM: got: exit %d:\n%s\nwant: exit 0, its chunk handed back", code, quick.out.String())
	}

	// A long grace: the chunk running finishes, nothing is handed back.
	patient := startIsweep(t, dir, env, "worker", "-concurrency", "1", "-grace", "5m", "-metrics-addr", "127.0.0.1:0")
	waitOutput(t, patient, "polling task queue")
	waitChunkRunning(t, patient)
	if err := patient.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := patient.wait(t, 5*time.Minute); code != 0 || !regexp.MustCompile(`stopped: [1-9]\d* activities finished, 0 handed back`).MatchString(patient.out.String()) {
		t.Fatalf("worker -grace 5m after SIGTERM: got: exit %d:\n%s\nwant: exit 0, its chunk finished", code, patient.out.String())
	}

	if code, out := runIsweepEnv(t, dir, env, 5*time.Minute, "watch", sweepID); code != 0 {
		t.Fatalf("watch: exit %d:\n%s", code, out)
	}
	spec, err := schemas.ParseFile(filepath.Join(dir, specFile))
	if err != nil {
		t.Fatal(err)
	}
	spec.Output = filepath.Join(dir, "out")
	proctest.CheckExactlyOnce(t, spec)

	// The first worker leaves by itself once the sweep has ended.
	if code := waiting.wait(t, 3*time.Minute); code != 0 || !strings.Contains(waiting.out.String(), "no work for 15s (-idle-exit)") {
		t.Errorf("worker -idle-exit 15s: got: exit %d:\n%s\nwant: exit 0 once idle", code, waiting.out.String())
	}

	// The history says why the chunk was tried again: a retried
	// activity's started event carries the failure of its last attempt.
	c := proctest.Dial(t, addr)
	handedBack, timedOut := 0, 0
	iter := c.GetWorkflowHistory(context.Background(), workflows.WorkflowID(sweepID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() != enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED {
			continue
		}
		last := ev.GetActivityTaskStartedEventAttributes().GetLastFailure()
		switch {
		case last.GetApplicationFailureInfo().GetType() == worker.HandedBackErrorType:
			handedBack++
		case last.GetTimeoutFailureInfo() != nil:
			timedOut++
		}
	}
	if handedBack == 0 || timedOut != 0 {
		t.Errorf("history: got: %d activities retried after a hand-back, %d after a timeout; want: at least one handed back, none timed out", handedBack, timedOut)
	}
}

// TestWorkerWaitsThenGivesUp checks the worker's exits before it polls:
// a server that never comes (exit 3 after -connect-timeout, having said
// that it waits) and a namespace the server does not have (exit 5, naming
// the command that creates it).
func TestWorkerWaitsThenGivesUp(t *testing.T) {
	dir := t.TempDir()
	far := "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t))
	code, out := runIsweep(t, dir, time.Minute, "worker", "-address", far, "-connect-timeout", "2s")
	if code != exitUnreachable || !strings.Contains(out, "waiting for the Temporal server") || !strings.Contains(out, "-connect-timeout 2s") {
		t.Errorf("no server: got: exit %d:\n%s\nwant: exit %d after waiting 2s", code, out, exitUnreachable)
	}
	port := proctest.FreePort(t)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	code, out = runIsweep(t, dir, time.Minute, "worker", "-address", "127.0.0.1:"+strconv.Itoa(port), "-namespace", "nosuch", "-connect-timeout", "0")
	if code != exitNoNamespace || !strings.Contains(out, "temporal operator namespace create --namespace nosuch") {
		t.Errorf("no namespace: got: exit %d:\n%s\nwant: exit %d pointing at temporal operator namespace create", code, out, exitNoNamespace)
	}
}

// TestWorkerWarnsWhenTheServerDropsTasksOnStop starts workers on a server
// that cancels the polls of a stopping worker, as a stock Temporal server
// does by default, and on `isweep server`, which ends them: only the
// first worker warns, naming the setting that fixes it.
func TestWorkerWarnsWhenTheServerDropsTasksOnStop(t *testing.T) {
	dir := t.TempDir()
	stock, err := devserver.Start(context.Background(), devserver.Options{
		LogOutput:     io.Discard,
		DynamicConfig: map[string]any{devserver.CancelPollsOnShutdown: false},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stock.Stop()
	port := proctest.FreePort(t)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")

	for _, tc := range []struct {
		name, addr string
		warns      bool
	}{
		{"stock default", stock.FrontendAddress(), true},
		{"isweep server", "127.0.0.1:" + strconv.Itoa(port), false},
	} {
		code, out := runIsweep(t, dir, time.Minute, "worker", "-address", tc.addr, "-connect-timeout", "0", "-idle-exit", "1s")
		warned := strings.Contains(out, "warning: the Temporal server at "+tc.addr+" does not end the polls") &&
			strings.Contains(out, devserver.CancelPollsOnShutdown+": true")
		if code != 0 || warned != tc.warns {
			t.Errorf("%s: got: exit %d, warned %v:\n%s\nwant: exit 0, warned %v", tc.name, code, warned, out, tc.warns)
		}
	}
}

// TestProfileForWorkerAndSubmit configures `isweep worker` and `isweep
// submit` through a Temporal configuration file and TEMPORAL_PROFILE
// only, the way the temporal CLI is configured: the profile chosen names
// the embedded server, the default one a port where nothing listens.
func TestProfileForWorkerAndSubmit(t *testing.T) {
	dir := t.TempDir()
	port := proctest.FreePort(t)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	nowhere := proctest.FreePort(t)
	writeFile(t, dir, "temporal.toml", fmt.Sprintf("[profile.default]\naddress = \"127.0.0.1:%d\"\n\n[profile.lab]\naddress = \"127.0.0.1:%d\"\nnamespace = \"default\"\n\n[profile.lab.grpc_meta]\nx-lab = \"whitening\"\n", nowhere, port))
	env := []string{"TEMPORAL_ADDRESS=", "TEMPORAL_NAMESPACE=", "TEMPORAL_CONFIG_FILE=" + filepath.Join(dir, "temporal.toml"), "TEMPORAL_PROFILE=lab"}

	code, out := runIsweepEnv(t, dir, append(env, "TEMPORAL_GRPC_META_X_RUN=7", "TEMPORAL_TLS_SERVER_CA_CERT_DATA="), time.Minute, "worker", "-check")
	if code != 0 || !strings.Contains(out, "profile lab") || !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", port)) || !strings.Contains(out, "x-lab, x-run") {
		t.Fatalf("worker -check: got: exit %d:\n%s\nwant: exit 0, the profile lab's address and metadata", code, out)
	}
	w := startIsweep(t, dir, env, "worker", "-concurrency", "1", "-metrics-addr", "127.0.0.1:0")
	waitOutput(t, w, "polling task queue")
	spec := writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
	if code, out := runIsweepEnv(t, dir, env, 3*time.Minute, "submit", "-watch", spec); code != 0 {
		t.Fatalf("submit -watch with the profile: exit %d:\n%s", code, out)
	}
	if rows := readPoints(t, filepath.Join(dir, "out"), sweepIDOf(t, dir, spec)); len(rows) != 6 {
		t.Errorf("got: %d rows, want: 6", len(rows))
	}

	// The worker's /metrics has the SDK's metrics next to isweep's: the
	// schedule-to-start latency of the chunks it ran, its task slots.
	metrics := workerMetrics(t, w)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^temporal_activity_schedule_to_start_latency_seconds_count\{[^}]*activity_type="RunChunk"[^}]*\} [1-9]`),
		regexp.MustCompile(`(?m)^temporal_worker_task_slots_available\{[^}]*worker_type="ActivityWorker"[^}]*\} \d`),
		regexp.MustCompile(`(?m)^isweep_points_total\{status="converged"\} [1-9]`),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("/metrics: got:\n%s\nwant: a line matching %s", metrics, want)
		}
	}
	// A profile the file does not have is refused, naming it.
	code, out = runIsweepEnv(t, dir, []string{"TEMPORAL_CONFIG_FILE=" + filepath.Join(dir, "temporal.toml"), "TEMPORAL_PROFILE=nosuch"}, time.Minute, "status", "0123456789abcdef")
	if code != exitBadInput || !strings.Contains(out, `profile "nosuch"`) {
		t.Errorf("unknown profile: got: exit %d:\n%s\nwant: exit %d naming it", code, out, exitBadInput)
	}
}
