package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interruptSpec has 10,000 cheap points: a run of it passes through every
// phase (server start, submit, watch, report) in about a second, each
// long enough to be interrupted in.
const interruptSpec = `apiVersion: isweep/v1
name: interrupt-phases
output: out
grid:
  algorithm: [direct, interneuron]
  init_scale: {logspace: [0, 2, 50]}
  seed: {range: [0, 100, 1]}
fixed: {mode: flow, n: 2, tol: 0.1, record: 10}
`

// waitUntil polls cond every millisecond (waitOutput's 50 ms would let a
// short phase pass) until it holds, failing the test if r exits first or
// after a minute.
func waitUntil(t *testing.T, r *runCmd, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("exited (%v) before %s:\n%s", err, what, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute:\n%s", what, r.out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunInterruptedInEveryPhase sends Ctrl-C (SIGINT) to `isweep run` in
// each of its phases, timed by what the run leaves behind: while the
// embedded server starts (its log file exists, nothing is printed yet),
// while the sweep runs (it printed that it started), and while the report
// is written (the summary is printed). Whatever the phase, the run must
// exit 130 saying how to resume — it exited 2, 1 or 3 before the watch
// began and 1 during the report, blaming the database, the server, the
// connection or the report for the cancelled context.
func TestRunInterruptedInEveryPhase(t *testing.T) {
	tests := []struct {
		phase string
		// when returns once the run is in its phase.
		when func(t *testing.T, dir string, r *runCmd)
	}{
		{"server start", func(t *testing.T, dir string, r *runCmd) {
			waitUntil(t, r, ".isweep/isweep.log", func() bool {
				_, err := os.Stat(filepath.Join(dir, ".isweep", "isweep.log"))
				return err == nil
			})
		}},
		{"watch", func(t *testing.T, dir string, r *runCmd) {
			waitUntil(t, r, "the sweep started", func() bool { return strings.Contains(r.out.String(), "isweep: started sweep") })
		}},
		{"report", func(t *testing.T, dir string, r *runCmd) {
			waitUntil(t, r, "the summary", func() bool { return strings.Contains(r.out.String(), "  members:") })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.phase, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "spec.yaml", interruptSpec)
			r := startIsweep(t, dir, nil, "run", "-quiet", "spec.yaml")
			tc.when(t, dir, r)
			if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			code := r.wait(t, time.Minute)
			out := r.out.String()
			if code != exitInterrupted {
				t.Errorf("Ctrl-C during the %s: got: exit %d\n%s\nwant: exit %d", tc.phase, code, out, exitInterrupted)
			}
			if !strings.Contains(out, "run the same command again to resume") || strings.Contains(out, "context canceled") {
				t.Errorf("Ctrl-C during the %s: got:\n%s\nwant: how to resume, not a cancelled context", tc.phase, out)
			}
		})
	}
}

// TestExitCodeAfterSignal checks the mapping of a command's error to its
// exit code and line: once the signal context is cancelled, any error is
// exit 130 with how to resume, whatever code its phase gave it (the
// phases before and after the watch gave 2, 1, 3, 4); without a signal
// each error keeps its code and message.
func TestExitCodeAfterSignal(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		err      error
		wantCode int
		wantLine string
	}{
		{"success", context.Background(), nil, exitOK, ""},
		{"success after a signal", cancelled, nil, exitOK, ""},
		{"bad input", context.Background(), fail(exitBadInput, "spec: bad"), exitBadInput, "isweep run: spec: bad\n"},
		{"plain error", context.Background(), errors.New("boom"), exitFailed, "isweep run: boom\n"},
		{"usage, already told", context.Background(), &exitError{code: exitBadInput, err: errors.New("")}, exitBadInput, ""},
		{"database open cancelled", cancelled, fail(exitBadInput, "-state .isweep: the database cannot be opened: context canceled"), exitInterrupted, "isweep run: " + interruptedMessage + "\n"},
		{"server start cancelled", cancelled, fail(exitFailed, "cannot start the embedded Temporal server: context canceled"), exitInterrupted, "isweep run: " + interruptedMessage + "\n"},
		{"submit cancelled", cancelled, fail(exitUnreachable, "submit sweep: context canceled"), exitInterrupted, "isweep run: " + interruptedMessage + "\n"},
		{"storage read cancelled", cancelled, fail(exitStorage, "output: context canceled"), exitInterrupted, "isweep run: " + interruptedMessage + "\n"},
		{"report cancelled", cancelled, fmt.Errorf("trajectories: %w", context.Canceled), exitInterrupted, "isweep run: " + interruptedMessage + "\n"},
		{"watch's own message kept", cancelled, fail(exitInterrupted, "stopped; run the same command again to resume"), exitInterrupted, "isweep run: stopped; run the same command again to resume\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w strings.Builder
			if got := exitCode(tc.ctx, &w, "run", tc.err); got != tc.wantCode || w.String() != tc.wantLine {
				t.Errorf("got: exit %d, %q, want: exit %d, %q", got, w.String(), tc.wantCode, tc.wantLine)
			}
		})
	}
}

