package schemas

import (
	"math"

	"github.com/isweep/isweep/internal/dynamics"
)

const (
	// AutoChunkSeconds is the single-core compute time a chunk aims at when
	// the spec leaves chunk out. A chunk costs about 15 ms of CPU in
	// orchestration and storage whatever its size (an activity and a
	// workflow task on the Temporal server, Parquet files, create-only
	// writes, its marker), so chunks of a few seconds keep that cost under
	// 1 % while a lost chunk is still cheap to redo.
	AutoChunkSeconds = 3
	// MaxAutoChunk bounds the automatic chunk size, and with it a chunk's
	// memory and its marker.
	MaxAutoChunk = 20000
	// MinAutoChunks is the number of chunks a small sweep of cheap points
	// is cut into at least: the last chunk's storage is not overlapped with
	// any compute, so it should be a small part of the sweep, and several
	// workers should have work. More chunks than that only add their cost
	// (at 10⁴ points of 0.67 ms, 10 chunks instead of 5 cost 1.5 % of the
	// sweep's wall time, bench/sweep). Before rounding, that rule never
	// makes a chunk cheaper than MinAutoChunkSeconds (where the per-chunk
	// cost would pass 3 %), nor smaller than MinAutoChunkPoints (a tiny
	// sweep is not cut into tiny files).
	MinAutoChunks       = 4
	MinAutoChunkSeconds = 0.5
	MinAutoChunkPoints  = 100
	// autoChunkSamples is the number of points, evenly spread over the
	// grid, whose estimated costs are averaged.
	autoChunkSamples = 256
)

// autoChunk returns the chunk size of a spec that sets none: AutoChunkSeconds
// divided by the mean estimated cost of a point, but no more than the
// points divided by MinAutoChunks (or MinAutoChunkSeconds of points, or
// MinAutoChunkPoints, whichever is larger), rounded down to 1, 2 or 5 times
// a power of ten, between 1 and MaxAutoChunk. It depends only on the grid,
// so every machine cuts a sweep the same way.
func (g *Grid) autoChunk() int {
	if g.size == 0 {
		return 1
	}
	samples := min(g.size, autoChunkSamples)
	var sum float64
	for j := range samples {
		// j·size/samples without overflow for grids up to 2⁶³ points.
		i := int64(float64(j) / float64(samples) * float64(g.size))
		sum += EstimatePointSeconds(g.params(min(i, g.size-1), false))
	}
	mean := sum / float64(samples)
	chunk := math.Max(float64(g.size)/MinAutoChunks, MinAutoChunkPoints)
	if mean > 0 {
		chunk = math.Max(chunk, MinAutoChunkSeconds/mean)
		chunk = math.Min(chunk, AutoChunkSeconds/mean)
	}
	return roundChunk(chunk)
}

// roundChunk rounds x down to 1, 2 or 5 times a power of ten, between 1 and
// MaxAutoChunk.
func roundChunk(x float64) int {
	if !(x >= 1) {
		return 1
	}
	if x >= MaxAutoChunk {
		return MaxAutoChunk
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{5, 2, 1} {
		if m*p <= x {
			return min(int(m*p), MaxAutoChunk)
		}
	}
	return int(p)
}

// EstimatePointSeconds returns a rough single-core cost in seconds of
// integrating one point with defaulted parameters p: dynamics.EstimateSeconds,
// the model each network states in its Cost, fitted to internal/dynamics on
// a 2-core x86-64 machine (go run ./bench/pointcost prints it next to
// measured times), right to within a factor of about two for n from 2 to
// 64. It never returns a negative, infinite or NaN value for any p.
func EstimatePointSeconds(p dynamics.Params) float64 { return dynamics.EstimateSeconds(p) }
