package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// TestCheckOutputFindsBrokenOutputs holds the chaos checks to what they
// claim: an output two sweeps (one extending the other) were run into,
// in process, passes checkOutput; each way of breaking it below makes
// checkOutput report a violation naming the breakage.
func TestCheckOutputFindsBrokenOutputs(t *testing.T) {
	requirePython(t)
	base := specDef{Name: "self-a", Chunk: 3, Algorithms: []string{"direct", "interneuron"}, Ns: []int{2},
		InitScales: []float64{1, 2, 4}, Etas: []float64{0.01, 0.002}, Seeds: []int{0}, Record: 4, Basis: "random"}
	ext := base
	ext.Name, ext.Seeds = "self-b", []int{0, 1}

	breakages := []struct {
		name    string
		want    string // in some violation
		breakIt func(t *testing.T, o *output, a, b *sweepRec)
	}{
		{"a points part copied under another name", "two rows in points/**", func(t *testing.T, o *output, a, b *sweepRec) {
			part := firstPart(t, o, results.TablePoints, a.id)
			copyFile(t, part, strings.TrimSuffix(part, ".parquet")+"-copy.parquet")
		}},
		{"a trajectories part copied under another name", "(point_id, sample) more than once", func(t *testing.T, o *output, a, b *sweepRec) {
			part := firstPart(t, o, results.TableTrajectories, a.id)
			copyFile(t, part, strings.TrimSuffix(part, ".parquet")+"-copy.parquet")
		}},
		{"a points part removed", "without a row", func(t *testing.T, o *output, a, b *sweepRec) {
			if err := os.Remove(firstPart(t, o, results.TablePoints, a.id)); err != nil {
				t.Fatal(err)
			}
		}},
		{"the summary replaced by another sweep's", "summary.parquet has", func(t *testing.T, o *output, a, b *sweepRec) {
			replaceFile(t, o, results.SummaryKey(a.id), results.SummaryKey(b.id))
		}},
		{"the members table replaced by another sweep's", "members rows", func(t *testing.T, o *output, a, b *sweepRec) {
			replaceFile(t, o, results.MembersKey(a.id), results.MembersKey(b.id))
		}},
		{"a plan log entry renumbered", "plan log entry", func(t *testing.T, o *output, a, b *sweepRec) {
			from := filepath.Join(o.location, filepath.FromSlash(results.PlanLogKey(2)))
			if err := os.Rename(from, filepath.Join(o.location, filepath.FromSlash(results.PlanLogKey(3)))); err != nil {
				t.Fatal(err)
			}
		}},
		{"a marker removed", "activities.Verify", func(t *testing.T, o *output, a, b *sweepRec) {
			if err := os.Remove(filepath.Join(o.location, filepath.FromSlash(results.ChunkKey(a.id, 0)))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range append([]struct {
		name    string
		want    string
		breakIt func(t *testing.T, o *output, a, b *sweepRec)
	}{{"nothing broken", "", nil}}, breakages...) {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var got []string
			h := &harness{t: t, dir: dir, began: time.Now(), stats: map[string]int{}, collect: &got}
			o := &output{name: "self", location: filepath.Join(dir, "out"), folder: true, specDir: h.subdir("specs")}
			a := o.add(writeSpec(t, o.specDir, base, o.location))
			b := o.add(writeSpec(t, o.specDir, ext, o.location))
			runInProcess(t, o, a)
			runInProcess(t, o, b)
			if tt.breakIt != nil {
				tt.breakIt(t, o, a, b)
			}
			h.checkOutput(o)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("an intact output: got: violations\n  %s\nwant: none", strings.Join(got, "\n  "))
			case tt.want != "" && !strings.Contains(strings.Join(got, "\n"), tt.want):
				t.Errorf("%s: got: violations\n  %s\nwant: one saying %q", tt.name, strings.Join(got, "\n  "), tt.want)
			}
		})
	}
}

// runInProcess plans, runs and finalizes a sweep with the activities.
func runInProcess(t *testing.T, o *output, sw *sweepRec) {
	t.Helper()
	st, err := store.Open(context.Background(), o.location, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := newActivities(t, st)
	p := planSweep(t, a, sw.spec, false)
	for c := range p.Chunks {
		runChunk(t, a, o.location, p.SweepID, c)
	}
	if r := finalize(t, a, o.location, p.SweepID); r.Status != results.SweepComplete {
		t.Fatalf("%s: got: %+v, want: complete", sw.def.Name, r)
	}
	if _, err := os.Stat(filepath.Join(o.location, filepath.FromSlash(results.ManifestKey(sw.id)))); err != nil {
		t.Fatal(err)
	}
}

// firstPart returns the path of a stored part of the sweep in table.
func firstPart(t *testing.T, o *output, table, sweepID string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(o.location, table, "*", "*", "part-"+sweepID+"-*.parquet"))
	if len(matches) == 0 {
		t.Fatalf("no %s part of sweep %s", table, sweepID)
	}
	return matches[0]
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	body, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile overwrites the object at key with the one at other.
func replaceFile(t *testing.T, o *output, key, other string) {
	t.Helper()
	copyFile(t, filepath.Join(o.location, filepath.FromSlash(other)), filepath.Join(o.location, filepath.FromSlash(key)))
}