// TestReportOnAFullDiskIsAStorageError makes each file the report writes
// unwritable in turn — a link to /dev/full, whose writes fail with
// ENOSPC as on a full disk, or a file where the reports folder goes —
// and writes the report of a finished sweep, by `isweep run` and by
// `isweep report`: exit 4 with one line naming the file and what to do,
// as a full disk while chunks are stored gives (the report gave exit 1).
func TestReportOnAFullDiskIsAStorageError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full to fill: %v", err)
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
	if code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec); code != 0 {
		t.Fatalf("first run: exit %d:\n%s", code, out)
	}
	reports := filepath.Join(dir, "out", "reports")
	reportDir := filepath.Join(reports, sweepIDOf(t, dir, spec))
	tests := []struct {
		name string
		// block makes the report's files unwritable and returns the
		// path the message must name.
		block func(t *testing.T) string
		want  string
	}{
		{"full at a figure", fullAt(reportDir, "conv-time-flow-n3.png"), "free space"},
		{"full at an SVG", fullAt(reportDir, "trajectories-flow.svg"), "free space"},
		{"full at report.txt", fullAt(reportDir, "report.txt"), "free space"},
		{"full at report.json", fullAt(reportDir, "report.json"), "free space"},
		{"a file in the way", func(t *testing.T) string {
			if err := os.WriteFile(reports, []byte("in the way"), 0o644); err != nil {
				t.Fatal(err)
			}
			return reports
		}, "move it away"},
	}
	for _, tc := range tests {
		for _, args := range [][]string{{"run", "-quiet", spec}, {"report", spec}} {
			t.Run(tc.name+"/"+args[0], func(t *testing.T) {
				if err := os.RemoveAll(reports); err != nil {
					t.Fatal(err)
				}
				path := tc.block(t)
				code, out := runIsweep(t, dir, 3*time.Minute, args...)
				last := lastLine(out)
				if code != exitStorage || !strings.HasPrefix(last, "isweep "+args[0]+": ") || !strings.Contains(last, path) || !strings.Contains(last, tc.want) {
					t.Errorf("got: exit %d:\n%s\nwant: exit %d, the last line naming %s and saying %q", code, out, exitStorage, path, tc.want)
				}
			})
		}
	}
}

// fullAt returns a block of TestReportOnAFullDiskIsAStorageError that
// makes dir/name a link to /dev/full.
func fullAt(dir, name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.Symlink("/dev/full", path); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

// TestRunNamesTheFileInTheWay puts a file where each folder of the
// sweep's points goes in turn: the run exits 4 naming that file, the one
// to move away (it named the folder below it, points/algorithm=…/n=3,
// when the file was points/algorithm=…).
func TestRunNamesTheFileInTheWay(t *testing.T) {
	for _, file := range []string{"points/algorithm=interneuron", "points/algorithm=interneuron/n=3"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "out", filepath.Dir(file)), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, filepath.Join("out", file), "junk")
			spec := writeFile(t, dir, "small.yaml", fmt.Sprintf(smallSpec, "out"))
			code, out := runIsweep(t, dir, 3*time.Minute, "run", "-no-report", "-quiet", spec)
			if want := fmt.Sprintf("%q is a file", file); code != exitStorage || !strings.Contains(out, want) {
				t.Errorf("got: exit %d:\n%s\nwant: exit %d saying %s", code, out, exitStorage, want)
			}
		})
	}
}
