package activities

import "github.com/isweep/isweep/internal/dynamics"

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
	// maxFreeSampleBlocks bounds the free list (80 MiB).
	maxFreeSampleBlocks = 128
	// minSampleRoom is the room a point is given at least: a block with
	// less left is set aside. A run that records more than its room moves
	// its own trajectory to a new array (see dynamics.RunInto).
	minSampleRoom = 256
)

// sampleBlocks is a bounded free list of sample blocks.
type sampleBlocks chan []dynamics.Sample

func newSampleBlocks() sampleBlocks { return make(sampleBlocks, maxFreeSampleBlocks) }

// get returns an empty block, reused when one is free.
func (f sampleBlocks) get() []dynamics.Sample {
	select {
	case b := <-f:
		return b[:0]
	default:
		return make([]dynamics.Sample, 0, sampleBlockLen)
	}
}

// put returns blocks to the free list; what does not fit is left to the
// garbage collector. No trajectory may refer to them afterwards.
func (f sampleBlocks) put(blocks [][]dynamics.Sample) {
	for _, b := range blocks {
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
	free   sampleBlocks
	blocks [][]dynamics.Sample
}

// room returns an empty slice with room for at least want samples (capped
// at minSampleRoom), to pass to dynamics.RunInto.
func (ar *sampleArena) room(want int) []dynamics.Sample {
	want = min(want, minSampleRoom)
	if n := len(ar.blocks); n == 0 || cap(ar.blocks[n-1])-len(ar.blocks[n-1]) < want {
		ar.blocks = append(ar.blocks, ar.free.get())
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
	ar.free.put(ar.blocks)
	ar.blocks = nil
}
