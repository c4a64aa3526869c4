package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// BenchmarkFinalizeSweep finalizes a sweep of cheap points whose chunks are
// all done (their markers written directly, no parts computed) and reports
// the largest heap seen while it ran. At 10⁶ points the markers hold 32 MB
// of point ids; building the point index from them is most of the work.
func BenchmarkFinalizeSweep(b *testing.B) {
	for _, size := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("points=%d", size), func(b *testing.B) {
			ctx := context.Background()
			a, err := New(Config{
				OpenStore: func(ctx context.Context, location string) (store.Store, error) {
					return store.Open(ctx, location, store.Options{})
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			var ids []string // the grid's point ids, the same for every output
			var peak atomic.Uint64
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				output := filepath.Join(b.TempDir(), fmt.Sprint(i))
				v, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: []byte(fmt.Sprintf(benchSpec, output, 20000, size/100))})
				if err != nil {
					b.Fatal(err)
				}
				var p Plan
				if err := v.Get(&p); err != nil {
					b.Fatal(err)
				}
				sc, err := a.sweep(ctx, output, p.SweepID)
				if err != nil {
					b.Fatal(err)
				}
				if ids == nil {
					ids = make([]string, sc.grid.Len())
					for o := range ids {
						ids[o] = sc.grid.Point(int64(o)).ID
					}
				}
				for c := range p.Chunks {
					ords := sc.plan.ordinals(c)
					var hex strings.Builder
					for _, o := range ords {
						hex.WriteString(ids[o])
					}
					body, err := json.Marshal(chunkMarker{
						SweepID: p.SweepID, Chunk: c, PointIDsHex: hex.String(),
						Result: ChunkResult{Chunk: c, Points: int64(len(ords))},
					})
					if err != nil {
						b.Fatal(err)
					}
					if err := sc.store.Put(ctx, results.ChunkKey(p.SweepID, c), body); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				v, err = env.ExecuteActivity(a.FinalizeSweep, SweepRef{Output: output, SweepID: p.SweepID})
				b.StopTimer()
				stop()
				var r FinalizeResult
				if err == nil {
					err = v.Get(&r)
				}
				if err != nil || r.Points != int64(size) {
					b.Fatalf("FinalizeSweep: got: %+v, %v want: %d points", r, err, size)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "MiB-peak-heap")
		})
	}
}

// sampleHeap records the largest live heap (bytes of heap objects) into
// peak every millisecond until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}

// BenchmarkPlanSweep plans a new sweep of cheap points into an empty
// output, and into one whose earlier sweep holds half of its points. Each
// point is hashed once to find repeated grid entries, and the earlier
// sweep's points once to find those it owns.
func BenchmarkPlanSweep(b *testing.B) {
	for _, size := range []int{100_000, 1_000_000} {
		for _, earlier := range []bool{false, true} {
			b.Run(fmt.Sprintf("points=%d/earlier=%t", size, earlier), func(b *testing.B) {
				a, err := New(Config{
					OpenStore: func(ctx context.Context, location string) (store.Store, error) {
						return store.Open(ctx, location, store.Options{})
					},
				})
				if err != nil {
					b.Fatal(err)
				}
				var suite testsuite.WorkflowTestSuite
				suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				env := suite.NewTestActivityEnvironment()
				env.RegisterActivity(a)
				var peak atomic.Uint64
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					output := filepath.Join(b.TempDir(), fmt.Sprint(i))
					if earlier {
						if _, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: []byte(fmt.Sprintf(benchSpec, output, 20000, size/200))}); err != nil {
							b.Fatal(err)
						}
					}
					runtime.GC()
					stop := sampleHeap(&peak)
					b.StartTimer()
					v, err := env.ExecuteActivity(a.PlanSweep, PlanInput{Spec: []byte(fmt.Sprintf(benchSpec, output, 20000, size/100))})
					b.StopTimer()
					stop()
					var p Plan
					if err == nil {
						err = v.Get(&p)
					}
					if err != nil || p.Points != int64(size) {
						b.Fatalf("PlanSweep: got: %+v, %v want: %d points", p, err, size)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(peak.Load())/(1<<20), "MiB-peak-heap")
			})
		}
	}
}
