package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
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
	"github.com/google/pprof/profile"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// These tests run the isweep command as a subprocess, the way a new user
// does.

// readmeCommand is the first command of README.md; TestREADMEFirstCommand
// checks that the README still says it.
const readmeCommand = "go run ./cmd/isweep run examples/headline.yaml"

var binary string

func TestMain(m *testing.M) {
	// ISWEEP_TEST_BINARY runs the tests against another build (for
	// example an older commit's, to see a regression test fail there).
	if binary = os.Getenv("ISWEEP_TEST_BINARY"); binary != "" {
		os.Exit(m.Run())
	}
	os.Exit(proctest.RunWithBinary(m, "isweep-cli-", &binary))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestREADMEFirstCommand(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	inBlock := false
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "```") {
			if inBlock {
				break
			}
			inBlock = true
			continue
		}
		if inBlock && line != "" {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 2 {
		t.Fatalf("got: %q, want: the README's first code block to hold the run and test commands", cmds)
	}
	if cmds[0] != readmeCommand {
		t.Errorf("README's first command: got: %q, want: %q (the command TestRunHeadlineKilledAndResumed runs)", cmds[0], readmeCommand)
	}
	ci, err := os.ReadFile(filepath.Join(repoRoot(t), ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), cmds[1]) {
		t.Errorf("README's test command %q is not what .ci/run runs:\n%s", cmds[1], ci)
	}
}

// runCmd is a running isweep subprocess.
type runCmd struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// syncBuffer collects a subprocess's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startIsweep(t *testing.T, dir string, env []string, args ...string) *runCmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runCmd{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
	})
	return r
}

func (r *runCmd) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-r.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		t.Fatalf("isweep %v did not finish within %s; output:\n%s", r.cmd.Args[1:], timeout, r.out.String())
		return -1
	}
}

func runIsweep(t *testing.T, dir string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	r := startIsweep(t, dir, nil, args...)
	code := r.wait(t, timeout)
	return code, r.out.String()
}

