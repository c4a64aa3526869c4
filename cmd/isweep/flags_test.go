package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/dynamics"
)

const tinySpec = `apiVersion: isweep/v1
name: tiny
output: results/tiny
grid: {seed: [1, 2]}
fixed: {algorithm: direct, n: 2}
`

// tinyDir returns a fresh folder holding tiny.yaml.
func tinyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.yaml"), []byte(tinySpec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// oneLine checks that out is one line holding every want.
func oneLine(t *testing.T, args []string, code int, out string, wantCode int, want ...string) {
	t.Helper()
	if code != wantCode || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("isweep %q: got: exit %d\n%s\nwant: exit %d and one line", args, code, out, wantCode)
		return
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("isweep %q: got: %s want it to contain %q", args, out, w)
		}
	}
}

// TestFlagsOutOfRange runs every command with a numeric or duration flag
// out of its range: each is refused before any work, in one line naming
// the flag, the value and the range, with exit 2.
func TestFlagsOutOfRange(t *testing.T) {
	dir := tinyDir(t)
	far := "127.0.0.1:1" // nothing listens: a command that went on would exit 3
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"run", "-concurrency", "0", "tiny.yaml"}, []string{"-concurrency 0", "1 or more"}},
		{[]string{"run", "-max-in-flight", "-3", "tiny.yaml"}, []string{"-max-in-flight -3", "1 to 2000"}},
		{[]string{"run", "-heartbeat-timeout", "1ms", "tiny.yaml"}, []string{"-heartbeat-timeout 1ms", "1s to 24h"}},
		{[]string{"run", "-address", far, "-max-in-flight", "5000", "tiny.yaml"}, []string{"-max-in-flight 5000", "1 to 2000"}},
		{[]string{"submit", "-address", far, "-max-in-flight", "0", "tiny.yaml"}, []string{"-max-in-flight 0", "1 to 2000"}},
		{[]string{"submit", "-address", far, "-heartbeat-timeout", "1ms", "tiny.yaml"}, []string{"-heartbeat-timeout 1ms", "1s to 24h"}},
		{[]string{"submit", "-address", far, "-heartbeat-timeout", "-5s", "tiny.yaml"}, []string{"-heartbeat-timeout -5s"}},
		{[]string{"worker", "-address", far, "-concurrency", "0"}, []string{"-concurrency 0", "1 or more"}},
		{[]string{"worker", "-address", far, "-concurrency", "-2"}, []string{"-concurrency -2", "1 or more"}},
		{[]string{"plan", "-sample", "-1", "tiny.yaml"}, []string{"-sample -1", "0 or more"}},
		{[]string{"plan", "-sample-time", "0s", "tiny.yaml"}, []string{"-sample-time 0s", "1ms to 24h"}},
		{[]string{"plan", "-cores", "0", "tiny.yaml"}, []string{"-cores 0", "1 or more"}},
		{[]string{"server", "-db", filepath.Join(dir, "t.db"), "-port", "70000"}, []string{"-port 70000", "0 to 65535"}},
		{[]string{"server", "-db", filepath.Join(dir, "t.db"), "-port", "0", "-ui-port", "-2"}, []string{"-ui-port -2", "-1 to 65535"}},
		{[]string{"server", "-db", filepath.Join(dir, "t.db"), "-port", "0", "-log-level", "loud"}, []string{"-log-level loud", "debug, info, warn or error"}},
		{[]string{"list", "-address", far, "-limit", "-3"}, []string{"-limit -3", "0 or more"}},
		{[]string{"status", "-address", far, "-task-queue", " ", "x"}, []string{"-task-queue", "empty"}},
	}
	for _, tc := range tests {
		code, out := runIsweep(t, dir, 2*time.Minute, tc.args...)
		oneLine(t, tc.args, code, out, exitBadInput, tc.want...)
	}
	if _, err := os.Stat(filepath.Join(dir, ".isweep")); err == nil {
		t.Errorf("got: a state folder .isweep, want: no work started by a refused command")
	}
}

// TestTemporalAddress checks the Temporal address before dialing: a value
// that is not host:port is refused in one line naming where it came from
// (exit 2); a host that cannot be reached is named with what went wrong in
// words (exit 3).
func TestTemporalAddress(t *testing.T) {
	dir := tinyDir(t)
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want []string
	}{
		{[]string{"TEMPORAL_ADDRESS=garbage"}, []string{"status", "x"}, exitBadInput, []string{"TEMPORAL_ADDRESS", "garbage", "host:port"}},
		{[]string{"TEMPORAL_ADDRESS=garbage"}, []string{"run", "tiny.yaml"}, exitBadInput, []string{"TEMPORAL_ADDRESS", "garbage", "host:port"}},
		{[]string{"TEMPORAL_ADDRESS=garbage"}, []string{"worker"}, exitBadInput, []string{"TEMPORAL_ADDRESS", "garbage", "host:port"}},
		{nil, []string{"submit", "-address", "garbage", "tiny.yaml"}, exitBadInput, []string{"-address", "garbage", "host:port"}},
		{nil, []string{"list", "-address", "localhost:99999"}, exitBadInput, []string{"-address", "localhost:99999", "port"}},
		{nil, []string{"status", "-address", "nosuch.invalid:7233", "x"}, exitUnreachable, []string{"cannot reach the Temporal server at nosuch.invalid:7233", "does not resolve"}},
		{nil, []string{"pause", "-address", "127.0.0.1:1", "x"}, exitUnreachable, []string{"cannot reach the Temporal server at 127.0.0.1:1", "connection refused"}},
	} {
		r := startIsweep(t, dir, tc.env, tc.args...)
		code := r.wait(t, 2*time.Minute)
		out := r.out.String()
		oneLine(t, append(tc.env, tc.args...), code, out, tc.code, tc.want...)
		if strings.Contains(out, "no children") || strings.Contains(out, "transport:") {
			t.Errorf("isweep %q: got: %s want: no gRPC internals", tc.args, out)
		}
	}
}

