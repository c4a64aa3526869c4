package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// Regression tests of the bugs the chaos harness and its reading of the
// engine found; each failed on the code it was written against.

// newActivities returns activities (one worker) on st.
func newActivities(t *testing.T, st store.Store) *activities.Activities {
	t.Helper()
	a, err := activities.New(activities.Config{
		OpenStore: func(context.Context, string) (store.Store, error) { return st, nil },
		CPU:       2, Host: "regress", CodeVersion: "regress",
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// parseDef writes d for output into dir and returns the parsed spec.
func parseDef(t *testing.T, dir string, d specDef, output string) *schemas.Spec {
	t.Helper()
	return writeSpec(t, dir, d, output).spec
}

func planSweep(t *testing.T, a *activities.Activities, spec *schemas.Spec, verify bool) activities.Plan {
	t.Helper()
	p, err := a.PlanSweep(context.Background(), activities.PlanInput{Spec: spec.Canonical(), Verify: verify})
	if err != nil {
		t.Fatalf("PlanSweep %s: %v", spec.Name, err)
	}
	return p
}

func runChunk(t *testing.T, a *activities.Activities, output, sweepID string, c int64) activities.ChunkResult {
	t.Helper()
	r, err := a.RunChunk(context.Background(), activities.ChunkRef{Output: output, SweepID: sweepID, Chunk: c})
	if err != nil {
		t.Fatalf("RunChunk %s %d: %v", sweepID, c, err)
	}
	return r
}

func finalize(t *testing.T, a *activities.Activities, output, sweepID string) activities.FinalizeResult {
	t.Helper()
	r, err := a.FinalizeSweep(context.Background(), activities.SweepRef{Output: output, SweepID: sweepID})
	if err != nil {
		t.Fatalf("FinalizeSweep %s: %v", sweepID, err)
	}
	return r
}

// listHook is a store that calls before(prefix) when a listing starts.
type listHook struct {
	store.Store
	mu     sync.Mutex
	before func(prefix string)
}

func (s *listHook) List(ctx context.Context, prefix string) iter.Seq2[store.ObjectInfo, error] {
	inner := s.Store.List(ctx, prefix)
	return func(yield func(store.ObjectInfo, error) bool) {
		s.mu.Lock()
		before := s.before
		s.mu.Unlock()
		if before != nil {
			before(prefix)
		}
		inner(yield)
	}
}

// TestPlanKeepsAChunkFinishedMeanwhile: PlanSweep verified the chunks a
// sweep needs, owner by owner (the sweep's own, then each earlier sweep's
// it reuses, in plan log order). It listed the stored parts' sizes once,
// at the first owner with markers, and checked the markers of the owners
// after it, listed later, against that list (now every marker is listed
// first, then the parts). A chunk an owner's worker
// finishes in between has a marker whose parts are not in the list: it is
// rejected as "part … is missing" and its valid marker moved to
// quarantine; that owner's own workflow, which saw the chunk done, then
// finalizes without it (incomplete), unless something computes it again
// first. Two ways there:
//
//   - resumed: B, extending A, is planned again (a resubmit) while A runs;
//     B's own markers come first;
//   - fresh: B reuses points of two earlier sweeps, X (complete) and A
//     (still running), and is planned for the first time: X's markers come
//     first. The chaos test met this one (seed 20261204, round 107: sweep
//     r107-b reused three sweeps; two valid markers of the last one, still
//     running, were quarantined in a round that damaged nothing).
func TestPlanKeepsAChunkFinishedMeanwhile(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		name := map[bool]string{false: "resumed extension", true: "fresh extension of two sweeps"}[fresh]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			def := specDef{Name: "race-a", Chunk: 2, Algorithms: []string{"direct"}, Ns: []int{2},
				InitScales: []float64{4, 8}, Etas: []float64{0.01}, Seeds: []int{0, 1, 2, 3}, Record: 3, Basis: "random"}
			older := def
			older.Name, older.InitScales = "race-x", []float64{1, 2}
			ext := def
			ext.Name, ext.InitScales = "race-b", []float64{4, 8, 16}
			if fresh {
				ext.InitScales = []float64{1, 2, 4, 8, 16}
			}
			specX, specA, specB := parseDef(t, dir, older, out), parseDef(t, dir, def, out), parseDef(t, dir, ext, out)

			st, err := store.Open(context.Background(), out, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			hook := &listHook{Store: st}
			workerB := newActivities(t, hook) // plans B
			workerA := newActivities(t, st)   // runs X, then A

			if fresh {
				px := planSweep(t, workerA, specX, false)
				for c := range px.Chunks {
					runChunk(t, workerA, out, px.SweepID, c)
				}
			}
			pa := planSweep(t, workerA, specA, false)
			if pa.Chunks != 4 {
				t.Fatalf("A: got: %d chunks, want: 4", pa.Chunks)
			}
			for c := range int64(3) {
				runChunk(t, workerA, out, pa.SweepID, c)
			}
			if !fresh {
				pb := planSweep(t, workerB, specB, false)
				runChunk(t, workerB, out, pb.SweepID, 0) // B has a marker of its own
			}

			// B is planned (again); as it lists A's markers, A's worker
			// finishes chunk 3.
			var once sync.Once
			hook.before = func(prefix string) {
				if prefix == results.ChunksPrefix(pa.SweepID) {
					once.Do(func() { runChunk(t, workerA, out, pa.SweepID, 3) })
				}
			}
			pb := planSweep(t, workerB, specB, false)
			hook.before = nil
			if fresh && len(pb.ReusedFrom) != 2 {
				t.Fatalf("B: got: reused from %v, want: X and A", pb.ReusedFrom)
			}

			if _, err := st.Stat(context.Background(), results.ChunkKey(pa.SweepID, 3)); err != nil {
				t.Errorf("the marker of A's chunk 3, finished and valid, is gone: %v", err)
			}
			if len(pb.Rejected) > 0 {
				t.Errorf("planning B rejected valid chunks: %q", pb.Rejected)
			}
			// A's workflow saw its four chunks done and finalizes.
			if r := finalize(t, workerA, out, pa.SweepID); r.Status != results.SweepComplete {
				t.Errorf("A: got: finalize status %q (%d missing), want: complete", r.Status, r.Missing)
			}
		})
	}
}

// TestDamagedMarkerSummaryIsDetected: a chunk marker carries the chunk's
// summary rows and status counts, and FinalizeSweep derives the sweep's
// summary and manifest counts from them without reading the parts; no
// checksum covers the marker. A marker damaged so that it still parses
// (a digit changed in a summary row) passes every check, and the next run
// of the sweep writes a summary that disagrees with the points, which
// `isweep verify` (and a run with -verify) then accept as checking out.
func TestDamagedMarkerSummaryIsDetected(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	def := specDef{Name: "marker-rot", Chunk: 4, Algorithms: []string{"direct"}, Ns: []int{2},
		InitScales: []float64{2, 4}, Etas: []float64{0.01}, Seeds: []int{0, 1}, Record: 3, Basis: "random"}
	spec := parseDef(t, dir, def, out)
	st, err := store.Open(context.Background(), out, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := newActivities(t, st)
	p := planSweep(t, a, spec, false)
	for c := range p.Chunks {
		runChunk(t, a, out, p.SweepID, c)
	}
	if r := finalize(t, a, out, p.SweepID); r.Status != results.SweepComplete {
		t.Fatalf("got: %+v, want: complete", r)
	}

	// One digit of the marker's best conv_time changes (say, disk rot).
	key := results.ChunkKey(p.SweepID, 0)
	body, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	rows, _ := m["summary"].([]any)
	if len(rows) == 0 {
		t.Fatalf("marker %s has no summary rows", key)
	}
	row := rows[0].(map[string]any)
	best, _ := row["BestConvTime"].(float64)
	row["BestConvTime"] = best + 7
	damaged, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), key, damaged); err != nil {
		t.Fatal(err)
	}

	// The sweep runs again, as a user would, with -verify even.
	a = newActivities(t, st)
	again := planSweep(t, a, spec, true)
	for c := range again.Chunks {
		if !again.Done.Has(c) {
			runChunk(t, a, out, again.SweepID, c)
		}
	}
	finalize(t, a, out, p.SweepID)

	rep, err := activities.Verify(context.Background(), st, p.SweepID, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	points, err := results.ReadPoints(context.Background(), st, p.SweepID, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	body, err = st.Get(context.Background(), results.SummaryKey(p.SweepID))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := results.DecodeSummary(body, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	want := results.Summarize(points)
	if same := summariesEqual(stored, want); !same && len(rep.Problems) == 0 {
		t.Errorf("summary.parquet disagrees with the points (got: %s, want: %s), and Verify finds no problem (rejected at the -verify run: %q)",
			summaryLine(stored), summaryLine(want), again.Rejected)
	}
}

func summariesEqual(a, b []results.SummaryRow) bool {
	return summaryLine(a) == summaryLine(b)
}

func summaryLine(rows []results.SummaryRow) string {
	var parts []string
	for _, r := range rows {
		best := "none"
		if r.BestConvTime != nil {
			best = fmt.Sprintf("%g@eta=%g", *r.BestConvTime, *r.BestEta)
		}
		parts = append(parts, fmt.Sprintf("%s/%s/n=%d/mu=%g: %s (%d points, %d converged, %d diverged)", r.Algorithm, r.Mode, r.N, r.InitScale, best, r.Points, r.Converged, r.Diverged))
	}
	return strings.Join(parts, "; ")
}

// TestKilledWhilePlanningStallsTheNextRun: the workflow ran PlanSweep
// (and FinalizeSweep) with a 10-minute start-to-close timeout and no
// heartbeat timeout (workflows/sweep.go, shortCtx replaced the activity
// options as a whole). `isweep run` killed while planning leaves the
// activity started by a worker that is gone; the same command run again
// attaches to the workflow and shows "planning" until those 10 minutes
// pass. The grid here has 2·10⁶ entries of two distinct points (repeated
// eta values), so planning takes seconds and computing nothing.
func TestKilledWhilePlanningStallsTheNextRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs isweep: skipped with -short")
	}
	dir := t.TempDir()
	output := filepath.Join(dir, "out")
	spec := "apiVersion: isweep/v1\nname: stall\noutput: " + output + "\ngrid:\n  algorithm: [direct, interneuron]\n  eta: {linspace: [0.01, 0.01, 1000000]}\nfixed: {mode: flow, n: 2, record: 2}\n"
	path := filepath.Join(dir, "stall.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := schemas.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "-state", filepath.Join(dir, "state"), "-quiet", "-no-report", "-heartbeat-timeout", "4s", path}
	first := proctest.Start(t, isweepBin, "run", nil, "started sweep", args...)
	// Killed once PlanSweep has stored the spec, while it plans.
	specKey := filepath.Join(output, filepath.FromSlash(results.SpecKey(parsed.SweepID())))
	for deadline := time.Now().Add(time.Minute); !fileExists(specKey) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	first.Kill()
	planned := fileExists(filepath.Join(output, filepath.FromSlash(results.PlanKey(parsed.SweepID()))))
	specStored := fileExists(specKey)
	if planned || !specStored {
		t.Skipf("the kill did not land in PlanSweep (plan stored %v, spec stored %v); run again", planned, specStored)
	}
	// Within a generous guard, well under the 10-minute timeout.
	again := proctest.Start(t, isweepBin, "run again", nil, "", args...)
	select {
	case <-again.Done():
	case <-time.After(5 * time.Minute):
		t.Fatalf("the run after a kill during planning did not finish in 5 minutes (a 10-minute start-to-close timeout with no heartbeat); output:\n%s", tail(again.Output(), 10))
	}
	if code := again.Wait(time.Minute); code != 0 {
		t.Fatalf("got: exit %d, want: 0\n%s", code, again.Output())
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestStrayWriteErrorAfterRun: `isweep run` closes its log file
// (state/isweep.log) while the embedded Temporal server's goroutines still
// log into it after Server.Stop returned; their logger then prints
// "… write error: write <state>/isweep.log: file already closed" on stderr
// after the sweep's summary, now and then: seen twice here (one of six
// runs of a 24-point sweep, and after a 2·10⁶-entry sweep), then in none
// of 84 runs, with or without load: this test may miss it; it cannot
// fail once the bug is fixed.
func TestStrayWriteErrorAfterRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs isweep: skipped with -short")
	}
	dir := t.TempDir()
	def := specDef{Name: "stray", Chunk: 2, Algorithms: []string{"direct"}, Ns: []int{2},
		InitScales: []float64{1, 2}, Etas: []float64{0.01}, Seeds: []int{0}, Record: 3, Basis: "identity"}
	sw := writeSpec(t, dir, def, filepath.Join(dir, "out"))
	for i := range 60 {
		p := proctest.Start(t, isweepBin, "run", nil, "", "run", "-state", filepath.Join(dir, "state"), "-quiet", "-no-report", sw.path)
		select {
		case <-p.Done():
		case <-time.After(sweepGuard):
			t.Fatalf("run %d still running after %s", i, sweepGuard)
		}
		if code := p.Wait(time.Minute); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, p.Output())
		}
		for _, line := range strings.Split(p.Output(), "\n") {
			if strings.Contains(line, "write error") {
				t.Fatalf("run %d (exit 0) printed: %s", i, line)
			}
		}
	}
}

