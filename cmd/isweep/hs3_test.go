package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunDoesNotClaimSweepsOfAnotherTaskQueue: a sweep interrupted in an
// earlier `isweep run -task-queue other` with the same state is still
// running, but on task queue "other", which the next run's worker (task
// queue "isweep") never polls. The next run must not tell the user that it
// is "also finishing" that sweep (hostile pass on S3 day: it said so, and
// the sweep stayed running untouched).
func TestRunDoesNotClaimSweepsOfAnotherTaskQueue(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	big := "apiVersion: isweep/v1\nname: otherq\noutput: " + filepath.Join(dir, "big") + "\nchunk: 2\ngrid: {seed: {range: [1, 20001, 1]}}\nfixed: {algorithm: direct, n: 8}\n"
	small := "apiVersion: isweep/v1\nname: small\noutput: " + filepath.Join(dir, "small") + "\nchunk: 2\ngrid: {seed: [1, 2]}\nfixed: {algorithm: direct, n: 2}\n"
	for name, body := range map[string]string{"big.yaml": big, "small.yaml": small} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first := startIsweep(t, dir, nil, "run", "-quiet", "-no-report", "-state", state, "-task-queue", "other", "big.yaml")
	waitOutput(t, first, "started sweep")
	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, time.Minute); code != exitInterrupted {
		t.Fatalf("got: exit %d after Ctrl-C\n%s\nwant: %d", code, first.out.String(), exitInterrupted)
	}
	code, out := runIsweep(t, dir, 2*time.Minute, "run", "-quiet", "-no-report", "-state", state, "small.yaml")
	if code != 0 {
		t.Fatalf("second run: got: exit %d\n%s\nwant: 0", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "also running: sweep") && strings.Contains(line, "(otherq)") {
			t.Errorf("got: %q\nwant: no claim to finish sweep otherq, which runs on task queue \"other\", not polled by this run's worker (task queue \"isweep\")", line)
		}
	}
}