// copyExamples copies examples/ into a fresh folder, the working folder of
// a new user's run.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "examples")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "examples", e.Name()), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunHeadlineKilledAndResumed runs the README's first command (its
// arguments, on the binary that `go run ./cmd/isweep` builds) on a fresh
// state folder, kills it with SIGKILL midway, runs it again, and checks
// that the second run finished the sweep without recomputing a finished
// chunk, that every point is stored once, that the report's fits say
// linear for the direct network and logarithmic for the interneuron
// network, and that its figures are real images.
func TestRunHeadlineKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the headline example: skipped with -short")
	}
	dir := copyExamples(t)
	args := strings.Fields(strings.TrimPrefix(readmeCommand, "go run ./cmd/isweep "))
	spec, err := schemas.ParseFile(filepath.Join(dir, "examples", "headline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(dir, spec.Output)
	sweepID := spec.SweepID()
	grid, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}

	first := startIsweep(t, dir, nil, args...)
	markers := filepath.Join(output, "sweeps", sweepID, "chunks")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if n := countFiles(markers); n >= 3 && int64(n) < grid.Chunks()-3 {
			break
		}
		select {
		case err := <-first.done:
			t.Fatalf("the first run ended (%v) before it could be killed:\n%s", err, first.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no chunk finished in 5 minutes:\n%s", first.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.done
	killedAt := time.Now()
	doneBefore := listFiles(markers)
	t.Logf("killed the first run with %d of %d chunks stored", len(doneBefore), grid.Chunks())

	code, out := runIsweep(t, dir, 10*time.Minute, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}

	// Every point once; the chunks stored before the kill were not
	// computed again.
	rows := readPoints(t, output, sweepID)
	if int64(len(rows)) != grid.Len() {
		t.Fatalf("got: %d rows, want: %d", len(rows), grid.Len())
	}
	seen := map[string]bool{}
	finishedChunks := map[int64]bool{}
	for _, name := range doneBefore {
		c, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "chunk-"), ".json"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		finishedChunks[c] = true
	}
	recomputed := map[int64]bool{}
	computedAfter := map[int64]bool{}
	for _, r := range rows {
		if seen[r.PointID] {
			t.Fatalf("point %s stored twice", r.PointID)
		}
		seen[r.PointID] = true
		if r.StartedAt.After(killedAt) {
			computedAfter[r.Chunk] = true
			if finishedChunks[r.Chunk] {
				recomputed[r.Chunk] = true
			}
		}
	}
	if len(recomputed) > 0 {
		t.Errorf("got: finished chunks %v computed again after the restart, want: none", recomputed)
	}
	// A chunk killed after storing its parts but before its marker is
	// finished from those parts, not computed again: at most the missing
	// chunks are computed.
	if got, most := int64(len(computedAfter)), grid.Chunks()-int64(len(doneBefore)); got > most || got == 0 {
		t.Errorf("got: %d chunks computed after the restart, want: between 1 and %d (the missing ones)", got, most)
	}
	t.Logf("second run computed %d chunks; %d were already done", len(computedAfter), len(doneBefore))

	// The report says what the paper says.
	reportDir := filepath.Join(output, "reports", sweepID)
	text, err := os.ReadFile(filepath.Join(reportDir, "report.txt"))
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, out)
	}
	checkLaws(t, string(text))
	pngs, _ := filepath.Glob(filepath.Join(reportDir, "*.png"))
	if len(pngs) < 4 {
		t.Fatalf("got: %d figures, want: at least 4", len(pngs))
	}
	for _, p := range pngs {
		checkImage(t, p)
		// Each figure comes as SVG too.
		svg, err := os.ReadFile(strings.TrimSuffix(p, ".png") + ".svg")
		if err != nil || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s: got: %v, want: an SVG beside the PNG", p, err)
		}
	}

	// The analysis examples read the same output and find the same laws.
	pyOut, ok := analyzePy(t, dir, spec)
	if !ok {
		return
	}
	laws := regexp.MustCompile(`(?m)^\s*(direct|interneuron)\s+(flow|online)\s+\d+\s.*\s(linear|logarithmic)\s*$`).FindAllStringSubmatch(string(pyOut), -1)
	if len(laws) < 4 {
		t.Fatalf("examples/analyze.py: got %d fit lines:\n%s", len(laws), pyOut)
	}
	for _, m := range laws {
		if want := map[string]string{"direct": "linear", "interneuron": "logarithmic"}[m[1]]; m[3] != want {
			t.Errorf("examples/analyze.py: %s %s: got: %s, want: %s", m[1], m[2], m[3], want)
		}
	}
	sql := exec.Command("python3", "-c", `import duckdb, sys
sql = open("examples/analyze.sql").read()
for stmt in [s for s in sql.split(";") if "SELECT" in s]:
    print(len(duckdb.sql(stmt).fetchall()))`)
	sql.Dir = dir
	sqlOut, err := sql.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/analyze.sql: %v\n%s", err, sqlOut)
	}
	if counts := strings.Fields(string(sqlOut)); len(counts) != 3 || counts[1] != "84" {
		t.Errorf("examples/analyze.sql: got: row counts %q, want: 3 queries, 84 best-time rows (2 networks × 2 modes × 3 n × 7 μ)", counts)
	}
	checkNotebook(t, dir, spec.Output, sweepID, reportDir)
}

