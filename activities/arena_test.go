package activities

import (
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
)

func TestSampleArena(t *testing.T) {
	free := make(freeList[dynamics.Sample], maxFreeSampleBlocks)
	ar := sampleArena{free: free}
	// Points that fit share a block, one after another.
	var trajs [][]dynamics.Sample
	for i := range 3 {
		room := ar.room(100)
		if len(room) != 0 || cap(room) < 100 {
			t.Fatalf("point %d: room len %d cap %d, want len 0 and cap at least 100", i, len(room), cap(room))
		}
		traj := append(room, dynamics.Sample{Step: int64(i)}, dynamics.Sample{Step: int64(i) + 10})
		ar.keep(traj)
		trajs = append(trajs, traj)
	}
	if got := len(ar.blocks); got != 1 {
		t.Fatalf("blocks after three small points: got: %d want: 1", got)
	}
	for i, traj := range trajs {
		if traj[0].Step != int64(i) || traj[1].Step != int64(i)+10 {
			t.Errorf("trajectory %d: got: %+v want: steps %d and %d (overwritten by a later point?)", i, traj, i, i+10)
		}
	}
	// A run that outgrew its room moved elsewhere: the block is not advanced.
	room := ar.room(100)
	moved := append(make([]dynamics.Sample, 0, 1), dynamics.Sample{Step: 99})
	_ = room
	ar.keep(moved)
	if got := len(ar.blocks[0]); got != 6 {
		t.Errorf("block length after a moved trajectory: got: %d want: 6", got)
	}
	// A block with less than the wanted room left is set aside.
	ar.blocks[0] = ar.blocks[0][:cap(ar.blocks[0])-10]
	if room := ar.room(100); cap(room) < 100 {
		t.Errorf("room when the block is nearly full: got: cap %d want: at least 100", cap(room))
	}
	if got := len(ar.blocks); got != 2 {
		t.Errorf("blocks: got: %d want: 2", got)
	}
	ar.release()
	if got := len(free); got != 2 {
		t.Errorf("free blocks after release: got: %d want: 2", got)
	}
	if b := free.get(sampleBlockLen)[:0]; len(b) != 0 || cap(b) != sampleBlockLen {
		t.Errorf("reused block: got: len %d cap %d want: len 0 cap %d", len(b), cap(b), sampleBlockLen)
	}
}

func TestFreeList(t *testing.T) {
	free := make(freeList[int], 2)
	a := free.get(3)
	if len(a) != 3 {
		t.Fatalf("new slice: got: len %d want: 3", len(a))
	}
	a[0] = 7
	free.put(a, make([]int, 10), make([]int, 1)) // the third does not fit
	if got := len(free); got != 2 {
		t.Fatalf("after putting three into a list of two: got: %d held want: 2", got)
	}
	if b := free.get(2); len(b) != 2 || &b[0] != &a[0] {
		t.Errorf("get(2): got: len %d, same array %v want: len 2 from the first slice put", len(b), len(b) > 0 && &b[0] == &a[0])
	}
	// The free slice of 10 is too small for 20: a new one is made.
	if b := free.get(20); len(b) != 20 {
		t.Errorf("get(20): got: len %d want: 20", len(b))
	}
	if got := len(free); got != 0 {
		t.Errorf("held after two gets: got: %d want: 0", got)
	}
}
