package activities

import (
	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/schemas"
)

// Trajectory storage. A cheap point records a few dozen samples; giving
// each its own slice made trajectories the largest share of a worker's
// allocations, and the garbage collector and fresh pages behind them a
// visible share of its CPU. Instead, each goroutine computing a partition
// records its points one after another into large blocks, and the blocks
// go back to a bounded free list once the partition's trajectories are
// encoded.
const (
	// sampleBlockLen is the number of samples in one block (640 KiB).
	sampleBlockLen = 16384
	// maxFreeSampleBlocks bounds the free list of blocks (80 MiB).
	maxFreeSampleBlocks = 128
	// maxFreeRowSlices bounds the free list of the point rows of a
	// partition, and maxFreeRowSliceLen the rows of one slice it keeps
	// (an automatic chunk's most, schemas.MaxAutoChunk: 10 MB), so that a
	// spec with huge chunks does not leave gigabytes on the list.
	maxFreeRowSlices   = 8
	maxFreeRowSliceLen = schemas.MaxAutoChunk
	// minSampleRoom is the room a point is given at least: a block with
	// less left is set aside. A run that records more than its room moves
	// its own trajectory to a new array (see dynamics.RunInto).
	minSampleRoom = 256
)

// freeList is a bounded list of slices for reuse: memory that was just
// used is warm, where a fresh allocation of megabytes costs page faults
// and garbage collection.
type freeList[T any] chan []T

// get returns a slice of length n, reused when a free one is large
// enough. A reused slice holds stale values: the caller overwrites them.
func (f freeList[T]) get(n int) []T {
	select {
	case b := <-f:
		if cap(b) >= n {
			return b[:n]
		}
	default:
	}
	return make([]T, n)
}

// put returns slices to the list; what does not fit is left to the
// garbage collector. Nothing may use them afterwards.
func (f freeList[T]) put(slices ...[]T) {
	for _, b := range slices {
		select {
		case f <- b:
		default:
			return
		}
	}
}

// sampleArena hands out trajectory storage to the points one goroutine
// computes, from blocks of a free list. It is not safe for concurrent use.
type sampleArena struct {
	free   freeList[dynamics.Sample]
	blocks [][]dynamics.Sample
}

// room returns an empty slice with room for at least want samples (capped
// at minSampleRoom, which is also what a want of 0 or less gets), to pass
// to dynamics.RunInto.
func (ar *sampleArena) room(want int) []dynamics.Sample {
	if want <= 0 || want > minSampleRoom {
		want = minSampleRoom
	}
	if n := len(ar.blocks); n == 0 || cap(ar.blocks[n-1])-len(ar.blocks[n-1]) < want {
		ar.blocks = append(ar.blocks, ar.free.get(sampleBlockLen)[:0])
	}
	b := ar.blocks[len(ar.blocks)-1]
	return b[len(b):len(b):cap(b)]
}

// keep marks traj, the trajectory of the run given the last room, as used
// when it was recorded there.
func (ar *sampleArena) keep(traj []dynamics.Sample) {
	if len(traj) == 0 || len(ar.blocks) == 0 {
		return
	}
	b := &ar.blocks[len(ar.blocks)-1]
	if len(*b) < cap(*b) && &traj[0] == &(*b)[:len(*b)+1][len(*b)] {
		*b = (*b)[:len(*b)+len(traj)]
	}
}

// release returns the arena's blocks to the free list. The trajectories
// recorded in them must no longer be used.
func (ar *sampleArena) release() {
	ar.free.put(ar.blocks...)
	ar.blocks = nil
}
