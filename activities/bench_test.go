package activities

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/isweep/isweep/internal/store"
)

// benchSpec is a sweep of cheap flow points (n = 2), the kind whose chunks
// are most dominated by storage and orchestration.
const benchSpec = `{"apiVersion": "isweep/v1", "name": "chunkbench", "output": %q, "chunk": %d,
 "grid": {"algorithm": ["direct", "interneuron"], "init_scale": {"logspace": [0, 2, 50]}, "seed": {"range": [0, %d, 1]}},
 "fixed": {"mode": "flow", "n": 2, "input_spectrum": {"min": 0.5, "max": 2, "spacing": "log"}, "input_basis": "random"}}`

// BenchmarkRunChunk runs one chunk of cheap points per iteration, stored in
// a folder, and reports the chunk's efficiency: the summed per-point compute
// over the chunk's wall time times the CPU bound (1 when storing were free
// and the points kept every core busy).
func BenchmarkRunChunk(b *testing.B) {
	for _, size := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("points=%d", size), func(b *testing.B) {
			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			env := suite.NewTestActivityEnvironment()
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer alloc.AssertSize(b, 0)
			const cpu = 2
			a, err := New(Config{
				OpenStore: func(ctx context.Context, location string) (store.Store, error) {
					return store.Open(ctx, location, store.Options{})
				},
				Alloc: alloc, CPU: cpu, Host: "bench-host",
			})
			if err != nil {
				b.Fatal(err)
			}
			env.RegisterActivity(a)
			var compute, wall float64
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				output := filepath.Join(b.TempDir(), fmt.Sprint(i))
				spec := fmt.Sprintf(benchSpec, output, size, size/100)
				v, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: []byte(spec)})
				if err != nil {
					b.Fatal(err)
				}
				var p Plan
				if err := v.Get(&p); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				v, err = env.ExecuteActivity(a.RunChunk, ChunkRef{Output: output, SweepID: p.SweepID, Chunk: 0})
				if err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start).Seconds()
				var r ChunkResult
				if err := v.Get(&r); err != nil {
					b.Fatal(err)
				}
				if r.Points != int64(size) {
					b.Fatalf("got: %d points want: %d", r.Points, size)
				}
				compute += r.ComputeSeconds
			}
			b.ReportMetric(compute/(wall*cpu), "efficiency")
			b.ReportMetric(float64(size)*float64(b.N)/wall, "points/s")
		})
	}
}
