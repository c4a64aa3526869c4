package chaos

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
)

// requirePython skips when ISWEEP_SKIP_PYTHON=1 and fails when python3 or
// DuckDB is missing (scripts/test installs them).
func requirePython(t *testing.T) {
	t.Helper()
	if os.Getenv("ISWEEP_SKIP_PYTHON") == "1" {
		t.Skip("ISWEEP_SKIP_PYTHON=1: the chaos checks read the output with DuckDB")
	}
	if out, err := exec.Command("python3", "-c", "import duckdb").CombinedOutput(); err != nil {
		t.Fatalf("the chaos test reads outputs with python3 and duckdb (%v: %s); install them with: python3 -m pip install -r scripts/requirements-test.txt", err, bytes.TrimSpace(out))
	}
}

// duckReport is what testdata/check_output.py prints.
type duckReport struct {
	Points      [][3]any `json:"points"`
	TrajRows    int64    `json:"traj_rows"`
	TrajDups    [][3]any `json:"traj_dups"`
	TrajOrphans []string `json:"traj_orphans"`
	Sweeps      map[string]struct {
		Members         [][3]any `json:"members"`
		SummaryProblems []string `json:"summary_problems"`
	} `json:"sweeps"`
}

// row is a (point_id, sweep_id, chunk) row of the points or members table.
type row struct {
	point, sweep string
	chunk        int64
}

func rowOf(r [3]any) row {
	p, _ := r[0].(string)
	s, _ := r[1].(string)
	c, _ := r[2].(float64)
	return row{p, s, int64(c)}
}

// checkOutput checks an output once every sweep of it ran to completion
// and verifies:
//
//   - each sweep's members table has one row per distinct point of its
//     grid (the ids computed with schemas), and each member has exactly one
//     row in points/**, stored where the member says (sweep id, chunk);
//   - points/** holds each point id once, and exactly the points of the
//     sweeps; trajectories/** each (point_id, sample) once, and only of
//     points with a row;
//   - activities.Verify finds no problem in any sweep, and its manifest
//     checks out;
//   - each sweep's summary equals the one DuckDB computes from the points
//     joined with its members;
//   - the plan log numbers its entries from 1 without a gap and lists each
//     sweep once, only the harness's; every part under points/ and
//     trajectories/ is listed by a chunk marker.
func (h *harness) checkOutput(o *output) {
	h.t.Helper()
	h.count("check")
	st := o.store(h)
	for _, sw := range o.sweeps {
		rep, err := activities.Verify(ctx(), st, sw.id, memory.DefaultAllocator)
		switch {
		case err != nil:
			h.violation("activities.Verify %s: %v", sw.def.Name, err)
		case len(rep.Problems) > 0 || !rep.Manifest:
			h.violation("activities.Verify %s: manifest checks out %v, %d problems:\n  %s", sw.def.Name, rep.Manifest, len(rep.Problems), strings.Join(rep.Problems, "\n  "))
		}
	}

	root := o.location
	if !o.folder {
		root = h.copyLocal(o)
		defer os.RemoveAll(root)
	}
	args := []string{filepath.Join("testdata", "check_output.py"), root}
	for _, sw := range o.sweeps {
		args = append(args, sw.id)
	}
	cmd := exec.Command("python3", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		h.violation("DuckDB cannot read %s: %v\n%s", o.name, err, stderr.String())
		return
	}
	var rep duckReport
	if err := json.Unmarshal(out, &rep); err != nil {
		h.t.Fatalf("check_output.py: %v\n%s", err, out)
	}

	// The whole output: each point once, and only the sweeps' points.
	stored := map[string]row{}
	twice := 0
	for _, r := range rep.Points {
		x := rowOf(r)
		if prev, ok := stored[x.point]; ok {
			twice++
			if twice <= 5 {
				h.violation("%s: point %s has two rows in points/**: sweep %s chunk %d and sweep %s chunk %d", o.name, x.point, prev.sweep, prev.chunk, x.sweep, x.chunk)
			}
			continue
		}
		stored[x.point] = x
	}
	all := map[string]bool{}
	for _, sw := range o.sweeps {
		for id := range sw.ids {
			all[id] = true
		}
	}
	extra, missing := 0, 0
	for id := range stored {
		if !all[id] {
			extra++
		}
	}
	for id := range all {
		if _, ok := stored[id]; !ok {
			missing++
		}
	}
	if twice > 0 || extra > 0 || missing > 0 {
		h.violation("%s: points/** has %d rows for %d distinct points of the sweeps: %d ids twice, %d not of any sweep, %d points without a row", o.name, len(rep.Points), len(all), twice, extra, missing)
	}
	if len(rep.TrajDups) > 0 {
		h.violation("%s: trajectories/** holds (point_id, sample) more than once: %v", o.name, rep.TrajDups)
	}
	if len(rep.TrajOrphans) > 0 {
		h.violation("%s: trajectories/** holds points without a points row: %v", o.name, rep.TrajOrphans)
	}

	// Each sweep: members = its distinct grid points, each stored once
	// where the member says; the summary matches the points.
	for _, sw := range o.sweeps {
		sr, ok := rep.Sweeps[sw.id]
		if !ok {
			h.violation("%s: check_output.py said nothing of sweep %s", o.name, sw.id)
			continue
		}
		for _, p := range sr.SummaryProblems {
			h.violation("%s sweep %s (%s): %s", o.name, sw.id, sw.def.Name, p)
		}
		seen := map[string]bool{}
		bad := 0
		for _, r := range sr.Members {
			m := rowOf(r)
			switch s, ok := stored[m.point]; {
			case seen[m.point]:
				bad++
				h.violation("sweep %s: point %s is in its members twice", sw.def.Name, m.point)
			case !sw.ids[m.point]:
				bad++
				h.violation("sweep %s: member %s is not a point of its grid", sw.def.Name, m.point)
			case !ok:
				bad++
				h.violation("sweep %s: member %s has no row in points/**", sw.def.Name, m.point)
			case s.sweep != m.sweep || s.chunk != m.chunk:
				bad++
				h.violation("sweep %s: member %s is stored in chunk %d of sweep %s, the members table says chunk %d of sweep %s", sw.def.Name, m.point, s.chunk, s.sweep, m.chunk, m.sweep)
			}
			seen[m.point] = true
			if bad > 5 {
				break
			}
		}
		if len(sr.Members) != len(sw.ids) || len(seen) != len(sw.ids) {
			h.violation("sweep %s (%s): %d members rows (%d distinct), its grid has %d distinct points", sw.id, sw.def.Name, len(sr.Members), len(seen), len(sw.ids))
		}
	}

	h.checkPlanLog(o)
	h.checkOrphanParts(o)
	h.logf("checked %s: %d sweeps, %d points, %d trajectory rows", o.name, len(o.sweeps), len(rep.Points), rep.TrajRows)
}

