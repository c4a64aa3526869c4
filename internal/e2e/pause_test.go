package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/workflows"
)

// The hostile tester's pause and resume of a sweep: the chunks a pause
// cancelled after they had stored their points were not counted while
// paused ("12/80 points (paused)" with 28 points on disk), and after the
// resume they were counted as found stored by earlier runs of the sweep
// ("64 computed now, 16 found stored") although the sweep ran once.
// Paused with chunks in flight, the sweep counts every chunk stored once
// nothing is in flight any more; in the end it counts every point as
// computed now.
func TestPauseResumeCountsWhatWasComputed(t *testing.T) {
	e := startEmbedded(t, true)
	dir := t.TempDir()
	spec, _ := writeSpec(t, dir, fmt.Sprintf(slowSpec, filepath.Join(dir, "results")))
	ctx := context.Background()
	sub := submit(t, e.client, spec, testOptions)
	proctest.WaitFor(t, e.client, sub.SweepID, "a chunk done, chunks in flight", func(p workflows.Progress) bool {
		return p.ChunksDone >= 1 && p.ChunksInFlight > 0
	})
	if err := control.Pause(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, e.client, sub.SweepID, "paused, nothing in flight", func(p workflows.Progress) bool {
		return p.Phase == "paused" && p.ChunksInFlight == 0
	})
	// A cancelled chunk learns of the pause at its next heartbeat (5 s at
	// the most); a chunk still running then would store its marker later.
	time.Sleep(7 * time.Second)
	p, err := control.Progress(ctx, e.client, sub.SweepID)
	if err != nil {
		t.Fatal(err)
	}
	grid, _ := spec.Grid()
	size := int64(grid.ChunkSize())
	stored := int64(doneChunks(t, spec))
	if p.ChunksDone != stored || p.Done != stored*size || p.ETASeconds != 0 {
		t.Errorf("paused: got: %d chunks, %d points done, ETA %.0f s; want: the %d chunks stored (%d points), no ETA",
			p.ChunksDone, p.Done, p.ETASeconds, stored, stored*size)
	}
	t.Logf("paused with %d of %d chunks stored", stored, p.ChunksTotal)
	if err := control.Resume(ctx, e.client, sub.SweepID); err != nil {
		t.Fatal(err)
	}
	res := proctest.WaitResult(t, e.client, sub.SweepID)
	rows := int64(len(proctest.CheckExactlyOnce(t, spec)))
	c := res.Counts
	var byStatus int64
	for _, s := range results.Statuses {
		byStatus += c.Of(s)
	}
	if c.Points != rows || byStatus != rows || c.AlreadyDone != 0 || c.Reused != 0 {
		t.Errorf("got: %d computed now (%v), %d found stored, %d reused; want: the %d points computed now, none found stored or reused",
			c.Points, c.StatusCounts, c.AlreadyDone, c.Reused, rows)
	}
}
