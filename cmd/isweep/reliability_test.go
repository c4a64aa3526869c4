package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/workflows"
)

// Regression tests of the reliability issue, run as a user runs the
// command. Each names the item it covers.

// writeFile writes text to dir/name and returns name.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

const smallSpec = `apiVersion: isweep/v1
name: small
output: %s
chunk: 4
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10, 100]
fixed: {mode: flow, n: 3, record: 8}
`

// Items 9 and 10: a sweep whose output cannot be written (a file where a
// folder must be) stopped after ten retries of every chunk, about four
// minutes, and `run -no-report` then exited 0. It must stop at once,
// say what to fix in one line, exit 4, and keep nothing half-done.
func TestRunStopsOnAPermanentStorageError(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "out/points", "a file in the way")
	spec := writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
	code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec)
	if code != exitStorage || !strings.Contains(out, "move it away") {
		t.Fatalf("got: exit %d:\n%s\nwant: exit %d saying what to move", code, out, exitStorage)
	}
	if strings.Count(out, "\n") > 3 || strings.Contains(out, "goroutine") {
		t.Errorf("got:\n%s\nwant: a few lines, the error in one", out)
	}
	// Once the file is moved, the same command finishes the sweep.
	if err := os.Remove(filepath.Join(dir, "out", "points")); err != nil {
		t.Fatal(err)
	}
	if code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec); code != 0 {
		t.Fatalf("after the fix: exit %d:\n%s", code, out)
	}
}

// Item 5: the manifest's SHA-256s were never checked. `isweep verify`
// finds a part changed in place (same size), and `isweep run -verify`
// moves it to quarantine and computes its chunk again.
func TestVerifyFindsAChangedPartAndRunVerifyRepairsIt(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
	code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec)
	if code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, out)
	}
	sweepID := sweepIDOf(t, dir, spec)
	m := manifestOf(t, filepath.Join(dir, "out"), sweepID)
	for _, p := range m.Parts {
		if p.Table == results.TableTrajectories {
			flipByte(t, filepath.Join(dir, "out", filepath.FromSlash(p.Key)))
			break
		}
	}
	if code, out := runIsweep(t, dir, time.Minute, "verify", spec); code != exitFailed || !strings.Contains(out, "sha256") {
		t.Errorf("verify: got: exit %d:\n%s\nwant: exit 1 naming the changed part", code, out)
	}
	if code, out := runIsweep(t, dir, 3*time.Minute, "run", "-verify", "-no-report", "-quiet", spec); code != 0 || !strings.Contains(out, "rejected by verification") {
		t.Errorf("run -verify: got: exit %d:\n%s\nwant: exit 0, the part rejected and computed again", code, out)
	}
	if code, out := runIsweep(t, dir, time.Minute, "verify", spec); code != 0 || !strings.Contains(out, "ok:") {
		t.Errorf("verify after the repair: got: exit %d:\n%s\nwant: exit 0", code, out)
	}
}

// runSmallSweep runs smallSpec to the end in a new folder (output "out")
// and returns the folder, the spec's file name and the sweep id.
func runSmallSweep(t *testing.T) (dir, spec, sweepID string) {
	t.Helper()
	dir = t.TempDir()
	spec = writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
	if code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, out)
	}
	return dir, spec, sweepIDOf(t, dir, spec)
}

// Item 5: a part deleted from a finished sweep still ended "complete", and
// the report worked on fewer points without a warning.
func TestDeletedPartIsComputedAgainAndReportWarns(t *testing.T) {
	dir, spec, sweepID := runSmallSweep(t)
	m := manifestOf(t, filepath.Join(dir, "out"), sweepID)
	var victim results.Part
	for _, p := range m.Parts {
		if p.Table == results.TablePoints {
			victim = p
			break
		}
	}
	if err := os.Remove(filepath.Join(dir, "out", filepath.FromSlash(victim.Key))); err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, 2*time.Minute, "report", spec)
	if code != exitFailed || !strings.Contains(out, "warning") || !strings.Contains(out, "missing") {
		t.Errorf("report: got: exit %d:\n%s\nwant: exit 1 with a warning that a part is missing", code, out)
	}
	code, out = runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec)
	if code != 0 || !strings.Contains(out, victim.Key) || !strings.Contains(out, "0 reused") && !strings.Contains(out, "computed again") {
		t.Fatalf("run again: got: exit %d:\n%s\nwant: the chunk of %s rejected and computed again", code, out, victim.Key)
	}
	if rows := readPoints(t, filepath.Join(dir, "out"), sweepID); len(rows) != 6 {
		t.Errorf("got: %d rows, want: 6", len(rows))
	}
	if code, out := runIsweep(t, dir, 2*time.Minute, "report", spec); code != 0 {
		t.Errorf("report after the repair: exit %d:\n%s", code, out)
	}
}

