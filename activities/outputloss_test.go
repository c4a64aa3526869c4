package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// loseSecondPlan runs sweeps first (init_scale 1) and second (1, 10: it
// owns the points of 10); then deletes
// plans/ and the second sweep's plan copy, as a lost plans/ and "move it
// away" (isweep's message for a plan copy that does not parse) leave the
// output. The second sweep's spec, chunk markers, parts and manifest stay.
func loseSecondPlan(t *testing.T) (*testsuite.TestActivityEnvironment, string, string) {
	t.Helper()
	_, env, output := newTestActivities(t)
	runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
	second, _ := runSweep(t, env, output, sweepSpec("second", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
	if err := os.RemoveAll(filepath.Join(output, "plans")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(output, filepath.FromSlash(results.PlanKey(second.SweepID)))); err != nil {
		t.Fatal(err)
	}
	// A new process: nothing cached of the sweeps above.
	_, fresh, _ := newTestActivities(t)
	return fresh, output, second.SweepID
}

// With plans/ gone and one sweep's plan copy gone too, nothing says which
// points that sweep owns, though its chunks are stored: a new overlapping
// sweep computed them again (points/**/*.parquet held them twice, with the
// same numerics), and a hole in the entries (1 and 3 put back from their
// copies, 2 lost) went unnoticed too (found by the hostile tester). Both
// are refused now, naming what is missing, before anything is computed.
func TestPlanLogAndPlanCopyLossIsRefused(t *testing.T) {
	t.Run("plan lost, chunks kept", func(t *testing.T) {
		env, output, second := loseSecondPlan(t)
		refused(t, env, output, second, "neither its plan")
	})
	t.Run("a hole in the log", func(t *testing.T) {
		// Entry 2 and its sweep's folder gone, entries 1 and 3 kept.
		_, env, output := newTestActivities(t)
		runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
		second, _ := runSweep(t, env, output, sweepSpec("second", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
		runSweep(t, env, output, sweepSpec("third", output, `"n": [2], "init_scale": [1000]`, 3), -1)
		for _, rel := range []string{results.PlanLogKey(2), "sweeps/" + second.SweepID} {
			if err := os.RemoveAll(filepath.Join(output, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
		_, fresh, _ := newTestActivities(t)
		refused(t, fresh, output, second.SweepID, "entry 2 of")
	})
	t.Run("plans and a sweep's folder lost, parts kept", func(t *testing.T) {
		// The last entry and its sweep's folder gone: no hole in the
		// numbers, no markers, only the sweep's parts under points/ and
		// trajectories/ (the output of "delete the sweep" by hand).
		_, env, output := newTestActivities(t)
		runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
		second, _ := runSweep(t, env, output, sweepSpec("second", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
		for _, rel := range []string{"plans", "sweeps/" + second.SweepID} {
			if err := os.RemoveAll(filepath.Join(output, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
		_, fresh, _ := newTestActivities(t)
		refused(t, fresh, output, second.SweepID, "part-"+second.SweepID+"-")
	})
	t.Run("plans and a sweep's plan and chunks lost, the rest of its folder kept", func(t *testing.T) {
		// An interrupted rm -r: the manifest, members, summary and spec
		// stay; the folder is there, the plan and markers are not.
		_, env, output := newTestActivities(t)
		runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
		second, _ := runSweep(t, env, output, sweepSpec("second", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
		for _, rel := range []string{"plans", results.PlanKey(second.SweepID), "sweeps/" + second.SweepID + "/chunks"} {
			if err := os.RemoveAll(filepath.Join(output, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
		}
		_, fresh, _ := newTestActivities(t)
		refused(t, fresh, output, second.SweepID, "part-"+second.SweepID+"-")
	})
}

// refused fails the test unless planning a sweep that overlaps sweep lost
// in output is refused, non-retryably, with an error saying want, and
// nothing was stored twice.
func refused(t *testing.T, env *testsuite.TestActivityEnvironment, output, lost, want string) {
	t.Helper()
	var a *Activities
	spec := sweepSpec("fourth", output, `"n": [2], "init_scale": [1, 10, 100]`, 3)
	_, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: spec})
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), want) {
		t.Errorf("planning beside sweep %s, whose plan is lost: got: %v want: a non-retryable error saying %q", lost, err, want)
	}
	// isweep plan's preview says the same.
	st, err := store.Open(context.Background(), output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := schemas.Parse(spec, "fourth.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PreviewPlan(context.Background(), st, parsed, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("preview beside sweep %s, whose plan is lost: got: %v want: an error saying %q", lost, err, want)
	}
	checkStoredOnce(t, output)
}

// A sweep whose plan is gone (entry and copy) but whose chunks are stored
// holds points that verify of another sweep must count: merged into an
// output where another sweep holds the same points, verify of that sweep
// finds them stored twice (the numerics read from the rows, since no plan
// says them). The check skipped the chunks of a sweep without a plan
// (found by the hostile tester).
func TestVerifyFindsPointsInChunksOfASweepWithoutPlan(t *testing.T) {
	_, env, output := newTestActivities(t)
	_, envB, outputB := newTestActivities(t)
	a, _ := runSweep(t, env, output, sweepSpec("a", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
	b, _ := runSweep(t, envB, outputB, sweepSpec("b", outputB, `"n": [2], "init_scale": [10, 100]`, 3), -1)
	for _, rel := range []string{filepath.Join("sweeps", b.SweepID, "chunks"), "points", "trajectories"} {
		copyTree(t, outputB, output, rel)
	}
	problems := verifyProblems(t, output, a.SweepID)
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "stored twice") && strings.Contains(p, b.SweepID) }) {
		t.Errorf("verify %s: got: %q want: its init_scale 10 points stored twice, again in sweep %s's chunks", a.SweepID, problems, b.SweepID)
	}
}

// A plan log entry whose sweep folder was deleted (sweeps/<id>/ gone,
// plans/ kept) makes every new sweep's plan fail with "read spec of sweep
// …: object not found". Retrying cannot cure it, yet the error is
// retryable: isweep run shows "(planning)" for about 4 minutes (10
// attempts with backoff to 1 minute) before it fails, exit 1 (found by
// the hostile tester).
func TestPlanWithADeletedSweepFolderFailsAtOnce(t *testing.T) {
	_, env, output := newTestActivities(t)
	first, _ := runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
	if err := os.RemoveAll(filepath.Join(output, "sweeps", first.SweepID)); err != nil {
		t.Fatal(err)
	}
	_, env, _ = newTestActivities(t) // a new process, as isweep run is
	var a *Activities
	second := sweepSpec("second", output, `"n": [2], "init_scale": [1, 10]`, 3)
	_, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: second})
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatalf("plan with sweep %s's folder deleted: got: %v want: a non-retryable error (retrying cannot bring the folder back)", first.SweepID, err)
	}
	// Its advice, followed, leaves an output new sweeps plan into, with
	// each point stored once: the entry and the sweep's parts moved away.
	// (Moving only the entry met the refusal of parts without a sweep.)
	for _, want := range []string{results.PlanLogKey(1), "part-" + first.SweepID + "-*.parquet"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("got: %v want: advice naming %s", err, want)
		}
	}
	away := t.TempDir()
	if err := os.Rename(filepath.Join(output, filepath.FromSlash(results.PlanLogKey(1))), filepath.Join(away, "entry.json")); err != nil {
		t.Fatal(err)
	}
	for _, table := range results.PartTables {
		parts, err := filepath.Glob(filepath.Join(output, table, "*", "*", "part-"+first.SweepID+"-*.parquet"))
		if err != nil || len(parts) == 0 {
			t.Fatalf("%s parts of sweep %s: got: %v, %v", table, first.SweepID, parts, err)
		}
		for i, part := range parts {
			if err := os.Rename(part, filepath.Join(away, fmt.Sprintf("%s-%d.parquet", table, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	runSweep(t, env, output, second, -1)
	checkStoredOnce(t, output)
}

// verify finds a stray copy of a points part only when its name parses as
// part-<sweep>-<chunk>.parquet of a chunk without a marker. A reader of
// points/**/*.parquet reads every .parquet file under points/, so a copy
// named by a file manager ("… (copy).parquet"), kept in a subfolder, or
// named after a chunk that has a marker (which lists other keys) gives
// the sweep's points twice, and verify says "every point of the grid is
// stored once" (found by the hostile tester).
func TestVerifyFindsStrayPartsUnderAnyName(t *testing.T) {
	_, env, output := newTestActivities(t)
	a, _ := runSweep(t, env, output, sweepSpec("a", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
	part := filepath.Join(output, filepath.FromSlash(firstPointsPart(t, output, a.SweepID)))
	body, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(filepath.Base(part), ".parquet")
	for _, stray := range []string{
		filepath.Join(filepath.Dir(part), base+" (copy).parquet"),
		filepath.Join(filepath.Dir(part), "old", base+".parquet"),
		// A name of the sweep's own last chunk (it has a marker) in a
		// partition that chunk does not write.
		filepath.Join(output, "points", "algorithm=gain", "n=2", fmt.Sprintf("part-%s-%06d.parquet", a.SweepID, a.Chunks-1)),
	} {
		t.Run(strings.TrimPrefix(stray, output), func(t *testing.T) {
			if err := os.MkdirAll(filepath.Dir(stray), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stray, body, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(stray)
			if rows := len(storedRows(t, output)); rows <= int(a.Points) {
				t.Fatalf("points/**/*.parquet: got: %d rows, want: more than %d (the copy read too)", rows, a.Points)
			}
			problems := verifyProblems(t, output, a.SweepID)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "stored twice") }) {
				t.Errorf("verify with a stray copy of a part at %s: got: %q want: the points stored twice", stray, problems)
			}
		})
	}
}

// A sweep whose points an extension reuses lost its plan (copy and log
// entry): verify of the extension says which sweep cannot be read and
// what to restore, as a problem, instead of failing with "object not
// found" (found by the fourth hostile tester).
func TestVerifyOfAnExtensionWhoseOwnerLostItsPlan(t *testing.T) {
	_, env, output := newTestActivities(t)
	first, _ := runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
	ext, _ := runSweep(t, env, output, sweepSpec("ext", output, `"n": [2], "init_scale": [1, 10]`, 3), -1)
	for _, key := range []string{results.PlanKey(first.SweepID), results.PlanLogKey(1)} {
		if err := os.Remove(filepath.Join(output, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	problems := verifyProblems(t, output, ext.SweepID)
	if !slices.ContainsFunc(problems, func(p string) bool {
		return strings.Contains(p, "sweep "+first.SweepID+", whose chunks this sweep reuses, cannot be read")
	}) {
		t.Errorf("verify %s: got: %q want: a problem naming sweep %s and what to restore", ext.SweepID, problems, first.SweepID)
	}
}

// The advice for a log entry whose sweep folder is gone moves the entry
// away only when it is the last: moving an earlier one leaves a hole,
// which planning refuses in turn (the two refusals led in a circle;
// found by the fourth hostile tester).
func TestAdviceForALostFolderBeforeOtherEntries(t *testing.T) {
	_, env, output := newTestActivities(t)
	first, _ := runSweep(t, env, output, sweepSpec("first", output, `"n": [2], "init_scale": [1]`, 3), -1)
	runSweep(t, env, output, sweepSpec("second", output, `"n": [2], "init_scale": [10]`, 3), -1)
	if err := os.RemoveAll(filepath.Join(output, "sweeps", first.SweepID)); err != nil {
		t.Fatal(err)
	}
	_, fresh, _ := newTestActivities(t)
	var a *Activities
	_, err := fresh.ExecuteActivity(a.PlanSweep, PlanInput{Spec: sweepSpec("third", output, `"n": [2], "init_scale": [100]`, 3)})
	if err == nil || strings.Contains(err.Error(), "move "+results.PlanLogKey(1)+" away") || !strings.Contains(err.Error(), "another output") {
		t.Errorf("got: %v want: a refusal that does not advise moving entry 1 (not the last) away", err)
	}
}
