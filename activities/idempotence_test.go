package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

const testSpec = `{"apiVersion": "isweep/v1", "name": "acts", "output": %q, "chunk": 5,
 "grid": {"algorithm": ["direct", "interneuron"], "n": [1, 2], "init_scale": [1, 10, 100]},
 "fixed": {"mode": "flow", "record": 8}}`

// newTestActivities returns activities on a folder store and an activity
// environment to run them in.
func newTestActivities(t *testing.T) (*Activities, *testsuite.TestActivityEnvironment, string) {
	t.Helper()
	return newTestActivitiesWith(t, nil)
}

// newTestActivitiesWith is newTestActivities whose stores are wrapped by
// wrap (none when nil).
func newTestActivitiesWith(t *testing.T, wrap func(store.Store) store.Store) (*Activities, *testsuite.TestActivityEnvironment, string) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestActivityEnvironment()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { alloc.AssertSize(t, 0) })
	a, err := New(Config{
		OpenStore: func(ctx context.Context, location string) (store.Store, error) {
			st, err := store.Open(ctx, location, store.Options{})
			if err != nil || wrap == nil {
				return st, err
			}
			return wrap(st), nil
		},
		Alloc: alloc,
		CPU:   2,
		Host:  "test-host",
	})
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterActivity(a)
	return a, env, filepath.Join(t.TempDir(), "out")
}

func specJSON(output string) []byte {
	return []byte(fmt.Sprintf(testSpec, output))
}

func plan(t *testing.T, env *testsuite.TestActivityEnvironment, output string) Plan {
	t.Helper()
	var a *Activities
	v, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: specJSON(output)})
	if err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func runChunk(t *testing.T, env *testsuite.TestActivityEnvironment, ref ChunkRef) ChunkResult {
	t.Helper()
	var a *Activities
	v, err := env.ExecuteActivity(a.RunChunk, ref)
	if err != nil {
		t.Fatalf("chunk %d: %v", ref.Chunk, err)
	}
	var r ChunkResult
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlanSweepRefusesAnInvalidSpec(t *testing.T) {
	_, env, output := newTestActivities(t)
	var a *Activities
	bad := []byte(fmt.Sprintf(`{"apiVersion": "isweep/v1", "name": "bad", "output": %q, "fixed": {"algorithm": "interneuron", "mode": "online", "n": 2, "eta": 1.5}}`, output))
	_, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: bad})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != InvalidSpecErrorType || !appErr.NonRetryable() {
		t.Fatalf("got: %v, want: a non-retryable %s", err, InvalidSpecErrorType)
	}
	if _, err := os.Stat(output); err == nil {
		t.Error("an invalid spec created its output")
	}
}