// TestPlanSampleTimeBoundsAnExpensivePoint: `isweep plan` integrates a
// few points for its cost estimate within -sample-time, under a context
// the dynamics check once per learning step. An online point whose batch
// (samples per step; no limit bounds it) is 10¹² spends hours in its first
// step: plan ignores -sample-time, and Ctrl-C or SIGTERM, until then.
func TestPlanSampleTimeBoundsAnExpensivePoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs isweep: skipped with -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "batch.yaml")
	spec := "apiVersion: isweep/v1\nname: batch\noutput: " + filepath.Join(dir, "out") + "\nfixed: {algorithm: direct, n: 2, mode: online, batch: 1e12, init_scale: 2}\nlimits: {max_online_samples: 1e18}\n"
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, isweepBin, "plan", nil, "", "plan", "-sample", "1", "-sample-time", "2s", path)
	select {
	case <-p.Done():
	case <-time.After(2 * time.Minute):
		t.Fatalf("isweep plan -sample-time 2s still running after 2 minutes; output:\n%s", p.Output())
	}
	if code := p.Wait(time.Minute); code != 0 || !strings.Contains(p.Output(), "more than 2s for one point") {
		t.Fatalf("got: exit %d\n%s\nwant: exit 0, the cost given as more than 2s for one point", code, p.Output())
	}
}