// copyLocal copies an S3 output's tables and sweeps folders into a new
// local folder (DuckDB cannot read S3 here) and returns it.
func (h *harness) copyLocal(o *output) string {
	dir, err := os.MkdirTemp(h.dir, "copy-")
	if err != nil {
		h.t.Fatal(err)
	}
	st := o.store(h)
	for _, prefix := range []string{results.TablePoints + "/", results.TableTrajectories + "/", results.SweepsPrefix} {
		for obj, err := range st.List(ctx(), prefix) {
			if err != nil {
				h.t.Fatalf("list %s in %s: %v", prefix, o.location, err)
			}
			body, err := st.Get(ctx(), obj.Key)
			if err != nil {
				h.t.Fatalf("read %s in %s: %v", obj.Key, o.location, err)
			}
			path := filepath.Join(dir, filepath.FromSlash(obj.Key))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				h.t.Fatal(err)
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	return dir
}

// checkPlanLog checks the output's plan log: entries 1…N, each sweep once,
// each one of the harness's sweeps, and every sweep of the harness in it.
func (h *harness) checkPlanLog(o *output) {
	st := o.store(h)
	known := map[string]bool{}
	for _, sw := range o.sweeps {
		known[sw.id] = true
	}
	logged := map[string]int64{}
	var want int64 = 1
	for obj, err := range st.List(ctx(), results.PlanLogPrefix) {
		if err != nil {
			h.t.Fatalf("list plans: %v", err)
		}
		seq, ok := results.ParsePlanLogKey(obj.Key)
		if !ok {
			h.violation("%s: %s in the plan log is not an entry", o.name, obj.Key)
			continue
		}
		body, err := st.Get(ctx(), obj.Key)
		if err != nil {
			h.t.Fatalf("read %s: %v", obj.Key, err)
		}
		var e struct {
			Seq     int64  `json:"seq"`
			SweepID string `json:"sweep_id"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			h.violation("%s: %s: %v", o.name, obj.Key, err)
			continue
		}
		switch {
		case seq != want || e.Seq != seq:
			h.violation("%s: plan log entry %s holds seq %d, want %d", o.name, obj.Key, e.Seq, want)
		case logged[e.SweepID] != 0:
			h.violation("%s: sweep %s is in the plan log twice (entries %d and %d)", o.name, e.SweepID, logged[e.SweepID], seq)
		case !known[e.SweepID]:
			h.violation("%s: plan log entry %d is of sweep %s, which the harness never submitted", o.name, seq, e.SweepID)
		}
		logged[e.SweepID] = seq
		want = seq + 1
	}
	for _, sw := range o.sweeps {
		if logged[sw.id] == 0 {
			h.violation("%s: sweep %s (%s) ran to completion but is not in the plan log", o.name, sw.id, sw.def.Name)
		}
	}
}

// checkOrphanParts checks that every part under points/ and
// trajectories/ is listed by the marker of a chunk: a part no marker lists
// is read by every reader of points/** yet belongs to no chunk.
func (h *harness) checkOrphanParts(o *output) {
	st := o.store(h)
	listed := map[string]bool{}
	for _, key := range h.chunkMarkers(o) {
		body, err := st.Get(ctx(), key)
		if err != nil {
			h.t.Fatalf("read %s: %v", key, err)
		}
		var m storedMarker
		if err := json.Unmarshal(body, &m); err != nil {
			h.violation("%s: %v", key, err)
			continue
		}
		for _, p := range m.Parts {
			listed[p.Key] = true
		}
	}
	for _, prefix := range []string{results.TablePoints + "/", results.TableTrajectories + "/"} {
		for obj, err := range st.List(ctx(), prefix) {
			if err != nil {
				h.t.Fatalf("list %s: %v", prefix, err)
			}
			if !listed[obj.Key] {
				h.violation("%s: %s is listed by no chunk marker (an orphan every reader of %s** sees)", o.name, obj.Key, prefix)
			}
		}
	}
}