// TestRunInterruptedAndResumed stops `isweep run` with Ctrl-C (SIGINT):
// it exits 130 saying how to resume, and the same command finishes.
func TestRunInterruptedAndResumed(t *testing.T) {
	dir := t.TempDir()
	spec := `apiVersion: isweep/v1
name: cli-interrupt
output: results/interrupt
chunk: 2
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 12, 1]}
fixed: {mode: online, n: 16, eta: 0.002, init_scale: 2, horizon: 60000, tol: 0.001, record: 20}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	first := startIsweep(t, dir, nil, "run", "-no-report", "spec.yaml")
	parsed, err := schemas.ParseFile(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	markers := filepath.Join(dir, "results", "interrupt", "sweeps", parsed.SweepID(), "chunks")
	deadline := time.Now().Add(3 * time.Minute)
	for countFiles(markers) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no chunk finished:\n%s", first.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.cmd.Process.Signal(os.Interrupt)
	if code := first.wait(t, time.Minute); code != exitInterrupted {
		t.Fatalf("got: exit %d after Ctrl-C, want: %d\n%s", code, exitInterrupted, first.out.String())
	}
	if !strings.Contains(first.out.String(), "run the same command again to resume") {
		t.Errorf("got:\n%s\nwant: how to resume", first.out.String())
	}
	code, out := runIsweep(t, dir, 5*time.Minute, "run", "-no-report", "spec.yaml")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if rows := readPoints(t, filepath.Join(dir, "results", "interrupt"), parsed.SweepID()); len(rows) != 24 {
		t.Errorf("got: %d rows, want: 24", len(rows))
	}
}

// checkLaws checks every fit line of a report: direct → linear,
// interneuron → logarithmic.
func checkLaws(t *testing.T, text string) {
	t.Helper()
	fit := regexp.MustCompile(`(?m)^(direct|interneuron)\s+(flow|online)\s+(\d+)\s+.*\s(linear|logarithmic)\s*$`)
	matches := fit.FindAllStringSubmatch(text, -1)
	if len(matches) < 4 {
		t.Fatalf("got: %d fit lines, want: at least 4 (both networks, flow and online):\n%s", len(matches), text)
	}
	for _, m := range matches {
		want := map[string]string{"direct": "linear", "interneuron": "logarithmic"}[m[1]]
		if m[4] != want {
			t.Errorf("%s %s n=%s: got: law %s, want: %s", m[1], m[2], m[3], m[4], want)
		}
	}
}

// checkImage decodes a PNG and checks it has content: a real size and more
// than a handful of colours.
func checkImage(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s: got: %v, want: a figure at least 300×200", path, b)
	}
	if colours := countColours(img, 16); colours < 4 {
		t.Errorf("%s: got: %d colours, want: a drawn figure", path, colours)
	}
}

func countColours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func countFiles(dir string) int { return len(listFiles(dir)) }

func listFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "chunk-") {
			names = append(names, e.Name())
		}
	}
	return names
}

func readPoints(t *testing.T, output, sweepID string) []results.PointRow {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := results.ReadPoints(ctx, st, sweepID, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPlanRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"unknown parameter", "apiVersion: isweep/v1\nname: bad\noutput: out\ngrid:\n  etaa: [0.1]\nfixed: {algorithm: direct, n: 2}\n", []string{"grid.etaa", "did you mean eta"}},
		{"eta out of range", "apiVersion: isweep/v1\nname: bad\noutput: out\ngrid:\n  eta: [0.5, 1.5]\nfixed: {algorithm: interneuron, mode: online, n: 2}\n", []string{"eta", "1.5"}},
		{"k below n", "apiVersion: isweep/v1\nname: bad\noutput: out\nfixed: {algorithm: interneuron, n: 8, k: 4}\n", []string{"k", "n"}},
		{"path traversal", "apiVersion: isweep/v1\nname: ../escape\noutput: out\nfixed: {algorithm: direct, n: 2}\n", []string{"name"}},
		{"10⁹ points", "apiVersion: isweep/v1\nname: big\noutput: out\ngrid: {seed: {range: [0, 1000000000, 1]}}\nfixed: {algorithm: direct, n: 2}\n",
			[]string{"1,000,000,000 points", "limits.max_points = 10,000,000", "max_points: 1000000000"}},
		{"n zero", "apiVersion: isweep/v1\nname: bad\noutput: out\nfixed: {algorithm: direct, n: 0}\n", []string{"fixed.n", "n has no default"}},
		{"leading zero", "apiVersion: isweep/v1\nname: bad\noutput: out\ngrid: {n: [010]}\nfixed: {algorithm: direct}\n", []string{"010 has a leading zero; write 10 (or 8 if you meant octal)"}},
		{"missing file", "", []string{"spec.yaml: cannot read the spec: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.spec != "" {
				if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(tt.spec), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out := runIsweep(t, dir, time.Minute, "plan", "spec.yaml")
			if code != exitBadInput {
				t.Errorf("got: exit %d, want: %d\n%s", code, exitBadInput, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("got: %q, want it to mention %q", out, w)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Count(line, "spec.yaml") > 1 {
					t.Errorf("got: %q, want: the file named once", line)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Error("plan of a bad spec created the output")
			}
		})
	}
}

func TestPlanPrintsSize(t *testing.T) {
	dir := copyExamples(t)
	code, out := runIsweep(t, dir, 2*time.Minute, "plan", "-sample", "2", "examples/headline.yaml")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, w := range []string{"points:  378", "chunks:  24", "cost:"} {
		if !strings.Contains(out, w) {
			t.Errorf("got:\n%s\nwant it to contain %q", out, w)
		}
	}
}

// TestPlanHugeGrid plans 10⁹ points: the checks follow the axes, so plan
// prints the size at once instead of checking every point.
func TestPlanHugeGrid(t *testing.T) {
	dir := t.TempDir()
	spec := `apiVersion: isweep/v1
name: huge
output: out
grid:
  seed: {range: [0, 1000, 1]}
  init_scale: {linspace: [1, 10, 1000]}
  eta: {linspace: [0.001, 0.5, 1000]}
fixed: {algorithm: interneuron, n: 2}
limits: {max_points: 1000000000}
`
	if err := os.WriteFile(filepath.Join(dir, "huge.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, 2*time.Minute, "plan", "-sample", "0", "huge.yaml")
	if code != 0 || !strings.Contains(out, "points:  1000000000") {
		t.Errorf("got: exit %d\n%s\nwant: exit 0 and points:  1000000000", code, out)
	}
}

// TestPlanLongCheckShowsProgress plans a grid whose parameters must be
// checked together in 2·10⁹ combinations: plan says how far it is on
// stderr, and Ctrl-C stops it with exit 130.
func TestPlanLongCheckShowsProgress(t *testing.T) {
	dir := t.TempDir()
	spec := `apiVersion: isweep/v1
name: long
output: out
grid:
  algorithm: [direct, interneuron]
  eta: {linspace: [0.001, 0.5, 100000]}
  horizon: {linspace: [100, 1000, 10000]}
fixed: {n: 2}
limits: {max_points: 2000000000}
`
	if err := os.WriteFile(filepath.Join(dir, "long.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := startIsweep(t, dir, nil, "plan", "-sample", "0", "long.yaml")
	waitOutput(t, plan, "checking the points of long.yaml:")
	if err := plan.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := plan.wait(t, time.Minute); code != exitInterrupted {
		t.Errorf("got: exit %d after Ctrl-C\n%s\nwant: %d", code, plan.out.String(), exitInterrupted)
	}
	if out := plan.out.String(); !strings.Contains(out, "stopped") || strings.Contains(out, "points:") {
		t.Errorf("got:\n%s\nwant: stopped before printing the plan", out)
	}
}

// TestPlanSamplingInterrupted stops plan with Ctrl-C while it integrates
// sample points: exit 130, no cost printed.
func TestPlanSamplingInterrupted(t *testing.T) {
	dir := t.TempDir()
	spec := "apiVersion: isweep/v1\nname: slow\noutput: out\nfixed: {algorithm: interneuron, mode: online, n: 8, eta: 0.000001, init_scale: 1000, horizon: 1000000000, tol: 0.000001}\n"
	if err := os.WriteFile(filepath.Join(dir, "slow.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := startIsweep(t, dir, nil, "plan", "-sample", "1", "-sample-time", "1h", "slow.yaml")
	waitOutput(t, plan, "output:")
	if err := plan.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := plan.wait(t, time.Minute); code != exitInterrupted || strings.Contains(plan.out.String(), "cost:") {
		t.Errorf("got: exit %d\n%s\nwant: exit %d and no cost", code, plan.out.String(), exitInterrupted)
	}
}

// hugeBatchSpec has one online point whose single step averages 10¹⁰
// samples (the most the default limits admit): tens of minutes of work
// inside one learning step.
const hugeBatchSpec = `apiVersion: isweep/v1
name: huge-batch
output: out
fixed: {algorithm: direct, mode: online, n: 2, init_scale: 2, batch: 10000000000, horizon: 1}
`

// TestPlanStopsOnSignal sends SIGINT, then SIGTERM, to isweep plan while it
// integrates a sample point with a huge batch, under a sampling budget of
// an hour: the plan must stop promptly and exit 130 (it ignored both
// signals until the step ended).
func TestPlanStopsOnSignal(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(hugeBatchSpec), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startIsweep(t, dir, nil, "plan", "-sample", "1", "-sample-time", "1h", "spec.yaml")
			waitOutput(t, r, "output:")
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := r.wait(t, time.Minute); code != exitInterrupted {
				t.Errorf("got: exit %d after %s, want: %d\n%s", code, sig, exitInterrupted, r.out.String())
			}
			if out := r.out.String(); strings.Contains(out, "cost:") {
				t.Errorf("got:\n%s\nwant: no cost estimate from an interrupted plan", out)
			}
		})
	}
}

// TestPlanSampleBudget runs isweep plan on the huge batch with a sampling
// budget of 100 ms: the sample is abandoned at the budget and the plan
// says so (it ran until the step ended).
func TestPlanSampleBudget(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(hugeBatchSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, time.Minute, "plan", "-sample", "1", "-sample-time", "100ms", "spec.yaml")
	if code != 0 || !strings.Contains(out, "cost:    more than 100ms for one point (no sample finished in time)") {
		t.Errorf("got: exit %d\n%s\nwant: exit 0 and no sample finished in 100ms", code, out)
	}
}

func TestUnreachableServer(t *testing.T) {
	dir := copyExamples(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, out := runIsweep(t, dir, 2*time.Minute, "status", "-address", addr, "0123456789abcdef")
	if code != exitUnreachable {
		t.Errorf("got: exit %d, want: %d\n%s", code, exitUnreachable, out)
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 1 || !strings.Contains(out, addr) {
		t.Errorf("got:\n%s\nwant: one line naming %s", out, addr)
	}
}

// TestServerStatusWatch drives a sweep through a separate `isweep server`
// and `isweep worker`, the way several processes on one machine do.
func TestServerStatusWatch(t *testing.T) {
	dir := copyExamples(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serverProfile, workerProfile := filepath.Join(dir, "server.prof"), filepath.Join(dir, "worker.prof")
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-cpuprofile", serverProfile)
	waitOutput(t, server, "Temporal frontend on")
	env := []string{"TEMPORAL_ADDRESS=" + addr}

	spec := `apiVersion: isweep/v1
name: cli-small
output: results/small
chunk: 5
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10, 100]
  seed: [1, 2, 3, 4, 5]