// TestOutputWithC1ControlIsRefused: schemas refuses C0 control characters
// in an output ("write a plain path") but accepts C1 ones (U+0080–U+009F).
// The command then prints them raw (U+009B is a terminal's CSI), and the
// canonical spec the workflow parses again does not give the same output:
// with U+0085 (NEL) the YAML parser folds it into a space, and the worker
// writes to "o ut" while the command created and reports "o<NEL>ut"
// (isweep run: "report: sweep … has no points in …"); with U+009B the
// workflow refuses the spec (isweep run exits 2, "invalid YAML: control
// characters are not allowed") after plan accepted it.
func TestOutputWithC1ControlIsRefused(t *testing.T) {
	for _, out := range []string{"o\u0085ut", "o\u009but", "o\u0080ut"} {
		text := fmt.Sprintf("apiVersion: isweep/v1\nname: c1\noutput: %q\nfixed: {algorithm: direct, n: 2}\n", out)
		spec, err := schemas.Parse([]byte(text), "c1.yaml")
		if err != nil {
			continue // refused: fine
		}
		back, err := schemas.Parse(spec.Canonical(), "canonical")
		switch {
		case err != nil:
			t.Errorf("output %q: accepted, but its canonical spec (what the workflow parses) is refused: %v", out, err)
		case back.Output != spec.Output:
			t.Errorf("output %q: accepted, but its canonical spec names output %q", out, back.Output)
		}
	}
}