// TestServerOptionsNamedByFlag checks that the embedded server's refusals
// name the flag the user gave, not a Go field.
func TestServerOptionsNamedByFlag(t *testing.T) {
	dir := tinyDir(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"server", "-db", filepath.Join(dir, "a?b.db"), "-port", "0", "-ui-port", "-1"}, []string{"-db", "a?b.db", "?, # or %"}},
		{[]string{"server", "-db", filepath.Join(dir, "t.db"), "-port", port, "-ui-port", "-1"}, []string{"-port " + port, "already in use"}},
		{[]string{"server", "-db", filepath.Join(dir, "t.db"), "-ip", "my-laptop", "-port", "0", "-ui-port", "-1"}, []string{"-ip", "my-laptop", "IP address"}},
		{[]string{"run", "-state", filepath.Join(dir, "a?b"), "tiny.yaml"}, []string{"-state", "a?b", "?, # or %"}},
	} {
		code, out := runIsweep(t, dir, 2*time.Minute, tc.args...)
		oneLine(t, tc.args, code, out, exitBadInput, tc.want...)
		if strings.Contains(out, "Options.") || strings.Contains(out, "devserver:") {
			t.Errorf("isweep %q: got: %s want: no Go names", tc.args, out)
		}
	}
}

// TestRunRefusesOutputInState checks that isweep run refuses an output
// folder that is, or is inside, the embedded server's state folder, also
// through a relative path or a symbolic link, before any work.
func TestRunRefusesOutputInState(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "state", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("state", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		output string
		args   []string
	}{
		{".isweep", nil},
		{".isweep/results", nil},
		{"./.isweep", nil},
		{"state", []string{"-state", "state"}},
		{"link/results", []string{"-state", "state"}},
		{"state/sub/r", []string{"-state", "link"}},
		{filepath.Join(dir, "state", "r"), []string{"-state", "./state/"}},
	} {
		spec := strings.Replace(tinySpec, "output: results/tiny", "output: "+tc.output, 1)
		if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{"run"}, tc.args...), "spec.yaml")
		code, out := runIsweep(t, dir, 2*time.Minute, args...)
		oneLine(t, append(args, "output: "+tc.output), code, out, exitBadInput, "inside the state folder", "-state")
	}
	if _, err := os.Stat(filepath.Join(dir, ".isweep")); err == nil {
		t.Errorf("got: a state folder .isweep, want: no work started by a refused run")
	}
}

// TestRunQuietStderr runs a tiny sweep: nothing on stderr about writing to
// a closed log file (the embedded server logged after it stopped).
func TestRunQuietStderr(t *testing.T) {
	dir := tinyDir(t)
	cmd := exec.Command(binary, "run", "-no-report", "tiny.yaml")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("isweep run: %v\n%s", err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "write error") || strings.Contains(s, "already closed") {
		t.Errorf("stderr: got:\n%s\nwant: nothing about writing to a closed file", s)
	}
}

// TestRealPath checks the paths compared with the state folder: absolute,
// symbolic links of the existing part resolved, the rest kept.
func TestRealPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tc := range []struct{ path, want string }{
		{"real", filepath.Join(dir, "real")},
		{"link", filepath.Join(dir, "real")},
		{"link/a/b", filepath.Join(dir, "real", "a", "b")},
		{"./link/../real/x", filepath.Join(dir, "real", "x")},
		{"missing/a", filepath.Join(dir, "missing", "a")},
		{filepath.Join(dir, "link", "x"), filepath.Join(dir, "real", "x")},
	} {
		got, err := realPath(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("realPath(%q): got: %q, %v want: %q", tc.path, got, err, tc.want)
		}
	}
}

func TestReuseNumericsFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"1", []int{1}, false},
		{"1, 1", []int{1}, false},
		{"0", nil, true},
		{"x", nil, true},
		{fmt.Sprint(dynamics.NumericsVersion + 1), nil, true},
	} {
		var l numericsList
		err := l.Set(tc.in)
		if (err != nil) != tc.err || (!tc.err && !slices.Equal([]int(l), tc.want)) {
			t.Errorf("-reuse-numerics %q: got: %v, %v want: %v (error: %v)", tc.in, []int(l), err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "numerics version") {
			t.Errorf("-reuse-numerics %q: got: %v want: an error naming numerics versions", tc.in, err)
		}
	}
}

// TestOtherNumericsLines: the advice to reuse an older version's points is
// given only when it was not asked for; asked for, the points computed
// again are those the versions compute otherwise (found by the fourth
// hostile tester: "-reuse-numerics 3 would reuse" with the flag given).
func TestOtherNumericsLines(t *testing.T) {
	for _, tc := range []struct {
		counts []activities.NumericsCount
		reuse  []int
		want   []string
	}{
		{[]activities.NumericsCount{{Numerics: 3, Points: 5}}, nil, []string{"-reuse-numerics 3 would reuse"}},
		{[]activities.NumericsCount{{Numerics: 3, Points: 5}}, []int{3}, []string{"computes them otherwise"}},
		{[]activities.NumericsCount{{Numerics: 3, Points: 5}, {Numerics: 3, Points: 2, Reused: true}}, nil, []string{"computes them otherwise", "2 points stored by numerics version 3 reused"}},
	} {
		got := otherNumericsLines(tc.counts, tc.reuse)
		if len(got) != len(tc.want) {
			t.Fatalf("got: %q want: %d lines", got, len(tc.want))
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("line %d: got: %q want: %q in it", i, got[i], w)
			}
		}
	}
}
