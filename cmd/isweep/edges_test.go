package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/activities"
)

// Regression tests of four edges left by the earlier test passes: what
// list says of an incomplete sweep, what a refused run prints and leaves
// in its output, and values of ignored parameters that no point takes.

// failChunk is a worker interceptor that fails one chunk of every sweep
// for good (a non-retryable error the workflow counts as a failed chunk,
// as it does a chunk whose attempts are all spent).
type failChunk struct {
	interceptor.WorkerInterceptorBase
	chunk int64
}

func (f *failChunk) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &failChunkInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, chunk: f.chunk}
}

type failChunkInbound struct {
	interceptor.ActivityInboundInterceptorBase
	chunk int64
}

func (f *failChunkInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name == "RunChunk" && len(in.Args) == 1 {
		if ref, ok := in.Args[0].(activities.ChunkRef); ok && ref.Chunk == f.chunk {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("chunk %d fails in this test", f.chunk), "TestChunkFailure", nil)
		}
	}
	return f.Next.ExecuteActivity(ctx, in)
}

// TestListSaysAnIncompleteSweepIsIncomplete: a sweep whose workflow
// completed with a failed chunk is incomplete, and `isweep list` must say
// so, in the words `isweep status` uses; it showed Temporal's
// "completed", which a researcher reads as done.
func TestListSaysAnIncompleteSweepIsIncomplete(t *testing.T) {
	dir := t.TempDir()
	_, env := startServerAndWorker(t, dir, &failChunk{chunk: 1})

	spec := writeFile(t, dir, "spec.yaml", `apiVersion: isweep/v1
name: list-incomplete
output: out
chunk: 2
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10]
fixed: {mode: flow, n: 2}
`)
	code, out := runIsweepEnv(t, dir, env, 2*time.Minute, "submit", "-watch", spec)
	if code != exitFailed || !strings.Contains(out, "incomplete") {
		t.Fatalf("submit -watch: got: exit %d\n%s\nwant: exit %d, incomplete", code, out, exitFailed)
	}
	sweepID := sweepIDOf(t, dir, spec)

	code, out = runIsweepEnv(t, dir, env, time.Minute, "list")
	var row string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, sweepID) {
			row = line
		}
	}
	if code != 0 || !strings.Contains(row, "incomplete: 1 of 2 chunks failed") || strings.Contains(row, "completed") {
		t.Errorf("list: got: exit %d\n%s\nwant: the sweep's row to say incomplete: 1 of 2 chunks failed, not completed", code, out)
	}
	code, out = runIsweepEnv(t, dir, env, time.Minute, "status", sweepID)
	if code != exitFailed || !strings.Contains(out, "incomplete: 1 of 2 chunks failed") || strings.Contains(out, "completed incomplete") {
		t.Errorf("status: got: exit %d\n%s\nwant: exit %d, the words list uses", code, out, exitFailed)
	}
}