// TestReportOfASweepConvergedAtTimeZero: a sweep whose points all start
// white (init_scale 1, the default all-ones spectrum: converged at t = 0)
// completes, then `isweep run` panics writing the report's figures
// (gonum/plot: "Values must be greater than 0 for a log scale", from
// internal/report.WriteFigures) and exits 2 with a goroutine dump.
func TestReportOfASweepConvergedAtTimeZero(t *testing.T) {
	if testing.Short() {
		t.Skip("runs isweep: skipped with -short")
	}
	dir := t.TempDir()
	def := specDef{Name: "white", Chunk: 2, Algorithms: []string{"direct", "interneuron"}, Ns: []int{2},
		InitScales: []float64{1}, Etas: []float64{0.01}, Seeds: []int{0, 1}, Record: 3, Basis: "identity"}
	sw := writeSpec(t, dir, def, filepath.Join(dir, "out"))
	p := proctest.Start(t, isweepBin, "run", nil, "", "run", "-state", filepath.Join(dir, "state"), "-quiet", sw.path)
	select {
	case <-p.Done():
	case <-time.After(sweepGuard):
		t.Fatalf("isweep run still running after %s", sweepGuard)
	}
	code := p.Wait(time.Minute)
	if code != 0 || strings.Contains(p.Output(), "panic:") {
		t.Fatalf("got: exit %d\n%s\nwant: exit 0 and a report", code, tail(p.Output(), 30))
	}
}
