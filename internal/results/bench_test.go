package results

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
)

// cpuTime is the CPU time used so far by the whole process (all threads,
// GC included): on a shared machine it measures cost where wall time
// measures contention.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// reportRates reports rows per wall second and rows per CPU second.
func reportRates(b *testing.B, rows int, cpuStart time.Duration) {
	total := float64(rows) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(total/(cpuTime(b)-cpuStart).Seconds(), "rows/cpu-s")
}

var benchSizes = []int{100, 1_000, 10_000, 100_000}

func benchRows(count int) []PointRow {
	return samePartition(sweepRows(rand.New(rand.NewPCG(42, 42)), "bench", 0, 0, count), Partition{Algorithm: dynamics.Direct, N: 16})
}

func BenchmarkEncodePoints(b *testing.B) {
	for _, size := range benchSizes {
		rows := benchRows(size)
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			var body []byte
			cpu := cpuTime(b)
			for b.Loop() {
				var err error
				if body, err = EncodePoints(rows); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, size, cpu)
			b.ReportMetric(float64(len(body))/float64(size), "bytes/row")
		})
	}
}

func BenchmarkDecodePoints(b *testing.B) {
	for _, size := range benchSizes {
		body, err := EncodePoints(benchRows(size))
		if err != nil {
			b.Fatal(err)
		}
		benchDecode(b, size, body, DecodePoints)
	}
}

// BenchmarkEncodePointSamples encodes trajectories parts of 50-sample
// points (a flow point's trajectory), held the way a worker holds them.
func BenchmarkEncodePointSamples(b *testing.B) {
	part := Partition{Algorithm: dynamics.Direct, N: 16}
	for _, size := range benchSizes {
		samples := trajectorySamples(rand.New(rand.NewPCG(1, 1)), size)
		var points []PointSamples
		for start := 0; start < size; start += 50 {
			points = append(points, PointSamples{PointID: fmt.Sprintf("p%d", start), Samples: samples[start:min(size, start+50)]})
		}
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			cpu := cpuTime(b)
			for b.Loop() {
				if _, _, err := EncodePointSamples("bench", part, points); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, size, cpu)
		})
	}
}

// BenchmarkDecodeMembers decodes the members table of a sweep of 10⁶
// points (ids of 32 hex digits, as point ids are, in a few sweeps and
// chunks of 5,000), as verifying the sweep does.
func BenchmarkDecodeMembers(b *testing.B) {
	const size = 1_000_000
	rng := rand.New(rand.NewPCG(5, 5))
	rows := make([]Member, size)
	for i := range rows {
		rows[i] = Member{PointID: fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), SweepID: fmt.Sprint("sweep-", i%3), Chunk: int64(i / 5000)}
	}
	slices.SortFunc(rows, func(a, b Member) int { return strings.Compare(a.PointID, b.PointID) })
	body, err := EncodeMembers(rows)
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, size, body, DecodeMembers)
}

// benchDecode runs decode on body, a part of size rows, and reports its
// rates and allocations.
func benchDecode[R any](b *testing.B, size int, body []byte, decode func([]byte, memory.Allocator) ([]R, error)) {
	b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
		b.ReportAllocs()
		mem := memory.NewGoAllocator()
		cpu := cpuTime(b)
		for b.Loop() {
			if _, err := decode(body, mem); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, size, cpu)
	})
}
