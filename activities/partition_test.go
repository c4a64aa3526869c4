package activities

import (
	"fmt"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/schemas"
)

// testPoints returns points with the given (algorithm, n) partitions, in
// order, each with its index as id.
func testPoints(parts ...results.Partition) []schemas.Point {
	pts := make([]schemas.Point, len(parts))
	for i, k := range parts {
		pts[i] = schemas.Point{Index: int64(i), ID: fmt.Sprint(i), Params: dynamics.Params{Algorithm: k.Algorithm, N: k.N}}
	}
	return pts
}

func TestPartitionsOfOnePartitionSharesThePoints(t *testing.T) {
	k := results.Partition{Algorithm: dynamics.Direct, N: 2}
	pts := testPoints(k, k, k)
	got := partitionsOf(pts)
	if len(got) != 1 || got[0].Partition != k || len(got[0].points) != len(pts) {
		t.Fatalf("got: %d partitions want: 1 (%v) of %d points", len(got), k, len(pts))
	}
	// No copy of the chunk's points: the partition's are the chunk's.
	if &got[0].points[0] != &pts[0] {
		t.Errorf("got: a copy of the points want: the chunk's own slice")
	}
	if got := partitionsOf(nil); len(got) != 0 {
		t.Errorf("got: %d partitions of no points want: none", len(got))
	}
}

func TestPartitionsOfMixedChunkGroupsInOrder(t *testing.T) {
	d2 := results.Partition{Algorithm: dynamics.Direct, N: 2}
	d4 := results.Partition{Algorithm: dynamics.Direct, N: 4}
	i2 := results.Partition{Algorithm: dynamics.Interneuron, N: 2}
	pts := testPoints(i2, d4, d2, i2, d2, d4, d2)
	got := partitionsOf(pts)
	want := []struct {
		k   results.Partition
		ids []string
	}{
		{d2, []string{"2", "4", "6"}},
		{d4, []string{"1", "5"}},
		{i2, []string{"0", "3"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got: %d partitions want: %d", len(got), len(want))
	}
	for i, w := range want {
		p := got[i]
		if p.Partition != w.k {
			t.Errorf("partition %d: got: %v want: %v", i, p.Partition, w.k)
		}
		var ids []string
		for _, pt := range p.points {
			ids = append(ids, pt.ID)
			if partitionOf(&pt) != p.Partition {
				t.Errorf("partition %v holds point %s of %v", p.Partition, pt.ID, partitionOf(&pt))
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(w.ids) {
			t.Errorf("partition %v: got: points %v want: %v (chunk order)", w.k, ids, w.ids)
		}
		if cap(p.points) != len(p.points) {
			t.Errorf("partition %v: got: capacity %d for %d points want: exact", w.k, cap(p.points), len(p.points))
		}
	}
}