fixed: {mode: flow, n: 4, input_spectrum: {min: 0.5, max: 2}}
`
	if err := os.WriteFile(filepath.Join(dir, "small.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	// Submitted before any worker polls: the sweep waits, status says so.
	sub := startIsweep(t, dir, env, "submit", "small.yaml")
	if code := sub.wait(t, time.Minute); code != 0 {
		t.Fatalf("submit: exit %d:\n%s", code, sub.out.String())
	}
	sweepID := strings.TrimSpace(lastLine(sub.out.String()))
	status := startIsweep(t, dir, env, "status", sweepID)
	if code := status.wait(t, time.Minute); code != 0 || !strings.Contains(status.out.String(), "running") {
		t.Fatalf("status: exit %d:\n%s", code, status.out.String())
	}
	worker := startIsweep(t, dir, env, "worker", "-concurrency", "2", "-cpuprofile", workerProfile)
	watch := startIsweep(t, dir, env, "watch", sweepID)
	if code := watch.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("watch: exit %d:\n%s", code, watch.out.String())
	}
	if !strings.Contains(watch.out.String(), "30 converged") {
		t.Errorf("watch: got:\n%s\nwant: 30 converged", watch.out.String())
	}
	list := startIsweep(t, dir, env, "list")
	if code := list.wait(t, time.Minute); code != 0 || !strings.Contains(list.out.String(), "cli-small") {
		t.Errorf("list: exit %d:\n%s", code, list.out.String())
	}
	// A finished sweep's status comes from its result: state and counts.
	status = startIsweep(t, dir, env, "status", sweepID)
	if code := status.wait(t, time.Minute); code != 0 || !strings.Contains(status.out.String(), "completed") || !strings.Contains(status.out.String(), "30 converged") {
		t.Errorf("status of a finished sweep: got: exit %d\n%s\nwant: completed, 30 converged", code, status.out.String())
	}
	// Signals to a finished or unknown sweep fail, saying why, and print
	// no success.
	for _, tc := range []struct{ args, want []string }{
		{[]string{"pause", sweepID}, []string{"cannot pause sweep " + sweepID, "it is completed"}},
		{[]string{"resume", sweepID}, []string{"cannot resume sweep " + sweepID, "it is completed"}},
		{[]string{"cancel", sweepID}, []string{"cannot cancel sweep " + sweepID, "it is completed"}},
		{[]string{"pause", "0123456789abcdef"}, []string{"no sweep 0123456789abcdef"}},
	} {
		r := startIsweep(t, dir, env, tc.args...)
		code := r.wait(t, time.Minute)
		out := r.out.String()
		if code != exitFailed || strings.HasPrefix(out, "paused ") || strings.HasPrefix(out, "resumed ") || strings.HasPrefix(out, "cancel requested") {
			t.Errorf("isweep %v: got: exit %d\n%s\nwant: exit %d and no success printed", tc.args, code, out, exitFailed)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("isweep %v: got: %s want it to contain %q", tc.args, out, w)
			}
		}
	}
	if rows := readPoints(t, filepath.Join(dir, "results", "small"), sweepID); len(rows) != 30 {
		t.Errorf("got: %d rows, want: 30", len(rows))
	}

	// Stopped with Ctrl-C, worker and server leave their CPU profiles, and
	// the server writes nothing into its closed log.
	for _, p := range []struct {
		r    *runCmd
		path string
	}{{worker, workerProfile}, {server, serverProfile}} {
		if err := p.r.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.r.wait(t, time.Minute); code != 0 || strings.Contains(p.r.out.String(), "write error") {
			t.Errorf("%v: exit %d after Ctrl-C:\n%s", p.r.cmd.Args[1:], code, p.r.out.String())
		}
		checkCPUProfile(t, p.path)
	}
}

// TestWatchShowsWhyNothingHappens runs a sweep through a server with no
// worker, then with a worker that has no S3 credentials: the watching run
// says that no worker polls, then why the plan fails, while it waits.
func TestWatchShowsWhyNothingHappens(t *testing.T) {
	dir := t.TempDir()
	s3 := s3test.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	spec := "apiVersion: isweep/v1\nname: nobody\noutput: " + s3.Location("nobody") + "\ngrid: {seed: [1, 2]}\nfixed: {algorithm: direct, n: 2}\n"
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startIsweep(t, dir, s3.Env(), "run", "-address", addr, "spec.yaml")
	waitOutput(t, run, "no worker is polling task queue isweep at "+addr+": start one with 'isweep worker'")
	// No credentials: none in the environment, no ~/.aws/credentials.
	noCredentials := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SHARED_CREDENTIALS_FILE=", "AWS_PROFILE=", "HOME=" + filepath.Join(dir, "home")}
	worker := startIsweep(t, dir, noCredentials, "worker", "-address", addr, "-concurrency", "1")
	waitOutput(t, worker, "polling task queue")
	waitOutput(t, run, "isweep: planning: attempt ")
	waitOutput(t, run, "no S3 credentials")
	if err := run.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, time.Minute); code != exitInterrupted {
		t.Errorf("got: exit %d after Ctrl-C\n%s\nwant: %d", code, run.out.String(), exitInterrupted)
	}
	if n := strings.Count(run.out.String(), "no worker is polling"); n != 1 {
		t.Errorf("got: %d hints\n%s\nwant: one", n, run.out.String())
	}
	if n := strings.Count(run.out.String(), "no S3 credentials"); n != 1 {
		t.Errorf("got: the failure told %d times\n%s\nwant: once", n, run.out.String())
	}
}

// checkCPUProfile parses a CPU profile written by -cpuprofile.
func checkCPUProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("-cpuprofile: %v", err)
		return
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		t.Errorf("-cpuprofile %s: got: %v want: a profile go tool pprof reads", path, err)
		return
	}
	if len(prof.SampleType) == 0 || prof.SampleType[len(prof.SampleType)-1].Type != "cpu" || prof.DurationNanos <= 0 {
		t.Errorf("-cpuprofile %s: got: sample types %v over %d ns want: cpu samples over the process's life", path, prof.SampleType, prof.DurationNanos)
	}
}

func TestCPUProfileBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"worker", "-address", "127.0.0.1:1", "-cpuprofile", filepath.Join(dir, "missing", "w.prof")},
		{"server", "-db", filepath.Join(dir, "t.db"), "-port", "0", "-cpuprofile", filepath.Join(dir, "missing", "s.prof")},
	} {
		code, out := runIsweep(t, dir, time.Minute, args...)
		if code != exitBadInput || !strings.Contains(out, "-cpuprofile") {
			t.Errorf("isweep %v: got: exit %d\n%s\nwant: exit %d naming -cpuprofile", args, code, out, exitBadInput)
		}
	}
}

// TestPathNamedOnce checks that a message about a file names it once:
// what the file system says is told without the path it repeats.
func TestPathNamedOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "x")
	for _, args := range [][]string{
		{"worker", "-check", "-s3-ca-file", missing},
		{"server", "-db", filepath.Join(dir, "t.db"), "-port", "0", "-log", missing},
		{"server", "-db", filepath.Join(dir, "t.db"), "-port", "0", "-cpuprofile", missing},
		{"plan", missing},
	} {
		code, out := runIsweep(t, dir, time.Minute, args...)
		if code != exitBadInput || strings.Count(out, missing) != 1 || !strings.Contains(out, "no such file or directory") {
			t.Errorf("isweep %v: got: exit %d\n%s\nwant: exit %d naming %s once", args[:len(args)-1], code, out, exitBadInput, missing)
		}
	}
}

func waitOutput(t *testing.T, r *runCmd, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(r.out.String(), want) {
			return
		}
		select {
		case err := <-r.done:
			t.Fatalf("exited (%v) before printing %q:\n%s", err, want, r.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no %q after 2 minutes:\n%s", want, r.out.String())
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReportDegenerateSweep runs `isweep report` on stored results that
// leave the figures' axes without a range: a sweep that does not vary
// init_scale (one μ = 1, whose log axis gonum/plot pads to [0, 2]), with one
// network that never converged and one point that converged at t = 0. The
// report must draw its figures and say what is missing, and exit 0 — not
// panic (the Go runtime's exit code 2, which means bad input here).
func TestReportDegenerateSweep(t *testing.T) {
	ctx := context.Background()
	output := t.TempDir()
	st, err := store.Open(ctx, output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const sweepID = "0123456789abcdef"
	conv := func(x float64) *float64 { return &x }
	row := func(id string, alg dynamics.Algorithm, seed int64, status results.Status, res dynamics.Result) results.PointRow {
		return results.PointRow{
			SweepID: sweepID, PointID: id, PointIndex: seed, Chunk: 0,
			Params: dynamics.Params{Algorithm: alg, N: 2, Seed: seed}.WithDefaults(),
			Status: status, Result: res,
		}
	}
	rows := []results.PointRow{
		row("00000000000000a1", dynamics.Direct, 1, results.StatusConverged, dynamics.Result{ConvTime: conv(2), FinalError: 0.005, MinError: 0.005}),
		row("00000000000000a2", dynamics.Direct, 2, results.StatusConverged, dynamics.Result{ConvTime: conv(0), FinalError: 0.001, MinError: 0.001}),
		row("00000000000000b1", dynamics.Interneuron, 1, results.StatusDiverged, dynamics.Result{Diverged: true, DivergeReason: dynamics.ReasonNonFinite, FinalError: 3, MinError: 3}),
	}
	// One part per partition (algorithm, n = 2), as RunChunk stores them.
	for _, part := range [][]results.PointRow{rows[:2], rows[2:]} {
		p := results.Partition{Algorithm: part[0].Params.Algorithm, N: part[0].Params.N}
		points, err := results.EncodePoints(part)
		if err != nil {
			t.Fatal(err)
		}
		var samples []results.PointSamples
		for _, r := range part {
			s := []dynamics.Sample{{T: 0, Error: 3}, {T: 1, Step: 1, Error: 0.5}, {T: 2, Step: 2, Error: 0.5}}
			if r.PointID == "00000000000000a2" {
				s = []dynamics.Sample{{T: 0, Error: 0.001}}
			}
			samples = append(samples, results.PointSamples{PointID: r.PointID, Samples: s})
		}
		trajectories, _, err := results.EncodePointSamples(sweepID, p, samples)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, results.PointsKey(sweepID, p, 0), points); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, results.TrajectoriesKey(sweepID, p, 0), trajectories); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "figures")
	// Parts written without the sweep's plan and manifest: the report
	// says the sweep is not complete (exit 1), and still draws what there is.
	code, out := runIsweep(t, t.TempDir(), time.Minute, "report", "-output", output, "-dir", dir, sweepID)
	if code != exitFailed || !strings.Contains(out, "is not complete") || strings.Contains(out, "panic") {
		t.Fatalf("got: exit %d, want: %d, a warning that the sweep is not complete, no panic\n%s", code, exitFailed, out)
	}
	for _, want := range []string{"no converged points for interneuron flow n=2", "conv-time-flow-n2.png", "trajectories-flow.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("got:\n%s\nwant it to contain %q", out, want)
		}
	}
	for _, name := range []string{"conv-time-flow-n2.png", "trajectories-flow.png"} {
		checkImage(t, filepath.Join(dir, name))
	}
	text, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "no converged points for interneuron flow n=2") {
		t.Errorf("report.txt: got:\n%s\nwant it to say that interneuron flow n=2 has no converged point", text)
	}
}

// TestRecoverInternal checks that a panic under recoverInternal becomes an
// internal error with exit code 1, not a crash with the runtime's code 2.
func TestRecoverInternal(t *testing.T) {
	err := func() (err error) {
		defer recoverInternal("report", &err)
		panic("boom")
	}()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFailed {
		t.Fatalf("got: %v, want: an exit error with code %d", err, exitFailed)
	}
	if !strings.HasPrefix(ee.Error(), "report: internal error: boom") {
		t.Errorf("got: %q, want: it to start with %q", ee.Error(), "report: internal error: boom")
	}
	if err := func() (err error) {
		defer recoverInternal("report", &err)
		return nil
	}(); err != nil {
		t.Errorf("without a panic: got: %v, want: nil", err)
	}
}

// analyzePy runs examples/analyze.py in dir on the sweep of spec and
// returns its output; false when ISWEEP_SKIP_PYTHON is set.
func analyzePy(t *testing.T, dir string, spec *schemas.Spec) (string, bool) {
	t.Helper()
	if os.Getenv("ISWEEP_SKIP_PYTHON") != "" {
		return "", false
	}
	py := exec.Command("python3", "examples/analyze.py", spec.Output, spec.SweepID())
	py.Dir = dir
	out, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/analyze.py: %v (python3 -m pip install -r scripts/requirements-test.txt)\n%s", err, out)
	}
	return string(out), true
}

// TestResumeOfAnotherNumericsIsRefusedByTheCLI: a sweep planned by numerics
// version 3, interrupted with chunks to compute, is not finished by this
// version (its rows would mix versions under a plan of version 3; found by
// the hostile tester): plan and run both refuse with exit 2 before any
// work, saying what to do; nothing is computed.
func TestResumeOfAnotherNumericsIsRefusedByTheCLI(t *testing.T) {
	dir := t.TempDir()
	spec := `apiVersion: isweep/v1