// TestRefusedRunSaysNoStartAndLeavesNoTrace: a run that the plan refuses
// (here an output holding parts of a sweep whose folder and plan log were
// deleted) must not say it started a sweep, and must leave the output as
// it found it: it printed "started sweep" before the refusal and left
// sweeps/<id>/spec.json, which looks like a sweep to whoever reads the
// output next.
func TestRefusedRunSaysNoStartAndLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	const spec = `apiVersion: isweep/v1
name: %s
output: out
chunk: 2
grid:
  algorithm: [direct, interneuron]
  init_scale: [1, 10]
fixed: {mode: flow, n: 2}
`
	writeFile(t, dir, "a.yaml", fmt.Sprintf(spec, "a"))
	writeFile(t, dir, "b.yaml", fmt.Sprintf(spec, "b"))
	if code, out := runIsweep(t, dir, 5*time.Minute, "run", "-no-report", "a.yaml"); code != 0 {
		t.Fatalf("run a: exit %d\n%s", code, out)
	}
	output := filepath.Join(dir, "out")
	for _, name := range []string{"sweeps", "plans"} {
		if err := os.RemoveAll(filepath.Join(output, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(output, "sweeps"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := listAll(t, output)
	for _, args := range [][]string{{"run", "-no-report", "b.yaml"}, {"run", "-no-report", "-quiet", "b.yaml"}} {
		code, out := runIsweep(t, dir, 5*time.Minute, args...)
		if code != exitStorage || !strings.Contains(out, "neither a plan") {
			t.Fatalf("isweep %v: got: exit %d\n%s\nwant: exit %d, refused", args, code, out, exitStorage)
		}
		if strings.Contains(out, "started sweep") {
			t.Errorf("isweep %v: got:\n%s\nwant: no \"started sweep\" for a sweep the plan refused", args, out)
		}
		if after := listAll(t, output); !slices.Equal(after, before) {
			t.Errorf("isweep %v: the output: got:\n%s\nwant: as before the run:\n%s", args, strings.Join(after, "\n"), strings.Join(before, "\n"))
		}
	}
}

// listAll lists every file and folder under root, relative to it.
func listAll(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIgnoredParameterValuesNoPointTakes: a value of a parameter the
// points ignore (eta in flow mode, k for the direct network, …) that no
// point of any network or mode could take is refused before any work,
// naming the field and the fix; a value some other point could take stays
// accepted. They were silently replaced by the default.
func TestIgnoredParameterValuesNoPointTakes(t *testing.T) {
	dir := t.TempDir()
	const spec = `apiVersion: isweep/v1
name: ignored
output: out
grid:
  algorithm: [direct]
%s
fixed: {n: 2%s}
`
	for _, tc := range []struct {
		grid, fixed string
		want        []string // empty: accepted
	}{
		{"", ", mode: flow, eta: -1", []string{"fixed.eta", "-1", "0 < eta", "leave eta out"}},
		{"  eta: [0.01, -0.5]", ", mode: flow", []string{"grid.eta", "-0.5", "0 < eta"}},
		{"", ", mode: flow, k: -3", []string{"fixed.k", "-3", "at least 1"}},
		{"", ", mode: flow, batch: -2", []string{"fixed.batch", "-2", "at least 1"}},
		{"", ", mode: flow, hold: -1", []string{"fixed.hold", "-1", "≥ 0"}},
		{"", ", mode: flow, noise: -1", []string{"fixed.noise", "-1", "0 ≤ noise"}},
		{"  k: {range: [-2, 0, 1]}", ", mode: flow", []string{"grid.k", "-2", "at least 1"}},
		// Values some point could take stay accepted where these ignore them.
		{"  mode: [flow, online]", ", eta: 0.01", nil},
		{"", ", mode: flow, eta: 5", nil}, // the direct network online takes it
		{"", ", mode: flow, k: 7", nil},
		{"", ", mode: flow, hold: 0.001", nil},
	} {
		writeFile(t, dir, "spec.yaml", fmt.Sprintf(spec, tc.grid, tc.fixed))
		for _, cmd := range []string{"plan", "run"} {
			if cmd == "run" && tc.want == nil {
				continue
			}
			code, out := runIsweep(t, dir, 2*time.Minute, cmd, "-no-report", "spec.yaml")
			if cmd == "plan" {
				code, out = runIsweep(t, dir, 2*time.Minute, cmd, "-sample", "0", "spec.yaml")
			}
			if tc.want == nil {
				if code != 0 {
					t.Errorf("%s%s: isweep %s: got: exit %d\n%s\nwant: accepted", tc.grid, tc.fixed, cmd, code, out)
				}
				continue
			}
			ok := code == exitBadInput && !strings.Contains(out, "started sweep")
			for _, w := range tc.want {
				ok = ok && strings.Contains(out, w)
			}
			if !ok {
				t.Errorf("%s%s: isweep %s: got: exit %d\n%s\nwant: exit %d naming %q", tc.grid, tc.fixed, cmd, code, out, exitBadInput, tc.want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "out", "points")); err == nil {
			t.Fatalf("%s%s: points were computed", tc.grid, tc.fixed)
		}
	}
}