// A complete sweep whose members table was deleted: report said "sweep …
// has no points in … yet", sending the user to run a sweep that is stored
// whole (found by the hostile tester). It names the missing table and the
// way back; running the sweep again derives the table, computing nothing.
func TestReportNamesAMissingMembersTable(t *testing.T) {
	dir, spec, sweepID := runSmallSweep(t)
	if err := os.Remove(filepath.Join(dir, "out", filepath.FromSlash(results.MembersKey(sweepID)))); err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, 2*time.Minute, "report", spec)
	if code != exitFailed || !strings.Contains(out, "members.parquet") || !strings.Contains(out, "isweep verify") || strings.Contains(out, "yet") {
		t.Errorf("report without members.parquet: got: exit %d:\n%s\nwant: exit 1 naming members.parquet and isweep verify", code, out)
	}
	if code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec); code != 0 || !strings.Contains(out, "0 computed") {
		t.Fatalf("run again: got: exit %d:\n%s\nwant: exit 0, nothing computed", code, out)
	}
	if code, out := runIsweep(t, dir, 2*time.Minute, "report", spec); code != 0 {
		t.Errorf("report after running again: exit %d:\n%s", code, out)
	}
}

// Items 6, 11 and 12 against a standing server: a submit of a running
// sweep into another output attached to it; pause did not stop chunks
// already scheduled; cancelling a paused sweep wedged its workflow.
func TestPauseCancelAndOtherOutputOnAServer(t *testing.T) {
	dir := t.TempDir()
	port := proctest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	env := []string{"TEMPORAL_ADDRESS=" + addr}
	// Online points of about 10 ms each, in chunks of 20: a few seconds
	// of work per chunk, far more than the pause takes.
	const slow = `apiVersion: isweep/v1
name: slow
output: %s
chunk: 20
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 200, 1]}
fixed: {mode: online, n: 16, init_scale: 3, eta: 0.001, horizon: 20000, tol: 0.000000001, record: 10}
`
	spec := writeFile(t, dir, "slow.yaml", fmt.Sprintf(slow, "out"))
	other := writeFile(t, dir, "other.yaml", fmt.Sprintf(slow, "elsewhere"))
	if code, out := runIsweepEnv(t, dir, env, time.Minute, "submit", "-heartbeat-timeout", "4s", spec); code != 0 {
		t.Fatalf("submit: exit %d:\n%s", code, out)
	}
	sweepID := sweepIDOf(t, dir, spec)

	// Item 6: the same sweep into another output is refused while it runs.
	code, out := runIsweepEnv(t, dir, env, time.Minute, "submit", other)
	if code != exitBadInput || !strings.Contains(out, "already running into") {
		t.Errorf("submit into another output: got: exit %d:\n%s\nwant: exit 2, refused", code, out)
	}

	worker := startIsweep(t, dir, env, "worker", "-concurrency", "2")
	waitOutput(t, worker, "polling task queue")
	waitProgress(t, dir, env, sweepID, func(p workflows.Progress) bool { return p.ChunksInFlight > 0 })

	// Item 12: pause stops new points within seconds, with chunks in
	// flight: no marker appears and the worker stops computing.
	if code, out := runIsweepEnv(t, dir, env, time.Minute, "pause", sweepID); code != 0 {
		t.Fatalf("pause: exit %d:\n%s", code, out)
	}
	waitProgress(t, dir, env, sweepID, func(p workflows.Progress) bool { return p.Phase == "paused" && p.ChunksInFlight == 0 })
	time.Sleep(6 * time.Second) // a few heartbeats: the chunks in flight hear of the pause
	before, cpuBefore := countMarkers(t, filepath.Join(dir, "out"), sweepID), processCPU(t, worker.cmd.Process.Pid)
	time.Sleep(4 * time.Second)
	after, cpuAfter := countMarkers(t, filepath.Join(dir, "out"), sweepID), processCPU(t, worker.cmd.Process.Pid)
	if after != before || cpuAfter-cpuBefore > 1.0 {
		t.Errorf("paused: got: markers %d -> %d, worker CPU %.2f s over 4 s; want: no new marker and an idle worker", before, after, cpuAfter-cpuBefore)
	}

	// Item 11: cancelling the paused sweep ends its workflow.
	if code, out := runIsweepEnv(t, dir, env, time.Minute, "cancel", sweepID); code != 0 {
		t.Fatalf("cancel: exit %d:\n%s", code, out)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		code, out := runIsweepEnv(t, dir, env, time.Minute, "status", sweepID)
		if strings.Contains(out, " canceled") {
			// As watch's: a cancelled sweep is exit 1, said in words (it
			// was exit 0 with "workflow execution error (type: , …").
			if code != exitFailed || !strings.Contains(out, "was cancelled") || strings.Contains(out, "type: ,") {
				t.Errorf("status of the cancelled sweep: got: exit %d:\n%s\nwant: exit 1, \"was cancelled\"", code, out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status a minute after cancel: got:\n%s\nwant: canceled (the workflow wedged?)", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Submitted again, it finishes; each point once.
	code, out = runIsweepEnv(t, dir, env, 5*time.Minute, "submit", "-watch", spec)
	if code != 0 {
		t.Fatalf("submit -watch after cancel: exit %d:\n%s", code, out)
	}
	if rows := readPoints(t, filepath.Join(dir, "out"), sweepID); len(rows) != 400 {
		t.Errorf("got: %d rows, want: 400", len(rows))
	}
}

func runIsweepEnv(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	r := startIsweep(t, dir, env, args...)
	code := r.wait(t, timeout)
	return code, r.out.String()
}

// waitProgress polls `isweep status` until cond holds for the sweep's
// progress (read from the status line's JSON-free form is fragile; the
// progress query is read through the client instead).
func waitProgress(t *testing.T, dir string, env []string, sweepID string, cond func(workflows.Progress) bool) {
	t.Helper()
	c := proctest.Dial(t, strings.TrimPrefix(env[0], "TEMPORAL_ADDRESS="))
	defer c.Close()
	deadline := time.Now().Add(2 * time.Minute)
	var last workflows.Progress
	for {
		v, err := c.QueryWorkflow(t.Context(), workflows.WorkflowID(sweepID), "", workflows.ProgressQuery)
		if err == nil {
			if err = v.Get(&last); err == nil && cond(last) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sweep %s: progress never got there (last %+v, error %v)", sweepID, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processCPU returns the CPU seconds (user + system) process pid has used.
func processCPU(t *testing.T, pid int) float64 {
	t.Helper()
	body, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name in parentheses; utime and stime are
	// the 14th and 15th fields of the line.
	fields := strings.Fields(string(body[bytes.LastIndexByte(body, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

func countMarkers(t *testing.T, output, sweepID string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(output, filepath.FromSlash(results.ChunksPrefix(sweepID))))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

func sweepIDOf(t *testing.T, dir, spec string) string {
	t.Helper()
	code, out := runIsweep(t, dir, time.Minute, "plan", "-sample", "0", spec)
	if code != 0 {
		t.Fatalf("plan: exit %d:\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "sweep:"); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("plan printed no sweep id:\n%s", out)
	return ""
}

func manifestOf(t *testing.T, output, sweepID string) *results.Manifest {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(output, filepath.FromSlash(results.ManifestKey(sweepID))))
	if err != nil {
		t.Fatal(err)
	}
	var m results.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// flipByte changes one byte in the middle of the file at path.
func flipByte(t *testing.T, path string) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body[len(body)/2] ^= 0xff
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
}