name: cli-numerics
output: results/numerics
chunk: 2
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10]
fixed: {mode: flow, n: 2}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runIsweep(t, dir, 5*time.Minute, "run", "-no-report", "spec.yaml"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	parsed, err := schemas.ParseFile(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results", "numerics")
	id := parsed.SweepID()
	// As version 3 would have left it, interrupted after its first chunk.
	for _, key := range []string{results.PlanLogKey(1), results.PlanKey(id)} {
		path := filepath.Join(out, filepath.FromSlash(key))
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.Replace(body, []byte(fmt.Sprintf(`"numerics":%d`, dynamics.NumericsVersion)), []byte(`"numerics":3`), 1)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{results.ChunkKey(id, 1), results.ManifestKey(id)} {
		if err := os.Remove(filepath.Join(out, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("sweep %s was planned by numerics version 3 and 1 of its 2 chunks are not done, but this isweep computes version %d", id, dynamics.NumericsVersion)
	for _, args := range [][]string{{"plan", "spec.yaml"}, {"run", "-no-report", "spec.yaml"}} {
		code, text := runIsweep(t, dir, 5*time.Minute, args...)
		// Refused by the plan: the run says so and never that the sweep started.
		if code != exitBadInput || !strings.Contains(text, want) || !strings.Contains(text, "give the spec another name") || strings.Contains(text, "a run resumes it") || strings.Contains(text, "started sweep") {
			t.Errorf("isweep %s: got: exit %d\n%s\nwant: exit %d saying %q and what to do, and not that a sweep started", args[0], code, text, exitBadInput, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(results.ChunkKey(id, 1)))); err == nil {
		t.Errorf("chunk 1: got: computed by this version want: not")
	}
}