func TestRunChunkIsIdempotent(t *testing.T) {
	_, env, output := newTestActivities(t)
	p := plan(t, env, output)
	if p.Points != 12 || p.Chunks != 3 || p.Planned != 12 {
		t.Fatalf("got: plan %+v, want: 12 points in 3 chunks", p)
	}
	ref := ChunkRef{Output: output, SweepID: p.SweepID, Chunk: 1}
	first := runChunk(t, env, ref)
	if first.AlreadyDone || first.Points != 5 || first.Converged != 5 {
		t.Fatalf("got: %+v, want: 5 converged points computed", first)
	}
	again := runChunk(t, env, ref)
	if !again.AlreadyDone || again.Points != first.Points || again.Converged != first.Converged {
		t.Errorf("second run: got: %+v, want: the same counts, already done", again)
	}

	// A crash after the parts were stored but before the marker: the
	// next attempt reuses the stored parts (same rows, same provenance)
	// instead of failing on the create-only keys or computing again.
	st, err := store.Open(context.Background(), output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := readChunkRows(t, st, p.SweepID)
	if err := os.Remove(filepath.Join(output, filepath.FromSlash(results.ChunkKey(p.SweepID, 1)))); err != nil {
		t.Fatal(err)
	}
	redo := runChunk(t, env, ref)
	if redo.AlreadyDone || redo.Points != 5 || redo.ComputeSeconds != first.ComputeSeconds {
		t.Errorf("after a lost marker: got: %+v, want: the stored chunk read back (compute %g s)", redo, first.ComputeSeconds)
	}
	after := readChunkRows(t, st, p.SweepID)
	if len(before) != len(after) {
		t.Fatalf("got: %d rows, want: %d", len(after), len(before))
	}
	for i := range before {
		if !before[i].StartedAt.Equal(after[i].StartedAt) || before[i].PointID != after[i].PointID {
			t.Errorf("row %d changed: got: %s started %v, want: %s started %v", i, after[i].PointID, after[i].StartedAt, before[i].PointID, before[i].StartedAt)
		}
	}

	// A resubmitted sweep's plan lists chunk 1 as done.
	if p := plan(t, env, output); p.Done == nil || p.Done.Done != 1 || !p.Done.Has(1) || p.Done.Has(0) || p.Done.Has(2) {
		t.Errorf("got: done %+v, want: chunk 1 only", p.Done)
	}
}

func readChunkRows(t *testing.T, st store.Store, sweepID string) []results.PointRow {
	t.Helper()
	rows, err := results.ReadPoints(context.Background(), st, sweepID, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFinalizeSweep(t *testing.T) {
	_, env, output := newTestActivities(t)
	p := plan(t, env, output)
	var a *Activities
	finalize := func() FinalizeResult {
		v, err := env.ExecuteActivity(a.FinalizeSweep, SweepRef{Output: output, SweepID: p.SweepID})
		if err != nil {
			t.Fatal(err)
		}
		var r FinalizeResult
		if err := v.Get(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	runChunk(t, env, ChunkRef{Output: output, SweepID: p.SweepID, Chunk: 0})
	if r := finalize(); r.Status != results.SweepIncomplete || r.ManifestKey != "" {
		t.Errorf("with chunks missing: got: %+v, want: incomplete and no manifest", r)
	}
	for c := int64(1); c < p.Chunks; c++ {
		runChunk(t, env, ChunkRef{Output: output, SweepID: p.SweepID, Chunk: c})
	}
	r := finalize()
	if r.Status != results.SweepComplete || r.Points != 12 {
		t.Fatalf("got: %+v, want: complete with 12 points", r)
	}
	body, err := os.ReadFile(filepath.Join(output, filepath.FromSlash(r.ManifestKey)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := results.DecodeManifest(body)
	if err != nil {
		t.Fatal(err)
	}
	// Chunks of 5 over partitions of 3 points: chunk 0 spans 2
	// partitions, chunk 1 spans 3, chunk 2 one; two tables each, plus
	// the summary and the members table.
	if m.Points != 12 || m.Counts.Converged != 12 || len(m.Parts) != 2*6+2 {
		t.Errorf("got: manifest with %d points, %+v, %d parts; want: 12 converged points in 14 parts", m.Points, m.Counts, len(m.Parts))
	}
	for _, part := range m.Parts {
		body, err := os.ReadFile(filepath.Join(output, filepath.FromSlash(part.Key)))
		if err != nil {
			t.Fatal(err)
		}
		if err := part.Check(body); err != nil {
			t.Error(err)
		}
	}
	// The members table lists every point of the points table once.
	var want []string
	for _, part := range m.Parts {
		if part.Table != results.TablePoints {
			continue
		}
		body, err := os.ReadFile(filepath.Join(output, filepath.FromSlash(part.Key)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := results.DecodePoints(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			want = append(want, row.PointID)
		}
	}
	slices.Sort(want)
	var got []string
	for _, mb := range readMembers(t, output, p.SweepID) {
		if mb.SweepID != p.SweepID {
			t.Errorf("member %s: got: stored by %s want: %s", mb.PointID, mb.SweepID, p.SweepID)
		}
		got = append(got, mb.PointID)
	}
	if len(want) != 12 || !slices.Equal(got, want) {
		t.Errorf("members: got: %v want: the 12 ids of the points table %v", got, want)
	}
	// Finalizing again is a no-op that reports the same.
	if again := finalize(); !reflect.DeepEqual(again, r) {
		t.Errorf("second finalize: got: %+v, want: %+v", again, r)
	}
}

func TestPlanOrdinals(t *testing.T) {
	tests := []struct {
		name   string
		ranges [][2]int64
		chunk  int64
		want   [][]int64
	}{
		{"one range", [][2]int64{{0, 7}}, 3, [][]int64{{0, 1, 2}, {3, 4, 5}, {6}}},
		{"gaps", [][2]int64{{0, 2}, {5, 6}, {8, 12}}, 3, [][]int64{{0, 1, 5}, {8, 9, 10}, {11}}},
		{"chunk across ranges", [][2]int64{{1, 2}, {3, 4}, {5, 6}, {7, 8}}, 2, [][]int64{{1, 3}, {5, 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &planFile{ChunkSize: tt.chunk, Ranges: tt.ranges}
			for _, r := range tt.ranges {
				p.Planned += r[1] - r[0]
			}
			if got := p.chunks(); got != int64(len(tt.want)) {
				t.Fatalf("got: %d chunks, want: %d", got, len(tt.want))
			}
			for c, want := range tt.want {
				if got := p.ordinals(int64(c)); !slices.Equal(got, want) {
					t.Errorf("chunk %d: got: %v, want: %v", c, got, want)
				}
			}
		})
	}
}

func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// Below and above bucketSortMin, keys are sorted: evenly spread keys,
	// keys that all share their top bits (one bucket), and repeats.
	for _, n := range []int{0, 1, 1000, 3*bucketSortMin + 1} {
		for _, tt := range []struct {
			name string
			key  func(i int) pointKey
		}{
			{"random", func(int) pointKey { return pointKey{rng.Uint64(), rng.Uint64()} }},
			{"same top half", func(int) pointKey { return pointKey{0xdeadbeef, rng.Uint64()} }},
			{"repeats", func(i int) pointKey { return pointKey{uint64(i%97) << 40, uint64(i % 5)} }},
		} {
			keys := make([]pointKey, n)
			for i := range keys {
				keys[i] = tt.key(i)
			}
			want := slices.Clone(keys)
			slices.SortFunc(want, comparePointKeys)
			got := sortKeys(keys, func(k *pointKey) pointKey { return *k }, comparePointKeys)
			if !slices.Equal(got, want) {
				t.Errorf("%s, %d keys: got: not in sorted order want: the sorted keys", tt.name, n)
			}
		}
	}
	// Keys order as their hex ids do, and parse back.
	a, b := "ffeeddccbbaa99887766554433221100", "00112233445566778899aabbccddeeff"
	ka, err := parsePointKey(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := parsePointKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if comparePointKeys(kb, ka) >= 0 || ka.String() != a || kb.String() != b {
		t.Errorf("got: %s < %s is false, want: true, and the ids back", kb, ka)
	}
	for _, bad := range []string{"not-hex", "0011223344556677889900aabbccddzz", a + "00"} {
		if _, err := parsePointKey(bad); err == nil {
			t.Errorf("id %q: got: no error want: an error naming it", bad)
		}
	}
}

func readMembers(t *testing.T, output, sweepID string) []results.Member {
	t.Helper()
	return readTable(t, output, results.MembersKey(sweepID), results.DecodeMembers)
}

// TestRunChunkHonoursSpecLimits runs points that only the spec's own
// limits decide: a flow horizon above the default max_flow_horizon (the
// spec raises it) and a stiff flow beyond a lowered max_flow_steps. The
// worker must run each point with the limits of its sweep, not the
// defaults: the first converges, the second ends diverged at the step cap.
func TestRunChunkHonoursSpecLimits(t *testing.T) {
	_, env, output := newTestActivities(t)
	spec := fmt.Sprintf(`{"apiVersion": "isweep/v1", "name": "limits", "output": %q, "chunk": 2,
 "zip": [{"n": [1, 2], "horizon": [2e7, 1e4], "input_spectrum": [[1], {"min": 1e-8, "max": 1}], "init_scale": [1, 10]}],
 "fixed": {"algorithm": "direct", "mode": "flow", "record": 8},
 "limits": {"max_flow_horizon": 1e8, "max_flow_steps": 100}}`, output)
	var a *Activities
	v, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	runChunk(t, env, ChunkRef{Output: output, SweepID: p.SweepID, Chunk: 0})
	st, err := store.Open(context.Background(), output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := readChunkRows(t, st, p.SweepID)
	if len(rows) != 2 {
		t.Fatalf("got: %d rows, want: 2", len(rows))
	}
	for _, r := range rows {
		switch r.Params.N {
		case 1:
			if r.Status != results.StatusConverged {
				t.Errorf("horizon 2e7 under max_flow_horizon 1e8: got: status %s (%s), want: %s", r.Status, r.Error, results.StatusConverged)
			}
		case 2:
			if r.Status != results.StatusDiverged || r.Result.DivergeReason != dynamics.ReasonStepCap || r.Result.Steps != 100 {
				t.Errorf("stiff flow under max_flow_steps 100: got: status %s (%q, %s) after %d steps, want: %s (%q) after 100 steps",
					r.Status, r.Result.DivergeReason, r.Error, r.Result.Steps, results.StatusDiverged, dynamics.ReasonStepCap)
			}
		}
	}
}
