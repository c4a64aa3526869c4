package activities

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/store"
)

// openNoStore refuses every store: compute needs none.
func openNoStore(context.Context, string) (store.Store, error) {
	return nil, errors.New("no store in this test")
}

// newComputeActivities returns activities with a CPU bound of cpu and no
// store (compute needs none).
func newComputeActivities(t *testing.T, cpu int) *Activities {
	t.Helper()
	a, err := New(Config{OpenStore: openNoStore, CPU: cpu})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestComputeRunsEveryPointOnceWithinTheBound(t *testing.T) {
	for _, tt := range []struct {
		cpu, count int
	}{{1, 1}, {1, 10}, {2, 1}, {2, 7}, {4, 100}} {
		a := newComputeActivities(t, tt.cpu)
		ran := make([]atomic.Int32, tt.count)
		var running, most atomic.Int32
		// busy[g] counts the calls of goroutine number g in flight: never
		// more than one, or per-goroutine state would be shared.
		busy := make([]atomic.Int32, tt.cpu)
		var badG atomic.Int32
		err := a.compute(context.Background(), tt.count, func(g, i int) error {
			if g < 0 || g >= tt.cpu {
				badG.Add(1)
				return nil
			}
			if busy[g].Add(1) != 1 {
				badG.Add(1)
			}
			defer busy[g].Add(-1)
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			ran[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatalf("cpu %d, %d points: %v", tt.cpu, tt.count, err)
		}
		for i := range ran {
			if got := ran[i].Load(); got != 1 {
				t.Errorf("cpu %d, %d points: point %d ran %d times, want 1", tt.cpu, tt.count, i, got)
			}
		}
		if got := badG.Load(); got != 0 {
			t.Errorf("cpu %d, %d points: got: %d calls with a goroutine number out of [0, %d) or in use want: 0", tt.cpu, tt.count, got, tt.cpu)
		}
		if got := most.Load(); got > int32(tt.cpu) {
			t.Errorf("cpu %d, %d points: got: %d points at once want: at most %d", tt.cpu, tt.count, got, tt.cpu)
		}
		if got := len(a.cpu); got != 0 {
			t.Errorf("cpu %d, %d points: got: %d units of the bound still held want: 0", tt.cpu, tt.count, got)
		}
	}
}

// TestComputeDoesNotWaitForABusyCore: once a chunk's points are all taken,
// it returns without waiting for another unit of the CPU bound, which other
// chunks may hold for long. Two cores: chunks B and D hold them, each on a
// point that blocks; chunk A waited for a core, got the one C freed, and
// computed all its points on it; D, queued behind A, took that core back.
func TestComputeDoesNotWaitForABusyCore(t *testing.T) {
	a := newComputeActivities(t, 2)
	var chunks sync.WaitGroup
	blocking := func(gate chan struct{}) {
		chunks.Go(func() {
			_ = a.compute(context.Background(), 1, func(_, _ int) error {
				<-gate
				return nil
			})
		})
	}
	releaseB, releaseC, releaseD := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer chunks.Wait()
	defer close(releaseD)
	defer close(releaseB)
	blocking(releaseB)
	blocking(releaseC)
	for len(a.cpu) < 2 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		done <- a.compute(context.Background(), 5, func(_, _ int) error { return nil })
	}()
	time.Sleep(100 * time.Millisecond) // A waits for a core first…
	blocking(releaseD)                 // … D after it
	time.Sleep(100 * time.Millisecond)
	close(releaseC)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got: %v want: no error", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("got: chunk A still waiting for a core 10 s after its points were done want: it returns")
	}
}

func TestComputeStopsOnCancel(t *testing.T) {
	a := newComputeActivities(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := a.compute(ctx, 1000, func(_, i int) error {
		if ran.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got: %v want: context.Canceled", err)
	}
	if got := ran.Load(); got >= 1000 {
		t.Errorf("got: %d points ran want: the cancel to stop them", got)
	}
	if got := len(a.cpu); got != 0 {
		t.Errorf("got: %d units of the bound still held want: 0", got)
	}
}

// TestComputeLetsOtherGoroutinesRunBetweenPoints holds compute to yielding
// the core after every point: with every core computing, the worker's other
// goroutines (workflow tasks, gRPC, storage) would otherwise wait for the
// scheduler to preempt a point, about 10 ms per hop. On one core, a
// goroutine that counts whenever it runs must have run between the first
// points and the tenth, which take microseconds.
func TestComputeLetsOtherGoroutinesRunBetweenPoints(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	a := newComputeActivities(t, 1)
	var ran atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ran.Add(1)
			runtime.Gosched()
		}
	}()
	seen := make([]int64, 10)
	err := a.compute(context.Background(), len(seen), func(_, i int) error {
		seen[i] = ran.Load()
		x := 1.0
		for range 1000 { // a point of a microsecond or so, never blocking
			x = x*1.0000001 + 1e-9
		}
		if x == 0 {
			t.Log(x)
		}
		return nil
	})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if seen[len(seen)-1] <= seen[0] {
		t.Errorf("got: the other goroutine ran %d times before the first point and %d before the last want: more, so that it runs between points", seen[0], seen[len(seen)-1])
	}
}
