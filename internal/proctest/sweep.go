package proctest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/workflows"
)

// WaitFor polls the sweep's progress until cond holds.
func WaitFor(t testing.TB, c client.Client, sweepID, what string, cond func(workflows.Progress) bool) workflows.Progress {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	var last workflows.Progress
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p, err := control.Progress(ctx, c, sweepID)
		cancel()
		if err == nil && cond(p) {
			return p
		}
		if err == nil {
			last = p
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sweep %s: timed out waiting for %s; last progress %+v, last error %v", sweepID, what, last, lastErr)
	return workflows.Progress{}
}

// WaitResult waits for the sweep's result, riding out a server that is
// down for a while; it fails the test when the sweep fails.
func WaitResult(t testing.TB, c client.Client, sweepID string) workflows.SweepResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var res workflows.SweepResult
		err := c.GetWorkflow(ctx, workflows.WorkflowID(sweepID), "").Get(ctx, &res)
		cancel()
		if err == nil {
			return res
		}
		lastErr = err
		var we *temporal.WorkflowExecutionError
		if errors.As(err, &we) {
			t.Fatalf("sweep %s failed: %v", sweepID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("sweep %s: no result: %v", sweepID, lastErr)
	return workflows.SweepResult{}
}

// CheckExactlyOnce reads every points part of the sweep and checks that
// each grid point has exactly one row. It returns the rows.
func CheckExactlyOnce(t testing.TB, spec *schemas.Spec) []results.PointRow {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, spec.Output, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	rows, err := results.ReadPoints(ctx, st, spec.SweepID(), alloc)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for i := int64(0); i < grid.Len(); i++ {
		want[grid.Point(i).ID] = i
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.PointID]++
		if idx, ok := want[r.PointID]; !ok {
			t.Errorf("row for point %s which is not in the grid", r.PointID)
		} else if idx != r.PointIndex {
			t.Errorf("point %s: got: index %d, want: %d", r.PointID, r.PointIndex, idx)
		}
	}
	missing, twice := 0, 0
	for id := range want {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || int64(len(rows)) != grid.Len() {
		t.Fatalf("got: %d rows for %d grid points, %d missing, %d more than once; want: every point exactly once", len(rows), grid.Len(), missing, twice)
	}
	return rows
}

// Dial connects an SDK client to the Temporal server at address, without
// the SDK's log lines (the tests say what matters); it closes when t ends.
func Dial(t testing.TB, address string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: address, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// quietLogger drops SDK log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
