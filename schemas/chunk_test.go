package schemas

import (
	"math"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/dynamics"
)

// TestAutoChunk checks the chunk size of specs that leave chunk out, and
// that a stated chunk overrides it.
func TestAutoChunk(t *testing.T) {
	head := "apiVersion: isweep/v1\nname: auto\noutput: out\n"
	tests := []struct {
		name  string
		body  string
		chunk int
	}{
		// About 0.11 ms a point: 3 s is 27,000 points, fewer than the
		// 200,000 / 4 = 50,000 of the MinAutoChunks rule: 20,000.
		{"cheap flow n=2", "grid: {algorithm: [direct, interneuron], seed: {range: [0, 100000, 1]}}\nfixed: {n: 2}\n", 20000},
		// About 0.55 ms a point on average (2,000 online steps, n = 4):
		// 3 s is 5,400 points, but 20,000 / 4 = 5,000: 5,000.
		{"online n=4", "grid: {algorithm: [direct, interneuron], seed: {range: [0, 10000, 1]}}\nfixed: {n: 4, mode: online, horizon: 2000, record: 20}\n", 5000},
		// About 1.4 ms a flow point at n = 16: 3 s is 2,100 points (fewer
		// than 10,000 / 4): 2,000.
		{"flow n=16", "grid: {seed: {range: [0, 10000, 1]}}\nfixed: {algorithm: direct, n: 16}\n", 2000},
		// A small sweep of costlier points: 2,000 online points at n = 4
		// (1.1 s of compute); 2,000 / 4 = 500 points would be 0.28 s, under
		// MinAutoChunkSeconds: 0.5 s is 900 points, rounded down to 500.
		{"small sweep of costlier points", "grid: {algorithm: [direct, interneuron], seed: {range: [0, 1000, 1]}}\nfixed: {n: 4, mode: online, horizon: 2000, record: 20}\n", 500},
		// Seconds a point: one point per chunk.
		{"online n=64, default horizon", "grid: {seed: {range: [0, 10, 1]}}\nfixed: {algorithm: direct, n: 64, mode: online}\n", 1},
		// Microseconds a point: capped.
		{"trivial points", "grid: {seed: {range: [0, 1000000, 1]}}\nfixed: {algorithm: direct, n: 1, mode: online, horizon: 1, record: 2}\n", MaxAutoChunk},
		// A small sweep is cut into at least MinAutoChunks chunks, but no
		// chunk is cheaper than MinAutoChunkSeconds: 10,000 / 4 = 2,500
		// points is 0.28 s of cheap points, 0.5 s is 4,480: 2,000.
		{"small sweep of cheap points", "grid: {algorithm: [direct, interneuron], seed: {range: [0, 5000, 1]}}\nfixed: {n: 2}\n", 2000},
		// … nor smaller than MinAutoChunkPoints: flow points at n = 32
		// cost about 6.6 ms, 0.5 s is 75 of them, 500 / 4 = 125 (rounded
		// down to 100); 500 points in 5 chunks of 100.
		{"tiny sweep of costlier points", "grid: {seed: {range: [0, 500, 1]}}\nfixed: {algorithm: direct, n: 32}\n", 100},
		{"stated chunk wins", "chunk: 7\ngrid: {seed: {range: [0, 1000, 1]}}\nfixed: {algorithm: direct, n: 2}\n", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustParse(t, head+tc.body)
			g, err := spec.Grid()
			if err != nil {
				t.Fatal(err)
			}
			if got := g.ChunkSize(); got != tc.chunk {
				t.Errorf("ChunkSize: got: %d want: %d", got, tc.chunk)
			}
			if got, want := spec.Chunks(), (g.Len()+int64(tc.chunk)-1)/int64(tc.chunk); got != want {
				t.Errorf("Chunks: got: %d want: %d", got, want)
			}
			// The canonical form, and so the sweep id, holds a stated chunk
			// only; parsing it back sizes the chunks the same way.
			canon := string(spec.Canonical())
			if got, want := strings.Contains(canon, `"chunk"`), spec.Chunk != 0; got != want {
				t.Errorf("Canonical: got: %s, want a chunk key: %v", canon, want)
			}
			back, err := Parse(spec.Canonical(), "canonical.json")
			if err != nil {
				t.Fatal(err)
			}
			gb, err := back.Grid()
			if err != nil {
				t.Fatal(err)
			}
			if gb.ChunkSize() != g.ChunkSize() || back.SweepID() != spec.SweepID() {
				t.Errorf("canonical spec: got: chunk %d, id %s want: chunk %d, id %s", gb.ChunkSize(), back.SweepID(), g.ChunkSize(), spec.SweepID())
			}
		})
	}
}

func TestRoundChunk(t *testing.T) {
	tests := []struct {
		x    float64
		want int
	}{
		{math.NaN(), 1}, {-3, 1}, {0.4, 1}, {1, 1}, {1.9, 1}, {2, 2}, {4.99, 2}, {5, 5}, {9.9, 5},
		{10, 10}, {19, 10}, {7732, 5000}, {9999, 5000}, {10000, 10000}, {19999, 10000}, {20000, MaxAutoChunk}, {math.Inf(1), MaxAutoChunk},
	}
	for _, tc := range tests {
		if got := roundChunk(tc.x); got != tc.want {
			t.Errorf("roundChunk(%g): got: %d want: %d", tc.x, got, tc.want)
		}
	}
}

// TestEstimatePointSecondsFinite checks that odd parameters never give a
// cost that would break the chunk size.
func TestEstimatePointSecondsFinite(t *testing.T) {
	for _, p := range []dynamics.Params{
		{},
		{Algorithm: dynamics.Interneuron, N: 3, K: 0},
		{Mode: dynamics.Online, N: 1 << 20, Horizon: math.Inf(1), Batch: 1 << 30},
		{Mode: dynamics.Online, N: -5, Horizon: math.NaN()},
		{Mode: dynamics.Flow, N: 1 << 30},
	} {
		if s := EstimatePointSeconds(p); !(s > 0) || math.IsInf(s, 0) {
			t.Errorf("EstimatePointSeconds(%+v): got: %g want: a positive finite number", p, s)
		}
	}
}
